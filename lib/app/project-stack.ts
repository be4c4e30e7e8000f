import {
  ArnFormat,
  Annotations,
  Aspects,
  CfnDeletionPolicy,
  CfnOutput,
  CfnResource,
  Duration,
  NestedStack,
  Size,
  Stack,
  Tags,
  TimeZone,
  type StackProps,
} from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct, IConstruct } from 'constructs';
import type { InputConfig, ProjectConfig, PurposeConfig } from '../config/load-project';
import { imageRequirements } from '../config/requirements';
import { AlarmTopic } from '../constructs/alarm-topic';
import { IngestStream, IngestStreamFormat } from '../constructs/ingest-stream';
import { ProjectDashboard } from '../constructs/project-dashboard';
import { ProjectData } from '../constructs/project-data';
import type { Purpose } from '../constructs/purpose';
import { QueryParameter, type PurposeProps, type SparkRuntime } from '../constructs/purpose-props';
import { QueryWorkGroup } from '../constructs/query-workgroup';
import { LakeFormationLocation } from '../constructs/lake-formation-location';
import { RedshiftUnloadFormat } from '../constructs/redshift-unload-query';
import { LakeFormationTableAccess } from '../constructs/lake-formation-table-access';
import { ResultDatabase } from '../constructs/result-database';
import { ResultFormat, type ResultTable, type ResultTableProps } from '../constructs/result-table';
import { acknowledgeFinding } from '../constructs/private/acknowledge';
import { allowCloudWatchLogs } from '../constructs/private/key-policies';
import { RunLedger } from '../constructs/run-ledger';
import type { S3CompressionType, S3DataDistribution, S3InputMode, S3UploadMode } from '../constructs/sagemaker-create-processing-job';
import { SageMakerFrameworkImage } from '../constructs/sagemaker-framework-image';
import type { FeatureGroupProps } from '../constructs/feature-group';
import { SparkApplication, type ISparkApplication } from '../constructs/spark-application';
import {
  ADHOC_QUERY_RESULTS_PREFIX,
  attemptsTableName,
  purposeQueryResultsPrefix,
  purposeStateMachineName,
  QUERY_RESULTS_PREFIX,
} from '../contract/names';
import {
  ACCESS_LOGS_BUCKET_OUTPUT,
  DATA_BUCKET_OUTPUT,
  DATA_KEY_OUTPUT,
  LEDGER_TABLE_OUTPUT,
  ownerOf,
  purposeBucketOutputKey,
} from '../contract/storage';
import { ingestOutputKey } from '../contract/ingest';
import { REPRODUCTIONS_PREFIX } from '../contract/run-manifest';
import { WINDOW_MANIFEST_RETENTION_DAYS, WINDOW_MANIFESTS_PREFIX } from '../contract/window-manifest';
import { PurposeStack } from './purpose-stack';

const PURPOSES_PER_DASHBOARD = 50;

/** Properties of ProjectStack. */
export interface ProjectStackProps extends StackProps {
  /** A validated project file (see `loadProject`). */
  readonly config: ProjectConfig;
  /**
   * Synthesizes only the resources a destroyed stage keeps (the data key, the data and access-log
   * buckets, the run ledger), exactly as the full stack has them, for `cdk import` to reconnect
   * them; the next `cdk deploy` without it adds the rest. See the README, "Destroy and deploy again".
   *
   * @default false
   */
  readonly retainedOnly?: boolean;
  /**
   * The commit of the project's code, recorded in every run's manifest.
   *
   * @default - none recorded
   */
  readonly gitCommit?: string;
}

/**
 * Everything one project deploys: the data bucket, the alarm topic, the run ledger, the Athena
 * workgroup, the Glue database, and in nested stacks each purpose (with its trigger and the
 * tables over its results) and the dashboards. The stack is named `batcat-<project>-<stage>` unless `stackName` says otherwise.
 *
 * Construct IDs are a contract: `Data`, `Alarms`, `Ledger`, `Queries`, `Results`, `Dashboard` (then
 * `Dashboard2`...) and each purpose's name (see PurposeStack). Renaming one replaces its resources.
 */
