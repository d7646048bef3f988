// Template assertions on the synthesized stacks, and the argon2 binary inside each function asset.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Token } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { nativeFiles, stageArgon2 } from '../scripts/stage-argon2.mjs';
import { GATEWAY_ERRORS } from './api-errors';
import { StatefulStack, type StatefulStackProps } from './stateful-stack';
import { StatelessStack, type StatelessStackProps } from './stateless-stack';

const featureFlags = JSON.parse(readFileSync('cdk.json', 'utf8')).context as Record<string, unknown>;

type Options = {
  state?: StatefulStackProps;
  api?: Omit<
    StatelessStackProps,
    'usersTable' | 'sessionsTable' | 'throttleTable' | 'jwtSecret' | 'refreshTokenSecret' | 'jwtPrivateJwks'
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
    jwtSecret: stateful.jwtSecret,
    refreshTokenSecret: stateful.refreshTokenSecret,
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

const statementsOf = (template: Template): Statement[] =>
  Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
    (policy) => (policy as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument.Statement,
  );
const actionsOf = (statement: Statement) => [statement.Action].flat();

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

  it('keeps the refresh-token key in Secrets Manager, and a private JWK set only for asymmetric signing', () => {
    t.state.resourceCountIs('AWS::SecretsManager::Secret', 2);
    const asymmetric = synth({ state: { jwtAlgorithm: 'EdDSA' } });

    asymmetric.state.resourceCountIs('AWS::SecretsManager::Secret', 3);
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

  it('serves every endpoint on a REST API with CORS preflight', () => {
    t.api.resourceCountIs('AWS::ApiGateway::RestApi', 1);
    const paths = ['register', 'login', 'verify', 'token', 'refresh', 'logout', 'all', 'me', 'password', '.well-known', 'jwks.json', 'health'];
    for (const path of paths) t.api.hasResourceProperties('AWS::ApiGateway::Resource', { PathPart: path });
    // POST: register, login, verify, token/refresh, logout, logout/all, me/password; GET: me, jwks, health.
    t.api.resourcePropertiesCountIs('AWS::ApiGateway::Method', { HttpMethod: 'POST' }, 7);
    t.api.resourcePropertiesCountIs('AWS::ApiGateway::Method', { HttpMethod: 'GET' }, 3);
    t.api.resourcePropertiesCountIs('AWS::ApiGateway::Method', { HttpMethod: 'DELETE' }, 1);
    t.api.resourcePropertiesCountIs(
      'AWS::ApiGateway::Method',
      { HttpMethod: 'OPTIONS', Integration: Match.objectLike({ Type: 'MOCK' }) },
      paths.length + 1,
    );
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
    // Query and BatchWriteItem only on the sessions table.
    const wide = statements.filter((s) => actionsOf(s).includes('dynamodb:Query'));
    expect(wide).toHaveLength(1);
    expect(actionsOf(statements.find((s) => actionsOf(s).includes('dynamodb:DeleteItem') && !actionsOf(s).includes('dynamodb:Query')) as Statement)).not.toContain('dynamodb:BatchWriteItem');
    for (const statement of statements) {
      expect(statement.Resource).not.toBe('*');
      expect(JSON.stringify(statement.Resource)).not.toBe('"*"');
      expect(actionsOf(statement).some((a) => a.endsWith(':*') || a === '*')).toBe(false);
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
    const bundle = readFileSync(join(assetDir, 'index.mjs'), 'utf8');
    expect(bundle.startsWith('import { createRequire')).toBe(true);
    // The AWS SDK is inside the bundle, not expected from the runtime, and no SDK package ships beside it.
    expect(bundle).toContain('serviceTarget:"DynamoDB_20120810"');
    expect(existsSync(join(assetDir, 'node_modules', '@aws-sdk'))).toBe(false);
    expect(existsSync(join(assetDir, 'index.mjs.map'))).toBe(true);
    expect(existsSync(join(assetDir, 'common-passwords.txt.gz'))).toBe(true);
  });
});
