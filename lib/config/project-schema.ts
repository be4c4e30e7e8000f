import { DEFAULT_STORAGE, MAX_PER_PURPOSE_BUCKETS, STORAGE_MODES } from '../contract/storage';
import { z } from 'zod';
import { isTimeZone } from '../contract/dates';
import { ON_VIOLATION, rulesProblems } from '../contract/data-rules';
import { MAX_SAMPLE_ROWS } from '../contract/profile';
import { QUERY_RESULTS_PREFIX, resultsPrefix, resultTableName } from '../contract/names';
import { QUERY_ENGINES, UNLOAD_FORMATS } from '../contract/sql';
import { didYouMean } from '../contract/suggest';
import {
  CODE_INPUT_NAME,
  CODE_PATH,
  COMPRESSION_TYPES,
  defaultInputPath,
  defaultOutputPath,
  INPUT_MODES,
  PROCESSING_LIMITS,
  UPLOAD_MODES,
} from '../contract/processing';
import {
  backfillConcurrencyProblem,
  wholeNumberProblem,
  bytesScannedCutoffProblem,
  argumentProblems,
  channelNameProblem,
  channelPathProblems,
  codeInputClashProblem,
  columnNameProblem,
  compressionProblem,
  cronDaylightSavingProblem,
  cronProblem,
  dataAccessPrincipalProblem,
  MAX_PROJECT_OUTPUTS,
  outputCountProblem,
  columnTypeProblem,
  duplicateProblems,
  ecrImageProblem,
  entrypointProblem,
  folderOverlapProblems,
  environmentProblems,
  frameworkProblem,
  imageAccountProblem,
  glueNameProblem,
  ingestBufferProblem,
  ingestNameProblem,
  ingestPartitionFieldProblem,
  ingestSchemaProblem,
  type BucketFolder,
  keepVersionsProblem,
  redshiftNameProblem,
  instanceCountProblem,
  instanceTypeProblem,
  keyPrefixProblem,
  maxRuntimeProblem,
  quotaWaitProblem,
  freshnessProblem,
  maxWindowProblem,
  schedulePeriodProblem,
  completeInputProblem,
  partitionedObjectProblem,
  projectNameProblem,
  purposeNameProblem,
  queryInputClashProblem,
  s3ArrivalInputProblem,
  settleProblem,
  s3FolderUriProblem,
  s3InputUriProblem,
  kmsKeyArnProblem,
  kmsKeyRegion,
  scriptFileProblem,
  scriptWithEntrypointProblem,
  secretReferenceProblems,
  show,
  sourceWithoutScriptProblem,
  SPARK_CHECKED_SETTINGS,
  sparkCapacityProblem,
  sparkConfigProblems,
  sparkReleaseProblem,
  sparkRuntimeProblem,
  sparkScriptProblem,
  sparkSettingProblem,
  stageProblem,
  timeZoneProblem,
  volumeSizeGbProblem,
  windowDaysProblem,
  databaseSourceProblems,
  featureGroupProblems,
  PROGRAM_SETTINGS,
} from '../contract/rules';
import { parseDays, parseDuration, parseSize, parseVcpu } from './units';
import { SPARK_DEFAULTS, SPARK_RUNTIMES, type SparkRuntimeName } from '../contract/spark';
import { INGEST_FORMATS, INGEST_STREAMS, ingestTableName } from '../contract/ingest';
import { DB_ENGINES } from '../contract/db-source';
import { PARAMETER_TYPES, parameterSpecProblems, type ParameterSpec, type ParameterType } from '../contract/parameters';

/*
 * The schema of `projects/<project>.yaml`: its shape, with each value checked by the shared
 * rules in lib/contract/rules.ts. Every message names the bad value and what is allowed; the
 * loader adds the file, line and field path.
 */

/** A zod check from a shared rule. */
function by<T>(problem: (value: T) => string | undefined) {
  return (ctx: z.core.ParsePayload<T>) => {
    const message = problem(ctx.value);
    if (message) ctx.issues.push({ code: 'custom', input: ctx.value, message });
  };
}

/**
 * A strict object whose unknown-key error says which key was meant, or else lists the keys
 * that are allowed: one line per unknown key, in the order of `keys`.
 */
function strict<T extends z.ZodRawShape>(shape: T) {
  const allowed = Object.keys(shape);
  return z.strictObject(shape, {
    error: (iss) => (iss.code === 'unrecognized_keys' ? iss.keys.map((k) => unknownKeyProblem(k, allowed)).join('\n') : undefined),
  });
}

function unknownKeyProblem(key: string, allowed: string[]): string {
  const meant = didYouMean(key, allowed);
  return meant ? `unknown key ${show(key)}; did you mean ${show(meant)}?` : `unknown key ${show(key)}; allowed keys: ${allowed.join(', ')}`;
}

/** How each field of the project file is written, for errors about its shape. */
export const FIELD_EXAMPLES: Readonly<Record<string, string>> = {
  project: 'project: 2026-rnd-battery',
  stage: 'stage: dev',
  description: 'description: Battery usage analytics',
  alarmEmails: 'alarmEmails: [ops@example.com]',
  allowedImageAccounts: "allowedImageAccounts: ['123456789012']",
  storage: 'storage: per-purpose',
  dataAccess: "dataAccess: ['arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_DataScience_*']",
  athena: 'athena: { bytesScannedCutoff: 10GB }',
  purposes: 'purposes: [{ name: usage-analysis, inputs: [{ name: usage, prefix: raw/usage/ }], outputs: [{ name: summary }] }]',
  inputs: 'inputs: [{ name: usage, prefix: raw/usage/ }]',
  outputs: 'outputs: [{ name: summary }]',
  environment: 'environment: { USAGE_UNIT: kWh }',
  secrets: 'secrets: { DB_PASSWORD: prod/db/password }',
  entrypoint: 'entrypoint: [python3, /opt/program/train.py]',
  arguments: 'arguments: [--train-test-split-ratio, "0.2"]',
  triggers: 'triggers: { schedule: { cron: "0 4 * * ? *" } }',
  schedule: 'schedule: { cron: "0 4 * * ? *", timezone: Europe/Berlin }',
  s3: 's3: [{ input: usage, suffix: .csv }]',
  table: 'table: { columns: { vin: string, kwh: double } }',
  rules: 'rules: { rows: { min: 100 }, columns: { vin: { notNull: true, unique: true } }, drift: { rows: 0.5 } }',
  onViolation: 'onViolation: warn',
  sample: 'sample: 1000',
  columns: 'columns: { vin: string, kwh: double }',
  query: 'query: { file: queries/report.sql, tables: [usage_analysis_summary] }',
  tables: 'tables: [usage_analysis_summary]',
  locations: 'locations: [s3://other-bucket/raw/usage/]',
  parameters: 'parameters: [start, end]',
  vpc: 'vpc: { subnetIds: [subnet-0123456789abcdef0], securityGroupIds: [sg-0123456789abcdef0] }',
  subnetIds: 'subnetIds: [subnet-0123456789abcdef0]',
  securityGroupIds: 'securityGroupIds: [sg-0123456789abcdef0]',
  name: 'name: usage-analysis',
};