export class ProjectStack extends Stack {
  public readonly data: ProjectData;
  public readonly alarmTopic: AlarmTopic;
  /** Which windows of which purposes ran, and how: one ledger for the stage. */
  public readonly ledger: RunLedger;
  /** The dashboards: one per 50 purposes, in the project file's order. */
  public readonly dashboards: ProjectDashboard[];
  public readonly queryWorkGroup: QueryWorkGroup;
  public readonly resultDatabase: ResultDatabase;
  /** The result tables, by table name. */
  public readonly resultTables: Record<string, ResultTable> = {};
  /** The purposes, by name. */
  public readonly purposes: Record<string, Purpose> = {};
  /** With `storage: per-purpose`, each purpose's own bucket, by purpose name; empty with `shared`. */
  public readonly purposeBuckets: Record<string, s3.Bucket> = {};
  /** The streams of `ingest:`, by name, in the nested stack `Ingest`. */
  public readonly ingestStreams: Record<string, IngestStream> = {};
  private readonly ownedFolders: ProjectConfig['ownedFolders'];
  private readonly branch: ProjectConfig['branch'];

  constructor(scope: Construct, id: string, props: ProjectStackProps) {
    const c = props.config;
    super(scope, id, {
      stackName: c.stackName,
      description: `BatCat project ${c.project} (${c.stage}${c.branch ? `, a branch of ${c.branch.parent}` : ''})${c.description ? `: ${c.description}` : ''}`,
      // CloudFormation counts the bytes of a template, indentation included.
      suppressTemplateIndentation: true,
      // cdk import takes only importable resources, which CDK's metadata resource is not.
      ...(props.retainedOnly ? { analyticsReporting: false } : {}),
      ...props,
    });
    Tags.of(this).add('batcat:project', c.project);
    Tags.of(this).add('batcat:stage', c.stage);
    // Every role of the stage under one path, so an account shared by stages can deny passing them by path.
    Aspects.of(this).add({
      visit: (node) => {
        if (node instanceof iam.CfnRole) node.path = c.rolePath;
      },
    });

    // Data for the stage's roles (by their path) and the people the project file names, no one else.
    const stageRoles = this.formatArn({
      service: 'iam',
      region: '',
      resource: 'role',
      resourceName: `${c.rolePath.slice(1)}*`,
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });
    this.ownedFolders = c.ownedFolders;
    this.branch = c.branch;
    // A branch stage's roles are below this stage's path: they may read its data, never write it.
    const branchRoles = `${stageRoles}/*`;
    this.data = new ProjectData(this, 'Data', { dataPrincipals: [stageRoles, ...c.dataAccess], readOnlyPrincipals: [branchRoles] });
    if (c.storage === 'per-purpose') for (const p of c.purposes) this.purposeBuckets[p.name] = this.data.addPurposeBucket(p.name);
    // The purposes' logs (script output aside) hold run inputs and reasons: encrypted with the project key.
    allowCloudWatchLogs(this.data.key);
    this.alarmTopic = new AlarmTopic(this, 'Alarms', { emails: c.alarmEmails });
    this.ledger = new RunLedger(this, 'Ledger');
    this.queryWorkGroup = new QueryWorkGroup(this, 'Queries', {
      workGroupName: c.workgroup,
      resultsBucket: this.data.bucket,
      resultsPrefix: ADHOC_QUERY_RESULTS_PREFIX,
      bytesScannedCutoff: c.bytesScannedCutoff,
    });
    // A query result is read by the run that made it; a month is plenty to look at it afterwards.
    this.data.bucket.addLifecycleRule({
      id: 'ExpireQueryResults',
      prefix: QUERY_RESULTS_PREFIX,
      expiration: Duration.days(30),
      noncurrentVersionExpiration: Duration.days(1),
    });
    this.resultDatabase = new ResultDatabase(this, 'Results', {
      databaseName: c.database,
      description: `Results of the BatCat project ${c.project} (${c.stage}), one table per declared output, partitioned by dt`,
    });
    this.expireAttempts(c);
    for (const p of c.purposes) {
      const nested = new PurposeStack(this, p.name, {
        purpose: { ...this.purposeProps(c, p), gitCommit: props.gitCommit },
        resultTables: this.resultTablesOf(p),
        featureGroups: this.featureGroupsOf(c, p),
        queryWorkGroup:
          p.query?.engine !== 'athena' && !p.outputs.some((o) => o.table)
            ? undefined
            : {
                workGroupName: `${c.workgroup}-${p.name}`,
                resultsBucket: this.data.bucket,
                resultsPrefix: purposeQueryResultsPrefix(p.name),
                bytesScannedCutoff: c.bytesScannedCutoff,
              },
        suppressTemplateIndentation: true,
      });
      this.purposes[p.name] = nested.purpose;
      // SageMaker registers an offline store's table in the project database when it creates the group.
      if (p.outputs.some((o) => o.featureGroup)) nested.node.addDependency(this.resultDatabase);
      Object.assign(this.resultTables, nested.resultTables);
    }

    this.addIngestStreams(c);
    if (c.lakeFormation) this.grantLakeFormation(c, c.lakeFormation.registerLocations);
    this.dashboards = this.addDashboards(c);
    this.addOutputs();
    if (props.retainedOnly) this.keepOnlyRetained();
  }

