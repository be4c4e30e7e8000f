import { Aws, Duration } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { JOB_ENV, secretIdVariable } from '../../contract/environment';
import { LEDGER_ATTRIBUTES, LEDGER_KEY } from '../../contract/ledger';
import { INVALID_RUN_INPUT_ERROR, REDRIVE_REFUSED_ERROR, WINDOW_TAKEN_ERROR } from '../../contract/redrive';
import { parameterPath, parameterVariable } from '../../contract/parameters';
import { RUN_EVENT_SOURCE, RUN_EVENT_TYPES, RUN_EVENT_VERSION, type RunEventType } from '../../contract/run-events';
import { hasInstanceStorage, placeholderValue, processingInstanceType, splitPlaceholders } from '../../contract/processing';
import { RUN_INPUT_PATHS } from '../../contract/run-input';
import { AthenaRunQuery } from '../athena-run-query';
import { CHECKS_NOT_RUN_ERROR, RULE_VIOLATION_ERROR } from '../../contract/data-rules';
import { DEFAULT_SAMPLE_ROWS } from '../../contract/profile';
import { profileSql, sampleSql } from '../../contract/profile-sql';
import { ATTEMPTS_FOLDER } from '../../contract/names';
import { RULE_WARNINGS_METRIC } from '../purpose-metrics';
import type { OutputChecks } from './output-checks';
import { s3Uri } from '../../contract/s3-uri';
import { windowManifestName } from '../../contract/window-manifest';
import { QueryParameter, type PurposeInput, type PurposeQuery } from '../purpose-props';
import { RedshiftUnloadQuery } from '../redshift-unload-query';
import { SageMakerCreateProcessingJob, type ProcessingInput } from '../sagemaker-create-processing-job';
import type { ResolvedPurpose } from './resolve-purpose-props';
import type { ResultCommit } from './result-commit';
import type { RunManifests } from './run-manifests';
import type { ScriptCode } from './script-code';
import type { FeatureIngestion, IngestedOutput } from './feature-ingestion';
import { DB_SECRET_ENV } from '../../contract/db-source';
import { driverLogFolder, runSparkJob, type SageMakerSpark, type SparkCode } from './spark-job';
import type { EmrServerlessStartJobRun } from '../emr-serverless-start-job-run';
import type { ISparkApplication } from '../spark-application';
import type { WindowManifests } from './window-manifests';
import { REDRIVE_COUNT, type RedriveGate } from './redrive-gate';

/*
 * The states of a purpose's state machine, one small function each. Every state is created in
 * the Purpose's scope, so their IDs (and the IDs of the resources they create) are the
 * Purpose's: CheckRunInput, ResolveRun, IsReproduction, RecordRunStart, RunQuery (Athena, or
 * Redshift with its polling states), ListWindowPartitions, RecordRunInputs, RunProcessingJob, the
 * output check, CommitResults, RecordRunOutputs, RecordRunSuccess, RunSucceeded and the failure
 * path. A reproduction (run input `reproduction`) skips the ledger, the query and the commit:
 * UseStagedInputs (and UseRecordedQuery) stand in for RecordRunInputs, and it ends in
 * ReproductionSucceeded.
 */

/** Where ResolveRun puts what it derives, and where the query's and job's results go. */
const PATHS = {
  resolved: '$.batcat',
  jobName: '$.batcat.jobName',
  attempt: '$.batcat.attempt',
  attemptFolder: '$.batcat.attemptFolder',
  arguments: '$.batcat.arguments',
  partition: '$.batcat.partition',
  manifestFolder: '$.batcat.manifestFolder',
  manifests: '$.batcat.manifests',
  partitions: '$.partitions',
  manifest: '$.manifest',
  queryParameters: '$.batcat.queryParameters',
  profileParameters: '$.batcat.profileParameters',
  profiles: '$.profiles',
  samples: '$.samples',
  checks: '$.checks',
  query: '$.query',
  queryExecutionId: '$.query.queryExecutionId',
  queryResultFile: '$.query.resultFile',
  queryFolder: '$.batcat.queryFolder',
  job: '$.job',
  outputCheck: '$.outputCheck',
  error: '$.error',
  failure: '$.failure',
  failedAt: '$.failedAt',
  settle: '$.settle',
  arrivals: '$.arrivals',
  cache: '$.cache',
  cacheKey: '$.cacheKey',
} as const;

/** Refuses anything that is not a run input, then goes on to `next`. */
export function checkRunInput(scope: Construct, next: sfn.IChainable): sfn.Choice {
  const required = [
    RUN_INPUT_PATHS.runId,
    RUN_INPUT_PATHS.windowStart,
    RUN_INPUT_PATHS.windowEnd,
    RUN_INPUT_PATHS.windowEndExclusive,
    RUN_INPUT_PATHS.timezone,
    RUN_INPUT_PATHS.triggerKind,
  ];
  const attempt = sfn.Condition.and(sfn.Condition.isPresent(RUN_INPUT_PATHS.attempt), sfn.Condition.isNumeric(RUN_INPUT_PATHS.attempt));
  // The window's days are quoted into the query's parameters ('<day>'): a quote in one, from an
  // execution started by hand, would end the literal and run SQL of its own.
  const dates = [RUN_INPUT_PATHS.windowStart, RUN_INPUT_PATHS.windowEnd, RUN_INPUT_PATHS.windowEndExclusive];
  const unquoted = dates.map((p) => sfn.Condition.not(sfn.Condition.stringMatches(p, "*'*")));
  return new sfn.Choice(scope, 'CheckRunInput')
    .when(
      sfn.Condition.and(
        ...required.map((p) => sfn.Condition.and(sfn.Condition.isPresent(p), sfn.Condition.isString(p))),
        attempt,
        ...unquoted,
      ),
      next,
    )
    .otherwise(
      new sfn.Fail(scope, 'NotARunInput', {
        error: INVALID_RUN_INPUT_ERROR,
        cause:
          'The input is not a BatCat run input (runId, window.start, window.end, window.endExclusive, timezone, attempt and trigger.kind are required, and the window days are dates). ' +
          'Start runs with `batcat run` or through the trigger function; see README.md, "The run contract".',
      }),
    );
}

/** Derives the job name and the partition of the window, and the query's parameters. */
export function resolveRun(scope: Construct, purpose: ResolvedPurpose): sfn.Pass {
  return new sfn.Pass(scope, 'ResolveRun', {
    comment:
      'Derives the job name from the execution id, start time and redrive count (any 80-character execution name gives a valid ' +
      'job name, and a name reused after 90 days a new one) and the partition of the window.',
    parameters: runFields(purpose, sfn.JsonPath.executionName),
    resultPath: PATHS.resolved,
  });
}

/**
 * After a redrive: what ResolveRun derived, for this try of the execution. Its job name hashes
 * the redrive count (SageMaker refuses a job name used before), and the job writes to a folder
 * of its own, `_attempts/<execution name>-redrive-<n>/`, so nothing the failed try left there
 * becomes part of the result.
 */
function resolveRedrive(scope: Construct, purpose: ResolvedPurpose): sfn.Pass {
  return new sfn.Pass(scope, 'ResolveRedrive', {
    comment: 'Takes a new job name and attempt folder for the redriven try: a redrive does not run ResolveRun again.',
    parameters: runFields(purpose, sfn.JsonPath.format('{}-redrive-{}', sfn.JsonPath.executionName, sfn.JsonPath.stringAt(REDRIVE_COUNT))),
    resultPath: PATHS.resolved,
  });
}

/** The fields of `$.batcat`: `tryName` names the attempt's folders (the execution's name, and a suffix after a redrive). */
function runFields(purpose: ResolvedPurpose, tryName: string): Record<string, unknown> {
  const literal = (p: QueryParameter) =>
    sfn.JsonPath.format(
      "'{}'",
      sfn.JsonPath.stringAt(p === QueryParameter.WINDOW_START ? RUN_INPUT_PATHS.windowStart : RUN_INPUT_PATHS.windowEnd),
    );
  return {
    jobName: sfn.JsonPath.format(
      `${purpose.jobNamePrefix}-{}`,
      sfn.JsonPath.hash(
        sfn.JsonPath.format('{} {} {}', sfn.JsonPath.executionId, sfn.JsonPath.executionStartTime, sfn.JsonPath.stringAt(REDRIVE_COUNT)),
        'MD5',
      ),
    ),
    // DynamoDB numbers are strings.
    attempt: sfn.JsonPath.format('{}', sfn.JsonPath.stringAt(RUN_INPUT_PATHS.attempt)),
    partition: sfn.JsonPath.format('dt={}/', sfn.JsonPath.stringAt(RUN_INPUT_PATHS.windowStart)),
    // Where this try's job writes; the commit makes it the window's result (dt=...) only after success.
    attemptFolder: sfn.JsonPath.format('_attempts/{}/', tryName),
    // A Redshift query unloads into a folder of the run's own.
    ...(purpose.redshiftResults ? { queryFolder: sfn.JsonPath.format('{}/', tryName) } : {}),
    // A run over several days reads its partitioned inputs through manifests in a folder of its own.
    ...(purpose.windowInputs.length > 0
      ? {
          manifestFolder: sfn.JsonPath.format('{}/', tryName),
          manifests: Object.fromEntries(
            purpose.windowInputs.map((i, n) => [
              `m${n}`,
              sfn.JsonPath.format(`${purpose.manifestsPrefix}{}/${windowManifestName(i.name)}`, tryName),
            ]),
          ),
        }
      : {}),
    // Athena ExecutionParameters are SQL literals: the dates, quoted.
    ...(purpose.queryParameters.length > 0 ? { queryParameters: sfn.JsonPath.array(...purpose.queryParameters.map(literal)) } : {}),
    // The profile and sample queries read what this try wrote: attempt = '<its folder's name>'.
    ...(purpose.tables.length > 0 ? { profileParameters: sfn.JsonPath.array(sfn.JsonPath.format("'{}'", tryName)) } : {}),
  };
}