const string = (what: string) => z.string({ error: (iss) => `${what} must be a string, got ${show(iss.input)}` });
const whole = (problem: (v: unknown) => string | undefined) => z.number({ error: (iss) => problem(iss.input) }).check(by(problem));

const duration = z.union([z.string(), z.number()]).check(by((v) => maxRuntimeProblem(parseDuration(v), v)));
const quotaWait = z.union([z.string(), z.number()]).check(by((v) => quotaWaitProblem(parseDuration(v), v)));
const freshness = z.union([z.string(), z.number()]).check(by((v) => freshnessProblem(parseDuration(v), v)));
const days = (what: string) => string(what).check(by((v: string) => windowDaysProblem(what, parseDays(v), v)));
const keyPrefix = z.string().check(by(keyPrefixProblem));
const s3Uri = z.string().check(by(s3FolderUriProblem));
const channelName = z.string().check(by(channelNameProblem));
const localPath = string('localPath');
const oneOf = <T extends readonly [string, ...string[]]>(what: string, values: T, meaning: string) =>
  z.enum(values, {
    error: (iss) =>
      `${show(iss.input)} is not a${/^[aeiou]/.test(what) ? 'n' : ''} ${what}; allowed: ${values.map(show).join(', ')} (${meaning})`,
  });
const strings = (what: string, example: string) =>
  z.array(string(`each of ${what}`), { error: (iss) => `${what} must be a list of strings, e.g. ${example}, got ${show(iss.input)}` });
const glueName = (what: string) => z.string().check(by((v: string) => glueNameProblem(what, v)));

const environment = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).check((ctx) => {
  for (const p of environmentProblems(ctx.value)) {
    ctx.issues.push({ code: 'custom', input: p.key ?? ctx.value, path: p.key !== undefined ? [p.key] : [], message: p.message });
  }
});

/** `<purpose>/<output>`: another purpose's output, read one window partition at a time. */
const outputRef = z.string().regex(/^[a-z0-9-]+\/[a-z0-9_-]+$/, {
  error: (iss) => `${show(iss.input)} is not an output reference; write '<purpose>/<output>', e.g. 'usage-analysis/summary'`,
});

const input = strict({
  name: channelName,
  prefix: keyPrefix.optional(),
  uri: z.string().check(by(s3InputUriProblem)).optional(),
  kmsKey: z.string().check(by(kmsKeyArnProblem)).optional(),
  from: outputRef.optional(),
  partitioned: z.boolean({ error: (iss) => `partitioned must be true or false, got ${show(iss.input)}` }).optional(),
  complete: z.boolean({ error: (iss) => `complete must be true or false, got ${show(iss.input)}` }).optional(),
  distribution: z
    .enum(['FullyReplicated', 'ShardedByS3Key'], {
      error: (iss) =>
        `${show(iss.input)} is not a distribution; allowed: 'FullyReplicated' (every instance gets all files) or 'ShardedByS3Key' (files are split across instances)`,
    })
    .optional(),
  localPath: localPath.optional(),
  mode: z
    .string()
    .check(
      by((v: string) =>
        (INPUT_MODES as readonly string[]).includes(v)
          ? undefined
          : `${show(v)} is not an input mode of SageMaker Processing; allowed: 'File' (copied before the script starts) or 'Pipe' (streamed through a named pipe)` +
            (v === 'FastFile' ? '. FastFile is a Training input mode; CreateProcessingJob refuses it' : ''),
      ),
    )
    .optional(),
  compression: oneOf('compression', COMPRESSION_TYPES, 'Gzip is decompressed while streaming, in Pipe mode only').optional(),
}).check((ctx) => {
  const { prefix, uri, from, partitioned } = ctx.value;
  const compression = compressionProblem(ctx.value.name, ctx.value.mode ?? 'File', ctx.value.compression ?? 'None');
  if (compression) ctx.issues.push({ code: 'custom', input: ctx.value.compression, path: ['compression'], message: compression });
  if ([prefix, uri, from].filter((v) => v !== undefined).length !== 1) {
    ctx.issues.push({
      code: 'custom',
      input: ctx.value,
      message:
        `input ${show(ctx.value.name)} needs exactly one of 'prefix' (a folder in the project bucket, e.g. 'raw/usage/'), ` +
        `'uri' (a folder or one object elsewhere, e.g. 's3://other-bucket/usage/' or 's3://models/churn/model.tar.gz') or 'from' (another purpose's output, e.g. 'usage-analysis/summary')`,
    });
  }
  if (ctx.value.kmsKey !== undefined && uri === undefined) {
    ctx.issues.push({
      code: 'custom',
      input: ctx.value.kmsKey,
      path: ['kmsKey'],
      message: `'kmsKey' applies to 'uri' inputs only (another bucket's key); the project's own folders are encrypted with the project key`,
    });
  }
  if (partitioned !== undefined && from !== undefined) {
    ctx.issues.push({
      code: 'custom',
      input: partitioned,
      path: ['partitioned'],
      message: `'partitioned' applies to 'prefix' and 'uri' inputs ('from' inputs are always read by dt= partition); leave it out`,
    });
  }
  const folder = prefix ?? uri;
  if (partitioned && folder !== undefined) {
    const problem = partitionedObjectProblem(ctx.value.name, folder);
    if (problem) ctx.issues.push({ code: 'custom', input: folder, path: [prefix !== undefined ? 'prefix' : 'uri'], message: problem });
  }
  if (ctx.value.complete !== undefined) {
    const problem = completeInputProblem(ctx.value.name, from !== undefined || partitioned === true);
    if (problem) ctx.issues.push({ code: 'custom', input: ctx.value.complete, path: ['complete'], message: problem });
  }
});

