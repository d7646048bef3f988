// Template assertions on the synthesized stacks, and the argon2 binary inside each function asset.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Token, type CfnElement } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { nativeFiles, stageArgon2 } from '../scripts/stage-argon2.mjs';
import { PAGE_IDS, PAGES, type PageFile } from '../src/adapters/http/pages';
import { allowedMethods, ALL_METHODS, routeList } from '../src/adapters/http/routes';
import { DescribeTableCommand } from '../src/adapters/dynamodb/client';
import { ensurePasskeysTable } from '../src/adapters/dynamodb/ensure-table';
import { PASSKEYS_BY_UID_INDEX as STORE_INDEX } from '../src/adapters/dynamodb/passkey-store';
import { loadConfig, settingVariables } from '../src/config';
import { startDynalite, testClient } from '../test/stores';
import { GATEWAY_ERRORS } from './api-errors';
import { CORS } from './api-routes';
import { HTTP_ACCESS_LOG_FIELDS } from './http-api';
import { PASSKEYS_BY_UID_INDEX, StatefulStack, type StatefulStackProps } from './stateful-stack';
import { StatelessStack, type StatelessStackProps } from './stateless-stack';
import { httpRouteKeys, restRouteKeys } from './template-routes';

const featureFlags = JSON.parse(readFileSync('cdk.json', 'utf8')).context as Record<string, unknown>;

type Options = {
  state?: StatefulStackProps;
  api?: Omit<
    StatelessStackProps,
    | 'usersTable'
    | 'sessionsTable'
    | 'throttleTable'
    | 'oneTimeTokensTable'
    | 'emailsTable'
    | 'passkeysTable'
    | 'jwtSecret'
    | 'refreshTokenSecret'
    | 'mfaEncryptionKey'
    | 'jwtPrivateJwks'
  >;
};

const synth = ({ state = {}, api = {} }: Options = {}) => {
  const app = new App({ context: featureFlags });
  const stateful = new StatefulStack(app, 'State', state);
  const stateless = new StatelessStack(app, 'Api', {
    jwtAlgorithm: state.jwtAlgorithm,
    ...api,
    usersTable: stateful.usersTable,
    sessionsTable: stateful.sessionsTable,
    throttleTable: stateful.throttleTable,
    oneTimeTokensTable: stateful.oneTimeTokensTable,
    emailsTable: stateful.emailsTable,
    passkeysTable: stateful.passkeysTable,
    jwtSecret: stateful.jwtSecret,
    refreshTokenSecret: stateful.refreshTokenSecret,
    mfaEncryptionKey: stateful.mfaEncryptionKey,
    jwtPrivateJwks: stateful.jwtPrivateJwks,
  });
  return {
    app,
    stateful,
    stateless,
    state: Template.fromStack(stateful),
    api: Template.fromStack(stateless),
  };
};

type Statement = { Action: string | string[]; Resource: unknown; Effect: string };

const TABLE_PATHS = [...new Set(routeList().map((route) => route.path))];
/** The table's routes by the app's rule (allowedMethods: HEAD beside GET, OPTIONS everywhere), as `METHOD /path`. */
const TABLE_ROUTE_KEYS = TABLE_PATHS.flatMap((path) => (allowedMethods(path) ?? []).map((method) => `${method} ${path}`));

const logicalIdOf = (template: Template, type: string): string => {
  const ids = Object.keys(template.findResources(type));
  expect(ids).toHaveLength(1);
  return ids[0] as string;
};

/** The one invoke permission's source ARN, as the template joins it. */
const invokeSourceArn = (template: Template): unknown[] => {
  const permissions = Object.values(template.findResources('AWS::Lambda::Permission')) as {
    Properties: { Principal: string; SourceArn: { 'Fn::Join': [string, unknown[]] } };
  }[];
  expect(permissions).toHaveLength(1);
  expect(permissions[0]?.Properties.Principal).toBe('apigateway.amazonaws.com');
  return permissions[0]?.Properties.SourceArn['Fn::Join'][1] ?? [];
};

const statementsOf = (template: Template): Statement[] =>
  Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
    (policy) => (policy as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument.Statement,
  );
const actionsOf = (statement: Statement) => [statement.Action].flat();
const resourcesOf = (statement: Statement) => [statement.Resource].flat();

/** A table's logical ID in the stateful stack, and its resource in the template. */
const tableOf = (t: ReturnType<typeof synth>, table: ITable) => {
  const id = t.stateful.getLogicalId(table.node.defaultChild as CfnElement);
  return { id, resource: t.state.toJSON().Resources[id] as { Properties: Record<string, unknown>; DeletionPolicy?: string } };
};
/** Whether a value of the stateless template is the table's name (`Ref`) or its ARN, read across the stacks. */
const isTableName = (value: unknown, id: string) => JSON.stringify(value).includes(`"PublishOutputRef${id}`);
const isTableArn = (value: unknown, id: string) => JSON.stringify(value).includes(`"PublishOutputFnGetAtt${id}Arn`);
/** Every action any statement grants on the table's ARN. */
const actionsOnTable = (template: Template, id: string) =>
  [...new Set(statementsOf(template).filter((s) => resourcesOf(s).some((r) => isTableArn(r, id))).flatMap(actionsOf))].sort();
const functionEnvironment = (template: Template): Record<string, unknown> => {
  const [fn] = Object.values(template.findResources('AWS::Lambda::Function')) as {
    Properties: { Environment: { Variables: Record<string, unknown> } };
  }[];
  return fn?.Properties.Environment.Variables ?? {};
};