  /**
   * The `ingest:` streams, in one nested stack: each delivers into the bucket that holds its
   * folder (that of the first purpose reading it, or the project bucket), so the purposes read
   * and are triggered by it as by any raw folder.
   */
  private addIngestStreams(c: ProjectConfig): void {
    if (c.ingest.length === 0) return;
    const nested = new NestedStack(this, 'Ingest', {
      description: `BatCat streams of ${c.stackName}`,
      suppressTemplateIndentation: true,
    });
    for (const x of c.ingest) {
      const name = `${c.stackName}-${x.name}`;
      const stream = new IngestStream(nested, x.name, {
        bucket: this.bucketHolding(x.prefix),
        encryptionKey: this.data.key,
        keyPrefix: x.prefix,
        format: x.format === 'parquet' ? IngestStreamFormat.PARQUET : IngestStreamFormat.JSON,
        columns: x.table?.columns.map((col) => ({ name: col.name, type: col.type })),
        database: x.table && this.resultDatabase,
        tableName: x.table?.name,
        description: x.table?.description,
        partitionBy: x.partitioning.kind === 'field' ? x.partitioning.field : undefined,
        bufferInterval: Duration.seconds(x.bufferSeconds),
        bufferSize: Size.mebibytes(x.bufferMb),
        freshness: Duration.seconds(x.freshnessSeconds),
        alarmTopic: this.alarmTopic.topic,
        deliveryStreamName: name.length <= 64 ? name : undefined,
      });
      this.ingestStreams[x.name] = stream;
      new CfnOutput(this, ingestOutputKey(x.name, 'Stream'), {
        value: stream.deliveryStreamName,
        description: `The Firehose stream of ingest ${x.name}: producers put records into it`,
      });
      new CfnOutput(this, ingestOutputKey(x.name, 'ProducerPolicy'), {
        value: stream.producerPolicy.managedPolicyArn,
        description: `Attach to a producer's role to let it put records into ${stream.deliveryStreamName}`,
      });
    }
  }

  /** Removes every construct that is neither a retained resource of this stack nor on the way to one. */
  private keepOnlyRetained(): void {
    const retained = this.node
      .findAll()
      .filter((c) => CfnResource.isCfnResource(c) && Stack.of(c) === this && c.cfnOptions.deletionPolicy === CfnDeletionPolicy.RETAIN);
    const keep = new Set<IConstruct>(retained.flatMap((r) => r.node.scopes));
    const prune = (scope: IConstruct) => {
      for (const child of scope.node.children) {
        if (keep.has(child)) prune(child);
        else scope.node.tryRemoveChild(child.node.id);
      }
    };
    prune(this);
    for (const bucket of [this.data.bucket, this.data.accessLogsBucket, ...Object.values(this.purposeBuckets)]) {
      acknowledgeFinding(
        bucket,
        'AwsSolutions-S10',
        'Only for cdk import after a destroy: the bucket policy that requires TLS was deleted with the stage and is created again by the cdk deploy that follows the import.',
      );
    }
  }

