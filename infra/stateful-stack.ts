// The stateful stack: what must outlive any deployment of the code: the tables and the secrets.
import { RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { AttributeType, BillingMode, ProjectionType, Table, type ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Secret, type ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import type { JwtAlgorithm } from '../src/settings-types';

/**
 * The passkeys table's index of an account's passkeys (src/adapters/dynamodb/passkey-store.ts PASSKEYS_BY_UID_INDEX;
 * restated so synth does not load the SDK client, and checked equal in the tests).
 */
export const PASSKEYS_BY_UID_INDEX = 'by-uid';

export type StatefulStackProps = StackProps & {
  /**
   * Adopt an existing users table by name (a tutorial deployment's `user-table`) instead of creating one.
   * An adopted table keeps its own point-in-time recovery and deletion protection settings.
   */
  existingUsersTableName?: string;
  /** EdDSA / ES256 also keep a private JWK set in Secrets Manager (you put its value: see the README). */
  jwtAlgorithm?: JwtAlgorithm;
};

export class StatefulStack extends Stack {
  readonly usersTable: ITable;
  readonly sessionsTable: ITable;
  readonly throttleTable: ITable;
  readonly oneTimeTokensTable: ITable;
  readonly emailsTable: ITable;
  readonly passkeysTable: ITable;
  readonly jwtSecret: ISecret;
  readonly refreshTokenSecret: ISecret;
  readonly mfaEncryptionKey: ISecret;
  /** Only with an asymmetric jwtAlgorithm. */
  readonly jwtPrivateJwks: ISecret | undefined;

  constructor(scope: Construct, id: string, props: StatefulStackProps = {}) {
    super(scope, id, props);

    this.usersTable =
      props.existingUsersTableName === undefined
        ? new Table(this, 'Users', {
            partitionKey: { name: 'username', type: AttributeType.STRING },
            billingMode: BillingMode.PAY_PER_REQUEST,
            pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
            deletionProtection: true,
            removalPolicy: RemovalPolicy.RETAIN,
          })
        : Table.fromTableName(this, 'Users', props.existingUsersTableName);

    // Sessions: all of a user's in one Query (uid), one session in one read (uid, sid). DynamoDB's TTL
    // deletes ended ones for cleanup; the code enforces expiry itself. Losing it logs everybody out: retained.
    this.sessionsTable = new Table(this, 'Sessions', {
      partitionKey: { name: 'uid', type: AttributeType.STRING },
      sortKey: { name: 'sid', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: 'expiresAt',
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // Throttle counters: one item per name digest or client; TTL cleans up, the code checks expiry itself.
    // Losing it only forgets recent failures: destroyed with the stack.
    this.throttleTable = new Table(this, 'Throttle', {
      partitionKey: { name: 'key', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: 'expiresAt',
      removalPolicy: RemovalPolicy.DESTROY,
    });

    // One-time tokens (email verification, password reset): digests only, each a day at most. TTL cleans up,
    // the code checks expiry itself. Losing it only voids links in flight, but it is written to on every
    // reset: retained like the sessions, so a stack replacement never takes it down mid-reset.
    this.oneTimeTokensTable = new Table(this, 'OneTimeTokens', {
      partitionKey: { name: 'key', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: 'expiresAt',
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // Verified-address claims: the conditional write that keeps a verified address to one account, and the way
    // in for a login by email. They go with the users table, so they get its point-in-time recovery. Claims
    // never expire (nothing writes expiresAt); the TTL attribute is there as the tables all have it.
    this.emailsTable = new Table(this, 'Emails', {
      partitionKey: { name: 'email', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: 'expiresAt',
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // Passkeys (issue 11): one strongly consistent read by credential id per passkey login, so the credential id is
    // the key; an account's list (GET /me/passkeys, excludeCredentials, account deletion) from the by-uid index,
    // oldest first. The schema of ensurePasskeysTable (src/adapters/dynamodb/ensure-table.ts). They are credentials,
    // like the users table: point-in-time recovery, retained.
    const passkeysTable = new Table(this, 'Passkeys', {
      partitionKey: { name: 'id', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: RemovalPolicy.RETAIN,
    });
    passkeysTable.addGlobalSecondaryIndex({
      indexName: PASSKEYS_BY_UID_INDEX,
      partitionKey: { name: 'uid', type: AttributeType.STRING },
      sortKey: { name: 'createdAt', type: AttributeType.STRING },
      // Everything: the list shows most of a record, and the store reads whole records from it.
      projectionType: ProjectionType.ALL,
    });
    this.passkeysTable = passkeysTable;

    // A secret is state: replacing it would invalidate every token in circulation.
    const generated = (id: string, description: string) =>
      new Secret(this, id, {
        description,
        generateSecretString: { passwordLength: 64, excludePunctuation: true, includeSpace: false },
        removalPolicy: RemovalPolicy.RETAIN,
      });
    this.jwtSecret = generated('JwtSigningSecret', 'HS256 signing secret of the login service');
    this.refreshTokenSecret = generated('RefreshTokenSecret', 'HMAC key of the login service refresh-token chains');
    // Losing or replacing it makes every stored TOTP secret unreadable: every authenticator app would need enrolling again.
    this.mfaEncryptionKey = generated('MfaEncryptionKey', 'Key of the login service TOTP secrets encryption at rest');
    this.jwtPrivateJwks =
      (props.jwtAlgorithm ?? 'HS256') === 'HS256'
        ? undefined
        : new Secret(this, 'JwtPrivateJwks', {
            description: 'Private JWK set that signs login-service access tokens (put it with npm run jwks)',
            removalPolicy: RemovalPolicy.RETAIN,
          });
  }
}
