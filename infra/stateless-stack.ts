// The stateless stack: the function and the API in front of it (REST, or HTTP); safe to destroy and redeploy at will.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Duration, Stack, type StackProps, CfnOutput } from 'aws-cdk-lib';
import type { RestApi } from 'aws-cdk-lib/aws-apigateway';
import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { LAMBDA_BUNDLE, NATIVE_MODULES } from '../scripts/lambda-bundle.mjs';
import { nativeFiles, stagedDir } from '../scripts/stage-argon2.mjs';
import { createHttpApi } from './http-api';
import { pageEnvironment } from './pages';
import { createRestApi } from './rest-api';
import { sesMail, type SesMailProps } from './ses-mail';
import { PASSKEYS_BY_UID_INDEX } from './stateful-stack';
import { webauthnEnvironment, type WebAuthnProps } from './webauthn';
import type { PageId } from '../src/adapters/http/pages';
import type { JwtAlgorithm } from '../src/settings-types';

const PROJECT_ROOT = resolve(import.meta.dirname, '..');

export type StatelessStackProps = StackProps & SesMailProps & WebAuthnProps & {
  usersTable: ITable;
  sessionsTable: ITable;
  throttleTable: ITable;
  oneTimeTokensTable: ITable;
  emailsTable: ITable;
  passkeysTable: ITable;
  jwtSecret: ISecret;
  refreshTokenSecret: ISecret;
  /** Keys the TOTP secrets' encryption at rest. */
  mfaEncryptionKey: ISecret;
  /** Required with an asymmetric jwtAlgorithm. */
  jwtPrivateJwks?: ISecret | undefined;
  jwtAlgorithm?: JwtAlgorithm;
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
  /**
   * The front door: `rest` (default; the tutorial's REST API, whose gateway errors we can reshape) or `http` (an
   * HTTP API: payload 2.0, cheaper per request, lower latency). Both serve the route table's routes.
   */
  api?: 'rest' | 'http';
  /**
   * The web pages to serve on Lambda (`docs`: the API reference at /docs, `demo`: the demo page at /); default none.
   * Sets their settings (DOCS_ENABLED, DEMO_ENABLED) on the function and routes their paths on the API.
   */
  pages?: readonly PageId[];
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
  /** The one of the two that `api` chose. */
  readonly restApi: RestApi | undefined;
  readonly httpApi: HttpApi | undefined;
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
    const mail = sesMail(this, props);
    const webauthn = webauthnEnvironment(props);

    const functionLogs = new LogGroup(this, 'FunctionLogs', { retention });
    const role = new Role(this, 'FunctionRole', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: 'login-service function: its tables, its secrets, its log group, its SES identity if any; nothing else',
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
    // Tokens: written, superseded by an overwrite, consumed by a conditional update or delete; never listed.
    role.addToPolicy(
      new PolicyStatement({
        actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
        resources: [props.oneTimeTokensTable.tableArn],
      }),
    );
    // Address claims: claimed by a conditional put, found by key, released by a conditional delete; never listed.
    role.addToPolicy(
      new PolicyStatement({
        actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem'],
        resources: [props.emailsTable.tableArn],
      }),
    );
    // Passkeys: found by credential id, added by a conditional put, their counter moved on by a conditional update,
    // removed by a conditional delete; an account's list only from the by-uid index (Query there, not on the table).
    // Granted with passkeys off too: the table is always there, and deleting an account clears it.
    role.addToPolicy(
      new PolicyStatement({
        actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
        resources: [props.passkeysTable.tableArn],
      }),
    );
    role.addToPolicy(
      new PolicyStatement({
        actions: ['dynamodb:Query'],
        resources: [`${props.passkeysTable.tableArn}/index/${PASSKEYS_BY_UID_INDEX}`],
      }),
    );
    if (mail.statement !== undefined) role.addToPolicy(mail.statement);
    role.addToPolicy(
      new PolicyStatement({
        actions: ['secretsmanager:GetSecretValue'],
        resources: [signingSecret.secretArn, props.refreshTokenSecret.secretArn, props.mfaEncryptionKey.secretArn],
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
        ONE_TIME_TOKENS_TABLE_NAME: props.oneTimeTokensTable.tableName,
        EMAILS_TABLE_NAME: props.emailsTable.tableName,
        PASSKEYS_TABLE_NAME: props.passkeysTable.tableName,
        ...mail.environment,
        ...webauthn,
        JWT_ALG: jwtAlgorithm,
        ...(jwtAlgorithm === 'HS256'
          ? { JWT_SECRET_ARN: signingSecret.secretArn }
          : { JWT_PRIVATE_JWKS_ARN: signingSecret.secretArn }),
        REFRESH_TOKEN_SECRET_ARN: props.refreshTokenSecret.secretArn,
        MFA_ENCRYPTION_KEY_ARN: props.mfaEncryptionKey.secretArn,
        ...(props.tokenTtlSeconds === undefined ? {} : { TOKEN_TTL_SECONDS: String(props.tokenTtlSeconds) }),
        ...(props.jwtSigningKid === undefined ? {} : { JWT_SIGNING_KID: props.jwtSigningKid }),
        ...(props.keysVersion === undefined ? {} : { KEYS_VERSION: props.keysVersion }),
        CORS_ORIGINS: corsOrigins.join(','),
        ...(props.enableSourceMaps ? { NODE_OPTIONS: '--enable-source-maps' } : {}),
        ...pageEnvironment(props.pages ?? []),
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
          // NodejsFunction bundles to one file and cannot split it into chunks loaded on first use, so the
          // bundle it made is replaced by `npm run build`'s (the same LAMBDA_BUNDLE choices, with splitting; the
          // blocklist beside it). Then the argon2 binary for the function's architecture, staged by
          // scripts/stage-argon2.mjs.
          afterBundling: (_inputDir, outputDir) => [
            `node "${join(PROJECT_ROOT, 'scripts', 'build.mjs')}" --outdir "${outputDir}"`,
            `cp -R "${stagedArgon2(architecture)}" "${outputDir}/node_modules"`,
          ],
        },
      },
    });

    const frontDoor = {
      function: this.function,
      corsOrigins,
      throttlingRateLimit: props.throttlingRateLimit ?? 100,
      throttlingBurstLimit: props.throttlingBurstLimit ?? 200,
      logRetention: retention,
      pages: props.pages ?? [],
    };
    let url: string;
    if ((props.api ?? 'rest') === 'http') {
      const http = createHttpApi(this, frontDoor);
      this.httpApi = http.api;
      this.restApi = undefined;
      url = http.url;
    } else {
      const rest = createRestApi(this, { ...frontDoor, cloudWatchRole: props.apiGatewayCloudWatchRole ?? true });
      this.restApi = rest.api;
      this.httpApi = undefined;
      url = rest.url;
    }

    new CfnOutput(this, 'ApiUrl', { value: url, description: 'Base URL: POST {ApiUrl}login, ...' });
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
