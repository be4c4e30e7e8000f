/*
 * The package root and `batcat-cdk/constructs`: the constructs other teams use in their stacks,
 * their props, and the types those props need. It loads aws-cdk-lib and constructs, nothing
 * else (no AWS SDK, no zod, no yaml, no cdk-nag): the BatCat app is `batcat-cdk/app`.
 * Everything else is internal and may change. test/api/public-api.test.ts keeps these lists
 * and README.md's "What the package exports" in step.
 */

export { AlarmTopic, type AlarmTopicProps } from './constructs/alarm-topic';
export { AthenaRunQuery, type AthenaRunQueryProps, type QueryDataLocation } from './constructs/athena-run-query';
export { Backfill, type BackfillProps } from './constructs/backfill';
export { ProjectDashboard, type ProjectDashboardProps } from './constructs/project-dashboard';
export { ProjectData, type ProjectDataProps } from './constructs/project-data';
export { ProcessingJobLogs, type ProcessingJobLogsProps } from './constructs/processing-job-logs';
export { Purpose } from './constructs/purpose';
export { PurposeMetrics, RunOutcome, type PurposeMetricsProps } from './constructs/purpose-metrics';
export {
  QueryParameter,
  type PurposeAlarms,
  type PurposeInput,
  type PurposeOutput,
  type PurposeProps,
  type PurposeQuery,
  type PurposeS3Arrival,
} from './constructs/purpose-props';
export { QueryWorkGroup, type IQueryWorkGroup, type QueryWorkGroupProps } from './constructs/query-workgroup';
export { ResultDatabase, type ResultDatabaseProps } from './constructs/result-database';
export { ResultFormat, ResultTable, type ResultColumn, type ResultTableProps } from './constructs/result-table';
export { RunLedger, type RunLedgerProps } from './constructs/run-ledger';
export {
  RunTrigger,
  type RunSettings,
  type RunTriggerAlarms,
  type RunTriggerProps,
  type S3Arrival,
  type UpstreamPurpose,
} from './constructs/run-trigger';
export {
  S3CompressionType,
  S3DataDistribution,
  S3InputMode,
  S3UploadMode,
  SageMakerCreateProcessingJob,
  type ProcessingInput,
  type ProcessingOutput,
  type SageMakerCreateProcessingJobProps,
} from './constructs/sagemaker-create-processing-job';
export { SageMakerFrameworkImage } from './constructs/sagemaker-framework-image';
export type { PurposeRunConfig, RunInput, TriggerDetails } from './contract/run-input';
export type { RunWindow } from './contract/dates';