  /**
   * A dashboard per 50 purposes (150 widgets; CloudWatch allows 500), each in a nested stack of
   * its own, as a dashboard's body grows by about 3 KB per purpose. Named `<stack>-runs`, then
   * `<stack>-runs-2` and so on. IDs go by position: a dashboard holds no state, so a purpose
   * moving to the next one is harmless.
   */
  private addDashboards(c: ProjectConfig): ProjectDashboard[] {
    const dashboards: ProjectDashboard[] = [];
    for (let i = 0; i < c.purposes.length; i += PURPOSES_PER_DASHBOARD) {
      const n = dashboards.length + 1;
      const nested = new NestedStack(this, n === 1 ? 'Dashboard' : `Dashboard${n}`, {
        description: `BatCat dashboard ${n} of ${c.stackName}`,
        suppressTemplateIndentation: true,
      });
      const purposes = c.purposes.slice(i, i + PURPOSES_PER_DASHBOARD);
      dashboards.push(
        new ProjectDashboard(nested, 'Dashboard', {
          dashboardName: n === 1 ? `${c.stackName}-runs` : `${c.stackName}-runs-${n}`,
          purposes: purposes.map((p) => ({ purposeName: p.name, stateMachineName: this.purposes[p.name].stateMachineName })),
        }),
      );
    }
    return dashboards;
  }

  /**
   * A run's job writes below `<output>_attempts/<execution>/` and the commit moves a success into
   * its window's `dt=` folder; what failed attempts left is kept a month to look at, and what
   * commits removed a day (the bucket is versioned). Window manifests are kept a month too.
   */
  private expireAttempts(c: ProjectConfig): void {
    for (const p of c.purposes) {
      for (const o of p.outputs) {
        this.bucketOf(p.name).addLifecycleRule({
          id: `ExpireAttempts-${p.name}-${o.name}`,
          prefix: `${o.prefix}_attempts/`,
          expiration: Duration.days(30),
          noncurrentVersionExpiration: Duration.days(1),
        });
      }
    }
    // Every data bucket is versioned: a replaced version stays readable (run manifests name it) for keepVersions days.
    for (const bucket of [this.data.bucket, ...Object.values(this.purposeBuckets)]) {
      bucket.addLifecycleRule({ id: 'ExpireReplacedVersions', noncurrentVersionExpiration: Duration.days(c.keepVersionsDays) });
      // What batcat reproduce --remote staged: read by its reproduction, kept a month to look at.
      bucket.addLifecycleRule({
        id: 'ExpireReproductions',
        prefix: REPRODUCTIONS_PREFIX,
        expiration: Duration.days(30),
        noncurrentVersionExpiration: Duration.days(1),
      });
    }
    // A run longer than a day reads its partitioned inputs through manifests; a redriven job must still find its own.
    const withManifests = new Set(
      c.purposes.filter((p) => p.maxWindowDays > 1 && p.inputs.some((i) => i.partitioned)).map((p) => this.bucketOf(p.name)),
    );
    for (const bucket of withManifests) {
      bucket.addLifecycleRule({
        id: 'ExpireWindowManifests',
        prefix: WINDOW_MANIFESTS_PREFIX,
        expiration: Duration.days(WINDOW_MANIFEST_RETENTION_DAYS),
        noncurrentVersionExpiration: Duration.days(1),
      });
    }
  }