const A = LEDGER_ATTRIBUTES;
const names = (...attributes: string[]) => Object.fromEntries(attributes.map((a) => [`#${a}`, a]));
const str = (path: string) => tasks.DynamoAttributeValue.fromString(path);

/** The ledger item of this run's window. */
function ledgerKey(purpose: ResolvedPurpose): Record<string, tasks.DynamoAttributeValue> {
  return {
    [LEDGER_KEY.partition]: str(purpose.props.purposeName),
    [LEDGER_KEY.sort]: str(sfn.JsonPath.stringAt(RUN_INPUT_PATHS.windowStart)),
  };
}

/**
 * Claims the window in the run ledger before anything is read or written: the attempt may run
 * only if no attempt is running and none as new was recorded. Two attempts that race (two
 * triggers of one window at once, a redelivered event) leave one running; the other stops at
 * `WindowTaken` without a job.
 */
export function recordRunStart(
  scope: Construct,
  purpose: ResolvedPurpose,
  ledger: dynamodb.ITable,
  taken: sfn.IChainable,
): tasks.DynamoUpdateItem {
  const start = new tasks.DynamoUpdateItem(scope, 'RecordRunStart', {
    comment: 'Claims the window in the run ledger: no attempt running, and none as new.',
    table: ledger,
    key: ledgerKey(purpose),
    updateExpression:
      'SET #status = :running, #attempts = :attempt, #execution = :execution, #runId = :runId, #windowEnd = :windowEnd, ' +
      '#trigger = :trigger, #startedAt = :startedAt ' +
      'REMOVE #endedAt, #error, #reason, #outputs, #settleUntil, #settleLimit, #readStartedAt, #followUp, #cachedFrom, #redrives, #redrivenAt',
    conditionExpression: 'attribute_not_exists(#status) OR (#status <> :running AND #attempts < :attempt)',
    expressionAttributeNames: names(
      A.status,
      A.attempts,
      A.execution,
      A.runId,
      A.windowEnd,
      A.trigger,
      A.startedAt,
      A.endedAt,
      A.error,
      A.reason,
      A.outputs,
      A.settleUntil,
      A.settleLimit,
      A.readStartedAt,
      A.followUp,
      A.cachedFrom,
      A.redrives,
      A.redrivenAt,
    ),
    expressionAttributeValues: {
      ':running': str('RUNNING'),
      ':attempt': tasks.DynamoAttributeValue.numberFromString(sfn.JsonPath.stringAt(PATHS.attempt)),
      ':execution': str(sfn.JsonPath.executionId),
      ':runId': str(sfn.JsonPath.stringAt(RUN_INPUT_PATHS.runId)),
      ':windowEnd': str(sfn.JsonPath.stringAt(RUN_INPUT_PATHS.windowEnd)),
      ':trigger': str(sfn.JsonPath.stringAt(RUN_INPUT_PATHS.triggerKind)),
      ':startedAt': str(sfn.JsonPath.executionStartTime),
    },
    resultPath: sfn.JsonPath.DISCARD,
  });
  retryLedgerWrites(start);
  start.addCatch(taken, { errors: ['DynamoDB.ConditionalCheckFailedException'], resultPath: PATHS.error });
  return start;
}

/**
 * For a purpose with S3 arrival triggers, after the claim: a run whose input has `settle` waits
 * until no object of its window has arrived for the settle time. The trigger pushes the ledger's
 * `settleUntil` back at each arrival (never beyond `settleLimit`); the run waits until the time
 * it read, reads the ledger again, and goes on once the time stayed the same. Every run then
 * records when it began to read, so an object that arrives later asks for one follow-up run.
 */
export function settleArrivals(
  scope: Construct,
  purpose: ResolvedPurpose,
  ledger: dynamodb.ITable,
  taken: sfn.IChainable,
): { first: sfn.Choice; last: tasks.DynamoUpdateItem; catchable: sfn.TaskStateBase[] } {
  const running = { ':running': str('RUNNING'), ':execution': str(sfn.JsonPath.executionId) };
  const readStart = new tasks.DynamoUpdateItem(scope, 'RecordReadStart', {
    comment: 'Records when the run began to read: an object that arrives later asks for one follow-up run of the window.',
    table: ledger,
    key: ledgerKey(purpose),
    updateExpression: 'SET #readStartedAt = :now',
    conditionExpression: '#status = :running AND #execution = :execution',
    expressionAttributeNames: names(A.readStartedAt, A.status, A.execution),
    expressionAttributeValues: { ':now': str(sfn.JsonPath.stateEnteredTime), ...running },
    resultPath: sfn.JsonPath.DISCARD,
  });
  const settleStart = new tasks.DynamoUpdateItem(scope, 'RecordSettleStart', {
    comment: "Records how long the run waits for more objects of its window; the trigger pushes 'settleUntil' back at each arrival.",
    table: ledger,
    key: ledgerKey(purpose),
    updateExpression: 'SET #settleUntil = :until, #settleLimit = :limit',
    conditionExpression: '#status = :running AND #execution = :execution',
    expressionAttributeNames: names(A.settleUntil, A.settleLimit, A.status, A.execution),
    expressionAttributeValues: {
      ':until': str(sfn.JsonPath.stringAt(`${PATHS.settle}.until`)),
      ':limit': str(sfn.JsonPath.stringAt(`${PATHS.settle}.limit`)),
      ...running,
    },
    resultPath: sfn.JsonPath.DISCARD,
  });
  const wait = new sfn.Wait(scope, 'WaitForArrivals', {
    comment: 'Waits until the settle time the run last read from the ledger.',
    time: sfn.WaitTime.timestampPath(`${PATHS.settle}.until`),
  });
  const read = new tasks.DynamoGetItem(scope, 'ReadArrivals', {
    comment: 'Reads the settle time again: an object that arrived meanwhile pushed it back.',
    table: ledger,
    key: ledgerKey(purpose),
    consistentRead: true,
    expressionAttributeNames: names(A.settleUntil),
    projectionExpression: [new tasks.DynamoProjectionExpression().withAttribute(`#${A.settleUntil}`)],
    resultSelector: { until: sfn.JsonPath.stringAt(`$.Item.${A.settleUntil}.S`) },
    resultPath: PATHS.arrivals,
  });
  const again = new sfn.Pass(scope, 'MoreArrivals', {
    comment: 'Objects arrived while the run waited: it waits until the new settle time.',
    parameters: { until: sfn.JsonPath.stringAt(`${PATHS.arrivals}.until`), limit: sfn.JsonPath.stringAt(`${PATHS.settle}.limit`) },
    resultPath: PATHS.settle,
  });
  for (const t of [readStart, settleStart]) {
    retryLedgerWrites(t);
    t.addCatch(taken, { errors: ['DynamoDB.ConditionalCheckFailedException'], resultPath: PATHS.error });
  }
  read.addRetry({
    errors: ['DynamoDB.ProvisionedThroughputExceededException', 'DynamoDB.ThrottlingException', 'DynamoDB.InternalServerErrorException'],
    interval: Duration.seconds(1),
    maxAttempts: 5,
    backoffRate: 2,
  });
  settleStart.next(wait).next(read);
  again.next(wait);
  read.next(
    new sfn.Choice(scope, 'ArrivalsSettled')
      .when(sfn.Condition.stringEqualsJsonPath(`${PATHS.arrivals}.until`, `${PATHS.settle}.until`), readStart)
      .otherwise(again),
  );
  const first = new sfn.Choice(scope, 'SettlesArrivals', { comment: 'An S3 arrival whose trigger settles waits for more objects.' })
    .when(sfn.Condition.isPresent(PATHS.settle), settleStart)
    .otherwise(readStart);
  return { first, last: readStart, catchable: [readStart, settleStart, read] };
}

/**
 * Puts the run's completion event (lib/contract/run-events.ts) on the account's default event
 * bus: `type` with the run input's window, trigger and outputs, and `extra` (a failure's error
 * and reason). Retried; what a failure to put it does is the caller's choice.
 */
