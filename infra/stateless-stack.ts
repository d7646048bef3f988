// The stateless stack: the function and the REST API in front of it; safe to destroy and redeploy at will.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Duration, Stack, type StackProps, CfnOutput } from 'aws-cdk-lib';
import {
  AccessLogFormat,
  Cors,
  EndpointType,
  LambdaIntegration,
  LogGroupLogDestination,
  RestApi,
} from 'aws-cdk-lib/aws-apigateway';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { LAMBDA_BUNDLE, NATIVE_MODULES } from '../scripts/lambda-bundle.mjs';
import { nativeFiles, stagedDir } from '../scripts/stage-argon2.mjs';
import { addGatewayErrors } from './api-errors';

const PROJECT_ROOT = resolve(import.meta.dirname, '..');

export type StatelessStackProps = StackProps & {
  usersTable: ITable;
  sessionsTable: ITable;
  throttleTable: ITable;
  jwtSecret: ISecret;
  refreshTokenSecret: ISecret;
  /** Required with an asymmetric jwtAlgorithm. */
  jwtPrivateJwks?: ISecret | undefined;
  jwtAlgorithm?: 'HS256' | 'EdDSA' | 'ES256';
  /** Access-token lifetime; shorten it to bound how long a service verifying on its own (JWKS) trusts a token. */
  tokenTtlSeconds?: number;
  /** Which key of the private JWK set signs (JWT_SIGNING_KID); default the set's first. */
  jwtSigningKid?: string;
  /**
   * Secrets are read once per cold start: change this after changing a secret, so the function's
   * configuration changes and Lambda replaces its warm containers.
   */
  keysVersion?: string;
  /** Default arm64 (cheaper per ms on Lambda); the matching argon2 binary goes into the asset. */
  architecture?: 'arm64' | 'x86_64';
  memorySize?: number;
  timeoutSeconds?: number;
  /** Stage-wide default method throttling. */
  throttlingRateLimit?: number;
  throttlingBurstLimit?: number;
  /** Allowed origins; default any ('*'). */
  corsOrigins?: string[];
  /** Source maps are always built; turning them on at run time costs ~50 ms of cold start. */
  enableSourceMaps?: boolean;
  logRetention?: RetentionDays;
  /**
   * API Gateway needs an account-wide CloudWatch role to write access logs; create it here (default) unless
   * the account already has one. It is the one IAM grant with `Resource: "*"` (AWS's managed push-to-logs policy).
   */
  apiGatewayCloudWatchRole?: boolean;
};

export class StatelessStack extends Stack {
  readonly api: RestApi;
  readonly function: NodejsFunction;

