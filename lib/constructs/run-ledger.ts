import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { LEDGER_KEY } from '../contract/ledger';

/** Properties of a RunLedger. */
export interface RunLedgerProps {
  /**
   * Encrypts the table.
   *
   * @default - a key that DynamoDB owns and manages
   */
  readonly encryptionKey?: kms.IKey;
}

/**
 * The run ledger of a stage: one item per (purpose, window) with its status, attempts, current
 * execution and committed outputs (lib/contract/ledger.ts). The state machines write it, the
 * triggers read it, and together they run each window to success once. On-demand, with
 * point-in-time recovery; retained when the stack is deleted, because it is the record of which
 * results exist.
 */
export class RunLedger extends Construct {
  public readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string, props: RunLedgerProps = {}) {
    super(scope, id);
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: LEDGER_KEY.partition, type: dynamodb.AttributeType.STRING },
      sortKey: { name: LEDGER_KEY.sort, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: props.encryptionKey ? dynamodb.TableEncryption.CUSTOMER_MANAGED : dynamodb.TableEncryption.AWS_MANAGED,
      encryptionKey: props.encryptionKey,
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }

  /** Lets a trigger read the ledger and record runs that ended without their failure path. */
  public grantTrigger(grantee: iam.IGrantable): iam.Grant {
    this.table.encryptionKey?.grantEncryptDecrypt(grantee);
    return this.table.grant(grantee, 'dynamodb:Query', 'dynamodb:UpdateItem');
  }

  /** Lets the trigger of a downstream purpose read which windows succeeded. */
  public grantRead(grantee: iam.IGrantable): iam.Grant {
    this.table.encryptionKey?.grantDecrypt(grantee);
    return this.table.grant(grantee, 'dynamodb:Query');
  }
}