/** EventBridge Scheduler's six-field cron: minutes hours day-of-month month day-of-week year. */
const cron = z.string().check(by(cronProblem));
const rate = z.string().check(
  by((v: string) => {
    const m = /^(\d+) (minute|minutes|hour|hours|day|days)$/.exec(v.trim());
    const ok = m && Number(m[1]) >= 1 && (Number(m[1]) === 1) === !m[2].endsWith('s');
    return ok ? undefined : `${show(v)} is not a rate; use e.g. '1 day', '12 hours' or '30 minutes'`;
  }),
);

const schedule = strict({
  cron: cron.optional(),
  rate: rate.optional(),
  timezone: z.string().check(by(timeZoneProblem)).optional(),
}).check((ctx) => {
  if (ctx.value.cron !== undefined && ctx.value.timezone !== undefined && isTimeZone(ctx.value.timezone)) {
    const problem = cronDaylightSavingProblem(ctx.value.cron, ctx.value.timezone);
    if (problem) ctx.issues.push({ code: 'custom', input: ctx.value.cron, path: ['cron'], message: problem });
  }
  if ((ctx.value.cron === undefined) === (ctx.value.rate === undefined)) {
    ctx.issues.push({
      code: 'custom',
      input: ctx.value,
      message: `a schedule needs exactly one of 'cron' (e.g. '0 2 * * ? *') or 'rate' (e.g. '1 day')`,
    });
  }
});

const s3Arrival = strict({
  input: channelName,
  suffix: z
    .string()
    .min(1)
    .max(100)
    .regex(/^[A-Za-z0-9!_.()=+-]+$/, {
      error: (iss) => `suffix ${show(iss.input)} is invalid; use letters, digits and !_.()=+-, e.g. '.csv' or '.csv.gz'`,
    })
    .optional(),
  settle: z.union([z.string(), z.number()]).optional(),
  maxSettle: z.union([z.string(), z.number()]).optional(),
}).check((ctx) => {
  const { settle, maxSettle } = ctx.value;
  const seconds = (v: string | number | undefined) => (v === undefined ? undefined : (parseDuration(v) ?? -1));
  const problem = settleProblem(seconds(settle) ?? (ctx.value.suffix ? 0 : undefined), seconds(maxSettle), { settle, maxSettle });
  if (problem) {
    const path = problem.includes('valid maxSettle') ? 'maxSettle' : 'settle';
    ctx.issues.push({ code: 'custom', input: ctx.value[path], path: [path], message: problem });
  }
});

const scalar = z.union([z.string(), z.number(), z.boolean()]);
const parameter = strict({
  type: z.enum(PARAMETER_TYPES as [ParameterType, ...ParameterType[]], {
    error: (iss) => `${show(iss.input)} is not a parameter type; allowed: ${PARAMETER_TYPES.join(', ')}`,
  }),
  default: scalar.optional(),
  min: z.union([z.string(), z.number()]).optional(),
  max: z.union([z.string(), z.number()]).optional(),
  allowed: z.array(z.union([z.string(), z.number()])).optional(),
  description: z.string().max(256).optional(),
});

const triggers = strict({
  schedule: schedule.optional(),
  s3: z.array(s3Arrival).min(1).optional(),
  after: z.string({ error: (iss) => `after must be the name of another purpose of this project, got ${show(iss.input)}` }).optional(),
});

const table = strict({
  name: glueName('table name').optional(),
  description: z.string().max(2048).optional(),
  format: z
    .enum(['csv', 'parquet'], {
      error: (iss) => `${show(iss.input)} is not a table format; allowed: 'csv' (with a header line) or 'parquet'`,
    })
    .optional(),
  columns: z.record(z.string(), z.string().check(by(columnTypeProblem))).check((ctx) => {
    const names = Object.keys(ctx.value);
    if (names.length === 0)
      ctx.issues.push({
        code: 'custom',
        input: ctx.value,
        message: 'a table needs at least one column, e.g. columns: { vehicle_id: string, kwh: double }',
      });
    for (const n of names) {
      const message = columnNameProblem(n);
      if (message) ctx.issues.push({ code: 'custom', input: n, path: [n], message });
    }
  }),
});

const ruleNumber = (what: string) =>
  z.number({ error: (iss) => `${what} must be a number, e.g. ${what.split('.').pop()}: 0, got ${show(iss.input)}` });
const ruleFlag = (what: string, meaning: string) =>
  z.boolean({ error: (iss) => `${what} must be true (${meaning}) or false, got ${show(iss.input)}` });
const rules = strict({
  rows: strict({ min: ruleNumber('rows.min').optional(), max: ruleNumber('rows.max').optional() }).optional(),
  columns: z
    .record(
      z.string(),
      strict({
        notNull: ruleFlag('notNull', 'no value may be null').optional(),
        unique: ruleFlag('unique', 'no value may occur twice').optional(),
        min: ruleNumber('min').optional(),
        max: ruleNumber('max').optional(),
        values: z
          .array(z.union([z.string(), z.number()]), {
            error: (iss) => `values must list the allowed values, e.g. values: [ok, degraded], got ${show(iss.input)}`,
          })
          .optional(),
      }),
    )
    .optional(),
  drift: strict({ rows: ruleNumber('drift.rows').optional() }).optional(),
});