  /**
   * Where Lake Formation governs the Data Catalog, a role sees only the databases and tables it
   * was granted: each query purpose's state machine role (its Athena query runs as it) gets read
   * on the tables its query lists, and every purpose's on its own tables, which it profiles.
   * Jobs read and write S3 directly, which Lake Formation does not govern, so job roles get no
   * grant. With `registerLocations`, the project's buckets are registered, so Athena reads them
   * with Lake Formation's credentials.
   */
  private grantLakeFormation(c: ProjectConfig, registerLocations: boolean): void {
    for (const p of c.purposes) {
      const own = p.outputs.flatMap((o) => (o.table ? [o.table.name, attemptsTableName(o.table.name)] : []));
      if (own.length > 0) {
        // Each run profiles its own tables with Athena, as the state machine role.
        new LakeFormationTableAccess(Stack.of(this.purposes[p.name]), 'LakeFormationProfiles', {
          role: this.purposes[p.name].stateMachine.role,
          databaseName: c.database,
          tableNames: own,
          after: [this.resultDatabase.resource, ...own.flatMap((t) => this.resultTables[t] ?? [])],
        });
      }
      if (p.query?.engine !== 'athena') continue;
      const purpose = this.purposes[p.name];
      new LakeFormationTableAccess(Stack.of(purpose), 'LakeFormationQuery', {
        role: purpose.stateMachine.role,
        databaseName: p.query.database,
        tableNames: p.query.tables,
        after: [this.resultDatabase.resource, ...p.query.tables.flatMap((t) => this.resultTables[t] ?? [])],
      });
    }
    if (registerLocations) {
      new LakeFormationLocation(this, 'LakeFormationLocations', { buckets: [this.data.bucket, ...Object.values(this.purposeBuckets)] });
    }
  }

  /** A Glue table for each output of `p` that declares one, and one over its attempts, which the run's data checks read. */
  /** The feature groups over the purpose's outputs, by output name: offline stores in its bucket, tables in the project database. */
  private featureGroupsOf(c: ProjectConfig, p: PurposeConfig): Record<string, FeatureGroupProps> {
    return Object.fromEntries(
      p.outputs.flatMap((o) =>
        o.featureGroup
          ? [
              [
                o.name,
                {
                  featureGroupName: o.featureGroup.name,
                  description: o.featureGroup.description ?? `Output '${o.name}' of purpose '${p.name}' of ${c.stackName}`,
                  columns: o.table!.columns,
                  recordIdentifier: o.featureGroup.recordId,
                  eventTime: o.featureGroup.eventTime,
                  online: o.featureGroup.online,
                  bucket: this.bucketOf(p.name),
                  keyPrefix: o.featureGroup.prefix,
                  database: c.database,
                  tableName: o.featureGroup.tableName,
                },
              ],
            ]
          : [],
      ),
    );
  }

  private resultTablesOf(p: PurposeConfig): Array<ResultTableProps & { readonly tableName: string }> {
    return p.outputs.flatMap((o) => {
      if (!o.table) return [];
      const table = {
        database: this.resultDatabase,
        tableName: o.table.name,
        description: o.table.description ?? `Output '${o.name}' of purpose '${p.name}'`,
        bucket: this.bucketOf(p.name),
        keyPrefix: o.prefix,
        format: o.table.format === 'parquet' ? ResultFormat.PARQUET : ResultFormat.CSV,
        columns: o.table.columns.map((col) => ({ name: col.name, type: col.type })),
      };
      return [
        table,
        {
          ...table,
          tableName: attemptsTableName(o.table.name),
          description: `Run attempts of output '${o.name}' of purpose '${p.name}', before their commit: a run's data checks read them`,
          byAttempt: true,
        },
      ];
    });
  }

  /**
   * The EMR Serverless application of the stage's Spark purposes of `release`: one per release,
   * so a day's jobs share one application's start and one bound on what they use together (the
   * largest maxCapacity its purposes give).
   */
  private sparkApplication(c: ProjectConfig, release: string): ISparkApplication {
    const id = `Spark-${release}`;
    const existing = this.node.tryFindChild(id) as SparkApplication | undefined;
    if (existing) return existing;
    const capacities = c.purposes.filter(
      (p) => p.spark?.runtime === 'emr-serverless' && p.spark.release === release && p.spark.maxCapacity,
    );
    const cpu = Math.max(0, ...capacities.map((p) => p.spark!.maxCapacity!.cpu));
    const memoryGb = Math.max(0, ...capacities.map((p) => p.spark!.maxCapacity!.memoryGb));
    return new SparkApplication(this, id, {
      releaseLabel: release,
      maximumCapacity: capacities.length > 0 ? { cpu: Math.max(cpu, 1), memory: Size.gibibytes(Math.max(memoryGb, 1)) } : undefined,
    });
  }