  constructor(scope: Construct, id: string, props: StatelessStackProps) {
    super(scope, id, props);
    const architecture = props.architecture ?? 'arm64';
    const jwtAlgorithm = props.jwtAlgorithm ?? 'HS256';
    if (jwtAlgorithm !== 'HS256' && props.jwtPrivateJwks === undefined) {
      throw new Error(`jwtAlgorithm ${jwtAlgorithm} needs the private JWK set secret`);
    }
    const signingSecret = jwtAlgorithm === 'HS256' ? props.jwtSecret : (props.jwtPrivateJwks as ISecret);
    const corsOrigins = props.corsOrigins ?? ['*'];
    const retention = props.logRetention ?? RetentionDays.ONE_MONTH;

    const functionLogs = new LogGroup(this, 'FunctionLogs', { retention });
    const role = new Role(this, 'FunctionRole', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: 'login-service function: its tables, its secrets, its log group; nothing else',
    });
    role.addToPolicy(
      new PolicyStatement({
        actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
        resources: [props.usersTable.tableArn],
      }),
    );
    role.addToPolicy(
      new PolicyStatement({
        actions: [
          'dynamodb:GetItem',
          'dynamodb:PutItem',
          'dynamodb:UpdateItem',
          'dynamodb:DeleteItem',
          'dynamodb:Query',
          'dynamodb:BatchWriteItem',
        ],
        resources: [props.sessionsTable.tableArn],
      }),
    );
    role.addToPolicy(
      new PolicyStatement({
        actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
        resources: [props.throttleTable.tableArn],
      }),
    );
    role.addToPolicy(
      new PolicyStatement({
        actions: ['secretsmanager:GetSecretValue'],
        resources: [signingSecret.secretArn, props.refreshTokenSecret.secretArn],
      }),
    );
    role.addToPolicy(
      new PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [functionLogs.logGroupArn],
      }),
    );

    this.function = new NodejsFunction(this, 'Function', {
      entry: join(PROJECT_ROOT, LAMBDA_BUNDLE.entry),
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
      runtime: Runtime.NODEJS_22_X,
      architecture: architecture === 'arm64' ? Architecture.ARM_64 : Architecture.X86_64,
      memorySize: props.memorySize ?? 1024,
      timeout: Duration.seconds(props.timeoutSeconds ?? 10),
      role,
      logGroup: functionLogs,
      environment: {
        TABLE_NAME: props.usersTable.tableName,
        SESSIONS_TABLE_NAME: props.sessionsTable.tableName,
        THROTTLE_TABLE_NAME: props.throttleTable.tableName,
        JWT_ALG: jwtAlgorithm,
        ...(jwtAlgorithm === 'HS256'
          ? { JWT_SECRET_ARN: signingSecret.secretArn }
          : { JWT_PRIVATE_JWKS_ARN: signingSecret.secretArn }),
        REFRESH_TOKEN_SECRET_ARN: props.refreshTokenSecret.secretArn,
        ...(props.tokenTtlSeconds === undefined ? {} : { TOKEN_TTL_SECONDS: String(props.tokenTtlSeconds) }),
        ...(props.jwtSigningKid === undefined ? {} : { JWT_SIGNING_KID: props.jwtSigningKid }),
        ...(props.keysVersion === undefined ? {} : { KEYS_VERSION: props.keysVersion }),
        CORS_ORIGINS: corsOrigins.join(','),
        ...(props.enableSourceMaps ? { NODE_OPTIONS: '--enable-source-maps' } : {}),
      },
      bundling: {
        format: OutputFormat.ESM,
        target: LAMBDA_BUNDLE.target,
        mainFields: LAMBDA_BUNDLE.mainFields,
        banner: LAMBDA_BUNDLE.banner,
        minify: true,
        sourceMap: true,
        // Replaces the default ['@aws-sdk/*']: the SDK is bundled, pinned by our lockfile, as AWS recommends.
        externalModules: NATIVE_MODULES,
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          // The argon2 binary for the function's architecture, staged by scripts/stage-argon2.mjs, and the
          // common-password blocklist, read at run time from beside index.mjs.
          afterBundling: (_inputDir, outputDir) => [
            `cp -R "${stagedArgon2(architecture)}" "${outputDir}/node_modules"`,
            `cp "${join(PROJECT_ROOT, 'data', 'common-passwords.txt.gz')}" "${outputDir}/common-passwords.txt.gz"`,
          ],
        },
      },
    });

    const accessLogs = new LogGroup(this, 'ApiAccessLogs', { retention });
    this.api = new RestApi(this, 'Api', {
      restApiName: 'login-service',
      description: 'Register, log in and verify tokens',
      endpointTypes: [EndpointType.REGIONAL],
      cloudWatchRole: props.apiGatewayCloudWatchRole ?? true,
      deployOptions: {
        stageName: 'prod',
        throttlingRateLimit: props.throttlingRateLimit ?? 100,
        throttlingBurstLimit: props.throttlingBurstLimit ?? 200,
        accessLogDestination: new LogGroupLogDestination(accessLogs),
        accessLogFormat: AccessLogFormat.jsonWithStandardFields(),
      },
      defaultCorsPreflightOptions: {
        allowOrigins: corsOrigins.includes('*') ? Cors.ALL_ORIGINS : corsOrigins,
        allowMethods: ['GET', 'POST', 'DELETE', 'OPTIONS'],
        allowHeaders: ['Content-Type', 'Authorization'],
        maxAge: Duration.minutes(10),
      },
    });
    const integration = new LambdaIntegration(this.function, { allowTestInvoke: false });
    const root = this.api.root;
    for (const path of ['register', 'login', 'verify']) root.addResource(path).addMethod('POST', integration);
    root.addResource('token').addResource('refresh').addMethod('POST', integration);
    const logout = root.addResource('logout');
    logout.addMethod('POST', integration);
    logout.addResource('all').addMethod('POST', integration);
    const me = root.addResource('me');
    me.addMethod('GET', integration);
    me.addMethod('DELETE', integration);
    me.addResource('password').addMethod('POST', integration);
    root.addResource('.well-known').addResource('jwks.json').addMethod('GET', integration);
    root.addResource('health').addMethod('GET', integration);

    const singleOrigin = corsOrigins.includes('*') ? '*' : corsOrigins.length === 1 ? corsOrigins[0] : undefined;
    addGatewayErrors(this, this.api, singleOrigin);

    new CfnOutput(this, 'ApiUrl', { value: this.api.url, description: 'Base URL: POST {ApiUrl}login, ...' });
    new CfnOutput(this, 'FunctionName', { value: this.function.functionName });
  }
}

/** The staged node_modules for one architecture; synth fails clearly when it is missing or incomplete. */
const stagedArgon2 = (architecture: 'arm64' | 'x86_64'): string => {
  const dir = join(stagedDir(architecture === 'arm64' ? 'arm64' : 'x64'), 'node_modules');
  if (!existsSync(dir) || nativeFiles(dir).length !== 1) {
    throw new Error(`argon2 for linux-${architecture} is not staged: run \`node scripts/stage-argon2.mjs\` first`);
  }
  return dir;
};
