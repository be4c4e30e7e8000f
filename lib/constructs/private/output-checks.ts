import { Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { CHECKS_NOT_RUN_ERROR } from '../../contract/data-rules';
import { runManifestsPrefix } from '../../contract/run-manifest';
import { profileHistoryPrefix, sampleHistoryPrefix } from '../../contract/profile';
import type { IQueryWorkGroup } from '../query-workgroup';
import { acknowledgeWildcardResources } from './acknowledge';
import { functionRole, handlerFunction } from './handler-function';
import { purposeLogGroup, type LogSettings } from './log-group';
import { listFolder, viaS3 } from './s3-access';

/** Properties of OutputChecks. */
export interface OutputChecksProps {
  readonly purposeName: string;
  /** The purpose's bucket: profiles are kept in it. */
  readonly bucket: s3.IBucket;
  /** The outputs with a table. */
  readonly outputs: readonly string[];
  /** Those whose runs keep a sample. */
  readonly sampledOutputs: readonly string[];
  /** Where the profile queries ran: their results are read from it. */
  readonly workGroup: IQueryWorkGroup;
  /** The state machine's name, for the description. */
  readonly stateMachineName: string;
  readonly logs: LogSettings;
}

/**
 * The function that reads a run's profiles from the Athena queries that made them, keeps them
 * and checks the outputs' rules (lambda/output-checks): it may read its workgroup's query
 * results and write the purpose's run, profile and sample folders, nothing else.
 */
export class OutputChecks extends Construct {
  public readonly function: lambda.IFunction;

  constructor(scope: Construct, id: string, props: OutputChecksProps) {
    super(scope, id);
    const logGroup = purposeLogGroup(this, 'Logs', props.logs);
    const role = functionRole(this, `Checks the data rules of the outputs of ${props.stateMachineName}`, logGroup);
    const wg = props.workGroup;
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['athena:GetQueryResults'],
        resources: [Stack.of(this).formatArn({ service: 'athena', resource: 'workgroup', resourceName: wg.workGroupName })],
      }),
    );
    // GetQueryResults reads the result file with the caller's own permissions.
    const results = wg.resultsBucket.arnForObjects(`${wg.resultsPrefix}*`);
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [results] }));
    const runs = props.bucket.arnForObjects(`${runManifestsPrefix(props.purposeName)}*`);
    const histories = props.outputs.map((o) => profileHistoryPrefix(props.purposeName, o));
    const history = histories.map((h) => props.bucket.arnForObjects(`${h}*`));
    const samples = props.sampledOutputs.map((o) => props.bucket.arnForObjects(`${sampleHistoryPrefix(props.purposeName, o)}*`));
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: [runs, ...history, ...samples] }));
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: history }));
    for (const h of histories) role.addToPrincipalPolicy(listFolder(props.bucket, h));
    if (props.bucket.encryptionKey)
      role.addToPrincipalPolicy(viaS3(['kms:Decrypt', 'kms:GenerateDataKey'], props.bucket.encryptionKey, props.bucket));
    if (wg.resultsBucket.encryptionKey && wg.resultsBucket !== props.bucket)
      role.addToPrincipalPolicy(viaS3(['kms:Decrypt'], wg.resultsBucket.encryptionKey, wg.resultsBucket));
    acknowledgeWildcardResources(
      role,
      [results, runs, ...history, ...samples],
      "The purpose's own query results (named by Athena), run folders (one per run), and profile and sample history (one per window).",
    );
    this.function = handlerFunction(this, 'Function', 'output-checks', {
      description: `BatCat: checks the data rules of runs of ${props.stateMachineName}`,
      memorySize: 512,
      timeout: Duration.minutes(2),
      role,
      logGroup,
    });
  }

  /** The state that checks the run in `$`: `request` is the function's payload, its verdict goes to `resultPath`. */
  public task(scope: Construct, request: Record<string, unknown>, resultPath: string): tasks.LambdaInvoke {
    const task = new tasks.LambdaInvoke(scope, 'CheckOutputRules', {
      comment: "Keeps each table output's profile next to the run's manifest and checks the output's rules.",
      lambdaFunction: this.function,
      payload: sfn.TaskInput.fromObject(request),
      payloadResponseOnly: true,
      retryOnServiceExceptions: true,
      resultPath,
    });
    task.addRetry({ errors: [CHECKS_NOT_RUN_ERROR], maxAttempts: 0 });
    task.addRetry({ errors: ['States.ALL'], interval: Duration.seconds(5), maxAttempts: 3, backoffRate: 2 });
    return task;
  }
}