  /** The props of a purpose's construct, from its resolved config. */
  private purposeProps(c: ProjectConfig, p: PurposeConfig): PurposeProps {
    return {
      purposeName: p.name,
      namePrefix: c.stackName,
      runEvents: { project: c.project, stage: c.stage },
      bucket: this.bucketOf(p.name),
      notificationTopic: this.alarmTopic.topic,
      ledger: this.ledger,
      logEncryptionKey: this.data.key,
      containerDirectory: p.containerDir,
      image: p.image ? imageFromUri(this, p) : p.framework ? SageMakerFrameworkImage.of(p.framework.name) : undefined,
      spark: p.spark && {
        runtime: p.spark.runtime as SparkRuntime,
        release: p.spark.release,
        application: p.spark.runtime === 'emr-serverless' ? this.sparkApplication(c, p.spark.release) : undefined,
        config: { ...p.spark.config },
        pyFiles: [...p.spark.pyFiles],
        mainClass: p.spark.mainClass,
        eventLogs: p.spark.eventLogs,
      },
      source: p.source && {
        engine: p.source.engine,
        secret: secretOf(this, p, 'Source', p.source.secret),
        table: p.source.table,
        queryFile: p.source.queryFile,
        incremental: p.source.incremental,
      },
      script: p.script,
      sourceDirectory: p.sourceDir,
      requirements: imageRequirements(p, c.rootDir),
      entrypoint: p.entrypoint && [...p.entrypoint],
      arguments: p.arguments && [...p.arguments],
      parameters: Object.keys(p.parameters).length > 0 ? { ...p.parameters } : undefined,
      cache: p.cache || undefined,
      networkIsolation: p.spark?.runtime === 'emr-serverless' ? undefined : p.networkIsolation,
      ...(p.vpc ? vpcOf(this, p) : {}),
      inputs: p.inputs.map((i) => ({
        name: i.name,
        bucket: this.inputBucket(p, i),
        fallbackBucket: this.parentBucket(i),
        keyPrefix: i.prefix,
        distribution: i.distribution as S3DataDistribution,
        partitioned: i.partitioned,
        complete: i.complete,
        localPath: i.localPath,
        mode: i.mode as S3InputMode,
        compression: i.compression as S3CompressionType,
      })),
      outputs: p.outputs.map((o) => ({
        name: o.name,
        keyPrefix: o.prefix,
        required: o.required,
        localPath: o.localPath,
        uploadMode: o.uploadMode as S3UploadMode,
        table: o.table && {
          database: c.database,
          tableName: o.table.name,
          attemptsTableName: attemptsTableName(o.table.name),
          columns: o.table.columns,
          rules: o.rules,
          onViolation: o.onViolation,
          sampleRows: o.sample,
        },
      })),
      // EMR Serverless sizes its workers itself and has no instance quota to wait for.
      ...(p.spark?.runtime === 'emr-serverless'
        ? {}
        : {
            instanceType: new ec2.InstanceType(p.instanceType.replace(/^ml\./, '')),
            instanceCount: p.instanceCount,
            volumeSize: Size.gibibytes(p.volumeSizeGb),
            quotaWait: Duration.seconds(p.quotaWaitSeconds),
          }),
      maxRuntime: Duration.seconds(p.maxRuntimeSeconds),
      freshness: p.freshnessSeconds !== undefined ? Duration.seconds(p.freshnessSeconds) : undefined,
      environment: p.environment,
      secrets: Object.fromEntries(Object.entries(p.secrets).map(([name, id]) => [name, secretOf(this, p, name, id)])),
      window: Duration.days(p.windowDays),
      maxWindow: Duration.days(p.maxWindowDays),
      backfillConcurrency: p.backfillConcurrency,
      schedule: p.schedule ? scheduler.ScheduleExpression.expression(p.schedule, TimeZone.of(p.timezone)) : undefined,
      s3Arrival: p.s3Arrival.map((a) => ({
        input: a.input,
        suffix: a.suffix,
        settle: a.settleSeconds !== undefined ? Duration.seconds(a.settleSeconds) : undefined,
        maxSettle: a.maxSettleSeconds !== undefined ? Duration.seconds(a.maxSettleSeconds) : undefined,
      })),
      // By name, so a purpose's nested stack never references another's.
      after: p.after ? { purposeName: p.after, stateMachine: upstreamStateMachine(this, p, c.stackName) } : undefined,
      query:
        p.query?.engine !== 'athena'
          ? undefined
          : {
              queryString: p.query.sql,
              parameters: p.query.parameters.map((x) => (x === 'start' ? QueryParameter.WINDOW_START : QueryParameter.WINDOW_END)),
              workGroup: this.queryWorkGroup,
              database: p.query.database,
              tables: [...p.query.tables],
              dataLocations: p.query.locations.map((l, k) => ({
                bucket: l.bucket ? s3.Bucket.fromBucketName(this, `${p.name}QueryData${k}`, l.bucket) : this.bucketHolding(l.prefix),
                keyPrefix: l.prefix,
              })),
            },
      redshiftQuery: p.query?.redshift && {
        queryString: p.query.sql,
        parameters: p.query.parameters.map((x) => (x === 'start' ? QueryParameter.WINDOW_START : QueryParameter.WINDOW_END)),
        database: p.query.database,
        secret: secretOf(this, p, 'RedshiftQuery', p.query.redshift.secret),
        workgroupName: p.query.redshift.workgroup,
        clusterIdentifier: p.query.redshift.cluster,
        format: p.query.redshift.format === 'parquet' ? RedshiftUnloadFormat.PARQUET : RedshiftUnloadFormat.CSV,
        // Below the query results folder, which the project bucket expires after a month.
        resultsBucket: this.data.bucket,
        resultsPrefix: `${purposeQueryResultsPrefix(p.name)}redshift/`,
      },
    };
  }

