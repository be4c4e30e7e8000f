/*
 * The package root and `batcat-cdk/constructs`: the constructs other teams use in their stacks,
 * their props, and the types those props need. It loads aws-cdk-lib and constructs, nothing
 * else (no AWS SDK, no zod, no yaml, no cdk-nag): the BatCat app is `batcat-cdk/app`.
 * Everything else is internal and may change. test/api/public-api.test.ts keeps these lists
 * and README.md's "What the package exports" in step.
 *
 * Each class and enum is loaded on first use, as aws-cdk-lib loads its modules: importing the
 * package costs a few milliseconds, and a stack pays only for the constructs it uses
 * (bench/constructs-import.ts). So the values are declared here and defined by `lazy` below.
 */

import type * as accessLogsBucket from './constructs/access-logs-bucket';
import type * as alarmTopic from './constructs/alarm-topic';
import type * as athenaRunQuery from './constructs/athena-run-query';
import type * as backfill from './constructs/backfill';
import type * as dataBucket from './constructs/data-bucket';
import type * as emrServerlessStartJobRun from './constructs/emr-serverless-start-job-run';
import type * as featureGroup from './constructs/feature-group';
import type * as ingestStream from './constructs/ingest-stream';
import type * as lakeFormationLocation from './constructs/lake-formation-location';
import type * as lakeFormationTableAccess from './constructs/lake-formation-table-access';
import type * as projectDashboard from './constructs/project-dashboard';
import type * as projectData from './constructs/project-data';
import type * as processingJobLogs from './constructs/processing-job-logs';
import type * as purpose from './constructs/purpose';
import type * as purposeMetrics from './constructs/purpose-metrics';
import type * as purposeProps from './constructs/purpose-props';
import type * as queryWorkGroup from './constructs/query-workgroup';
import type * as redshiftUnloadQuery from './constructs/redshift-unload-query';
import type * as resultDatabase from './constructs/result-database';
import type * as resultTable from './constructs/result-table';
import type * as runLedger from './constructs/run-ledger';
import type * as runTrigger from './constructs/run-trigger';
import type * as processingJob from './constructs/sagemaker-create-processing-job';
import type * as frameworkImage from './constructs/sagemaker-framework-image';
import type * as sparkApplication from './constructs/spark-application';

export type { AccessLogsBucketProps } from './constructs/access-logs-bucket';
export type { AlarmTopicProps } from './constructs/alarm-topic';
export type { AthenaRunQueryProps, QueryDataLocation } from './constructs/athena-run-query';
export type { BackfillProps } from './constructs/backfill';
export type { DataBucketProps } from './constructs/data-bucket';
export type { EmrServerlessStartJobRunProps, SparkFolder, SparkObject } from './constructs/emr-serverless-start-job-run';
export type { FeatureColumn, FeatureGroupProps } from './constructs/feature-group';
export type { IngestStreamProps } from './constructs/ingest-stream';
export type { LakeFormationLocationProps } from './constructs/lake-formation-location';
export type { LakeFormationTableAccessProps } from './constructs/lake-formation-table-access';
export type { ProjectDashboardProps } from './constructs/project-dashboard';
export type { ProjectDataProps } from './constructs/project-data';
export type { ProcessingJobLogsProps } from './constructs/processing-job-logs';
export type { PurposeMetricsProps } from './constructs/purpose-metrics';
export type {
  OutputTable,
  PurposeAlarms,
  PurposeDatabaseSource,
  PurposeInput,
  PurposeOutput,
  PurposeProps,
  PurposeQuery,
  PurposeRedshiftQuery,
  PurposeS3Arrival,
  PurposeSpark,
} from './constructs/purpose-props';
export type { IQueryWorkGroup, QueryWorkGroupProps } from './constructs/query-workgroup';
export type { RedshiftUnloadQueryProps } from './constructs/redshift-unload-query';
export type { ResultDatabaseProps } from './constructs/result-database';
export type { ResultColumn, ResultTableProps } from './constructs/result-table';
export type { RunLedgerProps } from './constructs/run-ledger';
export type { RunSettings, RunTriggerAlarms, RunTriggerProps, S3Arrival, UpstreamPurpose } from './constructs/run-trigger';
export type {
  ProcessingInput,
  ProcessingInputManifest,
  ProcessingOutput,
  SageMakerCreateProcessingJobProps,
} from './constructs/sagemaker-create-processing-job';
export type { ISparkApplication, SparkApplicationProps, SparkCapacity } from './constructs/spark-application';
export type { PurposeRunConfig, RunInput, TriggerDetails } from './contract/run-input';
export type { RunWindow } from './contract/dates';
export type { ColumnRule, OnViolation, OutputRules } from './contract/data-rules';
export type { ParameterSpec, ParameterType } from './contract/parameters';