const output = strict({
  name: channelName,
  rules: rules.optional(),
  sample: z
    .number({ error: (iss) => `sample is how many rows of each run's output to keep, e.g. sample: 1000, got ${show(iss.input)}` })
    .check(by((v: number) => wholeNumberProblem('sample', v, 0, MAX_SAMPLE_ROWS)))
    .optional(),
  onViolation: oneOf('onViolation', ON_VIOLATION, 'fail stops the run before success is recorded, warn alarms and goes on').optional(),
  prefix: keyPrefix.optional(),
  localPath: localPath.optional(),
  uploadMode: oneOf('upload mode', UPLOAD_MODES, 'EndOfJob uploads when the script ends, Continuous as it writes').optional(),
  table: table.optional(),
  required: z
    .boolean({ error: (iss) => `required must be true (a run that writes nothing here fails) or false, got ${show(iss.input)}` })
    .optional(),
  featureGroup: strict({
    recordId: string('featureGroup.recordId'),
    eventTime: string('featureGroup.eventTime'),
    online: z
      .boolean({
        error: (iss) => `online must be true (also serve the newest record of each id with GetRecord) or false, got ${show(iss.input)}`,
      })
      .optional(),
    description: z.string().max(128).optional(),
  }).optional(),
});

/** A query that runs before the job (in Athena, or in Redshift); its result becomes the job's input `query`. */
const query = strict({
  engine: oneOf('query engine', QUERY_ENGINES, 'athena runs over Glue tables, redshift in a Redshift workgroup or cluster').optional(),
  file: z.string().regex(/^[^/].*\.sql$/, {
    error: (iss) =>
      `${show(iss.input)} is not a query file; give a path relative to the project folder ending with .sql, e.g. 'queries/fleet-report.sql'`,
  }),
  database: z.string().optional(),
  tables: z.array(glueName('table name')).optional(),
  locations: z
    .array(z.union([keyPrefix, s3Uri]))
    .min(1)
    .optional(),
  parameters: z
    .array(
      z.enum(['start', 'end'], {
        error: (iss) => `${show(iss.input)} is not a query parameter; allowed: 'start' and 'end' (the run's window)`,
      }),
    )
    .optional(),
  local: z
    .string()
    .regex(/^[^/].*\.csv$/, {
      error: (iss) =>
        `${show(iss.input)} is not a local query result; give a CSV file relative to the project folder, e.g. 'queries/fleet-report.sample.csv'`,
    })
    .optional(),
  workgroup: z
    .string()
    .check(by((v: string) => redshiftNameProblem('workgroup', v)))
    .optional(),
  cluster: z
    .string()
    .check(by((v: string) => redshiftNameProblem('cluster', v)))
    .optional(),
  secret: z
    .string({ error: (iss) => `a secret is the name or ARN of a Secrets Manager secret, got ${show(iss.input)}` })
    .min(1)
    .optional(),
  format: oneOf('unload format', UNLOAD_FORMATS, 'csv with a header line, or parquet').optional(),
}).check((ctx) => {
  const q = ctx.value;
  const issue = (path: string, input: unknown, message: string | undefined) => {
    if (message) ctx.issues.push({ code: 'custom', input, path: [path], message });
  };
  if ((q.engine ?? 'athena') === 'athena') {
    for (const key of ['workgroup', 'cluster', 'secret', 'format'] as const) {
      issue(
        key,
        q[key],
        q[key] === undefined ? undefined : `'${key}' is for engine: redshift; an Athena query runs in the project's workgroup`,
      );
    }
    if (q.tables === undefined || q.tables.length === 0) {
      issue('tables', q.tables, 'list the tables the query reads (tables: [...]); the state machine may read only those');
    }
    if (q.database !== undefined) issue('database', q.database, glueNameProblem('database', q.database));
    if (q.database !== undefined && q.locations === undefined) {
      issue(
        'locations',
        q.database,
        `a query over another database needs 'locations': the S3 folders its tables read (e.g. 'raw/usage/' or 's3://other-bucket/usage/'), so the state machine may read them and nothing else`,
      );
    }
    return;
  }
  if ((q.workgroup === undefined) === (q.cluster === undefined)) {
    issue(
      q.workgroup === undefined ? 'workgroup' : 'cluster',
      q,
      "a Redshift query needs exactly one of 'workgroup' (Redshift Serverless) or 'cluster' (a provisioned cluster)",
    );
  }
  if (q.secret === undefined) {
    issue(
      'secret',
      q,
      "a Redshift query needs 'secret': the name or ARN of the Secrets Manager secret with the database user's credentials, e.g. secret: prod/fleet-redshift",
    );
  }
  if (q.database === undefined)
    issue('database', q, "a Redshift query needs 'database': the Redshift database it runs in, e.g. database: dev");
  else issue('database', q.database, redshiftNameProblem('database', q.database));
  for (const key of ['tables', 'locations'] as const) {
    issue(
      key,
      q[key],
      q[key] === undefined ? undefined : `'${key}' is for engine: athena; a Redshift query reads what its database user may read`,
    );
  }
});

const athena = strict({
  bytesScannedCutoff: z
    .string()
    .check(by((v: string) => bytesScannedCutoffProblem(parseSize(v), v)))
    .optional(),
});

const relativeFile = (what: string, example: string, pattern = /^[^/]/) =>
  z.string().regex(pattern, {
    error: (iss) => `${show(iss.input)} is not a ${what}; give a path relative to the project folder, e.g. ${show(example)}`,
  });

const vpc = strict({
  subnetIds: z
    .array(
      z
        .string()
        .regex(/^subnet-[0-9a-f]{8,17}$/, { error: (iss) => `${show(iss.input)} is not a subnet id, e.g. 'subnet-0abc1234def567890'` }),
    )
    .min(1, { error: 'list at least one subnet id' }),
  securityGroupIds: z
    .array(
      z
        .string()
        .regex(/^sg-[0-9a-f]{8,17}$/, { error: (iss) => `${show(iss.input)} is not a security group id, e.g. 'sg-0abc1234def567890'` }),
    )
    .min(1, { error: 'list at least one security group id' }),
});