export function publishRunEvent(
  scope: Construct,
  id: string,
  purpose: ResolvedPurpose,
  type: RunEventType,
  extra: Record<string, unknown> = {},
): tasks.EventBridgePutEvents {
  const { props } = purpose;
  const status = { [RUN_EVENT_TYPES.succeeded]: 'SUCCEEDED', [RUN_EVENT_TYPES.failed]: 'FAILED', [RUN_EVENT_TYPES.skipped]: 'SKIPPED' }[
    type
  ];
  const put = new tasks.EventBridgePutEvents(scope, id, {
    comment: `Puts '${type}' on the default event bus: other teams' rules and after: triggers start from it.`,
    entries: [
      {
        eventBus: defaultEventBus(scope),
        source: RUN_EVENT_SOURCE,
        detailType: type,
        detail: sfn.TaskInput.fromObject({
          version: RUN_EVENT_VERSION,
          ...(props.runEvents ? { project: props.runEvents.project, stage: props.runEvents.stage } : {}),
          purpose: props.purposeName,
          stateMachineArn: sfn.JsonPath.stringAt('$$.StateMachine.Id'),
          runId: sfn.JsonPath.stringAt(RUN_INPUT_PATHS.runId),
          execution: sfn.JsonPath.executionId,
          window: sfn.JsonPath.objectAt(RUN_INPUT_PATHS.window),
          trigger: sfn.JsonPath.stringAt(RUN_INPUT_PATHS.triggerKind),
          attempt: sfn.JsonPath.numberAt(RUN_INPUT_PATHS.attempt),
          force: sfn.JsonPath.objectAt('$.force'),
          outputs: sfn.JsonPath.objectAt('$.outputs'),
          ...(Object.keys(props.parameters ?? {}).length > 0 ? { parameters: sfn.JsonPath.objectAt('$.parameters') } : {}),
          status,
          ...extra,
        }),
      },
    ],
    resultPath: sfn.JsonPath.DISCARD,
  });
  put.addRetry({ errors: ['States.ALL'], interval: Duration.seconds(2), maxAttempts: 5, backoffRate: 2 });
  return put;
}

/** The account's default event bus, once per purpose. */
function defaultEventBus(scope: Construct): events.IEventBus {
  const id = 'DefaultEventBus';
  const existing = scope.node.tryFindChild(id) as events.IEventBus | undefined;
  return (
    existing ?? events.EventBus.fromEventBusArn(scope, id, `arn:${Aws.PARTITION}:events:${Aws.REGION}:${Aws.ACCOUNT_ID}:event-bus/default`)
  );
}

/**
 * `cache: true`, after the run manifest recorded the inputs: the run's key (runCacheKey) is
 * compared with the key of the window's result in the ledger. On a match (and unless a manual
 * run was forced) the run restores the window's record as succeeded, cached from the run that
 * made the result, puts Run Skipped and ends without a job; otherwise it keeps its key for
 * RecordRunSuccess and goes on to the job.
 */
export function skipUnchangedWork(
  scope: Construct,
  purpose: ResolvedPurpose,
  ledger: dynamodb.ITable,
  taken: sfn.IChainable,
): { first: sfn.TaskStateBase; miss: sfn.Pass; catchable: sfn.TaskStateBase[] } {
  const read = new tasks.DynamoGetItem(scope, 'ReadWindowResult', {
    comment: "Reads the key of what the window's result was made from, and the run that made it.",
    table: ledger,
    key: ledgerKey(purpose),
    consistentRead: true,
    expressionAttributeNames: names(A.cacheKey, A.resultRunId),
    projectionExpression: [
      new tasks.DynamoProjectionExpression().withAttribute(`#${A.cacheKey}`),
      new tasks.DynamoProjectionExpression().withAttribute(`#${A.resultRunId}`),
    ],
    resultPath: PATHS.cache,
  });
  read.addRetry({
    errors: ['DynamoDB.ProvisionedThroughputExceededException', 'DynamoDB.ThrottlingException', 'DynamoDB.InternalServerErrorException'],
    interval: Duration.seconds(1),
    maxAttempts: 5,
    backoffRate: 2,
  });
  const resultKey = `${PATHS.cache}.Item.${A.cacheKey}.S`;
  const resultRun = `${PATHS.cache}.Item.${A.resultRunId}.S`;
  const cached = new tasks.DynamoUpdateItem(scope, 'RecordRunCached', {
    comment:
      "Records the window as succeeded by this run without a job: its result is the earlier run's, made from the same code and inputs.",
    table: ledger,
    key: ledgerKey(purpose),
    updateExpression: 'SET #status = :succeeded, #endedAt = :endedAt, #outputs = :outputs, #cachedFrom = :cachedFrom',
    conditionExpression: '#execution = :execution',
    expressionAttributeNames: names(A.status, A.endedAt, A.outputs, A.cachedFrom, A.execution),
    expressionAttributeValues: {
      ':succeeded': str('SUCCEEDED'),
      ':endedAt': str(sfn.JsonPath.stateEnteredTime),
      ':outputs': str(sfn.JsonPath.jsonToString(sfn.JsonPath.objectAt('$.outputs'))),
      ':cachedFrom': str(sfn.JsonPath.stringAt(resultRun)),
      ':execution': str(sfn.JsonPath.executionId),
    },
    resultPath: sfn.JsonPath.DISCARD,
  });
  retryLedgerWrites(cached);
  cached.addCatch(taken, { errors: ['DynamoDB.ConditionalCheckFailedException'], resultPath: PATHS.error });
  const skipped = publishRunEvent(scope, 'PublishRunSkipped', purpose, RUN_EVENT_TYPES.skipped, {
    cachedFrom: sfn.JsonPath.stringAt(resultRun),
  });
  cached
    .next(skipped)
    .next(new sfn.Succeed(scope, 'RunSkipped', { comment: "The window's result stands: same code, arguments, parameters and inputs." }));
  const miss = new sfn.Pass(scope, 'KeepCacheKey', {
    comment: "The key RecordRunSuccess stores with the window's new result.",
    parameters: { key: sfn.JsonPath.stringAt(`${PATHS.manifest}.cacheKey`) },
    resultPath: PATHS.cacheKey,
  });
  const forcedByHand = sfn.Condition.and(
    sfn.Condition.booleanEquals('$.force', true),
    sfn.Condition.stringEquals(RUN_INPUT_PATHS.triggerKind, 'manual'),
  );
  read.next(
    new sfn.Choice(scope, 'ResultUnchanged', { comment: 'Same key as the result, and not a manual run with --force: nothing to run.' })
      .when(
        sfn.Condition.and(
          sfn.Condition.isPresent(resultKey),
          sfn.Condition.isPresent(resultRun),
          sfn.Condition.stringEqualsJsonPath(resultKey, `${PATHS.manifest}.cacheKey`),
          sfn.Condition.not(forcedByHand),
        ),
        cached,
      )
      .otherwise(miss),
  );
  return { first: read, miss, catchable: [read, cached] };
}

/** Where an attempt ends that finds another attempt holding its window. */
export function windowTaken(scope: Construct): sfn.Fail {
  return new sfn.Fail(scope, 'WindowTaken', {
    error: WINDOW_TAKEN_ERROR,
    cause:
      'The run ledger holds another attempt at this window, running or newer than this one, so this attempt stopped without ' +
      "changing the window's result. See the ledger's item for the window, or `batcat runs`.",
  });
}

/** Records the window's result as this attempt's, with the outputs it wrote, then goes on to `done`. */
export function recordRunSuccess(
  scope: Construct,
  purpose: ResolvedPurpose,
  ledger: dynamodb.ITable,
  taken: sfn.IChainable,
  done: sfn.IChainable,
): tasks.DynamoUpdateItem {
  const cache = purpose.props.cache === true;
  const success = new tasks.DynamoUpdateItem(scope, 'RecordRunSuccess', {
    comment: "Makes this attempt the window's result in the run ledger.",
    table: ledger,
    key: ledgerKey(purpose),
    updateExpression:
      'SET #status = :succeeded, #endedAt = :endedAt, #outputs = :outputs' +
      (cache ? ', #cacheKey = :cacheKey, #resultRunId = :runId REMOVE #cachedFrom' : ''),
    conditionExpression: '#execution = :execution',
    expressionAttributeNames: names(
      A.status,
      A.endedAt,
      A.outputs,
      A.execution,
      ...(cache ? [A.cacheKey, A.resultRunId, A.cachedFrom] : []),
    ),
    expressionAttributeValues: {
      ':succeeded': str('SUCCEEDED'),
      ':endedAt': str(sfn.JsonPath.stateEnteredTime),
      ':outputs': str(sfn.JsonPath.jsonToString(sfn.JsonPath.objectAt('$.outputs'))),
      ':execution': str(sfn.JsonPath.executionId),
      ...(cache
        ? { ':cacheKey': str(sfn.JsonPath.stringAt(`${PATHS.cacheKey}.key`)), ':runId': str(sfn.JsonPath.stringAt(RUN_INPUT_PATHS.runId)) }
        : {}),
    },
    resultPath: sfn.JsonPath.DISCARD,
  });
  retryLedgerWrites(success);
  success.addCatch(taken, { errors: ['DynamoDB.ConditionalCheckFailedException'], resultPath: PATHS.error });
  success.next(done);
  return success;
}