export declare const AccessLogsBucket: typeof accessLogsBucket.AccessLogsBucket;
export type AccessLogsBucket = accessLogsBucket.AccessLogsBucket;
export declare const AlarmTopic: typeof alarmTopic.AlarmTopic;
export type AlarmTopic = alarmTopic.AlarmTopic;
export declare const AthenaRunQuery: typeof athenaRunQuery.AthenaRunQuery;
export type AthenaRunQuery = athenaRunQuery.AthenaRunQuery;
export declare const Backfill: typeof backfill.Backfill;
export type Backfill = backfill.Backfill;
export declare const DataBucket: typeof dataBucket.DataBucket;
export type DataBucket = dataBucket.DataBucket;
export declare const EmrServerlessStartJobRun: typeof emrServerlessStartJobRun.EmrServerlessStartJobRun;
export type EmrServerlessStartJobRun = emrServerlessStartJobRun.EmrServerlessStartJobRun;
export declare const FeatureGroup: typeof featureGroup.FeatureGroup;
export type FeatureGroup = featureGroup.FeatureGroup;
export declare const IngestStream: typeof ingestStream.IngestStream;
export type IngestStream = ingestStream.IngestStream;
export declare const IngestStreamFormat: typeof ingestStream.IngestStreamFormat;
export type IngestStreamFormat = ingestStream.IngestStreamFormat;
export declare const LakeFormationLocation: typeof lakeFormationLocation.LakeFormationLocation;
export type LakeFormationLocation = lakeFormationLocation.LakeFormationLocation;
export declare const LakeFormationTableAccess: typeof lakeFormationTableAccess.LakeFormationTableAccess;
export type LakeFormationTableAccess = lakeFormationTableAccess.LakeFormationTableAccess;
export declare const ProjectDashboard: typeof projectDashboard.ProjectDashboard;
export type ProjectDashboard = projectDashboard.ProjectDashboard;
export declare const ProjectData: typeof projectData.ProjectData;
export type ProjectData = projectData.ProjectData;
export declare const ProcessingJobLogs: typeof processingJobLogs.ProcessingJobLogs;
export type ProcessingJobLogs = processingJobLogs.ProcessingJobLogs;
export declare const Purpose: typeof purpose.Purpose;
export type Purpose = purpose.Purpose;
export declare const PurposeMetrics: typeof purposeMetrics.PurposeMetrics;
export type PurposeMetrics = purposeMetrics.PurposeMetrics;
export declare const RunOutcome: typeof purposeMetrics.RunOutcome;
export type RunOutcome = purposeMetrics.RunOutcome;
export declare const QueryParameter: typeof purposeProps.QueryParameter;
export type QueryParameter = purposeProps.QueryParameter;
export declare const SparkRuntime: typeof purposeProps.SparkRuntime;
export type SparkRuntime = purposeProps.SparkRuntime;
export declare const QueryWorkGroup: typeof queryWorkGroup.QueryWorkGroup;
export type QueryWorkGroup = queryWorkGroup.QueryWorkGroup;
export declare const RedshiftUnloadFormat: typeof redshiftUnloadQuery.RedshiftUnloadFormat;
export type RedshiftUnloadFormat = redshiftUnloadQuery.RedshiftUnloadFormat;
export declare const RedshiftUnloadQuery: typeof redshiftUnloadQuery.RedshiftUnloadQuery;
export type RedshiftUnloadQuery = redshiftUnloadQuery.RedshiftUnloadQuery;
export declare const ResultDatabase: typeof resultDatabase.ResultDatabase;
export type ResultDatabase = resultDatabase.ResultDatabase;
export declare const ResultFormat: typeof resultTable.ResultFormat;
export type ResultFormat = resultTable.ResultFormat;
export declare const ResultTable: typeof resultTable.ResultTable;
export type ResultTable = resultTable.ResultTable;
export declare const RunLedger: typeof runLedger.RunLedger;
export type RunLedger = runLedger.RunLedger;
export declare const RunTrigger: typeof runTrigger.RunTrigger;
export type RunTrigger = runTrigger.RunTrigger;
export declare const S3CompressionType: typeof processingJob.S3CompressionType;
export type S3CompressionType = processingJob.S3CompressionType;
export declare const S3DataDistribution: typeof processingJob.S3DataDistribution;
export type S3DataDistribution = processingJob.S3DataDistribution;
export declare const S3InputMode: typeof processingJob.S3InputMode;
export type S3InputMode = processingJob.S3InputMode;
export declare const S3UploadMode: typeof processingJob.S3UploadMode;
export type S3UploadMode = processingJob.S3UploadMode;
export declare const SageMakerCreateProcessingJob: typeof processingJob.SageMakerCreateProcessingJob;
export type SageMakerCreateProcessingJob = processingJob.SageMakerCreateProcessingJob;
export declare const SageMakerFrameworkImage: typeof frameworkImage.SageMakerFrameworkImage;
export type SageMakerFrameworkImage = frameworkImage.SageMakerFrameworkImage;
export declare const SparkApplication: typeof sparkApplication.SparkApplication;
export type SparkApplication = sparkApplication.SparkApplication;