const IDENTITY = 'arn:aws:ses:eu-west-1:123456789012:identity/acme.com';
const MAIL = { mailFrom: 'Acme <no-reply@acme.com>', sesIdentityArn: IDENTITY, appUrl: 'https://app.acme.com' } as const;
const sesStatements = (template: Template) => statementsOf(template).filter((s) => actionsOf(s).some((a) => a.startsWith('ses:')));

beforeAll(() => {
  stageArgon2();
});

describe('stateful stack', () => {
  let t: ReturnType<typeof synth>;
  beforeAll(() => {
    t = synth();
  });

  it('creates the users table with the tutorial key, on demand, with PITR and deletion protection, retained', () => {
    t.state.hasResource('AWS::DynamoDB::Table', {
      Properties: {
        KeySchema: [{ AttributeName: 'username', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'username', AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        DeletionProtectionEnabled: true,
        TableName: Match.absent(),
      },
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });

  it('generates the signing secret in Secrets Manager and retains it', () => {
    t.state.hasResource('AWS::SecretsManager::Secret', {
      Properties: { GenerateSecretString: Match.objectLike({ PasswordLength: 64, ExcludePunctuation: true }) },
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });

  it('is environment-agnostic', () => {
    expect(Token.isUnresolved(t.stateful.region)).toBe(true);
    expect(Token.isUnresolved(t.stateless.region)).toBe(true);
  });

  it('adopts an existing table by name instead of creating one, and grants on that table only', () => {
    const adopted = synth({ state: { existingUsersTableName: 'user-table' } });

    adopted.state.resourcePropertiesCountIs(
      'AWS::DynamoDB::Table',
      { KeySchema: [{ AttributeName: 'username', KeyType: 'HASH' }] },
      0,
    );
    const onUsers = statementsOf(adopted.api).filter((s) => JSON.stringify(s.Resource).includes(':table/user-table'));
    expect(onUsers.flatMap(actionsOf).sort()).toEqual(
      ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
    );
  });

  it('creates the sessions table keyed (uid, sid), on demand, with the TTL attribute, retained', () => {
    t.state.hasResource('AWS::DynamoDB::Table', {
      Properties: {
        KeySchema: [
          { AttributeName: 'uid', KeyType: 'HASH' },
          { AttributeName: 'sid', KeyType: 'RANGE' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      },
      DeletionPolicy: 'Retain',
    });
  });

  it('creates the throttle table keyed by key, on demand, with the TTL attribute', () => {
    t.state.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'key', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    });
    t.api.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ THROTTLE_TABLE_NAME: Match.anyValue() }) },
    });
  });

  it('creates the one-time tokens table keyed by key (a string), on demand, with the TTL attribute, retained', () => {
    const { id, resource } = tableOf(t, t.stateful.oneTimeTokensTable);

    expect(resource.Properties).toMatchObject({
      KeySchema: [{ AttributeName: 'key', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'key', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    });
    expect(resource.Properties.TableName).toBeUndefined();
    expect(resource).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    expect(isTableName(functionEnvironment(t.api).ONE_TIME_TOKENS_TABLE_NAME, id)).toBe(true);
  });

  it('creates the emails table keyed by email (a string), on demand, with the TTL attribute and PITR, retained', () => {
    const { id, resource } = tableOf(t, t.stateful.emailsTable);

    expect(resource.Properties).toMatchObject({
      KeySchema: [{ AttributeName: 'email', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'email', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
    expect(resource.Properties.TableName).toBeUndefined();
    expect(resource).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    expect(isTableName(functionEnvironment(t.api).EMAILS_TABLE_NAME, id)).toBe(true);
  });

  it('keeps creating both new tables when the users table is adopted', () => {
    const adopted = synth({ state: { existingUsersTableName: 'user-table' } });

    for (const table of [adopted.stateful.oneTimeTokensTable, adopted.stateful.emailsTable]) {
      expect(tableOf(adopted, table).resource).toMatchObject({ Type: 'AWS::DynamoDB::Table', DeletionPolicy: 'Retain' });
    }
  });

  it('keeps the refresh-token and MFA keys in Secrets Manager, and a private JWK set only for asymmetric signing', () => {
    t.state.resourceCountIs('AWS::SecretsManager::Secret', 3);
    const asymmetric = synth({ state: { jwtAlgorithm: 'EdDSA' } });

    asymmetric.state.resourceCountIs('AWS::SecretsManager::Secret', 4);
    asymmetric.api.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          JWT_ALG: 'EdDSA',
          JWT_PRIVATE_JWKS_ARN: Match.anyValue(),
          JWT_SECRET_ARN: Match.absent(),
        }),
      },
    });
  });
});

describe('stateless stack', () => {
  let t: ReturnType<typeof synth>;
  beforeAll(() => {
    t = synth();
  });

  it('runs the function on nodejs22.x, arm64, 1024 MB, 10 s, ESM handler index.handler', () => {
    t.api.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      MemorySize: 1024,
      Timeout: 10,
      Handler: 'index.handler',
    });
  });

  it('reads the secret by ARN and leaves source maps off at run time by default', () => {
    t.api.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: {
          JWT_ALG: 'HS256',
          JWT_SECRET_ARN: Match.anyValue(),
          REFRESH_TOKEN_SECRET_ARN: Match.anyValue(),
          TABLE_NAME: Match.anyValue(),
          SESSIONS_TABLE_NAME: Match.anyValue(),
          CORS_ORIGINS: '*',
          NODE_OPTIONS: Match.absent(),
          JWT_SECRET: Match.absent(),
        },
      },
    });
  });

  it('takes architecture, memory, timeout and source maps as props', () => {
    const custom = synth({ api: { architecture: 'x86_64', memorySize: 512, timeoutSeconds: 5, enableSourceMaps: true } });

    custom.api.hasResourceProperties('AWS::Lambda::Function', {
      Architectures: ['x86_64'],
      MemorySize: 512,
      Timeout: 5,
      Environment: { Variables: Match.objectLike({ NODE_OPTIONS: '--enable-source-maps' }) },
    });
  });

  it('passes the signing kid and a keys version, so a key rotation reaches every container', () => {
    const rotated = synth({ state: { jwtAlgorithm: 'EdDSA' }, api: { jwtSigningKid: 'key-2', keysVersion: '7' } });

    rotated.api.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ JWT_SIGNING_KID: 'key-2', KEYS_VERSION: '7' }) },
    });
  });

  it('logs to log groups created with retention, without the logRetention custom resource', () => {
    t.api.resourceCountIs('AWS::Logs::LogGroup', 2);
    t.api.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
    t.api.resourceCountIs('Custom::LogRetention', 0);
    t.api.hasResourceProperties('AWS::Lambda::Function', { LoggingConfig: { LogGroup: Match.anyValue() } });
  });

  it('serves exactly the route table on a REST API: its methods, HEAD beside GET, a preflight on each path', () => {
    t.api.resourceCountIs('AWS::ApiGateway::RestApi', 1);

    expect(restRouteKeys(t.api)).toEqual([...TABLE_ROUTE_KEYS].sort());
  });

  it('sends every method but the preflight to the function as a Lambda proxy, and answers the preflight with the app CORS settings', () => {
    const methods = Object.values(t.api.findResources('AWS::ApiGateway::Method')) as {
      Properties: { HttpMethod: string; Integration: { Type: string; IntegrationResponses?: { ResponseParameters: Record<string, string> }[] } };
    }[];
    const preflights = methods.filter((m) => m.Properties.HttpMethod === 'OPTIONS');

    expect(methods.filter((m) => m.Properties.HttpMethod !== 'OPTIONS').every((m) => m.Properties.Integration.Type === 'AWS_PROXY')).toBe(true);
    expect(preflights).toHaveLength(TABLE_PATHS.length);
    for (const preflight of preflights) {
      expect(preflight.Properties.Integration.Type).toBe('MOCK');
      const headers = preflight.Properties.Integration.IntegrationResponses?.[0]?.ResponseParameters ?? {};
      expect(headers['method.response.header.Access-Control-Allow-Methods']).toBe(`'${ALL_METHODS.join(',')}'`);
      expect(headers['method.response.header.Access-Control-Allow-Headers']).toBe(`'${CORS.allowHeaders.join(',')}'`);
      expect(headers['method.response.header.Access-Control-Max-Age']).toBe(`'${CORS.maxAgeSeconds}'`);
    }
    // HEAD locally, HEAD on AWS: the app's CORS list and the gateway's are one list.
    expect(ALL_METHODS).toContain('HEAD');
  });

  it('lets only this REST API invoke the function, with one permission', () => {
    const arn = invokeSourceArn(t.api);

    expect(arn).toContainEqual({ Ref: logicalIdOf(t.api, 'AWS::ApiGateway::RestApi') });
    expect(arn.at(-1)).toBe('/*/*/*');
  });

  it('has no HTTP API in REST mode', () => {
    for (const type of ['Api', 'Route', 'Stage', 'Integration']) t.api.resourceCountIs(`AWS::ApiGatewayV2::${type}`, 0);
  });

  it('throttles every method on the stage and writes access logs to their own log group', () => {
    t.api.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'prod',
      MethodSettings: Match.arrayWith([
        Match.objectLike({ HttpMethod: '*', ResourcePath: '/*', ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 }),
      ]),
      AccessLogSetting: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('requestId') },
    });
    const custom = synth({ api: { throttlingRateLimit: 5, throttlingBurstLimit: 10 } });
    custom.api.hasResourceProperties('AWS::ApiGateway::Stage', {
      MethodSettings: Match.arrayWith([Match.objectLike({ ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 })]),
    });
  });

  it.each(GATEWAY_ERRORS.map((e) => [e.type.responseType, e.status, e.code] as const))(
    'answers API Gateway %s errors as %s %s in the service format, with CORS',
    (type, status, code) => {
      t.api.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
        ResponseType: type,
        StatusCode: status,
        ResponseParameters: Match.objectLike({ 'gatewayresponse.header.Access-Control-Allow-Origin': "'*'" }),
        ResponseTemplates: { 'application/json': Match.stringLikeRegexp(`"code":"${code}"`) },
      });
    },
  );

  it('maps a missing route to 404, throttling to 429, too large to 413, 4XX to 400, 5XX and timeouts to 503', () => {
    const byType = Object.fromEntries(GATEWAY_ERRORS.map((e) => [e.type.responseType, [e.status, e.code]]));

    expect(byType).toEqual({
      MISSING_AUTHENTICATION_TOKEN: ['404', 'not_found'],
      THROTTLED: ['429', 'too_many_requests'],
      REQUEST_TOO_LARGE: ['413', 'payload_too_large'],
      DEFAULT_4XX: ['400', 'invalid_request'],
      DEFAULT_5XX: ['503', 'service_unavailable'],
      INTEGRATION_TIMEOUT: ['503', 'service_unavailable'],
    });
  });

  it('puts the single configured origin on gateway errors, and none for several origins', () => {
    const single = synth({ api: { corsOrigins: ['https://app.example.com'] } });
    const several = synth({ api: { corsOrigins: ['https://a.example.com', 'https://b.example.com'] } });

    single.api.allResourcesProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseParameters: Match.objectLike({
        'gatewayresponse.header.Access-Control-Allow-Origin': "'https://app.example.com'",
      }),
    });
    for (const response of Object.values(several.api.findResources('AWS::ApiGateway::GatewayResponse'))) {
      expect(JSON.stringify(response)).not.toContain('Access-Control-Allow-Origin');
    }
  });

  it('grants only the item actions the code uses, on its own table, its secret and its log group', () => {
    const statements = statementsOf(t.api);
    const all = statements.flatMap(actionsOf);

    expect([...new Set(all)].sort()).toEqual(
      [
        'dynamodb:BatchWriteItem',
        'dynamodb:DeleteItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Query',
        'dynamodb:UpdateItem',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        'secretsmanager:GetSecretValue',
      ].sort(),
    );
    // Query and BatchWriteItem only on the sessions table, and Query (alone) on the passkeys table's index.
    const wide = statements.filter((s) => actionsOf(s).includes('dynamodb:Query'));
    expect(wide).toHaveLength(2);
    expect(wide.filter((s) => actionsOf(s).includes('dynamodb:BatchWriteItem')).flatMap(resourcesOf)).toHaveLength(1);
    expect(isTableArn(wide.find((s) => actionsOf(s).length > 1)?.Resource, tableOf(t, t.stateful.sessionsTable).id)).toBe(true);
    expect(wide.filter((s) => actionsOf(s).length === 1).flatMap(actionsOf)).toEqual(['dynamodb:Query']);
    expect(actionsOf(statements.find((s) => actionsOf(s).includes('dynamodb:DeleteItem') && !actionsOf(s).includes('dynamodb:Query')) as Statement)).not.toContain('dynamodb:BatchWriteItem');
    for (const statement of statements) {
      expect(statement.Resource).not.toBe('*');
      expect(JSON.stringify(statement.Resource)).not.toBe('"*"');
      expect(actionsOf(statement).some((a) => a.endsWith(':*') || a === '*')).toBe(false);
    }
  });

  it('grants the tokens table GetItem, PutItem, UpdateItem and DeleteItem, and the emails table GetItem, PutItem and DeleteItem', () => {
    const tokens = tableOf(t, t.stateful.oneTimeTokensTable).id;
    const emails = tableOf(t, t.stateful.emailsTable).id;

    expect(actionsOnTable(t.api, tokens)).toEqual(['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']);
    expect(actionsOnTable(t.api, emails)).toEqual(['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem']);
    // On the tables themselves: no index ARN, nothing built around the table ARN.
    for (const statement of statementsOf(t.api)) {
      for (const resource of resourcesOf(statement).filter((r) => isTableArn(r, tokens) || isTableArn(r, emails))) {
        expect(Object.keys(resource as object)).toEqual(['Fn::GetStackOutput']);
      }
    }
  });

  it('gives the function role no managed policies; only the API Gateway account CloudWatch role has one', () => {
    const roles = t.api.findResources('AWS::IAM::Role');
    const withManaged = Object.entries(roles).filter(([, role]) => (role as { Properties: { ManagedPolicyArns?: unknown } }).Properties.ManagedPolicyArns);

    expect(withManaged.map(([id]) => id)).toEqual([expect.stringMatching(/^ApiCloudWatchRole/)]);
    const noAccountRole = synth({ api: { apiGatewayCloudWatchRole: false } });
    noAccountRole.api.resourceCountIs('AWS::ApiGateway::Account', 0);
  });
});