const spark = strict({
  runtime: string('spark.runtime').check(by(sparkRuntimeProblem)).optional(),
  release: string('spark.release').optional(),
  maxCapacity: strict({
    cpu: z
      .union([z.string(), z.number()])
      .check(by((v) => (parseVcpu(v) !== undefined ? undefined : `cpu ${show(v)} is not a number of vCPUs; write e.g. 64 vCPU`))),
    memory: z
      .string()
      .check(
        by((v) =>
          parseSize(v) !== undefined && parseSize(v)! >= 1e9
            ? undefined
            : `memory ${show(v)} is not a size of at least 1 GB; write e.g. 256 GB`,
        ),
      ),
  }).optional(),
  config: z.record(z.string(), z.unknown()).optional(),
  pyFiles: z.array(relativeFile('Python file or package folder', 'scripts/lib/')).optional(),
  mainClass: string('spark.mainClass').optional(),
  eventLogs: z
    .boolean({ error: (iss) => `eventLogs must be true (keep Spark's event logs for the Spark UI) or false, got ${show(iss.input)}` })
    .optional(),
});

/** A database the purpose copies a table or query of (BatCat's ingestion program). */
const source = strict({
  engine: oneOf('database engine', DB_ENGINES, 'postgres for PostgreSQL and Aurora PostgreSQL, mysql for MySQL, MariaDB and Aurora MySQL'),
  secret: z.string({ error: (iss) => `a secret is the name or ARN of a Secrets Manager secret, got ${show(iss.input)}` }).optional(),
  table: string('source.table').optional(),
  query: relativeFile('query file', 'queries/orders.sql', /^[^/].*\.sql$/).optional(),
  incremental: string('source.incremental').optional(),
  local: string('source.local')
    .check(
      by((v: string) => {
        let u: URL;
        try {
          u = new URL(v);
        } catch {
          return `${show(v)} is not a database URL; write e.g. postgres://postgres@127.0.0.1:5432/shop (run-local reads this database)`;
        }
        if (u.password !== '')
          return 'source.local holds a password, which does not belong in a committed file: leave it out of the URL and set PGPASSWORD (postgres) or MYSQL_PWD (mysql), or give the whole URL in BATCAT_SOURCE_URL';
        return undefined;
      }),
    )
    .optional(),
});

/** A Spark purpose: a script Spark runs, the runtime's release, the settings that apply to it. */
function sparkIssues(
  p: { readonly spark?: z.infer<typeof spark>; readonly script?: string } & Record<string, unknown>,
  issue: (path: PropertyKey[], input: unknown, message: string | undefined) => void,
): void {
  const s = p.spark!;
  const runtime = (s.runtime ?? SPARK_DEFAULTS.runtime) as SparkRuntimeName;
  if (!(SPARK_RUNTIMES as readonly string[]).includes(runtime)) return;
  if (p.script === undefined)
    issue(
      ['spark'],
      s,
      "spark runs the purpose's script: add script, e.g. script: scripts/fleet_daily.py (a PySpark script, or a jar with spark.mainClass)",
    );
  else issue(['script'], p.script, sparkScriptProblem(p.script, s.mainClass));
  for (const setting of SPARK_CHECKED_SETTINGS) {
    if (p[setting] !== undefined) issue([setting], p[setting], sparkSettingProblem(runtime, setting));
  }
  if (s.release !== undefined) issue(['spark', 'release'], s.release, sparkReleaseProblem(runtime, s.release));
  if (s.maxCapacity !== undefined) issue(['spark', 'maxCapacity'], s.maxCapacity, sparkCapacityProblem(runtime, false));
  for (const c of sparkConfigProblems(s.config ?? {})) issue(['spark', 'config', c.key], s.config![c.key], c.message);
}

