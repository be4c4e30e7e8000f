import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FrameworkImage } from './frameworks';

/*
 * Spark purposes: the two engines a purpose's PySpark script (or jar) runs on, and the facts of
 * each. EMR Serverless' from its user guide and API reference; SageMaker's from the SageMaker
 * Python SDK's PySparkProcessor (sagemaker-core/src/sagemaker/core/spark/processing.py) and
 * image URI config (image_uri_config/spark.json), read 2026-12-05 at commit a248126.
 */

/** Where a Spark purpose runs. */
export const SPARK_RUNTIMES = ['emr-serverless', 'sagemaker'] as const;
export type SparkRuntimeName = (typeof SPARK_RUNTIMES)[number];

/** An EMR release label, `emr-<major>.<minor>.<patch>`, which fixes the Spark version. */
export const EMR_RELEASE_LABEL = /^emr-\d+\.\d+\.\d+(-[a-z0-9]+)?$/;

/** The Spark versions of SageMaker's Spark processing image, oldest first. */
export const SAGEMAKER_SPARK_VERSIONS = ['2.4', '3.0', '3.1', '3.2', '3.3', '3.5'] as const;

/** What a Spark purpose gets unless it says otherwise. */
export const SPARK_DEFAULTS = {
  runtime: 'emr-serverless' as SparkRuntimeName,
  /** Spark 3.5.2, Python 3.9. */
  emrRelease: 'emr-7.5.0',
  sagemakerVersion: '3.5',
  eventLogs: false,
} as const;

/** SageMaker's Spark processing image: one repository, published from this account per region (the same for every version). */
export const SAGEMAKER_SPARK_REPOSITORY = 'sagemaker-spark-processing';
export const SAGEMAKER_SPARK_REGISTRIES: Readonly<Record<string, string>> = {
  'af-south-1': '309385258863',
  'ap-east-1': '732049463269',
  'ap-east-2': '533267296287',
  'ap-northeast-1': '411782140378',
  'ap-northeast-2': '860869212795',
  'ap-northeast-3': '102471314380',
  'ap-south-1': '105495057255',
  'ap-south-2': '873151114052',
  'ap-southeast-1': '759080221371',
  'ap-southeast-2': '440695851116',
  'ap-southeast-3': '800295151634',
  'ap-southeast-4': '819679513684',
  'ap-southeast-5': '841784149062',
  'ap-southeast-7': '471112967968',
  'ca-central-1': '446299261295',
  'ca-west-1': '000907499111',
  'cn-north-1': '671472414489',
  'cn-northwest-1': '844356804704',
  'eu-central-1': '906073651304',
  'eu-central-2': '142351485170',
  'eu-north-1': '330188676905',
  'eu-south-1': '753923664805',
  'eu-south-2': '833944533722',
  'eu-west-1': '571004829621',
  'eu-west-2': '836651553127',
  'eu-west-3': '136845547031',
  'il-central-1': '408426139102',
  'me-central-1': '395420993607',
  'me-south-1': '750251592176',
  'mx-central-1': '211125459255',
  'sa-east-1': '737130764395',
  'us-east-1': '173754725891',
  'us-east-2': '314815235551',
  'us-gov-east-1': '260923028637',
  'us-gov-west-1': '271483468897',
  'us-west-1': '667973535471',
  'us-west-2': '153931337802',
};

/** SageMaker's Spark processing image of `version` (`3.5`), or undefined for one it does not publish. */
export function sagemakerSparkImage(version: string): FrameworkImage | undefined {
  if (!(SAGEMAKER_SPARK_VERSIONS as readonly string[]).includes(version)) return undefined;
  return {
    name: `spark:${version}`,
    repository: SAGEMAKER_SPARK_REPOSITORY,
    tag: sagemakerSparkTag(version),
    package: 'pyspark',
    packageVersion: version,
    registries: SAGEMAKER_SPARK_REGISTRIES,
  };
}

/** The tag PySparkProcessor pulls for a version when no Python or container version is given: `3.5-cpu`. */
export function sagemakerSparkTag(version: string): string {
  return `${version}-cpu`;
}

/**
 * What PySparkProcessor adds to a processing job: `smspark-submit` as the entrypoint (it turns
 * the instances into a YARN cluster and calls spark-submit), the Spark properties as an EMR
 * configuration file in the input `conf`, the --py-files in the input `py-files`, and the event
 * logs from a local folder uploaded continuously.
 */
export const SMSPARK = {
  submit: 'smspark-submit',
  confInput: 'conf',
  confPath: '/opt/ml/processing/input/conf',
  confFile: 'configuration.json',
  pyFilesInput: 'py-files',
  pyFilesPath: '/opt/ml/processing/input/py-files',
  eventLogsOutput: 'spark-events',
  eventLogsPath: '/opt/ml/processing/spark-events/',
  eventLogsOption: '--local-spark-event-logs-dir',
} as const;

/** The configuration file smspark-submit reads: EMR's classification list, Spark properties under `spark-defaults`. */
export function sparkConfiguration(
  config: Readonly<Record<string, string>>,
): Array<{ Classification: string; Properties: Record<string, string> }> {
  return [{ Classification: 'spark-defaults', Properties: { ...config } }];
}

/**
 * Spark properties every Spark purpose gets: no `_SUCCESS` marker, which would count as an
 * output file and let a run that wrote no data pass the empty-output check.
 */
export const SPARK_BASE_CONFIG: Readonly<Record<string, string>> = {
  'spark.hadoop.mapreduce.fileoutputcommitter.marksuccessfuljobs': 'false',
};

/** The release a Spark purpose runs on unless it names one. */
export function defaultSparkRelease(runtime: SparkRuntimeName): string {
  return runtime === 'sagemaker' ? SPARK_DEFAULTS.sagemakerVersion : SPARK_DEFAULTS.emrRelease;
}

/** The Spark properties a job gets: BatCat's, then the purpose's. */
export function sparkProperties(config: Readonly<Record<string, string>>): Record<string, string> {
  return { ...SPARK_BASE_CONFIG, ...config };
}

/**
 * The --py-files laid out in `into` as the archive holds them, on AWS and in run-local alike: a
 * package folder under its own name (so `import lib` finds `lib/`), a file at the top; no
 * caches or virtual environments.
 */
export function stagePyFiles(pyFiles: readonly string[], into: string): void {
  const skip = new Set(['__pycache__', '.venv', '.git']);
  for (const f of pyFiles) {
    fs.cpSync(f, path.join(into, path.basename(f.replace(/\/+$/, ''))), {
      recursive: true,
      filter: (from) => !skip.has(path.basename(from)) && !from.endsWith('.pyc'),
    });
  }
}

/** Where a Spark purpose's S3 logs (EMR Serverless) and event logs go in its bucket, one folder per attempt below. */
export function sparkLogsPrefix(purpose: string): string {
  return `_batcat/spark-logs/${purpose}/`;
}
export function sparkEventLogsPrefix(purpose: string): string {
  return `_batcat/spark-events/${purpose}/`;
}