describe('stateless stack with mail through SES (-c mailFrom, sesIdentityArn, appUrl)', () => {
  let mail: ReturnType<typeof synth>;
  let full: ReturnType<typeof synth>;
  beforeAll(() => {
    mail = synth({ api: MAIL });
    full = synth({
      api: {
        ...MAIL,
        sesConfigurationSet: 'login-events',
        mailProductName: 'Acme',
        sesSandboxRecipientArns: ['arn:aws:ses:eu-west-1:123456789012:identity/tester@example.org'],
      },
    });
  });

  it('sets MAIL_FROM and APP_URL, and nothing for the options not given', () => {
    expect(functionEnvironment(mail.api)).toMatchObject({ MAIL_FROM: 'Acme <no-reply@acme.com>', APP_URL: 'https://app.acme.com' });
    expect(functionEnvironment(mail.api)).not.toHaveProperty('SES_CONFIGURATION_SET');
    expect(functionEnvironment(mail.api)).not.toHaveProperty('MAIL_PRODUCT_NAME');
  });

  it('grants ses:SendEmail on the identity alone, in one statement, and no other SES action anywhere', () => {
    const [statement, ...others] = sesStatements(mail.api);

    expect(others).toEqual([]);
    expect(statement).toEqual({ Effect: 'Allow', Action: 'ses:SendEmail', Resource: IDENTITY });
    // Not in a policy, not in a managed policy, not anywhere in the template.
    expect(JSON.stringify(mail.api.toJSON()).match(/"ses:/g)).toHaveLength(1);
  });

  it('adds the configuration set (its ARN in the stack account and region), the product name and sandbox recipients', () => {
    const [statement, ...others] = sesStatements(full.api);

    expect(functionEnvironment(full.api)).toMatchObject({ SES_CONFIGURATION_SET: 'login-events', MAIL_PRODUCT_NAME: 'Acme' });
    expect(others).toEqual([]);
    expect(statement).toMatchObject({ Effect: 'Allow', Action: 'ses:SendEmail' });
    expect(resourcesOf(statement as Statement)).toHaveLength(3);
    expect(resourcesOf(statement as Statement)).toEqual(
      expect.arrayContaining([
        IDENTITY,
        {
          'Fn::Join': [
            '',
            ['arn:', { Ref: 'AWS::Partition' }, ':ses:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':configuration-set/login-events'],
          ],
        },
        'arn:aws:ses:eu-west-1:123456789012:identity/tester@example.org',
      ]),
    );
    expect(JSON.stringify(full.api.toJSON()).match(/"ses:/g)).toHaveLength(1);
  });

  it('sends no mail without mailFrom: no mail settings, and no SES action anywhere', () => {
    const none = synth();

    for (const key of ['MAIL_FROM', 'APP_URL', 'SES_CONFIGURATION_SET', 'MAIL_PRODUCT_NAME']) {
      expect(functionEnvironment(none.api)).not.toHaveProperty(key);
    }
    expect(JSON.stringify(none.api.toJSON())).not.toContain('ses:');
  });

  it.each([
    ['sesIdentityArn', { mailFrom: MAIL.mailFrom, appUrl: MAIL.appUrl }, /mailFrom needs sesIdentityArn: pass -c sesIdentityArn=/],
    ['appUrl', { mailFrom: MAIL.mailFrom, sesIdentityArn: IDENTITY }, /mailFrom needs appUrl: pass -c appUrl=/],
  ])('fails synth naming %s when mailFrom comes without it', (_key, api, message) => {
    expect(() => synth({ api })).toThrow(message);
  });

  it('fails synth for a mail option without mailFrom, and for an appUrl with a query', () => {
    expect(() => synth({ api: { sesIdentityArn: IDENTITY, appUrl: MAIL.appUrl } })).toThrow(
      'sesIdentityArn, appUrl given without mailFrom',
    );
    expect(() => synth({ api: { ...MAIL, appUrl: 'https://app.acme.com/?from=mail' } })).toThrow(/appUrl must have no query/);
  });
});

describe('stateless stack with -c api=http', () => {
  let t: ReturnType<typeof synth>;
  beforeAll(() => {
    t = synth({ api: { api: 'http' } });
  });

  it('serves exactly the route table on an HTTP API (payload 2.0), and everything else through $default to the app', () => {
    t.api.resourceCountIs('AWS::ApiGatewayV2::Api', 1);
    // OPTIONS has no route of its own: the gateway answers preflights from the CORS settings, or, as $default
    // matches them, passes them to the app, which answers them as locally.
    const expected = TABLE_ROUTE_KEYS.filter((key) => !key.startsWith('OPTIONS '));

    expect(httpRouteKeys(t.api)).toEqual(['$default', ...expected].sort());
    t.api.resourceCountIs('AWS::ApiGatewayV2::Integration', 1);
    t.api.hasResourceProperties('AWS::ApiGatewayV2::Integration', { IntegrationType: 'AWS_PROXY', PayloadFormatVersion: '2.0' });
  });

  it('configures CORS as the app answers it, since the gateway then replaces the function CORS headers', () => {
    t.api.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      ProtocolType: 'HTTP',
      CorsConfiguration: {
        AllowOrigins: ['*'],
        AllowMethods: [...ALL_METHODS],
        AllowHeaders: [...CORS.allowHeaders],
        ExposeHeaders: [...CORS.exposeHeaders],
        MaxAge: CORS.maxAgeSeconds,
      },
    });
    const single = synth({ api: { api: 'http', corsOrigins: ['https://app.example.com'] } });
    single.api.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      CorsConfiguration: Match.objectLike({ AllowOrigins: ['https://app.example.com'] }),
    });
  });

  it('throttles the default stage as the REST API does, and writes JSON access logs to their own log group', () => {
    const stage = t.api.findResources('AWS::ApiGatewayV2::Stage');
    const [props] = Object.values(stage).map((s) => (s as { Properties: Record<string, unknown> }).Properties);

    expect(props).toMatchObject({
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 },
      AccessLogSettings: { DestinationArn: { 'Fn::GetAtt': [expect.stringMatching(/^HttpApiAccessLogs/), 'Arn'] } },
    });
    const format = JSON.parse((props?.AccessLogSettings as { Format: string }).Format) as Record<string, string>;
    expect(format).toEqual(HTTP_ACCESS_LOG_FIELDS);
    expect(format.requestId).toBe('$context.requestId');
    t.api.resourceCountIs('AWS::Logs::LogGroup', 2);
    t.api.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
    const custom = synth({ api: { api: 'http', throttlingRateLimit: 5, throttlingBurstLimit: 10 } });
    custom.api.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 },
    });
  });

  it('lets only this HTTP API invoke the function (any stage and route, $default included), with one permission', () => {
    const arn = invokeSourceArn(t.api);

    expect(arn).toContainEqual({ Ref: logicalIdOf(t.api, 'AWS::ApiGatewayV2::Api') });
    expect(arn.at(-1)).toBe('/*');
  });

  it('has no REST API resources, no gateway responses and no account-wide CloudWatch role', () => {
    for (const type of ['RestApi', 'Resource', 'Method', 'Stage', 'Deployment', 'GatewayResponse', 'Account']) {
      t.api.resourceCountIs(`AWS::ApiGateway::${type}`, 0);
    }
    t.api.resourceCountIs('AWS::IAM::Role', 1);
  });

  it('outputs the base URL in both modes', () => {
    t.api.hasOutput('ApiUrl', { Value: { 'Fn::Join': ['', Match.arrayWith([{ Ref: logicalIdOf(t.api, 'AWS::ApiGatewayV2::Api') }])] } });
    const rest = synth();
    rest.api.hasOutput('ApiUrl', { Value: { 'Fn::Join': ['', Match.arrayWith([{ Ref: logicalIdOf(rest.api, 'AWS::ApiGateway::RestApi') }])] } });
  });
});

