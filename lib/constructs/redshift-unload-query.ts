import { ArnFormat, Aws, Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { keyPrefixProblem } from '../contract/rules';
import { countPlaceholders, unloadStatement } from '../contract/sql';
import { acknowledgeFinding, acknowledgeWildcardResources } from './private/acknowledge';
import { check, scopedError } from './private/errors';
import { listFolder, viaS3 } from './private/s3-access';

/** What a Redshift UNLOAD writes. */
export enum RedshiftUnloadFormat {
  /** `000.csv`, with a header line. */
  CSV = 'csv',
  /** `000.parquet`. */
  PARQUET = 'parquet',
}

/** Properties of RedshiftUnloadQuery. */
export interface RedshiftUnloadQueryProps {
  /** The SQL, a SELECT, with a `?` for each of `bindings`. */
  readonly queryString: string;
  /**
   * What stands at each `?`, in order: JsonPath references to `YYYY-MM-DD` dates (checked
   * before this runs, as a purpose's run input is), written into the statement as quoted literals.
   *
   * @default - the query has no placeholders
   */
  readonly bindings?: string[];
  /** The Redshift database. */
  readonly database: string;
  /** The Secrets Manager secret with the database user's credentials (the Data API reads it as the state machine's role). */
  readonly secret: secretsmanager.ISecret;
  /**
   * A Redshift Serverless workgroup. Give this or `clusterIdentifier`.
   *
   * @default - `clusterIdentifier`
   */
  readonly workgroupName?: string;
  /**
   * A provisioned cluster. Give this or `workgroupName`.
   *
   * @default - `workgroupName`
   */
  readonly clusterIdentifier?: string;
  /**
   * What the UNLOAD writes: `000.csv` with a header line, or `000.parquet`.
   *
   * @default RedshiftUnloadFormat.CSV
   */
  readonly format?: RedshiftUnloadFormat;
  /** The bucket the result is unloaded to. */
  readonly resultsBucket: s3.IBucket;
  /** The folder, ending with '/', below which each run unloads into a folder of its own. */
  readonly resultsPrefix: string;
  /** A JsonPath to the run's folder below `resultsPrefix`, ending with '/', e.g. `$.batcat.queryFolder`. */
  readonly runFolder: string;
  /** Where the statement's id goes (`<resultPath>.queryExecutionId`) and its description while it runs. */
  readonly resultPath: string;
  /**
   * Where a failed or aborted statement goes, with `$.failure` holding `{ error, reason }`.
   */
  readonly onFailure: sfn.IChainable;
}

/**
 * Runs a SELECT in Amazon Redshift through the Data API and unloads its result to S3, inside a
 * state machine: `RunQuery` (ExecuteStatement with an UNLOAD), then `DescribeQuery` every 5, 10,
 * 20, 40 and then 60 seconds until it finished (`QueryStatus`), or `QueryFailed` with Redshift's
 * error. The UNLOAD runs as `unloadRole`, which may only write below `resultsPrefix`: associate
 * it with the cluster or the serverless namespace (Redshift assumes it there).
 *
 * `grantRun` gives the state machine's role what it needs: ExecuteStatement on the workgroup
 * or cluster, DescribeStatement and CancelStatement of its own statements, and the secret.
 *
 * Construct IDs are a contract: `UnloadRole`, and the states' names.
 */
export class RedshiftUnloadQuery extends sfn.StateMachineFragment {
  public readonly startState: sfn.State;
  public readonly endStates: sfn.INextable[];
  /** The role the UNLOAD writes to S3 as. */
  public readonly unloadRole: iam.Role;
  /** The states whose errors the state machine catches: the Data API calls. */
  public readonly catchableStates: sfn.CustomState[];

  constructor(
    scope: Construct,
    id: string,
    private readonly props: RedshiftUnloadQueryProps,
  ) {
    super(scope, id);
    const p = props;
    if (p.queryString.trim() === '') throw scopedError(this, 'queryString is empty');
    if ((p.workgroupName === undefined) === (p.clusterIdentifier === undefined)) {
      throw scopedError(this, 'give exactly one of workgroupName (Redshift Serverless) or clusterIdentifier (a provisioned cluster)');
    }
    const bindings = p.bindings ?? [];
    const placeholders = countPlaceholders(p.queryString);
    if (placeholders !== bindings.length) {
      throw scopedError(this, `the query has ${placeholders} '?' placeholder(s) but ${bindings.length} binding(s); give one for each`);
    }
    check(this, keyPrefixProblem(p.resultsPrefix));

    this.unloadRole = new iam.Role(this, 'UnloadRole', {
      assumedBy: new iam.CompositePrincipal(
        new iam.ServicePrincipal('redshift.amazonaws.com'),
        new iam.ServicePrincipal('redshift-serverless.amazonaws.com'),
      ),
      description: `Redshift unloads query results as this role, below ${p.resultsPrefix} only`,
    });
    const results = p.resultsBucket.arnForObjects(`${p.resultsPrefix}*`);
    this.unloadRole.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['s3:PutObject', 's3:AbortMultipartUpload'], resources: [results] }),
    );
    this.unloadRole.addToPrincipalPolicy(listFolder(p.resultsBucket, p.resultsPrefix));
    this.unloadRole.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['s3:GetBucketLocation'], resources: [p.resultsBucket.bucketArn] }),
    );
    if (p.resultsBucket.encryptionKey) {
      this.unloadRole.addToPrincipalPolicy(viaS3(['kms:GenerateDataKey', 'kms:Decrypt'], p.resultsBucket.encryptionKey, p.resultsBucket));
    }
    acknowledgeWildcardResources(this.unloadRole, [results], 'The objects of the unload folder only, named by Redshift.');

    // A literal brace is escaped for States.Format; each `?` becomes a quoted date, the run folder ends the target.
    const sql = unloadStatement(p.queryString.replace(/[{}]/g, '\\$&'), {
      to: `s3://${p.resultsBucket.bucketName}/${p.resultsPrefix}{}`,
      iamRole: this.unloadRole.roleArn,
      format: p.format ?? RedshiftUnloadFormat.CSV,
      bind: () => "''{}''",
    });
    const target = p.workgroupName !== undefined ? { WorkgroupName: p.workgroupName } : { ClusterIdentifier: p.clusterIdentifier };
    const run = new sfn.CustomState(this, 'RunQuery', {
      stateJson: {
        Type: 'Task',
        Comment: "Runs the purpose's query in Redshift for the window, unloading its result into the run's folder.",
        Resource: `arn:${Aws.PARTITION}:states:::aws-sdk:redshiftdata:executeStatement`,
        Parameters: {
          Database: p.database,
          SecretArn: p.secret.secretArn,
          ...target,
          'Sql.$': sfn.JsonPath.format(sql, ...bindings, sfn.JsonPath.stringAt(p.runFolder)),
          'StatementName.$': sfn.JsonPath.executionName,
        },
        ResultSelector: { 'queryExecutionId.$': '$.Id', wait: { seconds: 5 } },
        ResultPath: p.resultPath,
      },
    });
    run.addRetry({
      errors: [
        'RedshiftData.ThrottlingException',
        'RedshiftData.InternalServerException',
        'RedshiftData.ActiveStatementsExceededException',
      ],
      interval: Duration.seconds(5),
      maxAttempts: 6,
      backoffRate: 2,
    });
    const wait = new sfn.Wait(this, 'WaitForQuery', { time: sfn.WaitTime.secondsPath(`${p.resultPath}.wait.seconds`) });
    const describe = new sfn.CustomState(this, 'DescribeQuery', {
      stateJson: {
        Type: 'Task',
        Resource: `arn:${Aws.PARTITION}:states:::aws-sdk:redshiftdata:describeStatement`,
        Parameters: { 'Id.$': `${p.resultPath}.queryExecutionId` },
        ResultSelector: { 'status.$': '$.Status', 'description.$': '$' },
        ResultPath: `${p.resultPath}.statement`,
      },
    });
    describe.addRetry({
      errors: ['RedshiftData.ThrottlingException', 'RedshiftData.InternalServerException'],
      interval: Duration.seconds(2),
      maxAttempts: 6,
      backoffRate: 2,
    });
    // 5, 10, 20, 40, then every 60 seconds.
    const seconds = sfn.JsonPath.numberAt(`${p.resultPath}.wait.seconds`);
    const longer = new sfn.Pass(this, 'WaitLonger', {
      parameters: { seconds: sfn.JsonPath.mathAdd(seconds, seconds) },
      resultPath: `${p.resultPath}.wait`,
    });
    const capped = new sfn.Pass(this, 'WaitAMinute', {
      result: sfn.Result.fromObject({ seconds: 60 }),
      resultPath: `${p.resultPath}.wait`,
    });
    const statement = sfn.JsonPath.stringAt(`${p.resultPath}.queryExecutionId`);
    const failed = new sfn.Pass(this, 'QueryFailed', {
      parameters: {
        error: 'BatCat.RedshiftQueryFailed',
        reason: sfn.JsonPath.format(
          'The Redshift query failed (statement {}): {}',
          statement,
          sfn.JsonPath.stringAt(`${p.resultPath}.statement.description.Error`),
        ),
      },
      resultPath: '$.failure',
    }).next(p.onFailure);
    const aborted = new sfn.Pass(this, 'QueryAborted', {
      parameters: {
        error: 'BatCat.RedshiftQueryFailed',
        reason: sfn.JsonPath.format('The Redshift query was cancelled (statement {}), by someone or by the cluster', statement),
      },
      resultPath: '$.failure',
    }).next(p.onFailure);
    const done = new sfn.Pass(this, 'QueryDone', { comment: "The result is in the run's folder, the job's input 'query'." });
    const status = `${p.resultPath}.statement.status`;
    run.next(wait);
    wait.next(describe);
    describe.next(
      new sfn.Choice(this, 'QueryStatus')
        .when(sfn.Condition.stringEquals(status, 'FINISHED'), done)
        .when(sfn.Condition.stringEquals(status, 'FAILED'), failed)
        .when(sfn.Condition.stringEquals(status, 'ABORTED'), aborted)
        .when(sfn.Condition.numberGreaterThanEquals(`${p.resultPath}.wait.seconds`, 40), capped.next(wait))
        .otherwise(longer.next(wait)),
    );
    this.startState = run;
    this.endStates = [done];
    this.catchableStates = [run, describe];
  }

  /** What the state machine's role needs to run the statement and follow it, and to read the secret. */
  public grantRun(stateMachineRole: iam.IGrantable): void {
    for (const s of this.stateMachinePolicies()) stateMachineRole.grantPrincipal.addToPrincipalPolicy(s);
    this.props.secret.grantRead(stateMachineRole);
  }

  private stateMachinePolicies(): iam.PolicyStatement[] {
    const p = this.props;
    const stack = Stack.of(this);
    const target =
      p.clusterIdentifier !== undefined
        ? stack.formatArn({
            service: 'redshift',
            resource: 'cluster',
            resourceName: p.clusterIdentifier,
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          })
        : stack.formatArn({ service: 'redshift-serverless', resource: 'workgroup', resourceName: '*' });
    acknowledgeFinding(
      stack,
      'AwsSolutions-IAM5[Resource::*]',
      'redshift-data:DescribeStatement and CancelStatement have no resource-level permissions; the statement-owner condition limits them to statements this role started.',
    );
    if (p.workgroupName !== undefined) {
      acknowledgeWildcardResources(
        stack,
        [target],
        'Redshift Serverless workgroup ARNs carry the workgroup id, not its name, which is all the project file knows.',
      );
    }
    return [
      new iam.PolicyStatement({ actions: ['redshift-data:ExecuteStatement'], resources: [target] }),
      new iam.PolicyStatement({
        actions: ['redshift-data:DescribeStatement', 'redshift-data:CancelStatement'],
        resources: ['*'],
        conditions: { StringEquals: { 'redshift-data:statement-owner-iam-userid': '${aws:userid}' } },
      }),
    ];
  }
}