const purpose = strict({
  name: string('purpose name').check(by(purposeNameProblem)),
  description: z.string().max(256).optional(),
  container: z.string().min(1).optional(),
  image: z.string().check(by(ecrImageProblem)).optional(),
  framework: string('framework').check(by(frameworkProblem)).optional(),
  script: relativeFile('Python script', 'scripts/preprocessing.py').optional(),
  sourceDir: relativeFile('folder', 'scripts/').optional(),
  entrypoint: strings('entrypoint', "['python3', '/opt/program/train.py']").check(by(entrypointProblem)).optional(),
  arguments: strings('arguments', "['--train-test-split-ratio', '0.2']").optional(),
  parameters: z.record(z.string(), parameter).optional(),
  cache: z
    .boolean({
      error: (iss) =>
        `cache must be true (skip a run whose code, arguments, parameters and inputs are unchanged) or false, got ${show(iss.input)}`,
    })
    .optional(),
  networkIsolation: z
    .boolean({ error: (iss) => `networkIsolation must be true (the script has no network) or false, got ${show(iss.input)}` })
    .optional(),
  vpc: vpc.optional(),
  instanceType: z.string().check(by(instanceTypeProblem)).optional(),
  instanceCount: whole(instanceCountProblem).optional(),
  volumeSizeGb: whole(volumeSizeGbProblem).optional(),
  maxRuntime: duration.optional(),
  quotaWait: quotaWait.optional(),
  environment: environment.optional(),
  secrets: z
    .record(z.string(), z.string({ error: (iss) => `a secret is the name or ARN of a Secrets Manager secret, got ${show(iss.input)}` }))
    .optional(),
  inputs: z.array(input).optional(),
  outputs: z.array(output).min(1, { error: 'a purpose needs at least one output; declare e.g. outputs: [{ name: result }]' }),
  window: days('window').optional(),
  maxWindow: days('maxWindow').optional(),
  backfillConcurrency: whole(backfillConcurrencyProblem).optional(),
  freshness: freshness.optional(),
  triggers: triggers.optional(),
  query: query.optional(),
  spark: spark.optional(),
  source: source.optional(),
}).check((ctx) => {
  const p = ctx.value;
  const inputs = p.inputs ?? [];
  const issue = (path: PropertyKey[], input: unknown, message: string | undefined) => {
    if (message) ctx.issues.push({ code: 'custom', input, path, message });
  };
  if (p.query !== undefined) {
    const clash = inputs.findIndex((i) => i.name === 'query');
    issue(['inputs', clash, 'name'], 'query', queryInputClashProblem(inputs.map((i) => i.name)));
  }
  for (const problem of secretReferenceProblems(p.secrets ?? {}, p.environment ?? {}, p.networkIsolation ?? true)) {
    issue(problem.key !== undefined ? ['secrets', problem.key] : ['secrets'], p.secrets, problem.message);
  }
  const windowDays = parseDays(p.window ?? '1d')!;
  const maxWindowDays = p.maxWindow !== undefined ? parseDays(p.maxWindow)! : windowDays;
  issue(['maxWindow'], p.maxWindow, maxWindowProblem(windowDays, maxWindowDays));
  const schedule = p.triggers?.schedule;
  if (schedule?.cron !== undefined)
    issue(['triggers', 'schedule', 'cron'], schedule.cron, schedulePeriodProblem(`cron(${schedule.cron.trim()})`, windowDays));
  if (schedule?.rate !== undefined)
    issue(['triggers', 'schedule', 'rate'], schedule.rate, schedulePeriodProblem(`rate(${schedule.rate.trim()})`, windowDays));
  const placeholders = {
    parameters: Object.keys(p.parameters ?? {}),
    inputs: [...inputs.map((i) => i.name), ...(p.query ? ['query'] : [])],
    outputs: p.outputs.map((o) => o.name),
  };
  for (const a of argumentProblems('arguments', p.arguments ?? [], placeholders))
    issue(['arguments', a.index], p.arguments![a.index], a.message);
  for (const x of parameterSpecProblems((p.parameters ?? {}) as Record<string, ParameterSpec>))
    issue(['parameters', ...x.path], p.parameters, x.message);
  const prefixInputs = inputs.filter((x) => x.prefix !== undefined).map((x) => x.name);
  (p.triggers?.s3 ?? []).forEach((a, n) => issue(['triggers', 's3', n, 'input'], a.input, s3ArrivalInputProblem(a.input, prefixInputs)));
  p.outputs.forEach((o, n) => {
    if (o.featureGroup === undefined) return;
    const columns = o.table && Object.entries(o.table.columns).map(([name, type]) => ({ name, type: String(type) }));
    for (const x of featureGroupProblems(o.name, o.featureGroup, columns))
      issue(['outputs', n, ...x.field.split('.')], o.featureGroup, x.message);
  });
  if (p.source !== undefined) {
    const given = [...PROGRAM_SETTINGS, 'inputs'].filter((k) => p[k as keyof typeof p] !== undefined);
    for (const x of databaseSourceProblems({
      ...p.source,
      otherSettings: given,
      vpc: p.vpc !== undefined,
      networkIsolation: p.networkIsolation,
      outputs: p.outputs.length,
      tableFormat: p.outputs[0]?.table ? (p.outputs[0].table.format ?? 'csv') : undefined,
    }))
      issue(
        x.field.split('.').map((k) => (/^\d+$/.test(k) ? Number(k) : k)),
        p,
        x.message,
      );
    return;
  }
  if (p.spark !== undefined) sparkIssues(p, issue);
  else if (p.script !== undefined) issue(['script'], p.script, scriptFileProblem(p.script));
  const images = (['container', 'image', 'framework'] as const).filter((k) => p[k] !== undefined);
  if (images.length > 1 && p.spark === undefined) {
    issue(
      [images[1]],
      p[images[1]],
      `purpose ${show(p.name)} sets ${images.map(show).join(' and ')}; give one: 'container' to build from a folder, 'image' for an existing ECR image, ` +
        `or 'framework' for a SageMaker framework image such as 'sklearn:1.2-1'`,
    );
  }
  if (p.framework !== undefined && p.script === undefined && p.entrypoint === undefined && p.spark === undefined) {
    issue(['framework'], p.framework, `a framework image runs your script: add 'script', e.g. script: scripts/preprocessing.py`);
  }
  issue(['entrypoint'], p.entrypoint, scriptWithEntrypointProblem(p.script, p.entrypoint));
  issue(['sourceDir'], p.sourceDir, sourceWithoutScriptProblem('sourceDir', p.sourceDir, p.script));
  if (p.script !== undefined) {
    const clash = inputs.findIndex((i) => i.name === CODE_INPUT_NAME);
    issue(['inputs', clash, 'name'], CODE_INPUT_NAME, codeInputClashProblem(inputs.map((i) => i.name)));
  }
  const channels = [
    ...inputs.map((i, n) => ({
      kind: 'input',
      name: i.name,
      localPath: i.localPath ?? defaultInputPath(i.name),
      at: ['inputs', n, 'localPath'],
    })),
    ...(p.query ? [{ kind: 'input', name: 'query', localPath: defaultInputPath('query'), at: ['query'] }] : []),
    ...(p.script !== undefined ? [{ kind: 'input', name: CODE_INPUT_NAME, localPath: CODE_PATH, at: ['script'] }] : []),
    ...p.outputs.map((o, n) => ({
      kind: 'output',
      name: o.name,
      localPath: o.localPath ?? defaultOutputPath(o.name),
      at: ['outputs', n, 'localPath'],
    })),
  ];
  for (const c of channelPathProblems(channels)) issue(channels[c.index].at, channels[c.index].localPath, c.message);
  for (const kind of ['input', 'output'] as const) {
    const count = channels.filter((c) => c.kind === kind).length;
    if (count > PROCESSING_LIMITS.maxChannels) {
      issue(
        [`${kind}s`],
        count,
        `purpose ${show(p.name)} has ${count} ${kind}s${kind === 'input' ? ' (counting the query result and the script)' : ''}; a SageMaker Processing job takes at most ${PROCESSING_LIMITS.maxChannels}`,
      );
    }
  }
  for (const [kind, list] of [
    ['input', inputs],
    ['output', p.outputs],
  ] as const) {
    for (const d of duplicateProblems(
      kind,
      list.map((c) => c.name),
    ))
      issue([`${kind}s`, d.index, 'name'], list[d.index].name, d.message);
  }
});