describe.each(['rest', 'http'] as const)('stateless stack with pages (%s API)', (api) => {
  /** Each file of the enabled pages, GET and HEAD, from the pages table. */
  const pageKeys = (pages: readonly (keyof typeof PAGES)[]) =>
    pages.flatMap((id) => PAGES[id].files.flatMap((file) => [`GET ${file.path}`, `HEAD ${file.path}`]));
  const routeKeys = api === 'rest' ? restRouteKeys : httpRouteKeys;
  /** What the API routes besides the pages: the table (the REST API's preflights; the HTTP API's $default). */
  const apiKeys = api === 'rest' ? TABLE_ROUTE_KEYS : ['$default', ...TABLE_ROUTE_KEYS.filter((key) => !key.startsWith('OPTIONS '))];

  let none: ReturnType<typeof synth>;
  let all: ReturnType<typeof synth>;
  beforeAll(() => {
    none = synth({ api: { api } });
    all = synth({ api: { api, pages: PAGE_IDS } });
  });

  it('serves no page by default: neither setting on the function, no page path on the API', () => {
    none.api.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ DOCS_ENABLED: Match.absent(), DEMO_ENABLED: Match.absent() }) },
    });
    expect(routeKeys(none.api)).toEqual([...apiKeys].sort());
  });

  it('sets DOCS_ENABLED and DEMO_ENABLED and routes every page file beside the table, with no preflight on them', () => {
    all.api.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ DOCS_ENABLED: 'true', DEMO_ENABLED: 'true' }) },
    });

    expect(routeKeys(all.api)).toEqual([...apiKeys, ...pageKeys(PAGE_IDS)].sort());
    expect(routeKeys(all.api)).toContain('GET /');
  });

  it('routes only the pages it is given', () => {
    const docs = synth({ api: { api, pages: ['docs'] } });

    docs.api.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ DOCS_ENABLED: 'true', DEMO_ENABLED: Match.absent() }) },
    });
    expect(routeKeys(docs.api)).toEqual([...apiKeys, ...pageKeys(['docs'])].sort());
  });

  it('passes the pages through as text: no binary media types, every page method a Lambda proxy', () => {
    if (api === 'rest') {
      all.api.hasResourceProperties('AWS::ApiGateway::RestApi', { BinaryMediaTypes: Match.absent() });
      const methods = Object.values(all.api.findResources('AWS::ApiGateway::Method')) as {
        Properties: { HttpMethod: string; Integration: { Type: string } };
      }[];
      expect(methods.filter((m) => m.Properties.HttpMethod !== 'OPTIONS').every((m) => m.Properties.Integration.Type === 'AWS_PROXY')).toBe(true);
    } else {
      all.api.resourceCountIs('AWS::ApiGatewayV2::Integration', 1);
    }
    // Still one invoke permission, however many routes the pages add.
    invokeSourceArn(all.api);
  });
});