/** Defines each export as a getter that loads its module the first time it is read. */
function lazy(loaders: Record<string, () => unknown>): void {
  for (const [name, load] of Object.entries(loaders)) Object.defineProperty(exports, name, { enumerable: true, get: load });
}

/* eslint-disable @typescript-eslint/no-require-imports -- the point: load a module when its export is first read */
lazy({
  AccessLogsBucket: () => (require('./constructs/access-logs-bucket') as typeof accessLogsBucket).AccessLogsBucket,
  AlarmTopic: () => (require('./constructs/alarm-topic') as typeof alarmTopic).AlarmTopic,
  AthenaRunQuery: () => (require('./constructs/athena-run-query') as typeof athenaRunQuery).AthenaRunQuery,
  Backfill: () => (require('./constructs/backfill') as typeof backfill).Backfill,
  DataBucket: () => (require('./constructs/data-bucket') as typeof dataBucket).DataBucket,
  EmrServerlessStartJobRun: () =>
    (require('./constructs/emr-serverless-start-job-run') as typeof emrServerlessStartJobRun).EmrServerlessStartJobRun,
  FeatureGroup: () => (require('./constructs/feature-group') as typeof featureGroup).FeatureGroup,
  IngestStream: () => (require('./constructs/ingest-stream') as typeof ingestStream).IngestStream,
  IngestStreamFormat: () => (require('./constructs/ingest-stream') as typeof ingestStream).IngestStreamFormat,
  LakeFormationLocation: () => (require('./constructs/lake-formation-location') as typeof lakeFormationLocation).LakeFormationLocation,
  LakeFormationTableAccess: () =>
    (require('./constructs/lake-formation-table-access') as typeof lakeFormationTableAccess).LakeFormationTableAccess,
  ProjectDashboard: () => (require('./constructs/project-dashboard') as typeof projectDashboard).ProjectDashboard,
  ProjectData: () => (require('./constructs/project-data') as typeof projectData).ProjectData,
  ProcessingJobLogs: () => (require('./constructs/processing-job-logs') as typeof processingJobLogs).ProcessingJobLogs,
  Purpose: () => (require('./constructs/purpose') as typeof purpose).Purpose,
  PurposeMetrics: () => (require('./constructs/purpose-metrics') as typeof purposeMetrics).PurposeMetrics,
  RunOutcome: () => (require('./constructs/purpose-metrics') as typeof purposeMetrics).RunOutcome,
  QueryParameter: () => (require('./constructs/purpose-props') as typeof purposeProps).QueryParameter,
  SparkRuntime: () => (require('./constructs/purpose-props') as typeof purposeProps).SparkRuntime,
  QueryWorkGroup: () => (require('./constructs/query-workgroup') as typeof queryWorkGroup).QueryWorkGroup,
  RedshiftUnloadFormat: () => (require('./constructs/redshift-unload-query') as typeof redshiftUnloadQuery).RedshiftUnloadFormat,
  RedshiftUnloadQuery: () => (require('./constructs/redshift-unload-query') as typeof redshiftUnloadQuery).RedshiftUnloadQuery,
  ResultDatabase: () => (require('./constructs/result-database') as typeof resultDatabase).ResultDatabase,
  ResultFormat: () => (require('./constructs/result-table') as typeof resultTable).ResultFormat,
  ResultTable: () => (require('./constructs/result-table') as typeof resultTable).ResultTable,
  RunLedger: () => (require('./constructs/run-ledger') as typeof runLedger).RunLedger,
  RunTrigger: () => (require('./constructs/run-trigger') as typeof runTrigger).RunTrigger,
  S3CompressionType: () => (require('./constructs/sagemaker-create-processing-job') as typeof processingJob).S3CompressionType,
  S3DataDistribution: () => (require('./constructs/sagemaker-create-processing-job') as typeof processingJob).S3DataDistribution,
  S3InputMode: () => (require('./constructs/sagemaker-create-processing-job') as typeof processingJob).S3InputMode,
  S3UploadMode: () => (require('./constructs/sagemaker-create-processing-job') as typeof processingJob).S3UploadMode,
  SageMakerCreateProcessingJob: () =>
    (require('./constructs/sagemaker-create-processing-job') as typeof processingJob).SageMakerCreateProcessingJob,
  SageMakerFrameworkImage: () => (require('./constructs/sagemaker-framework-image') as typeof frameworkImage).SageMakerFrameworkImage,
  SparkApplication: () => (require('./constructs/spark-application') as typeof sparkApplication).SparkApplication,
});