/** Records this attempt as failed, with its reason; a ledger that cannot be written does not hide the run's own error. */
function recordRunFailure(
  scope: Construct,
  purpose: ResolvedPurpose,
  ledger: dynamodb.ITable,
  next: sfn.IChainable,
): tasks.DynamoUpdateItem {
  const failure = new tasks.DynamoUpdateItem(scope, 'RecordRunFailure', {
    comment: 'Records this attempt as failed in the run ledger, so the next trigger starts a new one.',
    table: ledger,
    key: ledgerKey(purpose),
    updateExpression: 'SET #status = :failed, #endedAt = :endedAt, #error = :error, #reason = :reason',
    conditionExpression: '#execution = :execution',
    expressionAttributeNames: names(A.status, A.endedAt, A.error, A.reason, A.execution),
    expressionAttributeValues: {
      ':failed': str('FAILED'),
      ':endedAt': str(sfn.JsonPath.stateEnteredTime),
      ':error': str(sfn.JsonPath.stringAt('$.failure.error')),
      ':reason': str(sfn.JsonPath.stringAt('$.failure.reason')),
      ':execution': str(sfn.JsonPath.executionId),
    },
    resultPath: sfn.JsonPath.DISCARD,
  });
  retryLedgerWrites(failure);
  failure.addCatch(next, { resultPath: '$.ledgerError' });
  failure.next(next);
  return failure;
}

function retryLedgerWrites(task: tasks.DynamoUpdateItem): void {
  task.addRetry({
    errors: [
      'DynamoDB.ProvisionedThroughputExceededException',
      'DynamoDB.ThrottlingException',
      'DynamoDB.InternalServerErrorException',
      'DynamoDB.RequestLimitExceeded',
    ],
    interval: Duration.seconds(1),
    maxAttempts: 5,
    backoffRate: 2,
  });
}

/** Runs the purpose's query for the window; its result file becomes the job's input `query`. */
export function runQuery(scope: Construct, query: PurposeQuery, purpose: ResolvedPurpose): AthenaRunQuery {
  return new AthenaRunQuery(scope, 'RunQuery', {
    comment: "Runs the purpose's query for the window in the project workgroup; the result file becomes the job's input 'query'.",
    queryString: query.queryString,
    executionParametersPath: purpose.queryParameters.length > 0 ? PATHS.queryParameters : undefined,
    workGroup: query.workGroup,
    database: query.database,
    tables: query.tables,
    dataLocations: query.dataLocations,
    resultSelector: {
      queryExecutionId: sfn.JsonPath.stringAt('$.QueryExecution.QueryExecutionId'),
      resultFile: sfn.JsonPath.format('{}.csv', sfn.JsonPath.stringAt('$.QueryExecution.QueryExecutionId')),
      dataScannedBytes: sfn.JsonPath.numberAt('$.QueryExecution.Statistics.DataScannedInBytes'),
    },
    resultPath: PATHS.query,
  }).addDocumentedRetries();
}

/**
 * The processing job: the run's folders, the script (in script mode), the arguments with their
 * placeholders rendered per run, the `BATCAT_*` environment, and the documented retries.
 */
export function runProcessingJob(
  scope: Construct,
  purpose: ResolvedPurpose,
  image: tasks.DockerImage,
  code?: ScriptCode,
  spark?: SageMakerSpark,
): SageMakerCreateProcessingJob {
  const { props } = purpose;
  const attemptFolder = sfn.JsonPath.stringAt(PATHS.attemptFolder);
  return new SageMakerCreateProcessingJob(scope, 'RunProcessingJob', {
    jobName: sfn.JsonPath.stringAt(PATHS.jobName),
    jobNamePrefix: purpose.jobNamePrefix,
    image,
    containerEntrypoint: spark?.entrypoint ?? code?.entrypoint ?? props.entrypoint,
    containerArguments: jobArguments(purpose),
    processingInputs: [
      ...purpose.inputs.map((i, n) => ({
        name: i.name,
        bucket: i.bucket ?? props.bucket,
        keyPrefix: i.keyPrefix,
        // What RecordRunInputs found the run reads (a staged copy in a reproduction); a window's manifest names its objects.
        ...(purpose.windowInputs.includes(i) ? windowManifest(purpose, i) : { uri: recordedUri(n) }),
        fallbackBucket: i.fallbackBucket,
        distribution: i.distribution,
        localPath: i.localPath,
        mode: i.mode,
        compression: i.compression,
      })),
      ...(spark ? spark.inputs : code ? [code.input] : []),
      ...(props.query
        ? [
            {
              name: 'query',
              bucket: props.query.workGroup.resultsBucket,
              keyPrefix: props.query.workGroup.resultsPrefix,
              uri: recordedUri(purpose.inputs.length),
            },
          ]
        : []),
      ...(purpose.redshiftResults
        ? [
            {
              name: 'query',
              bucket: purpose.redshiftResults.bucket,
              keyPrefix: purpose.redshiftResults.prefix,
              uri: recordedUri(purpose.inputs.length),
            },
          ]
        : []),
    ],
    processingOutputs: [
      ...purpose.outputs.map((o) => ({
        name: o.name,
        bucket: props.bucket,
        keyPrefix: o.keyPrefix,
        runPrefix: attemptFolder,
        localPath: o.localPath,
        uploadMode: props.outputs.find((x) => x.name === o.name)!.uploadMode,
      })),
      ...(spark?.outputs ?? []),
    ],
    // The project key for the results and, where the instance has an EBS volume, for it too.
    outputEncryptionKey: props.bucket.encryptionKey,
    volumeEncryptionKey: hasInstanceStorage(processingInstanceType(props.instanceType?.toString()))
      ? undefined
      : props.bucket.encryptionKey,
    instanceType: props.instanceType,
    instanceCount: props.instanceCount,
    volumeSize: props.volumeSize,
    maxRuntime: purpose.maxRuntime,
    environment: {
      ...props.environment,
      ...Object.fromEntries(Object.entries(props.secrets ?? {}).map(([name, secret]) => [secretIdVariable(name), secret.secretArn])),
      ...(props.source ? { [DB_SECRET_ENV]: props.source.secret.secretArn } : {}),
      [JOB_ENV.purpose]: props.purposeName,
      [JOB_ENV.runId]: sfn.JsonPath.stringAt(RUN_INPUT_PATHS.runId),
      [JOB_ENV.windowStart]: sfn.JsonPath.stringAt(RUN_INPUT_PATHS.windowStart),
      [JOB_ENV.windowEnd]: sfn.JsonPath.stringAt(RUN_INPUT_PATHS.windowEnd),
      [JOB_ENV.windowEndExclusive]: sfn.JsonPath.stringAt(RUN_INPUT_PATHS.windowEndExclusive),
      [JOB_ENV.timezone]: sfn.JsonPath.stringAt(RUN_INPUT_PATHS.timezone),
      [JOB_ENV.trigger]: sfn.JsonPath.stringAt(RUN_INPUT_PATHS.triggerKind),
      [JOB_ENV.jobName]: sfn.JsonPath.stringAt(PATHS.jobName),
      [JOB_ENV.executionId]: sfn.JsonPath.executionId,
      ...Object.fromEntries(
        Object.keys(props.parameters ?? {}).map((p) => [parameterVariable(p), sfn.JsonPath.stringAt(parameterPath(p))]),
      ),
      ...(props.query || props.redshiftQuery ? { [JOB_ENV.queryExecutionId]: sfn.JsonPath.stringAt(PATHS.queryExecutionId) } : {}),
    },
    // Spark reads and writes S3 itself.
    networkIsolation: props.networkIsolation ?? (purpose.spark ? false : undefined),
    vpc: props.vpc,
    vpcSubnets: props.vpcSubnets,
    securityGroups: props.securityGroups,
    tags: { 'batcat:purpose': props.purposeName, 'batcat:state-machine': purpose.stateMachineName },
    resultSelector: {
      arn: sfn.JsonPath.stringAt('$.ProcessingJobArn'),
      status: sfn.JsonPath.stringAt('$.ProcessingJobStatus'),
    },
    resultPath: PATHS.job,
  }).addDocumentedRetries(purpose.quotaWait);
}

/**
 * The job's arguments: with a placeholder among them, each from RenderArguments (literals too, so
 * their braces stay plain JSON instead of escaped intrinsic-function text); else as written.
 */
function jobArguments(purpose: ResolvedPurpose): string[] | undefined {
  const args = purpose.props.arguments;
  return hasPlaceholders(args) ? args!.map((_, n) => sfn.JsonPath.stringAt(`${PATHS.arguments}.a${n}`)) : args && [...args];
}

/** The Spark job on EMR Serverless, with the run's job name, attempt folder and arguments. */
export function runSparkJobStep(
  scope: Construct,
  purpose: ResolvedPurpose,
  application: ISparkApplication,
  code: SparkCode,
): EmrServerlessStartJobRun {
  return runSparkJob(scope, purpose, application, code, jobArguments(purpose), {
    jobName: PATHS.jobName,
    attemptFolder: PATHS.attemptFolder,
    job: PATHS.job,
  });
}

function hasPlaceholders(args: readonly string[] | undefined): boolean {
  return (args ?? []).some((a) => splitPlaceholders(a).placeholders.length > 0);
}

