import { Aws, RemovalPolicy } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { backfillStateMachineName, triggerDeadLetterQueueName, triggerFunctionName } from '../contract/names';
import { RUN_DEFAULTS } from '../contract/processing';
import { REPRODUCTIONS_PREFIX } from '../contract/run-manifest';
import { RUN_EVENT_TYPES } from '../contract/run-events';
import { DEFAULT_SAMPLE_ROWS } from '../contract/profile';
import { MAX_BACKFILL_WINDOWS } from '../contract/run-input';
import { s3Uri } from '../contract/s3-uri';
import { AccessLogsBucket } from './access-logs-bucket';
import { Backfill } from './backfill';
import { DataBucket, logsThroughBucketPolicy } from './data-bucket';
import { acknowledgeFinding, acknowledgeWildcardResources } from './private/acknowledge';
import { scopedError } from './private/errors';
import { firstEventAlarm } from './private/alarms';
import { denyGrantsExceptForAwsServices } from './private/key-policies';
import {
  checkOutputData,
  checkOutputs,
  checkRunInput,
  commitResults,
  failureHandling,
  REDSHIFT_QUERY_STATE,
  followExistingJob,
  ingestFeatures,
  commitUnlessReproduction,
  listWindowPartitions,
  recordRunManifest,
  reproduceOrClaim,
  runRedshiftQuery,
  recordRunStart,
  recordRunSuccess,
  resolveRun,
  renderArguments,
  runProcessingJob,
  runSparkJobStep,
  publishRunEvent,
  runQuery,
  settleArrivals,
  skipUnchangedWork,
  topicKeyAccess,
  windowTaken,
} from './private/purpose-definition';
import { resolvePurposeProps, type BucketedPurposeProps, type ResolvedPurpose } from './private/resolve-purpose-props';
import { OutputChecks } from './private/output-checks';
import { ResultCommit } from './private/result-commit';
import { scriptCode } from './private/script-code';
import { databaseSourceJob } from './private/database-source';
import { FeatureIngestion } from './private/feature-ingestion';
import { RedriveGate } from './private/redrive-gate';
import { RunManifests } from './private/run-manifests';
import { WindowManifests } from './private/window-manifests';
import { purposeLogGroup } from './private/log-group';
import { trustOwnStateMachineOnly } from './private/trust';
import { listFolder } from './private/s3-access';
import { SparkRuntime, type PurposeAlarms, type PurposeProps } from './purpose-props';
import { PurposeMetrics, RULE_WARNINGS_METRIC, RunOutcome } from './purpose-metrics';
import { RunLedger } from './run-ledger';
import { RunTrigger } from './run-trigger';
import type { SageMakerCreateProcessingJob } from './sagemaker-create-processing-job';
import type { EmrServerlessStartJobRun } from './emr-serverless-start-job-run';
import { SageMakerFrameworkImage } from './sagemaker-framework-image';
import { SparkApplication, type ISparkApplication } from './spark-application';
import { allowSparkCommits, grantWriteConfiguration, sagemakerSpark, sparkCode } from './private/spark-job';

/**
 * One processing job of a project: its bucket (the one given, or its own), its image, a job role scoped to its folders, a Step
 * Functions state machine that runs the job with retries and reports failures, the trigger
 * that starts its runs, a backfill state machine, and alarms.
 *
 * The state machine's input is a run input (lib/contract/run-input.ts). It adds `batcat`:
 * the job name (`<jobNamePrefix>-<md5 of the execution id, start and redrive count>`, valid for
 * every execution name), the folder `_attempts/<execution name>/` below each output where the job
 * writes, and the `dt=<window start>/` partition the commit makes that the window's result after
 * success. It claims the window in the run ledger before it starts, and records there how the
 * attempt ended. A failed run ends in `AwaitRedrive`; a redrive (`batcat redrive`) reopens the
 * window and resumes at the step that failed.
 *
 * Construct IDs are a contract: `Bucket`, `BucketKey` and `AccessLogs` (without a `bucket`, the
 * last two without `bucketEncryptionKey` and `accessLogsBucket`), `Ledger` (without a `ledger`
 * prop), `Image`, `Code` (script mode, a source's query file), `RedshiftQuery` (with `redshiftQuery`), `WindowManifests`
 * (partitioned inputs and runs longer than a day), `RunManifests`, `RedriveGate`,
 * `RunProcessingJob` (a Spark purpose on EMR Serverless: `RunSparkJob`, and `SparkApplication` without
 * `spark.application`; with py-files, `PyFiles`), `Commit`, `OutputChecks` (with a table output), `FeatureIngestion` (with a feature group output), `Logs`, `StateMachine`, the alarms, `StoppedRuns` (and its role),
 * `Backfill` and `Trigger`. Renaming one replaces its resources.
 */
