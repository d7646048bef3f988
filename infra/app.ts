// The CDK app: `npm run synth` / `npm run deploy`. Environment-agnostic: account and region come at deploy time.
import { App } from 'aws-cdk-lib';
import { StatefulStack } from './stateful-stack';
import { StatelessStack } from './stateless-stack';

const app = new App();
const context = (key: string): string | undefined => app.node.tryGetContext(key) ?? undefined;
const numberContext = (key: string) => (context(key) === undefined ? undefined : Number(context(key)));

const state = new StatefulStack(app, 'LoginServiceState', {
  existingUsersTableName: context('existingUsersTable'),
  description: 'login-service: users table and signing secret (retained)',
});

new StatelessStack(app, 'LoginServiceApi', {
  usersTable: state.usersTable,
  jwtSecret: state.jwtSecret,
  architecture: context('architecture') === 'x86_64' ? 'x86_64' : 'arm64',
  memorySize: numberContext('memorySize'),
  timeoutSeconds: numberContext('timeoutSeconds'),
  throttlingRateLimit: numberContext('throttlingRateLimit'),
  throttlingBurstLimit: numberContext('throttlingBurstLimit'),
  corsOrigins: context('corsOrigins')?.split(',').map((origin) => origin.trim()),
  enableSourceMaps: context('enableSourceMaps') === 'true',
  apiGatewayCloudWatchRole: context('apiGatewayCloudWatchRole') !== 'false',
  description: 'login-service: function and REST API',
});
