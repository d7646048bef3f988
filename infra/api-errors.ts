// Errors API Gateway raises itself (no route, throttling, too large, timeouts) answered in the service's format.
import type { IRestApi } from 'aws-cdk-lib/aws-apigateway';
import { GatewayResponse, ResponseType } from 'aws-cdk-lib/aws-apigateway';
import type { Construct } from 'constructs';

type Mapping = { id: string; type: ResponseType; status: string; code: string; message: string; retry?: boolean };

export const GATEWAY_ERRORS: readonly Mapping[] = [
  // REST APIs answer an unknown path or method with 403 "Missing Authentication Token".
  { id: 'NotFound', type: ResponseType.MISSING_AUTHENTICATION_TOKEN, status: '404', code: 'not_found', message: 'no such endpoint' },
  { id: 'Throttled', type: ResponseType.THROTTLED, status: '429', code: 'too_many_requests', message: 'too many requests, slow down', retry: true },
  { id: 'TooLarge', type: ResponseType.REQUEST_TOO_LARGE, status: '413', code: 'payload_too_large', message: 'the request is too large' },
  { id: 'Default4xx', type: ResponseType.DEFAULT_4XX, status: '400', code: 'invalid_request', message: 'the request is invalid' },
  { id: 'Default5xx', type: ResponseType.DEFAULT_5XX, status: '503', code: 'service_unavailable', message: 'the service is unavailable, try again shortly', retry: true },
  { id: 'Timeout', type: ResponseType.INTEGRATION_TIMEOUT, status: '503', code: 'service_unavailable', message: 'the service is unavailable, try again shortly', retry: true },
];

/** `corsOrigin`: '*' or the single allowed origin; with several origins no static header can be right. */
export const addGatewayErrors = (scope: Construct, api: IRestApi, corsOrigin: string | undefined) => {
  for (const error of GATEWAY_ERRORS) {
    new GatewayResponse(scope, `GatewayError${error.id}`, {
      restApi: api,
      type: error.type,
      statusCode: error.status,
      responseHeaders: {
        ...(corsOrigin === undefined ? {} : { 'Access-Control-Allow-Origin': `'${corsOrigin}'` }),
        ...(error.retry ? { 'Retry-After': "'1'" } : {}),
      },
      templates: { 'application/json': JSON.stringify({ code: error.code, message: error.message }) },
    });
  }
};
