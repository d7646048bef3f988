// One small caller of AWS's JSON protocol (DynamoDB, Secrets Manager): a signed POST over a kept-alive connection,
// with a time limit per attempt, a caller's abort signal over all attempts, and retries of what AWS says may be
// retried. It replaces the AWS SDK on the service's paths: the SDK's clients cost a cold start most of the
// bundle it parses and most of the first request's one-time work (measured in BENCHMARKS.md), for the same wire
// protocol. Requests are signed by `aws4` (Signature Version 4); a test holds it against the SDK's own signer.
import type { Agent as HttpAgent, ClientRequest, IncomingMessage, RequestOptions } from 'node:http';
import { createRequire } from 'node:module';
import aws4 from 'aws4';

export type AwsCredentials = { accessKeyId: string; secretAccessKey: string; sessionToken?: string; expiration?: Date };

/** Gives the credentials to sign with; called for each request, so a provider that caches must do so itself. */
export type CredentialProvider = () => Promise<AwsCredentials>;

export type JsonServiceOptions = {
  /** The signing name and the target prefix, such as `dynamodb` and `DynamoDB_20120810`. */
  service: string;
  targetPrefix: string;
  /** `1.0` (DynamoDB) or `1.1` (Secrets Manager). */
  jsonVersion: '1.0' | '1.1';
  region: string;
  /** For local stores and tests; otherwise the service's regional endpoint. */
  endpoint?: string | undefined;
  credentials: CredentialProvider;
  /** How long one attempt may take, connecting included. */
  attemptTimeoutMs: number;
  /** Attempts in all, the first included (as the SDK's maxAttempts). */
  maxAttempts: number;
};

export type CallOptions = { abortSignal?: AbortSignal | undefined };

export type JsonService = {
  call<T = Record<string, unknown>>(operation: string, input: unknown, options?: CallOptions): Promise<T>;
  /** Ends the kept-alive connections. */
  destroy(): void;
};

/** What a failed call throws: the shape the SDK's errors have where the adapters look at them. */
export type AwsError = Error & {
  code?: string;
  $fault?: 'client' | 'server';
  $retryable?: boolean;
  $metadata: { httpStatusCode?: number; requestId?: string; attempts: number };
};

// The error names AWS documents as worth another try, as the SDK's standard retry strategy does.
const THROTTLING = new Set([
  'ThrottlingException',
  'Throttling',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'TransactionInProgressException',
  'LimitExceededException',
]);
/** Node's codes for a connection that failed on the way (retried here; answered 503 by the store adapters). */
export const TRANSIENT_NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
/** The SDK's backoff: a random wait up to base x 2^attempt (full jitter), never beyond 20 s. */
const BACKOFF_BASE_MS = 100;
const THROTTLING_BACKOFF_BASE_MS = 500;
const BACKOFF_CAP_MS = 20_000;

/** AWS's public endpoint of a service in a region (the China regions have their own domain). */
export const regionalEndpoint = (service: string, region: string) =>
  `https://${service}.${region}.amazonaws.com${region.startsWith('cn-') ? '.cn' : ''}`;

const awsError = (name: string, message: string, fields: Partial<AwsError> & { attempts: number; status?: number; requestId?: string; cause?: unknown }): AwsError => {
  const error = new Error(message, fields.cause === undefined ? undefined : { cause: fields.cause }) as AwsError;
  error.name = name;
  if (fields.code !== undefined) error.code = fields.code;
  error.$fault = fields.status !== undefined && fields.status < 500 ? 'client' : 'server';
  error.$metadata = {
    attempts: fields.attempts,
    ...(fields.status === undefined ? {} : { httpStatusCode: fields.status }),
    ...(fields.requestId === undefined ? {} : { requestId: fields.requestId }),
  };
  return error;
};

const retryable = (error: AwsError): boolean => {
  if (error.name === 'AbortError') return false;
  if (error.name === 'TimeoutError' || TRANSIENT_NETWORK_CODES.has(error.code ?? '')) return true;
  // Not every failure is AWS's: a credential provider's error, say, has no $metadata, and is thrown as it is.
  const status = error.$metadata?.httpStatusCode;
  return THROTTLING.has(error.name) || (status !== undefined && (status >= 500 || status === 429));
};

/** Waits, unless the caller gives up first. */
const pause = (ms: number, signal: AbortSignal | undefined) =>
  new Promise<void>((done) => {
    const timer = setTimeout(finish, ms);
    signal?.addEventListener('abort', finish, { once: true });
    function finish() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', finish);
      done();
    }
  });

/** `work`, unless the caller gives up first. */
const untilAborted = <T>(work: Promise<T>, signal: AbortSignal | undefined, aborted: () => Error): Promise<T> => {
  if (signal === undefined) return work;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(aborted());
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    // Always listened to, so that work failing after the caller gave up is not an unhandled rejection.
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
};

type Transport = { request(options: RequestOptions, answer: (response: IncomingMessage) => void): ClientRequest; agent: HttpAgent };

// Only the protocol the endpoint speaks is loaded (https brings TLS with it): required, not imported, because
// which one is known only from the settings.
const nodeRequire = createRequire(import.meta.url);
const transportFor = (protocol: string): Transport => {
  const module = nodeRequire(protocol === 'https:' ? 'node:https' : 'node:http') as typeof import('node:http');
  // No cap on connections (Node's default): a request waiting for a free one would spend its attempt's time limit
  // queueing, and a busy local server would answer 503 where a store is merely slow.
  return { request: module.request, agent: new module.Agent({ keepAlive: true }) };
};