export class Purpose extends Construct {
  /** The purpose's name. */
  public readonly purposeName: string;
  /** The physical name of the state machine: `<namePrefix>-<purposeName>`. */
  public readonly stateMachineName: string;
  /** Every job of this purpose is named `<jobNamePrefix>-<32 hex digits>`. */
  public readonly jobNamePrefix: string;
  /** Runs the job for one window. */
  public readonly stateMachine: sfn.StateMachine;
  /** The state that runs the job: `processingJob` or `sparkJob`. */
  public readonly job: SageMakerCreateProcessingJob | EmrServerlessStartJobRun;
  /** The state that runs the processing job; absent for a Spark purpose on EMR Serverless. */
  public readonly processingJob?: SageMakerCreateProcessingJob;
  /** The state that runs the Spark job on EMR Serverless; absent otherwise. */
  public readonly sparkJob?: EmrServerlessStartJobRun;
  /** The EMR Serverless application the Spark job runs on: the one given, or its own. */
  public readonly sparkApplication?: ISparkApplication;
  /** The role the job runs as. */
  public readonly jobRole: iam.IRole;
  /** The state machine's log group. */
  public readonly logGroup: logs.LogGroup;
  /** The purpose's metrics (runs, duration, trigger errors, dead letters), as its alarms and the project dashboard use them. */
  public readonly metrics: PurposeMetrics;
  /** Alarms on failed, timed out, aborted and throttled runs; none with `runAlarms: false`. */
  public readonly alarms?: PurposeAlarms;
  /** Starts runs: schedule, S3 arrival, upstream success, manual; none with `trigger: false`. */
  public readonly trigger?: RunTrigger;
  /** Runs one execution per window of a date range; none with `backfill: false`. */
  public readonly backfill?: Backfill;
  /** The run ledger this purpose's windows are recorded in. */
  public readonly ledger: RunLedger;
  /** The bucket its outputs are written to: the one given, or its own. */
  public readonly bucket: s3.IBucket;

