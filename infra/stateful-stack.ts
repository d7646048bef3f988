// The stateful stack: what must outlive any deployment of the code (the users table, the JWT signing secret).
import { RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table, type ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Secret, type ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';

export type StatefulStackProps = StackProps & {
  /**
   * Adopt an existing users table by name (a tutorial deployment's `user-table`) instead of creating one.
   * An adopted table keeps its own point-in-time recovery and deletion protection settings.
   */
  existingUsersTableName?: string;
};

export class StatefulStack extends Stack {
  readonly usersTable: ITable;
  readonly jwtSecret: ISecret;

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

    // A secret is state: replacing it would invalidate every token in circulation.
    this.jwtSecret = new Secret(this, 'JwtSigningSecret', {
      description: 'HS256 signing secret of the login service',
      generateSecretString: { passwordLength: 64, excludePunctuation: true, includeSpace: false },
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }
}