/** A managed stream that delivers records into a raw folder of the project's storage. */
const ingest = strict({
  name: string('ingest name').check(by(ingestNameProblem)),
  stream: oneOf('stream', INGEST_STREAMS, 'a Firehose stream that producers put records into (Direct PUT)'),
  prefix: keyPrefix,
  format: oneOf('ingest format', INGEST_FORMATS, 'json keeps the records as sent, parquet converts them with the columns').optional(),
  columns: table.shape.columns.optional(),
  table: glueName('table name').optional(),
  description: z.string().max(2048).optional(),
  partitionBy: string('partitionBy').optional(),
  buffer: strict({
    seconds: z
      .number()
      .check(by((v: number) => ingestBufferProblem('seconds', v)))
      .optional(),
    mb: z
      .number()
      .check(by((v: number) => ingestBufferProblem('mb', v)))
      .optional(),
  }).optional(),
  freshness: freshness.optional(),
}).check((ctx) => {
  const x = ctx.value;
  const columns = x.columns ? Object.keys(x.columns) : undefined;
  const issue = (path: PropertyKey[], input: unknown, message: string | undefined) => {
    if (message) ctx.issues.push({ code: 'custom', input, path, message });
  };
  issue(['format'], x.format, ingestSchemaProblem(x.name, x.format ?? 'json', columns));
  const byField = x.partitionBy !== undefined && x.partitionBy !== 'arrival';
  if (byField) issue(['partitionBy'], x.partitionBy, ingestPartitionFieldProblem(x.partitionBy!, columns));
  const why = x.format === 'parquet' ? 'converting to parquet' : byField ? 'partitioning by a field' : undefined;
  if (x.buffer?.mb !== undefined && why) issue(['buffer', 'mb'], x.buffer.mb, ingestBufferProblem('mb', x.buffer.mb, why));
  if (x.table !== undefined && columns === undefined)
    issue(['table'], x.table, `a table needs the columns it reads: declare columns, e.g. columns: { vehicle_id: string, soc: double }`);
});

