import { Aws, Stack } from 'aws-cdk-lib';
import * as glue from 'aws-cdk-lib/aws-glue';
import { Construct } from 'constructs';
import { glueNameProblem } from '../contract/rules';
import { check } from './private/errors';
import { generatedGlueName } from './private/generated-name';

/** Properties of ResultDatabase. */
export interface ResultDatabaseProps {
  /**
   * Lowercase letters, digits and underscores.
   *
   * @default - a name generated from the stack name and this construct's path
   */
  readonly databaseName?: string;
  /**
   * What the database holds, shown in the Glue console.
   *
   * @default - none
   */
  readonly description?: string;
}

/** The Glue database that holds a project's result tables. */
export class ResultDatabase extends Construct {
  public readonly databaseName: string;
  public readonly databaseArn: string;
  public readonly catalogArn: string;
  /** The CloudFormation resource, for tables to depend on. */
  public readonly resource: glue.CfnDatabase;

  constructor(scope: Construct, id: string, props: ResultDatabaseProps = {}) {
    super(scope, id);
    this.databaseName = props.databaseName ?? generatedGlueName(this, 255);
    check(this, glueNameProblem('database', this.databaseName));
    this.resource = new glue.CfnDatabase(this, 'Resource', {
      catalogId: Aws.ACCOUNT_ID,
      databaseInput: { name: this.databaseName, description: props.description },
    });
    const stack = Stack.of(this);
    this.databaseArn = stack.formatArn({ service: 'glue', resource: 'database', resourceName: this.databaseName });
    this.catalogArn = stack.formatArn({ service: 'glue', resource: 'catalog' });
  }
}