export const createJsonService = (options: JsonServiceOptions): JsonService => {
  const url = new URL(options.endpoint ?? regionalEndpoint(options.service, options.region));
  const transport = transportFor(url.protocol);
  const contentType = `application/x-amz-json-${options.jsonVersion}`;

  /** One attempt: resolves to the status, request id and parsed body, or rejects with a network or time-out error. */
  const attempt = async (operation: string, body: string, signal: AbortSignal | undefined, attempts: number) => {
    const aborted = () => awsError('AbortError', `${operation} was aborted`, { attempts, cause: signal?.reason });
    // The caller's bound holds while the credentials come too (the SDK chain may call STS or SSO, and hang).
    const credentials = await untilAborted(options.credentials(), signal, aborted);
    // The caller may have given up as they came: send nothing.
    if (signal?.aborted) throw aborted();
    const signed = aws4.sign(
      {
        host: url.host,
        path: url.pathname,
        method: 'POST',
        service: options.service,
        region: options.region,
        headers: { 'Content-Type': contentType, 'X-Amz-Target': `${options.targetPrefix}.${operation}` },
        body,
      },
      credentials,
    );
    return new Promise<{ status: number; requestId?: string; text: string }>((resolve, reject) => {
      let settled = false;
      const fail = (error: AwsError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        request.destroy();
        reject(error);
      };
      const request = transport.request(
        {
          protocol: url.protocol,
          // An IPv6 address comes in brackets, which a URL needs and a socket does not (the SDK strips them too).
          hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
          port: url.port,
          path: signed.path,
          method: 'POST',
          headers: signed.headers as Record<string, string>,
          agent: transport.agent,
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('error', (cause) => fail(awsError('Error', `the answer broke off: ${cause.message}`, { attempts, cause, code: (cause as { code?: string }).code ?? 'ECONNRESET' })));
          response.on('end', () => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            signal?.removeEventListener('abort', onAbort);
            const requestId = response.headers['x-amzn-requestid'];
            resolve({
              status: response.statusCode ?? 0,
              ...(typeof requestId === 'string' ? { requestId } : {}),
              text: Buffer.concat(chunks).toString('utf8'),
            });
          });
        },
      );
      // Listened to first: a request destroyed before it has a socket still emits its 'socket hang up' later, and
      // with no listener that error would end the process.
      request.on('error', (cause: Error & { code?: string }) =>
        fail(awsError('Error', cause.message, { attempts, cause, ...(cause.code === undefined ? {} : { code: cause.code }) })),
      );
      const timer = setTimeout(
        () => fail(awsError('TimeoutError', `${operation} took longer than ${options.attemptTimeoutMs} ms`, { attempts })),
        options.attemptTimeoutMs,
      );
      const onAbort = () => fail(aborted());
      signal?.addEventListener('abort', onAbort, { once: true });
      request.end(body);
    });
  };

  /** An answer that is not a success: the error AWS named in it (`__type`), or what the status says. */
  const failure = (answer: { status: number; requestId?: string; text: string }, attempts: number): AwsError => {
    let parsed: { __type?: string; message?: string; Message?: string } = {};
    try {
      const body: unknown = JSON.parse(answer.text);
      // A JSON null or a bare value names no error either.
      if (body !== null && typeof body === 'object') parsed = body as typeof parsed;
    } catch {
      // not JSON: a proxy's or load balancer's page
    }
    const name = parsed.__type?.split('#').at(-1) ?? (answer.status >= 500 ? 'InternalServerError' : 'UnknownError');
    const message = parsed.message ?? parsed.Message ?? `HTTP ${answer.status}`;
    return awsError(name, message, { attempts, status: answer.status, ...(answer.requestId === undefined ? {} : { requestId: answer.requestId }) });
  };

  /** A success's body; one that is not JSON is thrown as the SDK throws it: a SyntaxError with the answer's metadata. */
  const success = <T>(answer: { status: number; requestId?: string; text: string }, attempts: number): T => {
    try {
      // An empty success is an empty output, as the SDK reads it.
      return (answer.text.trim() === '' ? {} : JSON.parse(answer.text)) as T;
    } catch (error) {
      (error as AwsError).$metadata = { httpStatusCode: answer.status, ...(answer.requestId === undefined ? {} : { requestId: answer.requestId }), attempts };
      throw error;
    }
  };

  return {
    async call<T>(operation: string, input: unknown, callOptions: CallOptions = {}): Promise<T> {
      const body = JSON.stringify(input);
      const signal = callOptions.abortSignal;
      for (let attempts = 1; ; attempts += 1) {
        let error: AwsError;
        try {
          const answer = await attempt(operation, body, signal, attempts);
          if (answer.status === 200) return success<T>(answer, attempts);
          error = failure(answer, attempts);
        } catch (thrown) {
          error = thrown as AwsError;
        }
        if (attempts >= options.maxAttempts || !retryable(error) || signal?.aborted) throw error;
        const base = THROTTLING.has(error.name) ? THROTTLING_BACKOFF_BASE_MS : BACKOFF_BASE_MS;
        await pause(Math.random() * Math.min(BACKOFF_CAP_MS, base * 2 ** (attempts - 1)), signal);
        if (signal?.aborted) throw awsError('AbortError', `${operation} was aborted`, { attempts, cause: signal.reason });
      }
    },
    destroy: () => transport.agent.destroy(),
  };
};

/** Credentials given once (local stores and tests). */
export const staticCredentials = (credentials: AwsCredentials): CredentialProvider => {
  const given = Promise.resolve(credentials);
  return () => given;
};