export const projectSchema = strict({
  project: string('project name').check(by(projectNameProblem)),
  stage: z.string().check(by(stageProblem)).default('dev'),
  description: z.string().max(512).optional(),
  alarmEmails: z.array(z.email({ error: (iss) => `${show(iss.input)} is not an e-mail address` })).default([]),
  allowedImageAccounts: z
    .array(z.string().regex(/^\d{12}$/, { error: (iss) => `${show(iss.input)} is not an AWS account id (12 digits)` }))
    .optional(),
  dataAccess: z.array(z.string().check(by(dataAccessPrincipalProblem))).default([]),
  storage: oneOf('storage', STORAGE_MODES, 'per-purpose gives each purpose a bucket of its own, shared keeps one project bucket').default(
    DEFAULT_STORAGE,
  ),
  athena: athena.optional(),
  keepVersions: string('keepVersions')
    .check(by((v: string) => keepVersionsProblem(parseDays(v), v)))
    .optional(),
  lakeFormation: z
    .union(
      [
        z.boolean(),
        strict({
          registerLocations: z.boolean({ error: (iss) => `registerLocations must be true or false, got ${show(iss.input)}` }).optional(),
        }),
      ],
      {
        error: (iss) =>
          `lakeFormation must be true, false or { registerLocations: true }, got ${show(iss.input)}; true grants the query roles Lake Formation permissions on the project's tables`,
      },
    )
    .optional(),
  ingest: z.array(ingest).optional(),
  purposes: z.array(purpose).min(1, { error: 'a project needs at least one purpose' }),
}).check((ctx) => {
  const purposes = ctx.value.purposes;
  const ingests = ctx.value.ingest ?? [];
  for (const d of duplicateProblems(
    'ingest',
    ingests.map((x) => x.name),
  )) {
    ctx.issues.push({ code: 'custom', input: ingests[d.index].name, path: ['ingest', d.index, 'name'], message: d.message });
  }
  for (const d of duplicateProblems(
    'purpose',
    purposes.map((p) => p.name),
  )) {
    ctx.issues.push({
      code: 'custom',
      input: purposes[d.index].name,
      path: ['purposes', d.index, 'name'],
      message: `${d.message}; every purpose needs its own name`,
    });
  }
  const byName = new Map(purposes.map((p) => [p.name, p]));
  const tables = new Map<string, string>();
  ingests.forEach((x, n) => {
    if (x.columns === undefined) return;
    const name = x.table ?? ingestTableName(x.name);
    if (tables.has(name))
      ctx.issues.push({
        code: 'custom',
        input: name,
        path: ['ingest', n, x.table !== undefined ? 'table' : 'name'],
        message: `table ${show(name)} is also registered by ${tables.get(name)}; give one of them another table name`,
      });
    else tables.set(name, `ingest ${show(x.name)}`);
  });
  purposes.forEach((p, i) =>
    p.outputs.forEach((o, n) => {
      const at = ['purposes', i, 'outputs', n];
      const needsTable = (['rules', 'onViolation', 'sample'] as const).find((k) => o[k] !== undefined);
      if (needsTable !== undefined && o.table === undefined) {
        ctx.issues.push({
          code: 'custom',
          input: o[needsTable],
          path: [...at, needsTable],
          message: `${needsTable} is about the output's table (its profile, rules and sample); declare one, e.g. ${FIELD_EXAMPLES.table}`,
        });
      }
      if (o.table === undefined) return;
      if (o.rules !== undefined) {
        const columns = Object.entries(o.table.columns).map(([name, type]) => ({ name, type }));
        for (const r of rulesProblems(o.rules, columns))
          ctx.issues.push({ code: 'custom', input: o.rules, path: [...at, 'rules', ...r.path], message: r.message });
      }
      const name = o.table.name ?? resultTableName(p.name, o.name);
      if (tables.has(name)) {
        ctx.issues.push({
          code: 'custom',
          input: name,
          path: ['purposes', i, 'outputs', n, 'table'],
          message: `table ${show(name)} is also registered by ${tables.get(name)}; give one of them another table name`,
        });
      } else {
        tables.set(name, `${p.name}/${o.name}`);
      }
    }),
  );
  const folders: Array<BucketFolder & { path: PropertyKey[] }> = purposes.flatMap((p, i) => [
    ...p.outputs.map((o, n) => ({
      name: `purpose ${show(p.name)} output ${show(o.name)}`,
      prefix: o.prefix ?? resultsPrefix(p.name, o.name),
      writes: true,
      path: ['purposes', i, 'outputs', n, o.prefix !== undefined ? 'prefix' : 'name'],
    })),
    ...(p.inputs ?? [])
      .filter((x) => x.prefix !== undefined)
      .map((x) => ({ name: `purpose ${show(p.name)} input ${show(x.name)}`, prefix: x.prefix!, writes: false, path: [] })),
  ]);
  ingests.forEach((x, n) =>
    folders.push({ name: `ingest ${show(x.name)}`, prefix: x.prefix, writes: true, delivers: true, path: ['ingest', n, 'prefix'] }),
  );
  if (ctx.value.storage === 'per-purpose' && purposes.length > MAX_PER_PURPOSE_BUCKETS) {
    ctx.issues.push({
      code: 'custom',
      input: purposes.length,
      path: ['storage'],
      message: `storage 'per-purpose' allows at most ${MAX_PER_PURPOSE_BUCKETS} purposes in one project file (each brings a bucket and its policy to the parent stack, which CloudFormation limits to 500 resources and 1 MB), this project has ${purposes.length}; set storage: shared, or move some purposes into a second project file`,
    });
  }
  // One stack, one region: every input key must be in it (kmsKeyRegionProblem), so in one region.
  const keys = purposes.flatMap((p, i) =>
    (p.inputs ?? []).flatMap((x, n) =>
      x.kmsKey !== undefined && kmsKeyRegion(x.kmsKey) ? [{ arn: x.kmsKey, path: ['purposes', i, 'inputs', n, 'kmsKey'] }] : [],
    ),
  );
  for (const k of keys.filter((x) => kmsKeyRegion(x.arn) !== kmsKeyRegion(keys[0].arn))) {
    ctx.issues.push({
      code: 'custom',
      input: k.arn,
      path: k.path,
      message: `${show(k.arn)} is in ${kmsKeyRegion(k.arn)}, but ${show(keys[0].arn)} is in ${kmsKeyRegion(keys[0].arn)}: a project deploys to one region, and a job decrypts only through S3 of its own region; keep the encrypted inputs of one project in one region`,
    });
  }
  // Reported once, at the first output too many; per-purpose buckets hold one purpose's outputs (at most 10) each.
  const outputs = (ctx.value.storage === 'shared' ? purposes : []).flatMap((p, i) =>
    p.outputs.map((o, n) => ({ name: o.name, path: ['purposes', i, 'outputs', n, 'name'] })),
  );
  const oneTooMany = outputs[MAX_PROJECT_OUTPUTS];
  const problem = outputCountProblem(MAX_PROJECT_OUTPUTS + 1);
  if (oneTooMany && problem) ctx.issues.push({ code: 'custom', input: oneTooMany.name, path: oneTooMany.path, message: problem });
  for (const o of folderOverlapProblems(folders, QUERY_RESULTS_PREFIX)) {
    ctx.issues.push({ code: 'custom', input: folders[o.index].prefix, path: folders[o.index].path, message: o.message });
  }
  purposes.forEach((p, i) => {
    const problem = p.image !== undefined ? imageAccountProblem(p.image, ctx.value.allowedImageAccounts) : undefined;
    if (problem) ctx.issues.push({ code: 'custom', input: p.image, path: ['purposes', i, 'image'], message: problem });
  });
  const names = [...byName.keys()].map(show).join(', ');
  purposes.forEach((p, i) => {
    const after = p.triggers?.after;
    if (after !== undefined) {
      const path = ['purposes', i, 'triggers', 'after'];
      if (after === p.name)
        ctx.issues.push({ code: 'custom', input: after, path, message: `purpose ${show(p.name)} cannot run after itself` });
      else if (!byName.has(after))
        ctx.issues.push({
          code: 'custom',
          input: after,
          path,
          message: `${show(after)} is not a purpose of this project; allowed: ${names}`,
        });
      else {
        // Follow the chain back: a cycle would start every purpose in it forever.
        const chain = [p.name];
        for (let q = byName.get(after); q !== undefined; q = q.triggers?.after ? byName.get(q.triggers.after) : undefined) {
          if (chain.includes(q.name)) {
            ctx.issues.push({
              code: 'custom',
              input: after,
              path,
              message: `${show(after)} makes a cycle (${[...chain, q.name].join(' -> ')}); a chain of purposes must have a first purpose`,
            });
            break;
          }
          chain.push(q.name);
        }
      }
    }
    if (p.query !== undefined && (p.query.engine ?? 'athena') === 'athena' && p.query.database === undefined) {
      (p.query.tables ?? []).forEach((t, n) => {
        if (!tables.has(t)) {
          ctx.issues.push({
            code: 'custom',
            input: t,
            path: ['purposes', i, 'query', 'tables', n],
            message:
              `${show(t)} is not a table of this project (${tables.size > 0 ? `its tables: ${[...tables.keys()].map(show).join(', ')}` : 'no output declares a table'}); ` +
              `declare it as an output's table, or set query.database and query.locations for a table of another database`,
          });
        }
      });
    }
    (p.inputs ?? []).forEach((input, n) => {
      if (input.from === undefined) return;
      const [purposeName, outputName] = input.from.split('/');
      const source = byName.get(purposeName);
      const path = ['purposes', i, 'inputs', n, 'from'];
      if (!source || purposeName === p.name) {
        ctx.issues.push({
          code: 'custom',
          input: input.from,
          path,
          message: `${show(input.from)} names ${purposeName === p.name ? 'this purpose itself' : `no purpose of this project (allowed: ${names})`}`,
        });
      } else if (!source.outputs.some((o) => o.name === outputName)) {
        ctx.issues.push({
          code: 'custom',
          input: input.from,
          path,
          message: `purpose ${show(purposeName)} has no output ${show(outputName)}; its outputs: ${source.outputs.map((o) => show(o.name)).join(', ')}`,
        });
      }
    });
  });
});

/** A project file as written, after defaults. */
export type ProjectFile = z.output<typeof projectSchema>;
export type PurposeFile = ProjectFile['purposes'][number];
