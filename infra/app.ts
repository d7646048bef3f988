// The CDK app: `npm run synth` / `npm run deploy` (`-c api=http`: an HTTP API; `-c pages=docs,demo`: the web pages;
// `-c mailFrom=... -c sesIdentityArn=... -c appUrl=...`: mail through SES; `-c webauthnRpId=... -c webauthnOrigins=...`:
// passkeys); account and region come at deploy time.
import { App } from 'aws-cdk-lib';
import { StatefulStack } from './stateful-stack';
import { parsePages } from './pages';
import { StatelessStack } from './stateless-stack';
import { JWT_ALGORITHMS, type JwtAlgorithm } from '../src/settings-types';

const app = new App();
const context = (key: string): string | undefined => app.node.tryGetContext(key) ?? undefined;
const numberContext = (key: string) => (context(key) === undefined ? undefined : Number(context(key)));
const listContext = (key: string) => context(key)?.split(',').map((item) => item.trim()).filter((item) => item !== '');

const jwtAlgorithm = (context('jwtAlg') ?? 'HS256') as JwtAlgorithm;
if (!JWT_ALGORITHMS.includes(jwtAlgorithm)) throw new Error(`jwtAlg must be one of ${JWT_ALGORITHMS.join(', ')}`);

// The front door: the tutorial's REST API unless `-c api=http` asks for the cheaper HTTP API.
const api = context('api') ?? 'rest';
if (api !== 'rest' && api !== 'http') throw new Error('api must be rest or http');

const state = new StatefulStack(app, 'LoginServiceState', {
  existingUsersTableName: context('existingUsersTable'),
  jwtAlgorithm,
  description:
    'login-service: users, sessions, throttle, one-time token, email and passkey tables, and the signing, refresh and MFA secrets',
});

new StatelessStack(app, 'LoginServiceApi', {
  usersTable: state.usersTable,
  sessionsTable: state.sessionsTable,
  throttleTable: state.throttleTable,
  oneTimeTokensTable: state.oneTimeTokensTable,
  emailsTable: state.emailsTable,
  passkeysTable: state.passkeysTable,
  jwtSecret: state.jwtSecret,
  refreshTokenSecret: state.refreshTokenSecret,
  mfaEncryptionKey: state.mfaEncryptionKey,
  jwtPrivateJwks: state.jwtPrivateJwks,
  jwtAlgorithm,
  tokenTtlSeconds: numberContext('tokenTtlSeconds'),
  jwtSigningKid: context('jwtSigningKid'),
  keysVersion: context('keysVersion'),
  api,
  architecture: context('architecture') === 'x86_64' ? 'x86_64' : 'arm64',
  memorySize: numberContext('memorySize'),
  timeoutSeconds: numberContext('timeoutSeconds'),
  throttlingRateLimit: numberContext('throttlingRateLimit'),
  throttlingBurstLimit: numberContext('throttlingBurstLimit'),
  pages: parsePages(context('pages')),
  corsOrigins: context('corsOrigins')?.split(',').map((origin) => origin.trim()),
  mailFrom: context('mailFrom'),
  sesIdentityArn: context('sesIdentityArn'),
  appUrl: context('appUrl'),
  sesConfigurationSet: context('sesConfigurationSet'),
  mailProductName: context('mailProductName'),
  sesSandboxRecipientArns: listContext('sesSandboxRecipientArns'),
  webauthnRpId: context('webauthnRpId'),
  webauthnOrigins: listContext('webauthnOrigins'),
  enableSourceMaps: context('enableSourceMaps') === 'true',
  apiGatewayCloudWatchRole: context('apiGatewayCloudWatchRole') !== 'false',
  description: `login-service: function and ${api === 'http' ? 'HTTP' : 'REST'} API`,
});
