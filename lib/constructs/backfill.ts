import { Arn, ArnFormat, Stack } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { trustOwnStateMachineOnly } from './private/trust';
import { acknowledgeFinding, acknowledgeWildcardResources } from './private/acknowledge';
import { MAX_STATE_MACHINE_NAME_LENGTH } from '../contract/names';
import { RUN_DEFAULTS } from '../contract/processing';
import { backfillConcurrencyProblem } from '../contract/rules';
import { check } from './private/errors';
import { generatedName } from './private/generated-name';
import { purposeLogGroup } from './private/log-group';

/** Properties of a Backfill. */
export interface BackfillProps {
  /** The state machine each window runs on. */
  readonly stateMachine: sfn.IStateMachine;
  /**
   * The name of `stateMachine`, for descriptions.
   *
   * @default - descriptions do not name it
   */
  readonly stateMachineName?: string;
  /**
   * The name of the backfill state machine.
   *
   * @default - a name generated from the stack name and this construct's path
   */
  readonly backfillStateMachineName?: string;
  /**
   * How many runs may run at once.
   *
   * @default 2
   */
  readonly maxConcurrency?: number;
  /**
   * How long the backfill state machine's logs are kept.
   *
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Encrypts the backfill state machine's logs.
   *
   * @default - CloudWatch Logs' own encryption
   */
  readonly logEncryptionKey?: kms.IKey;
}

/**
 * A state machine that runs a list of windows on a purpose's state machine, at most
 * `maxConcurrency` at a time. Its input is `{ purpose, runs: [{ name, input }] }`, as the
 * trigger writes it. A window whose run already exists is skipped; a failed window does not
 * stop the others, and the backfill fails at the end if any window failed.
 */
export class Backfill extends Construct {
  public readonly stateMachine: sfn.StateMachine;
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: BackfillProps) {
    super(scope, id);
    const maxConcurrency = props.maxConcurrency ?? RUN_DEFAULTS.backfillConcurrency;
    check(this, backfillConcurrencyProblem(maxConcurrency));

    const name = props.backfillStateMachineName ?? generatedName(this, MAX_STATE_MACHINE_NAME_LENGTH);
    const definition = this.eachWindow(props, maxConcurrency).next(this.outcome());
    this.logGroup = purposeLogGroup(
      this,
      'Logs',
      { retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR, encryptionKey: props.logEncryptionKey },
      `/aws/vendedlogs/states/${name}`,
    );
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName: name,
      comment: `BatCat backfill${props.stateMachineName ? ` of ${props.stateMachineName}` : ''}: one run per window, at most ${maxConcurrency} at a time.`,
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      tracingEnabled: true,
      logs: { destination: this.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
    });
    trustOwnStateMachineOnly(this.stateMachine, name);

    // The task grants DescribeExecution and StopExecution on `execution:<name of stateMachine>*`.
    const executions = Stack.of(this).formatArn({
      service: 'states',
      resource: 'execution',
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      resourceName: `${Arn.split(props.stateMachine.stateMachineArn, ArnFormat.COLON_RESOURCE_NAME).resourceName}*`,
    });
    acknowledgeWildcardResources(
      this.stateMachine.role,
      [executions],
      "A backfill waits for and may stop the runs it starts, whose names are known only at run time; access is limited to executions of this purpose's state machine.",
    );
    acknowledgeFinding(
      this.stateMachine.role,
      'AwsSolutions-IAM5[Resource::*]',
      'Step Functions needs X-Ray (xray:PutTraceSegments, PutTelemetryRecords, GetSampling*) and vended log delivery ' +
        '(logs:CreateLogDelivery and related calls), none of which support resource-level permissions.',
    );
  }

  /** Starts each window's run (skipping windows that ran before), at most `maxConcurrency` at a time. */
  private eachWindow(props: BackfillProps, maxConcurrency: number): sfn.Map {
    const startRun = new tasks.StepFunctionsStartExecution(this, 'RunWindow', {
      stateMachine: props.stateMachine,
      integrationPattern: sfn.IntegrationPattern.RUN_JOB,
      name: sfn.JsonPath.stringAt('$.name'),
      input: sfn.TaskInput.fromJsonPathAt('$.input'),
      associateWithParent: false,
      resultSelector: { runId: sfn.JsonPath.stringAt('$.Name'), status: sfn.JsonPath.stringAt('$.Status') },
    });
    startRun.addCatch(
      new sfn.Pass(this, 'AlreadyStarted', {
        comment: 'A run of this name exists: this window was started before, so it is not started again.',
        parameters: { 'runId.$': '$.name', status: 'ALREADY_STARTED' },
      }),
      { errors: ['StepFunctions.ExecutionAlreadyExistsException'], resultPath: '$.error' },
    );
    startRun.addCatch(
      new sfn.Pass(this, 'WindowFailed', {
        parameters: { 'runId.$': '$.name', status: 'FAILED', 'error.$': '$.error.Error' },
      }),
      { resultPath: '$.error' },
    );

    return new sfn.Map(this, 'EachWindow', {
      comment: `Runs each window, at most ${maxConcurrency} at a time.`,
      itemsPath: '$.runs',
      maxConcurrency,
      resultPath: '$.results',
    }).itemProcessor(startRun);
  }

  /** Fails the backfill at the end if any window failed. */
  private outcome(): sfn.IChainable {
    const statuses = new sfn.Pass(this, 'CollectStatuses', {
      parameters: { 'statuses.$': '$.results[*].status', 'results.$': '$.results' },
    });
    const checkFailures = new sfn.Pass(this, 'CheckFailures', {
      parameters: {
        'anyFailed.$': "States.ArrayContains($.statuses, 'FAILED')",
        'cause.$': "States.Format('at least one of {} windows failed; see the results of EachWindow', States.ArrayLength($.statuses))",
        'results.$': '$.results',
      },
    });
    const outcome = new sfn.Choice(this, 'AnyFailed')
      .when(
        sfn.Condition.booleanEquals('$.anyFailed', true),
        new sfn.Fail(this, 'BackfillIncomplete', { error: 'BatCat.BackfillIncomplete', causePath: '$.cause' }),
      )
      .otherwise(new sfn.Succeed(this, 'BackfillSucceeded'));
    return statuses.next(checkFailures).next(outcome);
  }
}