/** The S3 URI of the n-th input (the purpose's inputs, then the query's result) that RecordRunInputs returned. */
function recordedUri(n: number): string {
  return sfn.JsonPath.stringAt(`${PATHS.manifest}.uris.u${n}`);
}

/** A partitioned input of a run longer than a day is read through the manifest ListWindowPartitions wrote. */
function windowManifest(purpose: ResolvedPurpose, i: PurposeInput): Pick<ProcessingInput, 'manifest'> {
  return {
    manifest: {
      bucket: purpose.props.bucket,
      keyPrefix: purpose.manifestsPrefix,
      key: sfn.JsonPath.stringAt(`${PATHS.manifests}.m${purpose.windowInputs.indexOf(i)}`),
    },
  };
}

/** The first state of the Redshift query, where a redrive of a run whose query failed resumes. */
export const REDSHIFT_QUERY_STATE = 'RunQuery';

/** Runs the purpose's Redshift query for the window, unloading its result into the run's folder. */
export function runRedshiftQuery(scope: Construct, purpose: ResolvedPurpose, onFailure: sfn.IChainable): RedshiftUnloadQuery {
  const q = purpose.props.redshiftQuery!;
  const day = (p: QueryParameter) =>
    sfn.JsonPath.stringAt(p === QueryParameter.WINDOW_START ? RUN_INPUT_PATHS.windowStart : RUN_INPUT_PATHS.windowEnd);
  return new RedshiftUnloadQuery(scope, 'RedshiftQuery', {
    queryString: q.queryString,
    bindings: (q.parameters ?? [QueryParameter.WINDOW_START, QueryParameter.WINDOW_END]).map(day),
    database: q.database,
    secret: q.secret,
    workgroupName: q.workgroupName,
    clusterIdentifier: q.clusterIdentifier,
    format: q.format,
    resultsBucket: purpose.redshiftResults!.bucket,
    resultsPrefix: purpose.redshiftResults!.prefix,
    runFolder: PATHS.queryFolder,
    resultPath: PATHS.query,
    onFailure,
  });
}

/** The two steps of the run's manifest: the versions of what the job reads (before it) and of what the commit wrote. */
export function recordRunManifest(
  scope: Construct,
  purpose: ResolvedPurpose,
  manifests: RunManifests,
  ran: { readonly image: string; readonly code?: string },
): { inputs: tasks.LambdaInvoke; outputs: tasks.LambdaInvoke } {
  const { props } = purpose;
  const run = {
    purpose: props.purposeName,
    runId: sfn.JsonPath.stringAt(RUN_INPUT_PATHS.runId),
    execution: sfn.JsonPath.executionId,
    window: sfn.JsonPath.objectAt(RUN_INPUT_PATHS.window),
    timezone: sfn.JsonPath.stringAt(RUN_INPUT_PATHS.timezone),
    attempt: sfn.JsonPath.numberAt(RUN_INPUT_PATHS.attempt),
    trigger: sfn.JsonPath.objectAt('$.trigger'),
    jobName: sfn.JsonPath.stringAt(PATHS.jobName),
    image: ran.image,
    ...(ran.code ? { code: ran.code } : {}),
    ...(props.arguments ? { arguments: props.arguments } : {}),
    ...(Object.keys(props.parameters ?? {}).length > 0 ? { parameters: sfn.JsonPath.objectAt('$.parameters') } : {}),
    ...(props.gitCommit ? { gitCommit: props.gitCommit } : {}),
    ...(props.requirements?.length ? { requirements: props.requirements } : {}),
  };
  const inputs = [
    ...purpose.inputs.map((i) => {
      const w = purpose.windowInputs.indexOf(i);
      return {
        name: i.name,
        // A window's input is recorded in the bucket its manifest lists, which ListWindowPartitions chose.
        bucket: i.fallbackBucket && w >= 0 ? sfn.JsonPath.stringAt(`${PATHS.partitions}.inputs[${w}].bucket`) : (i.bucket ?? props.bucket),
        fallbackBucket: w >= 0 ? undefined : i.fallbackBucket,
        prefix: i.keyPrefix,
        read: w >= 0 ? ('window' as const) : i.partitioned ? ('day' as const) : ('all' as const),
      };
    }),
    ...(props.query
      ? [
          {
            name: 'query',
            bucket: props.query.workGroup.resultsBucket,
            prefix: sfn.JsonPath.format(`${props.query.workGroup.resultsPrefix}{}`, sfn.JsonPath.stringAt(PATHS.queryResultFile)),
            read: 'all' as const,
          },
        ]
      : []),
    ...(purpose.redshiftResults
      ? [
          {
            name: 'query',
            bucket: purpose.redshiftResults.bucket,
            prefix: sfn.JsonPath.format(`${purpose.redshiftResults.prefix}{}`, sfn.JsonPath.stringAt(PATHS.queryFolder)),
            read: 'all' as const,
          },
        ]
      : []),
  ];
  const outputs = purpose.outputs.map((o) => ({
    name: o.name,
    bucket: props.bucket,
    prefix: sfn.JsonPath.format(`${o.keyPrefix}{}`, sfn.JsonPath.stringAt(PATHS.partition)),
  }));
  return {
    inputs: manifests.recordInputs(scope, run, inputs, PATHS.manifest),
    outputs: manifests.recordOutputs(scope, sfn.JsonPath.stringAt(RUN_INPUT_PATHS.runId), outputs, PATHS.manifest),
  };
}

/**
 * A reproduction (`batcat reproduce --remote`: the run input has `reproduction`) goes straight to
 * the job with the inputs it staged and the recorded query's id; any other run claims its window.
 */
export function reproduceOrClaim(scope: Construct, purpose: ResolvedPurpose, claim: sfn.IChainable, job: sfn.IChainable): sfn.Choice {
  const staged = new sfn.Pass(scope, 'UseStagedInputs', {
    comment: 'A reproduction reads the versions the run it reproduces read, staged in the purpose bucket: no ledger, no query.',
    parameters: { uris: sfn.JsonPath.objectAt('$.reproduction.uris') },
    resultPath: PATHS.manifest,
  });
  const { props } = purpose;
  if (props.query || props.redshiftQuery) {
    staged
      .next(
        new sfn.Pass(scope, 'UseRecordedQuery', {
          parameters: { queryExecutionId: sfn.JsonPath.stringAt('$.reproduction.queryExecutionId') },
          resultPath: PATHS.query,
        }),
      )
      .next(job);
  } else staged.next(job);
  return new sfn.Choice(scope, 'IsReproduction').when(sfn.Condition.isPresent('$.reproduction'), staged).otherwise(claim);
}

/** After the output check: a reproduction ends there (its outputs stay in the attempt's folder); a run commits. */
export function commitUnlessReproduction(scope: Construct, commit: sfn.IChainable): sfn.Choice {
  return new sfn.Choice(scope, 'CommitUnlessReproduction')
    .when(
      sfn.Condition.isPresent('$.reproduction'),
      new sfn.Succeed(scope, 'ReproductionSucceeded', {
        comment: "The outputs are in the attempt's folder, the window's result untouched.",
      }),
    )
    .otherwise(commit);
}

/** Lists the window's partitions of the inputs read through manifests, and writes the manifests. */
export function listWindowPartitions(scope: Construct, manifests: WindowManifests): tasks.LambdaInvoke {
  return manifests.task(scope, { window: RUN_INPUT_PATHS.window, manifestFolder: PATHS.manifestFolder, result: PATHS.partitions });
}

/**
 * The arguments with their placeholders rendered for this try, in `$.batcat.arguments`, just
 * before the job: `{input.<name>.uri}` reads what RecordRunInputs (or a reproduction's staging)
 * found, `{output.<name>.uri}` this try's attempt folder. Undefined when no argument has one.
 */
export function renderArguments(scope: Construct, purpose: ResolvedPurpose): sfn.Pass | undefined {
  const args = purpose.props.arguments ?? [];
  if (!hasPlaceholders(args)) return undefined;
  return new sfn.Pass(scope, 'RenderArguments', {
    comment: "Renders the arguments' placeholders for this try: the window, the run, parameters, and the S3 folders it reads and writes.",
    // Each argument by itself: a literal stays plain JSON (its braces need no escaping), a placeholder is formatted per run.
    parameters: Object.fromEntries(args.map((a, i) => [`a${i}`, renderPlaceholders(a, purpose)])),
    resultPath: PATHS.arguments,
  });
}

/** `--start={window.start}` as a JsonPath format; an argument without placeholders stays literal. */
function renderPlaceholders(argument: string, purpose: ResolvedPurpose): string {
  const { parts, placeholders } = splitPlaceholders(argument);
  if (placeholders.length === 0) return argument;
  // States.Format reads '{}' as a slot, so the literal parts' own braces are escaped.
  const escape = (part: string) => part.replace(/[{}]/g, '\\$&');
  let template = escape(parts[0]);
  const values: string[] = [];
  placeholders.forEach((p, k) => {
    const v = placeholderValue(p, purpose.placeholders)!;
    if (v.kind === 'output') {
      // The bucket's name is a token (no braces in what it resolves to): the folder up to the attempt, then the attempt folder.
      const o = purpose.outputs.find((x) => x.name === v.name)!;
      template += `${s3Uri(purpose.props.bucket.bucketName, o.keyPrefix)}{}`;
      values.push(sfn.JsonPath.stringAt(PATHS.attemptFolder));
    } else {
      template += '{}';
      values.push(sfn.JsonPath.stringAt(v.kind === 'run' ? v.path : `${PATHS.manifest}.uris.u${v.index}`));
    }
    template += escape(parts[k + 1]);
  });
  return sfn.JsonPath.format(template, ...values);
}