  /** The bucket of a purpose's outputs: its own, or with `shared` storage the project bucket. */
  private bucketOf(purpose: string): s3.Bucket {
    return this.purposeBuckets[purpose] ?? this.data.bucket;
  }

  /** The bucket that holds `key` of the project's storage (lib/contract/storage.ts). */
  private bucketHolding(key: string): s3.IBucket {
    const owner = ownerOf(this.ownedFolders, key);
    return owner ? this.bucketOf(owner) : this.data.bucket;
  }

  /** In a branch stage, the parent's bucket holding an input of the project's storage: read where the branch has no data. */
  private parentBucket(i: InputConfig): s3.IBucket | undefined {
    const branch = this.branch;
    if (!branch || i.bucket !== undefined) return undefined;
    const owner = i.from ? i.from.purpose : ownerOf(this.ownedFolders, i.prefix);
    const name = (owner && branch.purposeBuckets[owner]) || branch.dataBucket;
    const id = `ParentBucket-${name}`;
    const existing = this.node.tryFindChild(id) as s3.IBucket | undefined;
    if (existing) return existing;
    const key =
      (this.node.tryFindChild('ParentDataKey') as kms.IKey | undefined) ?? kms.Key.fromKeyArn(this, 'ParentDataKey', branch.dataKeyArn);
    return s3.Bucket.fromBucketAttributes(this, id, { bucketName: name, encryptionKey: key });
  }

  /** Where an input is read from, undefined when that is the purpose's own bucket. */
  private inputBucket(p: PurposeConfig, i: InputConfig): s3.IBucket | undefined {
    if (i.bucket !== undefined) return externalBucket(this, p, i);
    const bucket = i.from ? this.bucketOf(i.from.purpose) : this.bucketHolding(i.prefix);
    return bucket === this.bucketOf(p.name) ? undefined : bucket;
  }

