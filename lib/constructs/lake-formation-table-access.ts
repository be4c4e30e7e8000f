import { Aws } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lakeformation from 'aws-cdk-lib/aws-lakeformation';
import { Construct, type IDependable } from 'constructs';
import { glueNameProblem } from '../contract/rules';
import { acknowledgeFinding } from './private/acknowledge';
import { check } from './private/errors';

/** Properties of LakeFormationTableAccess. */
export interface LakeFormationTableAccessProps {
  /** The role that queries the tables, e.g. a purpose's state machine role (its Athena query runs as it). */
  readonly role: iam.IRole;
  /** The Glue database of the tables. */
  readonly databaseName: string;
  /** The tables the role may read. */
  readonly tableNames: readonly string[];
  /**
   * What the database and tables must exist after: the grants fail on a table that is not there yet.
   *
   * @default - nothing
   */
  readonly after?: readonly IDependable[];
}

/**
 * Lake Formation permissions to read tables: `DESCRIBE` on the database, `SELECT` and `DESCRIBE`
 * on each table, for one role, and `lakeformation:GetDataAccess` in its policy so that Athena
 * gets Lake Formation's credentials for registered locations. In an account where Lake
 * Formation governs the Data Catalog, a role without these grants sees neither the database
 * nor its tables, whatever its IAM policy allows.
 *
 * Construct IDs are a contract: `Database` and `Table-<table name>`.
 */
export class LakeFormationTableAccess extends Construct {
  constructor(scope: Construct, id: string, props: LakeFormationTableAccessProps) {
    super(scope, id);
    check(this, glueNameProblem('database', props.databaseName));
    for (const t of props.tableNames) check(this, glueNameProblem('table name', t));
    const principal = { dataLakePrincipalIdentifier: props.role.roleArn };
    const grants = [
      new lakeformation.CfnPrincipalPermissions(this, 'Database', {
        catalog: Aws.ACCOUNT_ID,
        principal,
        resource: { database: { catalogId: Aws.ACCOUNT_ID, name: props.databaseName } },
        permissions: ['DESCRIBE'],
        permissionsWithGrantOption: [],
      }),
      ...props.tableNames.map(
        (t) =>
          new lakeformation.CfnPrincipalPermissions(this, `Table-${t}`, {
            catalog: Aws.ACCOUNT_ID,
            principal,
            resource: { table: { catalogId: Aws.ACCOUNT_ID, databaseName: props.databaseName, name: t } },
            permissions: ['SELECT', 'DESCRIBE'],
            permissionsWithGrantOption: [],
          }),
      ),
    ];
    for (const g of grants) for (const d of props.after ?? []) g.node.addDependency(d);
    const policy = new iam.Policy(this, 'GetDataAccess', {
      statements: [new iam.PolicyStatement({ actions: ['lakeformation:GetDataAccess'], resources: ['*'] })],
    });
    props.role.attachInlinePolicy(policy);
    acknowledgeFinding(
      policy,
      'AwsSolutions-IAM5[Resource::*]',
      'lakeformation:GetDataAccess has no resource-level permissions; what the role may read is decided by the Lake Formation grants next to it.',
    );
  }
}