/**
 * A create call that failed after SageMaker had created the job (a throttle or a 5xx on the way
 * back) is retried with the same name, and SageMaker refuses the name. Instead of failing the run
 * while its job goes on, the run follows that job: it describes it until it ends, then goes on
 * to `done` as if the .sync task had waited for it, or to `onFailure` with the job's description.
 * Catches on `job` must be added after this one, which takes only the name clash.
 */
export function followExistingJob(
  scope: Construct,
  job: SageMakerCreateProcessingJob,
  done: sfn.IChainable,
  onFailure: sfn.IChainable,
): void {
  const describe = new sfn.CustomState(scope, 'DescribeExistingJob', {
    stateJson: {
      Type: 'Task',
      Comment: 'The job this run created before its create call failed: followed instead of created again.',
      Resource: `arn:${Aws.PARTITION}:states:::aws-sdk:sagemaker:describeProcessingJob`,
      Parameters: { 'ProcessingJobName.$': PATHS.jobName },
      ResultSelector: { 'arn.$': '$.ProcessingJobArn', 'status.$': '$.ProcessingJobStatus', 'description.$': '$' },
      ResultPath: PATHS.job,
    },
  });
  describe.addRetry({
    errors: ['SageMaker.ThrottlingException', 'SageMaker.SageMakerException'],
    interval: Duration.seconds(2),
    maxAttempts: 6,
    backoffRate: 2,
  });
  describe.addCatch(onFailure, { resultPath: PATHS.error });
  const failed = new sfn.Pass(scope, 'ExistingJobFailed', {
    // The shape a failed .sync task reports, so the failure path finds the job's FailureReason.
    parameters: { Error: 'States.TaskFailed', Cause: sfn.JsonPath.jsonToString(sfn.JsonPath.objectAt(`${PATHS.job}.description`)) },
    resultPath: PATHS.error,
  }).next(onFailure);
  const status = `${PATHS.job}.status`;
  describe.next(
    new sfn.Choice(scope, 'ExistingJobStatus')
      .when(
        sfn.Condition.or(sfn.Condition.stringEquals(status, 'InProgress'), sfn.Condition.stringEquals(status, 'Stopping')),
        new sfn.Wait(scope, 'WaitForExistingJob', { time: sfn.WaitTime.duration(Duration.minutes(1)) }).next(describe),
      )
      .when(sfn.Condition.stringEquals(status, 'Completed'), done)
      .otherwise(failed),
  );
  const clash = new sfn.Choice(scope, 'JobNameTaken')
    .when(errorCauseMatches('*already exists*', '*must be unique*'), describe)
    .otherwise(onFailure);
  job.addCatch(clash, {
    errors: ['SageMaker.AmazonSageMakerException', 'SageMaker.ResourceInUseException', 'SageMaker.ResourceInUse'],
    resultPath: PATHS.error,
  });
}

/** The caught error's Cause is a string that matches one of `patterns` (`*` is a wildcard). */
function errorCauseMatches(...patterns: string[]): sfn.Condition {
  const cause = '$.error.Cause';
  const matches = patterns.map((p) => sfn.Condition.stringMatches(cause, p));
  return sfn.Condition.and(
    sfn.Condition.isPresent(cause),
    sfn.Condition.isString(cause),
    matches.length === 1 ? matches[0] : sfn.Condition.or(...matches),
  );
}

/** A step of the run that can fail: a task, or a state that stands for a group of them. */
type FailingStep = sfn.TaskStateBase | sfn.Parallel | sfn.CustomState;

/**
 * The failure path, and how a redriven run gets back. Every way a run fails goes through a
 * marker (`Caught-<step>` for a caught error, `Failed-<step>` for a failure the state machine
 * decided, such as an empty output) that records the step a redrive resumes at.
 */
export interface FailureHandling {
  /**
   * Catches every error of `steps`; a redrive resumes at the step that failed, or at `resumeAt`.
   * `newTry`: the steps up to the job, where a redrive takes a new job name and attempt folder;
   * after the job a redrive keeps them, since the job's outputs are in its folder.
   */
  catch(steps: ReadonlyArray<FailingStep | undefined>, options: { newTry: boolean; resumeAt?: sfn.State }): void;
  /** Catches the errors a caller routes by hand (after its own catch); a redrive resumes at the state named `resumeAt`. */
  caughtIn(resumeAt: string): sfn.IChainable;
  /** Where a failure the state machine decided goes, with `$.failure` set; a redrive resumes at the state named `resumeAt`. */
  failedIn(resumeAt: string): sfn.IChainable;
  /** After every step is built: lets a redrive resume at each step a marker names. */
  finish(): void;
}

/**
 * After a failed step: pick the clearest reason (the job's FailureReason or the query's
 * StateChangeReason when the cause is their description, otherwise the error's cause), record
 * it in the ledger, notify the topic, put `Run Failed`, and fail the execution in
 * `AwaitRedrive`. A redrive runs AwaitRedrive again: the run reopens its window in the ledger
 * (only if it is still the window's newest attempt), takes a new job name and folder, and
 * resumes at the step that failed.
 */