  constructor(scope: Construct, id: string, given: PurposeProps) {
    super(scope, id);
    this.bucket = given.bucket ?? this.createBucket(given);
    // A database source is BatCat's ingestion program in an image of its own, with the network.
    const source = given.source && databaseSourceJob(this, given);
    const props: BucketedPurposeProps = {
      ...given,
      bucket: this.bucket,
      ...(source && { image: source.image, entrypoint: source.entrypoint, arguments: source.arguments, networkIsolation: false }),
    };
    const purpose = resolvePurposeProps(this, props);
    this.purposeName = props.purposeName;
    this.stateMachineName = purpose.stateMachineName;
    this.jobNamePrefix = purpose.jobNamePrefix;

    const spark = purpose.spark;
    if (spark?.runtime === SparkRuntime.EMR_SERVERLESS) {
      this.sparkApplication =
        spark.application ??
        new SparkApplication(this, 'SparkApplication', { releaseLabel: spark.release, maximumCapacity: spark.maxCapacity });
    }
    this.ledger = props.ledger ?? new RunLedger(this, 'Ledger');
    const table = this.ledger.table;
    const resolve = resolveRun(this, purpose);
    const taken = windowTaken(this);
    const claim = recordRunStart(this, purpose, table, taken);
    const logSettings = { retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR, encryptionKey: props.logEncryptionKey };
    const redriveGate = new RedriveGate(this, 'RedriveGate', { stateMachineName: this.stateMachineName, logs: logSettings });
    const onFailure = failureHandling(this, purpose, props.notificationTopic, table, redriveGate, this.sparkApplication);
    const query = props.query && runQuery(this, props.query, purpose);
    const redshift = props.redshiftQuery && runRedshiftQuery(this, purpose, onFailure.failedIn(REDSHIFT_QUERY_STATE));
    const definition = checkRunInput(this, resolve);
    // The job, and what it ran (recorded in the run's manifest): an image and a script, or Spark's release and a script.
    let ran: { image: string; code?: string };
    let writeConfiguration: sfn.TaskStateBase | undefined;
    if (spark) {
      const code = sparkCode(this, props.script!, spark);
      const script = s3Uri(code.script.bucket.bucketName, code.script.s3ObjectKey);
      if (this.sparkApplication) {
        this.sparkJob = runSparkJobStep(this, purpose, this.sparkApplication, code);
        this.job = this.sparkJob;
        ran = { image: `emr-serverless:${spark.release}`, code: script };
      } else {
        const onSageMaker = sagemakerSpark(this, purpose, code);
        this.processingJob = runProcessingJob(this, purpose, SageMakerFrameworkImage.spark(spark.release), undefined, onSageMaker);
        this.job = this.processingJob;
        writeConfiguration = onSageMaker.writeConfiguration;
        ran = { image: this.processingJob.imageUri, code: script };
      }
      allowSparkCommits(this.job.role, purpose);
    } else {
      const image =
        props.image ?? tasks.DockerImage.fromAsset(this, 'Image', { directory: props.containerDirectory!, platform: Platform.LINUX_AMD64 });
      const code = source ? source.code : props.script !== undefined ? scriptCode(this, props.script, props.sourceDirectory) : undefined;
      this.processingJob = runProcessingJob(this, purpose, image, code);
      this.job = this.processingJob;
      ran = { image: this.processingJob.imageUri, code: code && s3Uri(code.input.bucket.bucketName, code.input.keyPrefix) };
    }
    const job = this.job;
    this.jobRole = job.role;
    // What runs right before the job, on every way to it (a run, a reproduction, a redrive): the Spark configuration, the arguments.
    const render = renderArguments(this, purpose);
    render?.next(job);
    writeConfiguration?.next(render ?? job);
    const jobEntry: sfn.TaskStateBase | sfn.Pass = writeConfiguration ?? render ?? job;
    for (const secret of [...Object.values(props.secrets ?? {}), ...(props.source ? [props.source.secret] : [])])
      secret.grantRead(this.jobRole);
    // Not caught: the result is committed, so an event that cannot be put fails the execution visibly, and a redrive puts it.
    const published = publishRunEvent(this, 'PublishRunSucceeded', purpose, RUN_EVENT_TYPES.succeeded);
    published.next(new sfn.Succeed(this, 'RunSucceeded'));
    const success = recordRunSuccess(this, purpose, table, taken, published);
    const resultCommit = new ResultCommit(this, 'Commit', {
      bucket: props.bucket,
      outputPrefixes: purpose.outputs.map((o) => o.keyPrefix),
      stateMachineName: this.stateMachineName,
      logs: logSettings,
    });
    const commit = commitResults(this, purpose, resultCommit);
    const manifests =
      purpose.windowInputs.length > 0
        ? new WindowManifests(this, 'WindowManifests', {
            bucket: props.bucket,
            manifestsPrefix: purpose.manifestsPrefix,
            inputs: purpose.windowInputs.map((i) => ({
              name: i.name,
              bucket: i.bucket ?? props.bucket,
              keyPrefix: i.keyPrefix,
              complete: i.complete === true,
              fallbackBucket: i.fallbackBucket,
            })),
            stateMachineName: this.stateMachineName,
            logs: logSettings,
          })
        : undefined;
    const partitions = manifests && listWindowPartitions(this, manifests);
    const runManifests = new RunManifests(this, 'RunManifests', {
      purposeName: props.purposeName,
      bucket: props.bucket,
      folders: [
        ...purpose.inputs.flatMap((i) =>
          [i.bucket ?? props.bucket, ...(i.fallbackBucket ? [i.fallbackBucket] : [])].map((bucket) => ({ bucket, keyPrefix: i.keyPrefix })),
        ),
        ...(props.query ? [{ bucket: props.query.workGroup.resultsBucket, keyPrefix: props.query.workGroup.resultsPrefix }] : []),
        ...(purpose.redshiftResults ? [{ bucket: purpose.redshiftResults.bucket, keyPrefix: purpose.redshiftResults.prefix }] : []),
        ...purpose.outputs.map((o) => ({ bucket: props.bucket, keyPrefix: o.keyPrefix })),
      ],
      outputFolders: purpose.outputs.map((o) => ({ bucket: props.bucket, keyPrefix: o.keyPrefix })),
      stateMachineName: this.stateMachineName,
      logs: logSettings,
    });
    const record = recordRunManifest(this, purpose, runManifests, ran);
    resolve.next(reproduceOrClaim(this, purpose, claim, jobEntry));
    const settle = purpose.s3Arrival.length > 0 ? settleArrivals(this, purpose, table, taken) : undefined;
    let beforeJob: sfn.INextable = claim;
    if (settle) {
      claim.next(settle.first);
      beforeJob = settle.last;
    }
    record.outputs.next(success);
    const featureOutputs = purpose.outputs.flatMap((o) => {
      const featureGroup = props.outputs.find((x) => x.name === o.name)!.featureGroup;
      return featureGroup ? [{ name: o.name, keyPrefix: o.keyPrefix, featureGroup }] : [];
    });
    const featureIngestion =
      featureOutputs.length > 0
        ? new FeatureIngestion(this, 'FeatureIngestion', {
            bucket: props.bucket,
            outputs: featureOutputs,
            stateMachineName: this.stateMachineName,
            logs: logSettings,
          })
        : undefined;
    const featureSteps = featureIngestion ? ingestFeatures(this, featureIngestion, featureOutputs) : [];
    // The committed result goes into its feature groups before the run's outputs are recorded.
    let afterCommit: sfn.INextable = commit;
    for (const step of featureSteps) {
      afterCommit.next(step);
      afterCommit = step;
    }
    afterCommit.next(record.outputs);
    const outputChecks =
      purpose.tables.length > 0
        ? new OutputChecks(this, 'OutputChecks', {
            purposeName: props.purposeName,
            bucket: props.bucket,
            outputs: purpose.tables.map((t) => t.output),
            sampledOutputs: purpose.tables.filter((t) => (t.table.sampleRows ?? DEFAULT_SAMPLE_ROWS) > 0).map((t) => t.output),
            workGroup: purpose.profileWorkGroup!,
            stateMachineName: this.stateMachineName,
            logs: logSettings,
          })
        : undefined;
    // What a run wrote is checked before its commit: a run that breaks a rule leaves the window's result as it was.
    // An empty output or a broken rule is the job's result: a redrive runs the job again, over the inputs as they are then.
    const jobFailed = () => onFailure.failedIn(jobEntry.stateId);
    const dataChecks = outputChecks && checkOutputData(this, purpose, outputChecks, jobFailed(), commit);
    const outputs = checkOutputs(this, purpose, jobFailed, commitUnlessReproduction(this, dataChecks?.first ?? commit));
    for (const step of [query, redshift, partitions, record.inputs]) if (step) beforeJob = beforeJob.next(step);
    const skip = props.cache === true ? skipUnchangedWork(this, purpose, table, taken) : undefined;
    if (skip) {
      beforeJob.next(skip.first);
      beforeJob = skip.miss;
    }
    beforeJob.next(jobEntry);
    job.next(outputs);
    // SageMaker refuses a job name it has seen; EMR Serverless answers a repeated idempotency token with the job run it started.
    if (this.processingJob) followExistingJob(this, this.processingJob, outputs, onFailure.caughtIn(jobEntry.stateId));
    onFailure.catch([claim, ...(settle?.catchable ?? []), ...(skip?.catchable ?? []), query, partitions, record.inputs], { newTry: true });
    onFailure.catch([writeConfiguration, job], { newTry: true, resumeAt: jobEntry });
    if (redshift) onFailure.catch(redshift.catchableStates, { newTry: true, resumeAt: redshift.startState });
    onFailure.catch([outputs, commit, ...(dataChecks?.catchable ?? []), ...featureSteps, record.outputs, success], { newTry: false });
    onFailure.finish();

    // Under /aws/vendedlogs/, so that the log delivery policy need not name each group.
    this.logGroup = purposeLogGroup(this, 'Logs', logSettings, `/aws/vendedlogs/states/${this.stateMachineName}`);
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName: this.stateMachineName,
      comment: `BatCat purpose ${props.purposeName}: runs its ${this.sparkJob ? 'Spark job on EMR Serverless' : spark ? 'Spark job on SageMaker Processing' : 'SageMaker Processing job'} and reports failures.`,
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      timeout: purpose.timeout,
      tracingEnabled: true,
      logs: { destination: this.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
    });
    trustOwnStateMachineOnly(this.stateMachine, this.stateMachineName);
    if (writeConfiguration) grantWriteConfiguration(this.stateMachine, purpose);
    const keyAccess = topicKeyAccess(props.notificationTopic);
    if (keyAccess) this.stateMachine.addToRolePolicy(keyAccess);
    redshift?.grantRun(this.stateMachine);
    table.encryptionKey?.grantEncryptDecrypt(this.stateMachine);
    for (const o of purpose.outputs) this.stateMachine.addToRolePolicy(listFolder(props.bucket, o.keyPrefix));
    if (purpose.tables.some((t) => t.table.rules && t.table.onViolation === 'warn')) {
      // PutMetricData has no resource to name; the namespace is the narrowest condition there is.
      this.stateMachine.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['cloudwatch:PutMetricData'],
          resources: ['*'],
          conditions: { StringEquals: { 'cloudwatch:namespace': RULE_WARNINGS_METRIC.namespace } },
        }),
      );
    }
    // A reproduction's job reads the versions `batcat reproduce --remote` staged in the purpose's bucket.
    const staged = props.bucket.arnForObjects(`${REPRODUCTIONS_PREFIX}${props.purposeName}/*`);
    this.jobRole.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [staged] }));
    this.jobRole.addToPrincipalPolicy(listFolder(props.bucket, `${REPRODUCTIONS_PREFIX}${props.purposeName}/`));
    acknowledgeWildcardResources(
      this.jobRole,
      [staged],
      "The purpose's own reproduction folder: the versions a reproduction stages, one folder per run.",
    );
    acknowledgeWildcardResources(
      this.stateMachine.role,
      [
        resultCommit.function,
        runManifests.function,
        redriveGate.function,
        ...(manifests ? [manifests.function] : []),
        ...(outputChecks ? [outputChecks.function] : []),
        ...(featureIngestion ? [featureIngestion.function] : []),
      ].map((f) => `${f.functionArn}:*`),
      "lambda:InvokeFunction on the purpose's own functions' versions and aliases (commit, run manifest, redrive gate, partitions, output checks, feature ingestion), as LambdaInvoke grants it.",
    );
    acknowledgeFinding(
      this.stateMachine.role,
      'AwsSolutions-IAM5[Resource::*]',
      'Step Functions needs X-Ray (xray:PutTraceSegments, PutTelemetryRecords, GetSampling*) and vended log delivery ' +
        '(logs:CreateLogDelivery and related calls), none of which support resource-level permissions; a purpose with ' +
        'onViolation: warn rules also counts them with cloudwatch:PutMetricData, which has none either and is held to the BatCat namespace by condition.',
    );

    this.metrics = new PurposeMetrics({
      stateMachineArn: this.stateMachine.stateMachineArn,
      triggerFunctionName: triggerFunctionName(this.stateMachineName),
      deadLetterQueueName: triggerDeadLetterQueueName(this.stateMachineName),
      stateMachineName: this.stateMachineName,
    });
    if (props.runAlarms !== false) this.alarms = this.createAlarms(purpose);
    this.notifyStoppedRuns(purpose);
    if (props.backfill !== false)
      this.backfill = new Backfill(this, 'Backfill', {
        stateMachine: this.stateMachine,
        stateMachineName: this.stateMachineName,
        backfillStateMachineName: backfillStateMachineName(this.stateMachineName),
        maxConcurrency: props.backfillConcurrency,
        logRetention: props.logRetention,
        logEncryptionKey: props.logEncryptionKey,
      });
    if (props.trigger !== false) this.trigger = this.createTrigger(purpose);
  }

  /**
   * Lets `grantee` do what `batcat run` does: ask the trigger for runs (one per window, named so
   * that a window never runs twice) and follow them, in the purpose's state machine and its
   * backfill machine; and what `batcat redrive` does: redrive a failed run of the purpose
   * (the run itself refuses when a newer attempt of its window has started).
   */
  public grantRun(grantee: iam.IGrantable): iam.Grant {
    if (!this.trigger) {
      throw scopedError(this, 'grantRun needs the trigger, and this purpose was built with trigger: false; use grantStartExecution');
    }
    const fn = this.trigger.function;
    const grant = fn
      .grantInvoke(grantee)
      .combine(iam.Grant.addToPrincipal({ grantee, actions: ['lambda:GetFunctionConfiguration'], resourceArns: [fn.functionArn] }))
      .combine(this.stateMachine.grantRead(grantee))
      .combine(this.stateMachine.grantExecution(grantee, 'states:RedriveExecution'));
    return this.backfill ? grant.combine(this.backfill.stateMachine.grantRead(grantee)) : grant;
  }

  /**
   * Lets `grantee` start executions of the state machine directly. That bypasses the trigger: the
   * grantee chooses the execution name and window, so nothing keeps a window from running twice
   * or a day from being skipped. Use `grantRun` unless you start runs with their own guarantee.
   */
  public grantStartExecution(grantee: iam.IGrantable): iam.Grant {
    return this.stateMachine.grantStartExecution(grantee);
  }

  /** Its own bucket, as secure as a project's: created before anything else, which its access logs need. */
  private createBucket(props: PurposeProps): DataBucket {
    logsThroughBucketPolicy(this);
    let key = props.bucketEncryptionKey;
    if (!key) {
      const own = new kms.Key(this, 'BucketKey', {
        description: `Encrypts the data bucket of the BatCat purpose ${props.purposeName}`,
        enableKeyRotation: true,
        removalPolicy: RemovalPolicy.RETAIN,
      });
      denyGrantsExceptForAwsServices(own);
      key = own;
    }
    return new DataBucket(this, 'Bucket', {
      encryptionKey: key,
      serverAccessLogsBucket: props.accessLogsBucket ?? new AccessLogsBucket(this, 'AccessLogs'),
      serverAccessLogsPrefix: `${props.purposeName}/`,
    });
  }

  private createAlarms(purpose: ResolvedPurpose): PurposeAlarms {
    const alarm = (id: string, metric: cloudwatch.Metric, what: string) =>
      firstEventAlarm(this, id, {
        alarmName: `${this.stateMachineName}-${what.replace(/ /g, '-')}`,
        alarmDescription: `BatCat purpose ${this.purposeName}: at least one run ${what} in 5 minutes. See the state machine ${this.stateMachineName} and README.md "Operations".`,
        metric,
        topic: purpose.props.notificationTopic,
      });
    return {
      failed: alarm('ExecutionsFailedAlarm', this.metrics.metricRuns(RunOutcome.FAILED), 'failed'),
      timedOut: alarm('ExecutionsTimedOutAlarm', this.metrics.metricRuns(RunOutcome.TIMED_OUT), 'timed out'),
      aborted: alarm('ExecutionsAbortedAlarm', this.metrics.metricRuns(RunOutcome.ABORTED), 'aborted'),
      throttled: alarm('ExecutionThrottledAlarm', this.metrics.metricRuns(RunOutcome.THROTTLED), 'was throttled'),
      ...(purpose.tables.some((t) => t.table.rules && t.table.onViolation === 'warn')
        ? { ruleWarnings: alarm('RuleWarningsAlarm', this.metrics.metricRuleWarnings(), 'broke a warn rule') }
        : {}),
    };
  }

  /**
   * A run that times out or is stopped never reaches its failure path, so an EventBridge rule
   * publishes it to the topic, with its run id, its input and why, as NotifyFailure would.
   */
  private notifyStoppedRuns(purpose: ResolvedPurpose): void {
    const topic = purpose.props.notificationTopic;
    const role = new iam.Role(this, 'StoppedRunsRole', {
      assumedBy: new iam.ServicePrincipal('events.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
      }),
      description: `Publishes timed-out and stopped runs of ${this.stateMachineName}`,
    });
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['sns:Publish'], resources: [topic.topicArn] }));
    const keyAccess = topicKeyAccess(topic);
    if (keyAccess) role.addToPrincipalPolicy(keyAccess);
    const field = (p: string) => events.EventField.fromPath(p);
    new events.Rule(this, 'StoppedRuns', {
      description: `Timed-out and stopped runs of ${this.stateMachineName}, which end without their failure path`,
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: { status: ['TIMED_OUT', 'ABORTED'], stateMachineArn: [this.stateMachine.stateMachineArn] },
      },
      targets: [
        {
          bind: () => ({
            arn: topic.topicArn,
            role,
            input: events.RuleTargetInput.fromObject({
              purpose: this.purposeName,
              stateMachine: this.stateMachineName,
              execution: field('$.detail.executionArn'),
              runId: field('$.detail.name'),
              error: field('$.detail.status'),
              reason:
                `the run ended before its failure path could run: TIMED_OUT means it ran longer than its timeout (${purpose.timeout.toHumanString()}: ` +
                'quotaWait, maxRuntime and one hour for the query and the rest); ABORTED means it was stopped. The job may still be running: see its state machine execution.',
              input: field('$.detail.input'),
            }),
          }),
        },
      ],
    });
  }

  private createTrigger(purpose: ResolvedPurpose): RunTrigger {
    const { props } = purpose;
    return new RunTrigger(this, 'Trigger', {
      stateMachine: this.stateMachine,
      stateMachineName: this.stateMachineName,
      backfillStateMachine: this.backfill?.stateMachine,
      alarms: props.triggerAlarms,
      notificationTopic: props.notificationTopic,
      schedule: props.schedule,
      s3Arrival: [...purpose.s3Arrival],
      upstream: props.after,
      ledger: this.ledger,
      freshness: props.freshness,
      logRetention: props.logRetention,
      logEncryptionKey: props.logEncryptionKey,
      runConfig: {
        purpose: props.purposeName,
        bucket: props.bucket.bucketName,
        windowDays: purpose.windowDays,
        maxWindowDays: purpose.maxWindowDays,
        maxBackfillWindows: MAX_BACKFILL_WINDOWS,
        timezone: props.schedule?.timeZone?.timezoneName ?? RUN_DEFAULTS.timezone,
        ...(props.parameters && Object.keys(props.parameters).length > 0 ? { parameters: props.parameters } : {}),
        ...(props.runEvents ? { runEvents: props.runEvents } : {}),
        inputs: purpose.inputs.map((i) => ({
          name: i.name,
          uri: s3Uri((i.bucket ?? props.bucket).bucketName, i.keyPrefix),
          partitioned: i.partitioned === true,
        })),
        outputs: purpose.outputs.map((o) => ({ name: o.name, uri: s3Uri(props.bucket.bucketName, o.keyPrefix) })),
      },
    });
  }
}
