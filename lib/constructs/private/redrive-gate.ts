import { Duration } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { functionRole, handlerFunction } from './handler-function';
import { purposeLogGroup, type LogSettings } from './log-group';

/** Properties of RedriveGate. */
export interface RedriveGateProps {
  /** The state machine's name, for the description. */
  readonly stateMachineName: string;
  readonly logs: LogSettings;
}

/**
 * The function behind `AwaitRedrive` (lib/runtime/redrive.ts), the state a failed run ends in:
 * it fails with the run's own error, and lets a redriven execution go on. It calls nothing, so
 * its role may write its own logs only.
 */
export class RedriveGate extends Construct {
  public readonly function: lambda.IFunction;

  constructor(scope: Construct, id: string, props: RedriveGateProps) {
    super(scope, id);
    const logGroup = purposeLogGroup(this, 'Logs', props.logs);
    const role = functionRole(this, `Ends failed runs of ${props.stateMachineName}, and lets their redrives go on`, logGroup);
    this.function = handlerFunction(this, 'Function', 'redrive', {
      description: `BatCat: ends failed runs of ${props.stateMachineName} with their error; lets a redrive resume them`,
      memorySize: 128,
      timeout: Duration.seconds(10),
      role,
      logGroup,
    });
  }

  /**
   * The state `AwaitRedrive`, given JsonPaths to the run's error and reason and to the redrive
   * count when it failed. It has no retry for the run's own error and no catch: the execution
   * fails in it, so that a redrive runs it again.
   */
  public task(scope: Construct, paths: { error: string; reason: string; failedInRedrive: string }): tasks.LambdaInvoke {
    return new tasks.LambdaInvoke(scope, 'AwaitRedrive', {
      comment:
        "Fails the execution with the run's error. `batcat redrive` re-runs this state, which then lets the run resume at the step that failed.",
      lambdaFunction: this.function,
      payload: sfn.TaskInput.fromObject({
        error: sfn.JsonPath.stringAt(paths.error),
        reason: sfn.JsonPath.stringAt(paths.reason),
        failedInRedrive: sfn.JsonPath.numberAt(paths.failedInRedrive),
        redriveCount: sfn.JsonPath.numberAt(REDRIVE_COUNT),
      }),
      payloadResponseOnly: true,
      // A Lambda service error must not be retried into the run's own error name; a redrive runs the state again anyway.
      retryOnServiceExceptions: false,
      resultPath: '$.redrive',
    });
  }
}

/** How many times the execution has been redriven: 0 in its first attempt. */
export const REDRIVE_COUNT = '$$.Execution.RedriveCount';