export function failureHandling(
  scope: Construct,
  purpose: ResolvedPurpose,
  topic: sns.ITopic,
  ledger: dynamodb.ITable,
  gate: RedriveGate,
  sparkApplication?: ISparkApplication,
): FailureHandling {
  const notify = new tasks.SnsPublish(scope, 'NotifyFailure', {
    topic,
    subject: `BatCat run failed: ${purpose.stateMachineName}`,
    message: sfn.TaskInput.fromObject({
      purpose: purpose.props.purposeName,
      stateMachine: purpose.stateMachineName,
      execution: sfn.JsonPath.executionId,
      runId: sfn.JsonPath.stringAt(RUN_INPUT_PATHS.runId),
      window: sfn.JsonPath.objectAt(RUN_INPUT_PATHS.window),
      jobName: sfn.JsonPath.stringAt(PATHS.jobName),
      failedIn: sfn.JsonPath.stringAt(`${PATHS.failedAt}.step`),
      error: sfn.JsonPath.stringAt('$.failure.error'),
      reason: sfn.JsonPath.stringAt('$.failure.reason'),
    }),
    resultPath: sfn.JsonPath.DISCARD,
  });
  // A reproduction changes no result and is not redriven: it ends here.
  const runFailed = new sfn.Fail(scope, 'RunFailed', { errorPath: '$.failure.error', causePath: '$.failure.reason' });
  const awaitRedrive = gate.task(scope, {
    error: '$.failure.error',
    reason: '$.failure.reason',
    failedInRedrive: `${PATHS.failedAt}.redriveCount`,
  });
  const publish = publishRunEvent(scope, 'PublishRunFailed', purpose, RUN_EVENT_TYPES.failed, {
    error: sfn.JsonPath.stringAt('$.failure.error'),
    reason: sfn.JsonPath.stringAt('$.failure.reason'),
  });
  // A notification or event that cannot be sent must not replace the run's own error: retried, then the run fails with that error.
  notify.addRetry({ errors: ['States.ALL'], interval: Duration.seconds(2), maxAttempts: 3, backoffRate: 2 });
  const publishUnlessReproduction = new sfn.Choice(scope, 'PublishUnlessReproduction')
    .when(sfn.Condition.isPresent('$.reproduction'), runFailed)
    .otherwise(publish);
  notify.addCatch(publishUnlessReproduction, { resultPath: '$.notificationError' });
  notify.next(publishUnlessReproduction);
  publish.addCatch(awaitRedrive, { resultPath: '$.eventError' });
  publish.next(awaitRedrive);
  const fail = recordRunFailure(scope, purpose, ledger, notify);

  // The redrive: reopen the window (unless the claim itself failed); up to the job, new names for this try; back to the failed step.
  const resumeWithNewTry = new sfn.Choice(scope, 'ResumeWithNewTry', {
    comment: 'A redriven run that failed up to its job goes on at that step, with a new job name and attempt folder.',
  });
  const resumeAt = new sfn.Choice(scope, 'ResumeAtFailedStep', {
    comment:
      "A redriven run that failed after its job goes on at that step, in the job's folder (an empty output or a broken rule: at the job).",
  });
  const newTry = resolveRedrive(scope, purpose).next(resumeWithNewTry);
  resumeAt.otherwise(newTry);
  const reopen = reopenRun(scope, purpose, ledger, resumeAt);
  awaitRedrive.next(
    new sfn.Choice(scope, 'RedriveFrom').when(sfn.Condition.stringEquals(`${PATHS.failedAt}.step`, CLAIM_STATE), newTry).otherwise(reopen),
  );

  // Each way of finding the reason ends in the same `$.failure` shape that RecordRunFailure and NotifyFailure read.
  const failure = (id: string, reason: string) =>
    new sfn.Pass(scope, id, { parameters: { error: sfn.JsonPath.stringAt('$.error.Error'), reason }, resultPath: PATHS.failure }).next(
      fail,
    );
  const useCause = failure('UseErrorCause', sfn.JsonPath.stringAt('$.error.Cause'));
  // Most scripts never write /opt/ml/output/message, so the reason alone is "AlgorithmError: ..."; the log stream says why.
  const useJobReason = failure(
    'UseJobFailureReason',
    sfn.JsonPath.format(
      `{} (the script's output: log streams of job {} at https://console.aws.amazon.com/cloudwatch/home?region=${Aws.REGION}` +
        '#logsV2:log-groups/log-group/$252Faws$252Fsagemaker$252FProcessingJobs$3FlogStreamNameFilter$3D{})',
      sfn.JsonPath.stringAt('$.failedJob.description.FailureReason'),
      sfn.JsonPath.stringAt(PATHS.jobName),
      sfn.JsonPath.stringAt(PATHS.jobName),
    ),
  );
  // A failed EMR Serverless job run: why, and where its driver's log is (the attempt's log folder, as EMR Serverless lays it out).
  const useSparkReason =
    sparkApplication &&
    failure(
      'UseSparkJobReason',
      sfn.JsonPath.format(
        `{} (the driver log: ${driverLogFolder(purpose, sparkApplication)}stderr.gz)`,
        sfn.JsonPath.stringAt('$.failedJob.description.JobRun.StateDetails'),
        sfn.JsonPath.stringAt(PATHS.attemptFolder),
        sfn.JsonPath.stringAt('$.failedJob.description.JobRun.JobRunId'),
      ),
    );
  // A BatCat function's error (a missing day, say): its message is the reason.
  const useFunctionMessage = failure('UseFunctionErrorMessage', sfn.JsonPath.stringAt('$.failedJob.description.errorMessage'));
  const useQueryReason = failure(
    'UseQueryFailureReason',
    sfn.JsonPath.stringAt('$.failedJob.description.QueryExecution.Status.StateChangeReason'),
  );
  const reasons = new sfn.Choice(scope, 'HasFailureReason');
  if (useSparkReason) {
    reasons.when(
      sfn.Condition.and(
        sfn.Condition.isPresent('$.failedJob.description.JobRun.StateDetails'),
        sfn.Condition.isPresent('$.failedJob.description.JobRun.JobRunId'),
      ),
      useSparkReason,
    );
  }
  const parse = new sfn.Pass(scope, 'ParseJobDescription', {
    parameters: { description: sfn.JsonPath.stringToJson(sfn.JsonPath.stringAt('$.error.Cause')) },
    resultPath: '$.failedJob',
  }).next(
    reasons
      .when(sfn.Condition.isPresent('$.failedJob.description.FailureReason'), useJobReason)
      .when(sfn.Condition.isPresent('$.failedJob.description.QueryExecution.Status.StateChangeReason'), useQueryReason)
      .when(sfn.Condition.isPresent('$.failedJob.description.errorMessage'), useFunctionMessage)
      .otherwise(useCause),
  );
  const describe = new sfn.Choice(scope, 'DescribeFailure')
    .when(errorCauseMatches('{*}'), parse)
    .when(sfn.Condition.isPresent('$.error.Cause'), useCause)
    .otherwise(failure('UseErrorOnly', 'no cause was reported'));

  const markers = new Map<string, sfn.Pass>();
  const marker = (kind: 'Caught' | 'Failed', step: string, next: sfn.IChainable): sfn.IChainable => {
    const id = `${kind}-${step}`;
    let pass = markers.get(id);
    if (!pass) {
      pass = new sfn.Pass(scope, id, {
        parameters: { step, redriveCount: sfn.JsonPath.numberAt(REDRIVE_COUNT) },
        resultPath: PATHS.failedAt,
      });
      pass.next(next);
      markers.set(id, pass);
    }
    return pass;
  };
  const resumable = new Map<string, { state: sfn.State; newTry: boolean }>();
  return {
    catch(steps, { newTry: fresh, resumeAt: at }) {
      for (const step of steps) {
        if (!step) continue;
        const target = at ?? step;
        step.addCatch(marker('Caught', target.stateId, describe), { resultPath: PATHS.error });
        resumable.set(target.stateId, { state: target, newTry: fresh });
      }
    },
    caughtIn: (step) => marker('Caught', step, describe),
    failedIn: (step) => marker('Failed', step, fail),
    finish() {
      const steps = new Set([...markers.keys()].map((id) => id.slice(id.indexOf('-') + 1)));
      for (const step of steps) {
        const target = resumable.get(step);
        if (!target) throw new Error(`BatCat bug: a failure marker names ${step}, where no redrive can resume`);
        (target.newTry ? resumeWithNewTry : resumeAt).when(sfn.Condition.stringEquals(`${PATHS.failedAt}.step`, step), target.state);
      }
    },
  };
}

/** The claim's state: a redrive of a run that failed there claims the window again instead of reopening it. */
const CLAIM_STATE = 'RecordRunStart';

/**
 * A redrive's first write: the window's ledger item goes from FAILED back to RUNNING, only if
 * this execution is still its newest attempt. Another attempt may have started since (a trigger,
 * a backfill, `batcat run --force`): then the redrive stops at RedriveRefused and runs nothing.
 */
function reopenRun(scope: Construct, purpose: ResolvedPurpose, ledger: dynamodb.ITable, next: sfn.IChainable): tasks.DynamoUpdateItem {
  const reopen = new tasks.DynamoUpdateItem(scope, 'ReopenRun', {
    comment: "Reopens the window in the run ledger for the redriven try: only while this failed execution is the window's newest attempt.",
    table: ledger,
    key: ledgerKey(purpose),
    updateExpression: 'SET #status = :running, #redrives = :redrives, #redrivenAt = :redrivenAt REMOVE #endedAt, #error, #reason',
    conditionExpression: '#execution = :execution AND #status = :failed',
    expressionAttributeNames: names(A.status, A.redrives, A.redrivenAt, A.endedAt, A.error, A.reason, A.execution),
    expressionAttributeValues: {
      ':running': str('RUNNING'),
      ':failed': str('FAILED'),
      ':redrives': tasks.DynamoAttributeValue.numberFromString(sfn.JsonPath.format('{}', sfn.JsonPath.stringAt(REDRIVE_COUNT))),
      ':redrivenAt': str(sfn.JsonPath.stateEnteredTime),
      ':execution': str(sfn.JsonPath.executionId),
    },
    resultPath: sfn.JsonPath.DISCARD,
  });
  retryLedgerWrites(reopen);
  reopen.addCatch(
    new sfn.Fail(scope, 'RedriveRefused', {
      error: REDRIVE_REFUSED_ERROR,
      cause:
        "The run ledger no longer holds this execution as the window's failed attempt: another attempt of the window started " +
        'after it failed, so the redrive stopped without running anything. See `batcat runs`.',
    }),
    { errors: ['DynamoDB.ConditionalCheckFailedException'], resultPath: PATHS.error },
  );
  reopen.next(next);
  return reopen;
}

/**
 * After the job: counts what each output received (one ListObjectsV2 of its run partition, at
 * most one key) and fails the run with `BatCat.EmptyOutput` when a required output is empty.
 * SageMaker reports success for a job that wrote nothing; without this, that run would look
 * like a result and start the purposes that run after it.
 */
export function checkOutputs(
  scope: Construct,
  purpose: ResolvedPurpose,
  onEmpty: () => sfn.IChainable,
  done: sfn.IChainable,
): sfn.Parallel {
  const { props } = purpose;
  const count = new sfn.Parallel(scope, 'CountOutputs', {
    comment: "Counts the objects each output received in the run's partition (at most one each).",
    resultPath: PATHS.outputCheck,
  });
  for (const o of purpose.outputs) {
    count.branch(
      new sfn.CustomState(scope, `CountOutput-${o.name}`, {
        stateJson: {
          Type: 'Task',
          Resource: `arn:${Aws.PARTITION}:states:::aws-sdk:s3:listObjectsV2`,
          Parameters: {
            Bucket: props.bucket.bucketName,
            'Prefix.$': sfn.JsonPath.format(`${o.keyPrefix}{}`, sfn.JsonPath.stringAt(PATHS.attemptFolder)),
            MaxKeys: 1,
          },
          ResultSelector: { output: o.name, 'keyCount.$': '$.KeyCount' },
        },
      }),
    );
  }
  const required = purpose.outputs.map((o, index) => ({ ...o, index })).filter((o) => o.required);
  const choice = new sfn.Choice(scope, 'RequiredOutputsWritten');
  for (const o of required) {
    const where = o.localPath;
    const reason = sfn.JsonPath.format(
      `output ${o.name} is empty: the job wrote nothing to ${where}, so nothing reached s3://${props.bucket.bucketName}/${o.keyPrefix}{}. ` +
        'Objects found per output (at most one counted): {}. Write at least one file there, or set required: false on the output. ' +
        "The window's previous result, if any, is left as it was.",
      sfn.JsonPath.stringAt(PATHS.attemptFolder),
      sfn.JsonPath.jsonToString(sfn.JsonPath.objectAt(PATHS.outputCheck)),
    );
    choice.when(
      sfn.Condition.numberEquals(`${PATHS.outputCheck}[${o.index}].keyCount`, 0),
      new sfn.Pass(scope, `EmptyOutput-${o.name}`, {
        parameters: { error: 'BatCat.EmptyOutput', reason },
        resultPath: PATHS.failure,
      }).next(onEmpty()),
    );
  }
  count.next(required.length > 0 ? choice.otherwise(done) : done);
  return count;
}