describe('passkeys and second factors (issue 11; -c webauthnRpId, webauthnOrigins)', () => {
  const WEBAUTHN = { webauthnRpId: 'example.com', webauthnOrigins: ['https://example.com', 'https://app.example.com'] };
  let off: ReturnType<typeof synth>;
  let on: ReturnType<typeof synth>;
  beforeAll(() => {
    off = synth();
    on = synth({ api: WEBAUTHN });
  });

  /** The MFA key's logical ID in the stateful stack, and its resource. */
  const mfaKeyOf = (t: ReturnType<typeof synth>) => {
    const id = t.stateful.getLogicalId(t.stateful.mfaEncryptionKey.node.defaultChild as CfnElement);
    return { id, resource: t.state.toJSON().Resources[id] as { Properties: Record<string, unknown>; DeletionPolicy?: string } };
  };
  /** Whether a value of the stateless template is the secret's ARN (its `Ref`), read across the stacks. */
  const isSecretArn = (value: unknown, id: string) => JSON.stringify(value).includes(`"PublishOutputRef${id}`);

  it('creates the passkeys table keyed by credential id, with the by-uid index (uid, createdAt, everything), on demand, with PITR, retained', () => {
    const { resource } = tableOf(off, off.stateful.passkeysTable);

    expect(resource.Properties.KeySchema).toEqual([{ AttributeName: 'id', KeyType: 'HASH' }]);
    expect(resource.Properties.AttributeDefinitions).toHaveLength(3);
    expect(resource.Properties.AttributeDefinitions).toEqual(
      expect.arrayContaining([
        { AttributeName: 'id', AttributeType: 'S' },
        { AttributeName: 'uid', AttributeType: 'S' },
        { AttributeName: 'createdAt', AttributeType: 'S' },
      ]),
    );
    expect(resource.Properties.GlobalSecondaryIndexes).toEqual([
      {
        IndexName: 'by-uid',
        KeySchema: [
          { AttributeName: 'uid', KeyType: 'HASH' },
          { AttributeName: 'createdAt', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
    ]);
    expect(resource.Properties).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
    // No fixed name (a second deployment can coexist), nothing expires.
    expect(resource.Properties.TableName).toBeUndefined();
    expect(resource.Properties.TimeToLiveSpecification).toBeUndefined();
    expect(resource).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });

  it('has the schema ensurePasskeysTable makes on the local stores, and the index name the store queries', async () => {
    const store = await startDynalite();
    const client = testClient(store.endpoint, 10_000);
    try {
      await ensurePasskeysTable(client, 'user-passkeys');
      const { Table } = await client.send(new DescribeTableCommand({ TableName: 'user-passkeys' }));
      const { resource } = tableOf(off, off.stateful.passkeysTable);
      const byName = (a: { AttributeName?: string }, b: { AttributeName?: string }) => String(a.AttributeName).localeCompare(String(b.AttributeName));

      expect(resource.Properties.KeySchema).toEqual(Table?.KeySchema);
      expect([...(resource.Properties.AttributeDefinitions as { AttributeName: string }[])].sort(byName)).toEqual(
        [...(Table?.AttributeDefinitions ?? [])].sort(byName),
      );
      expect(resource.Properties.GlobalSecondaryIndexes).toEqual(
        Table?.GlobalSecondaryIndexes?.map(({ IndexName, KeySchema, Projection }) => ({ IndexName, KeySchema, Projection })),
      );
      expect(PASSKEYS_BY_UID_INDEX).toBe(STORE_INDEX);
    } finally {
      client.destroy();
      await store.stop();
    }
  }, 30_000);

  it('keeps the table and the MFA key when the users table is adopted', () => {
    const adopted = synth({ state: { existingUsersTableName: 'user-table' } });

    expect(tableOf(adopted, adopted.stateful.passkeysTable).resource).toMatchObject({ Type: 'AWS::DynamoDB::Table', DeletionPolicy: 'Retain' });
    expect(mfaKeyOf(adopted).resource).toMatchObject({ Type: 'AWS::SecretsManager::Secret', DeletionPolicy: 'Retain' });
  });

  it('generates the MFA encryption key in Secrets Manager (64 characters) and retains it', () => {
    const { id, resource } = mfaKeyOf(off);

    expect(id).toMatch(/^MfaEncryptionKey/);
    expect(resource).toMatchObject({
      Type: 'AWS::SecretsManager::Secret',
      Properties: { GenerateSecretString: { PasswordLength: 64, ExcludePunctuation: true, IncludeSpace: false } },
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
    // Its value comes only from Secrets Manager: never in a template.
    expect(resource.Properties.SecretString).toBeUndefined();
  });

  it('gives the function the passkeys table name and the key ARN (never the key), and no relying party without the context', () => {
    const env = functionEnvironment(off.api);

    expect(isTableName(env.PASSKEYS_TABLE_NAME, tableOf(off, off.stateful.passkeysTable).id)).toBe(true);
    expect(isSecretArn(env.MFA_ENCRYPTION_KEY_ARN, mfaKeyOf(off).id)).toBe(true);
    expect(env).not.toHaveProperty('MFA_ENCRYPTION_KEY');
    expect(env).not.toHaveProperty('WEBAUTHN_RP_ID');
    expect(env).not.toHaveProperty('WEBAUTHN_ORIGINS');
  });

  it('sets WEBAUTHN_RP_ID and WEBAUTHN_ORIGINS from the context', () => {
    expect(functionEnvironment(on.api)).toMatchObject({
      WEBAUTHN_RP_ID: 'example.com',
      WEBAUTHN_ORIGINS: 'https://example.com,https://app.example.com',
    });
  });

  it('grants GetItem, PutItem, UpdateItem and DeleteItem on the passkeys table, and Query on its by-uid index only', () => {
    const id = tableOf(off, off.stateful.passkeysTable).id;
    const statements = statementsOf(off.api).filter((s) => resourcesOf(s).some((r) => isTableArn(r, id)));
    const onTable = statements.filter((s) => resourcesOf(s).every((r) => Object.keys(r as object).join() === 'Fn::GetStackOutput'));
    const onIndex = statements.filter((s) => !onTable.includes(s));

    expect(onTable.flatMap(actionsOf).sort()).toEqual(['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']);
    expect(onIndex).toHaveLength(1);
    expect(actionsOf(onIndex[0] as Statement)).toEqual(['dynamodb:Query']);
    // The table's ARN and `/index/by-uid`: this index, not `/index/*`, and not the table itself.
    const [indexArn, ...more] = resourcesOf(onIndex[0] as Statement) as { 'Fn::Join': [string, unknown[]] }[];
    expect(more).toEqual([]);
    expect(indexArn?.['Fn::Join'][0]).toBe('');
    const [tableArn, suffix, ...rest] = indexArn?.['Fn::Join'][1] ?? [];
    expect(isTableArn(tableArn, id)).toBe(true);
    expect(suffix).toBe('/index/by-uid');
    expect(rest).toEqual([]);
    // And no passkey action rides on another statement: nothing but these two names the table.
    expect(statements).toHaveLength(2);
  });

  it('grants GetSecretValue on the MFA key in the one secrets statement, beside the signing and refresh secrets', () => {
    const [secrets, ...others] = statementsOf(off.api).filter((s) => actionsOf(s).includes('secretsmanager:GetSecretValue'));

    expect(others).toEqual([]);
    expect(actionsOf(secrets as Statement)).toEqual(['secretsmanager:GetSecretValue']);
    expect(resourcesOf(secrets as Statement)).toHaveLength(3);
    expect(resourcesOf(secrets as Statement).some((r) => isSecretArn(r, mfaKeyOf(off).id))).toBe(true);
    // Wildcards nowhere, with passkeys on as off.
    for (const statement of [...statementsOf(off.api), ...statementsOf(on.api)]) {
      expect(JSON.stringify(statement.Resource)).not.toMatch(/\*/);
    }
  });

  it('gives the function only real settings, which the function config reads back with passkeys on', () => {
    // Every option that adds a setting at once.
    const all = synth({
      state: { jwtAlgorithm: 'EdDSA' },
      api: { ...WEBAUTHN, ...MAIL, sesConfigurationSet: 'login-events', mailProductName: 'Acme', pages: PAGE_IDS, tokenTtlSeconds: 900, jwtSigningKid: 'k1', keysVersion: '2' },
    });
    const env = functionEnvironment(all.api);

    // KEYS_VERSION is read by nobody: it only changes the function's configuration, so Lambda replaces warm containers.
    expect(Object.keys(env).filter((key) => !settingVariables().includes(key))).toEqual(['KEYS_VERSION']);
    // Resolved on AWS: a table's name, a secret's ARN. Lambda sets AWS_REGION.
    const resolved = Object.fromEntries(
      Object.entries(env).map(([key, value]) => [
        key,
        typeof value === 'string'
          ? value
          : key.endsWith('_ARN')
            ? `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${key.toLowerCase()}-AbCdEf`
            : `stack-${key.toLowerCase().replaceAll('_', '-')}`,
      ]),
    );
    const config = loadConfig({ ...resolved, AWS_REGION: 'eu-west-1' }, 'lambda');

    expect(config.passkeys).toMatchObject({ rpId: 'example.com', origins: ['https://example.com', 'https://app.example.com'] });
    expect(config.passkeysTableName).toBe('stack-passkeys-table-name');
    expect(config.mfa.encryptionKeyArn).toBe('arn:aws:secretsmanager:eu-west-1:123456789012:secret:mfa_encryption_key_arn-AbCdEf');
    expect(loadConfig({ ...resolved, WEBAUTHN_RP_ID: '', WEBAUTHN_ORIGINS: '', AWS_REGION: 'eu-west-1' }, 'lambda').passkeys).toBeNull();
  });

  it.each([
    ['webauthnOrigins when only webauthnRpId is given', { webauthnRpId: 'example.com' }, /webauthnRpId needs webauthnOrigins: pass -c webauthnOrigins=/],
    ['webauthnRpId when only webauthnOrigins is given', { webauthnOrigins: ['https://example.com'] }, /webauthnOrigins needs webauthnRpId: pass -c webauthnRpId=/],
    [
      'webauthnOrigins for an origin that is not https',
      { ...WEBAUTHN, webauthnOrigins: ['https://example.com', 'http://app.example.com'] },
      /webauthnOrigins: http:\/\/app.example.com must be https on webauthnRpId example.com or a subdomain of it/,
    ],
    [
      'webauthnOrigins for an origin on another site',
      { ...WEBAUTHN, webauthnOrigins: ['https://example.org'] },
      /webauthnOrigins: https:\/\/example.org must be https on webauthnRpId example.com/,
    ],
  ])('fails synth naming %s', (_case, api, message) => {
    expect(() => synth({ api })).toThrow(message);
  });
});

describe('function assets', () => {
  // ELF e_machine (bytes 18-19, little endian): the CPU a native binary runs on.
  const ELF_MACHINE = { arm64: 0xb7, x86_64: 0x3e } as const;

  it.each(['arm64', 'x86_64'] as const)('holds exactly one argon2 binary built for %s', (architecture) => {
    const { app, api } = synth({ api: { architecture } });
    const assembly = app.synth();
    const [fn] = Object.values(api.findResources('AWS::Lambda::Function')) as { Properties: { Code: { S3Key: string } } }[];
    const assetDir = join(assembly.directory, `asset.${fn?.Properties.Code.S3Key.replace(/\.zip$/, '')}`);

    const binaries = nativeFiles(assetDir);

    expect(binaries).toHaveLength(1);
    const header = readFileSync(binaries[0] as string);
    expect(header.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
    expect(header.readUInt16LE(18)).toBe(ELF_MACHINE[architecture]);
    const entry = readFileSync(join(assetDir, 'index.mjs'), 'utf8');
    expect(entry.startsWith('import { createRequire')).toBe(true);
    // The entry and the chunks it imports statically: what a cold start loads (the SES client's chunk loads on the
    // first mail and carries the SDK's user agent).
    const chunks = [...entry.matchAll(/from"\.\/(chunks\/[\w-]+\.mjs)"/g)].map((match) => match[1] as string);
    const bundle = [entry, ...chunks.map((chunk) => readFileSync(join(assetDir, chunk), 'utf8'))].join('\n');
    // DynamoDB is reached by the bundle's own client, not by an SDK expected from the runtime, and no SDK package
    // ships beside it.
    expect(bundle).toContain('DynamoDB_20120810');
    expect(bundle).not.toContain('aws-sdk-js'); // the SDK's user-agent prefix
    expect(existsSync(join(assetDir, 'node_modules', '@aws-sdk'))).toBe(false);
    expect(existsSync(join(assetDir, 'index.mjs.map'))).toBe(true);
    expect(existsSync(join(assetDir, 'common-passwords.txt.gz'))).toBe(true);
    // The pages' files ship in every asset (read only when -c pages turns a page on): each file of the pages table.
    const missing = PAGE_IDS.flatMap((id): readonly PageFile[] => PAGES[id].files).filter((file) => !existsSync(join(assetDir, 'web', file.file)));
    expect(missing).toEqual([]);
  });
});