  private addOutputs(): void {
    new CfnOutput(this, DATA_BUCKET_OUTPUT, {
      value: this.data.bucket.bucketName,
      description: 'The project data bucket: query results, and every folder no purpose owns',
    });
    for (const [purpose, bucket] of Object.entries(this.purposeBuckets)) {
      new CfnOutput(this, purposeBucketOutputKey(purpose), { value: bucket.bucketName, description: `The bucket of purpose ${purpose}` });
    }
    new CfnOutput(this, DATA_KEY_OUTPUT, {
      value: this.data.key.keyArn,
      description: "The key of the stage's data buckets; a branch stage's roles decrypt the stage's objects with it",
    });
    new CfnOutput(this, ACCESS_LOGS_BUCKET_OUTPUT, {
      value: this.data.accessLogsBucket.bucketName,
      description: "The server access logs of the stage's data buckets",
    });
    new CfnOutput(this, LEDGER_TABLE_OUTPUT, {
      value: this.ledger.table.tableName,
      description: 'The run ledger: which windows ran, and how',
    });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.alarmTopic.topic.topicArn, description: 'Alarms and failure notifications' });
    new CfnOutput(this, 'QueryWorkGroupName', {
      value: this.queryWorkGroup.workGroupName,
      description: 'Athena workgroup for queries of this project',
    });
    new CfnOutput(this, 'ResultDatabaseName', {
      value: this.resultDatabase.databaseName,
      description: 'Glue database with the result tables',
    });
  }
}

function upstreamStateMachine(scope: Construct, p: PurposeConfig, stackName: string): sfn.IStateMachine {
  return sfn.StateMachine.fromStateMachineName(scope, `${p.name}Upstream`, purposeStateMachineName(stackName, p.after!));
}

/** An image in ECR, imported so pull access is granted on that repository only. */
function imageFromUri(scope: Construct, p: PurposeConfig): tasks.DockerImage {
  const image = p.image!;
  const arn = `arn:${Stack.of(scope).partition}:ecr:${image.region}:${image.account}:repository/${image.repository}`;
  const repo = ecr.Repository.fromRepositoryAttributes(scope, `${p.name}ImageRepository`, {
    repositoryArn: arn,
    repositoryName: image.repository,
  });
  return tasks.DockerImage.fromEcrRepository(repo, image.digest ?? image.tag);
}

/** The subnets and security groups a purpose's job runs in, imported by id. */
function vpcOf(scope: Construct, p: PurposeConfig): Pick<PurposeProps, 'vpcSubnets' | 'securityGroups'> {
  return {
    vpcSubnets: {
      subnets: p.vpc!.subnetIds.map((id) => {
        const subnet = ec2.Subnet.fromSubnetId(scope, `${p.name}Subnet-${id}`, id);
        // The job needs only the subnet's id; its route table is never read.
        Annotations.of(subnet).acknowledgeWarning('@aws-cdk/aws-ec2:noSubnetRouteTableId', 'only the subnet id is passed to SageMaker');
        return subnet;
      }),
    },
    securityGroups: p.vpc!.securityGroupIds.map((id) => ec2.SecurityGroup.fromSecurityGroupId(scope, `${p.name}SecurityGroup-${id}`, id)),
  };
}

/** A secret by its ARN (complete, or without the 6-character suffix) or its name. */
function secretOf(scope: Construct, p: PurposeConfig, name: string, id: string): secretsmanager.ISecret {
  const cid = `${p.name}Secret${name}`;
  if (!id.startsWith('arn:')) return secretsmanager.Secret.fromSecretNameV2(scope, cid, id);
  return /-[A-Za-z0-9]{6}$/.test(id)
    ? secretsmanager.Secret.fromSecretCompleteArn(scope, cid, id)
    : secretsmanager.Secret.fromSecretPartialArn(scope, cid, id);
}

/** The bucket of an input outside the project bucket. */
function externalBucket(scope: Construct, p: PurposeConfig, input: InputConfig): s3.IBucket {
  return s3.Bucket.fromBucketAttributes(scope, `${p.name}${input.name}InputBucket`, {
    bucketName: input.bucket!,
    // The job role may then decrypt with this key, through S3 and for this bucket's objects only.
    encryptionKey: input.kmsKey ? kms.Key.fromKeyArn(scope, `${p.name}${input.name}InputKey`, input.kmsKey) : undefined,
  });
}