/** After the output check: the commit of this attempt's outputs as the window's result. */
/** After the commit: each feature group output's result put into its group, one state per output. */
export function ingestFeatures(scope: Construct, ingestion: FeatureIngestion, outputs: readonly IngestedOutput[]): tasks.LambdaInvoke[] {
  return outputs.map((o) => ingestion.task(scope, o, PATHS.partition));
}

export function commitResults(scope: Construct, purpose: ResolvedPurpose, commit: ResultCommit): tasks.LambdaInvoke {
  return commit.task(scope, purpose.props.bucket, purpose.outputs, { attempt: PATHS.attemptFolder, partition: PATHS.partition });
}

/** Publishing failures to an encrypted topic needs its key. */
export function topicKeyAccess(topic: sns.ITopic): iam.PolicyStatement | undefined {
  return topic.masterKey
    ? new iam.PolicyStatement({ actions: ['kms:GenerateDataKey', 'kms:Decrypt'], resources: [topic.masterKey.keyArn] })
    : undefined;
}

/**
 * Before the commit: one Athena query per table output profiles what the attempt wrote
 * (Profile-<output>, over the output's attempts table), then CheckOutputRules keeps the profiles
 * and checks the rules. A broken `fail` rule goes to `onFailure` as BatCat.RuleViolation: the
 * window's result stays as it was, and no success is recorded; a broken `warn` rule counts the
 * RuleWarnings metric; then `next` (the commit). A profile query that fails (the workgroup's
 * scan cap, say) fails the run with BatCat.ChecksNotRun when its output has rules.
 */
export function checkOutputData(
  scope: Construct,
  purpose: ResolvedPurpose,
  checks: OutputChecks,
  onFailure: sfn.IChainable,
  next: sfn.IChainable,
): { first: sfn.IChainable; catchable: sfn.TaskStateBase[] } {
  const { props } = purpose;
  const wg = purpose.profileWorkGroup!;
  const queries = purpose.tables.map(({ output, keyPrefix, table }, n) => {
    // A query over what this attempt wrote to the output, in the purpose's workgroup; its id goes to `resultPath`.
    const overAttempt = (id: string, comment: string, queryString: string, resultPath: string) =>
      new AthenaRunQuery(scope, id, {
        comment,
        queryString,
        executionParametersPath: PATHS.profileParameters,
        workGroup: wg,
        database: table.database,
        tables: [table.attemptsTableName],
        dataLocations: [{ bucket: props.bucket, keyPrefix: `${keyPrefix}${ATTEMPTS_FOLDER}` }],
        resultSelector: { queryExecutionId: sfn.JsonPath.stringAt('$.QueryExecution.QueryExecutionId') },
        resultPath,
      }).addDocumentedRetries();
    const query = overAttempt(
      `Profile-${output}`,
      `Profiles what this attempt wrote to output ${output} (table ${table.attemptsTableName}), before the commit.`,
      profileSql(table.database, table.attemptsTableName, table.columns, table.rules),
      `${PATHS.profiles}.p${n}`,
    );
    const onViolation = table.onViolation ?? 'fail';
    let noProfile: sfn.Pass | undefined;
    if (table.rules) {
      query.addCatch(
        new sfn.Pass(scope, `ProfileFailed-${output}`, {
          parameters: {
            error: CHECKS_NOT_RUN_ERROR,
            reason: sfn.JsonPath.format(
              `the profile query of output ${output} (table ${table.tableName}) failed, so its rules were not checked and the run does not count. ` +
                `Athena said: {}. If that is 'Bytes scanned limit was exceeded', one partition is larger than the workgroup's scan cap ` +
                `(${wg.workGroupName}): raise athena.bytesScannedCutoff in the project file, or write the output as Parquet, which Athena reads only the columns of.`,
              sfn.JsonPath.stringAt('$.error.Cause'),
            ),
          },
          resultPath: PATHS.failure,
        }).next(onFailure),
        { resultPath: PATHS.error },
      );
    } else {
      // Without rules the profile only informs: the check says it is missing and the run goes on.
      noProfile = new sfn.Pass(scope, `NoProfile-${output}`, {
        result: sfn.Result.fromObject({ queryExecutionId: '' }),
        resultPath: `${PATHS.profiles}.p${n}`,
      });
      query.addCatch(noProfile, { resultPath: PATHS.error });
    }
    const rows = table.sampleRows ?? DEFAULT_SAMPLE_ROWS;
    let sample: AthenaRunQuery | undefined;
    let noSample: sfn.Pass | undefined;
    if (rows > 0) {
      sample = overAttempt(
        `Sample-${output}`,
        `Draws ${rows} rows of what this attempt wrote to output ${output}, uniformly, as the run's sample.`,
        sampleSql(table.database, table.attemptsTableName, table.columns, rows),
        `${PATHS.samples}.s${n}`,
      );
      // A sample is for working locally: without one the run still counts, and the check says it is missing.
      noSample = new sfn.Pass(scope, `NoSample-${output}`, {
        result: sfn.Result.fromObject({ queryExecutionId: '' }),
        resultPath: `${PATHS.samples}.s${n}`,
      });
      sample.addCatch(noSample, { resultPath: PATHS.error });
    }
    return { query, onViolation, noProfile, sample, noSample, rows };
  });
  const check = checks.task(
    scope,
    {
      bucket: props.bucket.bucketName,
      purpose: props.purposeName,
      runId: sfn.JsonPath.stringAt(RUN_INPUT_PATHS.runId),
      window: sfn.JsonPath.objectAt(RUN_INPUT_PATHS.window),
      outputs: purpose.tables.map(({ output, table }, n) => ({
        name: output,
        table: table.tableName,
        columns: table.columns.map((c) => ({ name: c.name, type: c.type })),
        ...(table.rules ? { rules: table.rules } : {}),
        onViolation: queries[n].onViolation,
        // Empty when the query failed (an output without rules): the check reports the profile missing.
        queryExecutionId: sfn.JsonPath.stringAt(`${PATHS.profiles}.p${n}.queryExecutionId`),
        ...(queries[n].sample ? { sampleQueryExecutionId: sfn.JsonPath.stringAt(`${PATHS.samples}.s${n}.queryExecutionId`) } : {}),
      })),
      queryResults: { bucket: wg.resultsBucket.bucketName, prefix: wg.resultsPrefix },
    },
    PATHS.checks,
  );
  const warning = new sfn.CustomState(scope, 'CountRuleWarnings', {
    stateJson: {
      Type: 'Task',
      Comment: "A broken rule with onViolation: warn: the purpose's RuleWarnings metric, which alarms.",
      Resource: `arn:${Aws.PARTITION}:states:::aws-sdk:cloudwatch:putMetricData`,
      Parameters: {
        Namespace: RULE_WARNINGS_METRIC.namespace,
        MetricData: [
          {
            MetricName: RULE_WARNINGS_METRIC.name,
            Dimensions: [{ Name: 'StateMachine', Value: purpose.stateMachineName }],
            'Value.$': `${PATHS.checks}.warnings`,
            Unit: 'Count',
          },
        ],
      },
      ResultPath: sfn.JsonPath.DISCARD,
    },
  });
  // A metric that cannot be sent must not fail a run whose data passed its `fail` rules.
  warning.addRetry({ errors: ['States.ALL'], interval: Duration.seconds(2), maxAttempts: 3, backoffRate: 2 });
  warning.addCatch(next, { resultPath: '$.metricError' });
  warning.next(next);
  const violation = new sfn.Pass(scope, 'RuleViolation', {
    parameters: { error: RULE_VIOLATION_ERROR, reason: sfn.JsonPath.stringAt(`${PATHS.checks}.reason`) },
    resultPath: PATHS.failure,
  }).next(onFailure);
  check.next(
    new sfn.Choice(scope, 'OutputRulesHeld')
      .when(sfn.Condition.booleanEquals(`${PATHS.checks}.failed`, true), violation)
      .when(sfn.Condition.booleanEquals(`${PATHS.checks}.warned`, true), warning)
      .otherwise(next),
  );
  // Profile-a (Sample-a), Profile-b (Sample-b), ..., CheckOutputRules: a failed query's stand-in goes on as the query would.
  queries.forEach(({ query, noProfile, sample, noSample }, k) => {
    const following = queries[k + 1]?.query ?? check;
    const afterProfile = sample ?? following;
    query.next(afterProfile);
    noProfile?.next(afterProfile);
    sample?.next(following);
    noSample?.next(following);
  });
  return { first: queries[0].query, catchable: [check] };
}
