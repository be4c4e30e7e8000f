import { z } from 'zod';
import { isTimeZone } from '../runtime/run-contract';
import { GLUE_NAME, KEBAB_NAME, KEY_PREFIX, MAX_PURPOSE_NAME_LENGTH, resultTableName } from '../constructs/name-rules';
import { PROCESSING_INSTANCE_TYPES, PROCESSING_LIMITS, suggestInstanceTypes } from '../constructs/processing-instance-types';

/*
 * The schema of `projects/<project>.yaml`. Every message names the bad value and what is
 * allowed; the loader adds the file, line and field path.
 */

const show = (v: unknown): string => (typeof v === 'string' ? `'${v}'` : JSON.stringify(v));

/** A strict object whose unknown-key error lists the keys that are allowed. */
function strict<T extends z.ZodRawShape>(shape: T) {
  const allowed = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (iss) => (iss.code === 'unrecognized_keys'
      ? `unknown key ${iss.keys.map(show).join(', ')}; allowed keys: ${allowed}`
      : undefined),
  });
}

/** Turns a rejected name into the closest valid one, for the error message. */
export function suggestName(value: string, maxLength: number): string {
  const s = value.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, maxLength);
  return s.replace(/-+$/, '') || 'my-project';
}

function kebabName(what: string, why: string, minLength: number, maxLength: number) {
  return z.string({ error: (iss) => `${what} must be a string, got ${show(iss.input)}` }).check((ctx) => {
    const v = ctx.value;
    let problem: string | undefined;
    if (v.length < minLength || v.length > maxLength) problem = `must be ${minLength}-${maxLength} characters long (it is ${v.length})`;
    else if (!KEBAB_NAME.test(v)) problem = 'may only contain lowercase letters, digits and single hyphens, and must start and end with a letter or digit';
    if (problem) {
      ctx.issues.push({
        code: 'custom',
        input: v,
        message: `${what} ${show(v)} is invalid: ${problem} (${why}); try ${show(suggestName(v, maxLength))}`,
      });
    }
  });
}

/** `30m`, `2h`, `1d` or a number of seconds, within SageMaker's 1 s to 9 day range. */
export function parseDuration(v: string | number): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) ? v : undefined;
  const m = /^(\d+)\s*(s|m|h|d)$/.exec(v.trim());
  if (!m) return undefined;
  return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[m[2] as 's' | 'm' | 'h' | 'd'];
}
const duration = z.union([z.string(), z.number()]).check((ctx) => {
  const seconds = parseDuration(ctx.value);
  if (seconds === undefined || seconds < 1 || seconds > PROCESSING_LIMITS.maxRuntimeSeconds) {
    ctx.issues.push({
      code: 'custom',
      input: ctx.value,
      message: `${show(ctx.value)} is not a valid max runtime; use a duration such as '45m', '2h' or '1d' between 1 second and 9 days (SageMaker's limit)`,
    });
  }
});

const instanceType = z.string().check((ctx) => {
  if (!PROCESSING_INSTANCE_TYPES.includes(ctx.value)) {
    ctx.issues.push({
      code: 'custom',
      input: ctx.value,
      message: `${show(ctx.value)} is not a SageMaker Processing instance type; did you mean ${suggestInstanceTypes(ctx.value).map(show).join(' or ')}? `
        + `Allowed: ${PROCESSING_INSTANCE_TYPES.join(', ')}`,
    });
  }
});

function intRange(what: string, min: number, max: number) {
  return z.number({ error: (iss) => `${what} must be a whole number from ${min} to ${max}, got ${show(iss.input)}` })
    .int({ error: (iss) => `${what} must be a whole number from ${min} to ${max}, got ${show(iss.input)}` })
    .min(min, { error: (iss) => `${what} must be a whole number from ${min} to ${max}, got ${show(iss.input)}` })
    .max(max, { error: (iss) => `${what} must be a whole number from ${min} to ${max}, got ${show(iss.input)}` });
}

/** A key prefix inside a bucket: relative, ends with '/', no '..', only S3-safe characters. */
const keyPrefix = z.string().check((ctx) => {
  const v = ctx.value;
  if (v === '' || !KEY_PREFIX.test(v) || v.split('/').some((p) => p === '.' || p === '..')) {
    ctx.issues.push({
      code: 'custom',
      input: v,
      message: `${show(v)} is not a valid key prefix; use folders of letters, digits and !_.*()=+- separated by '/', ending with '/', without a leading '/', e.g. 'raw/usage/'`,
    });
  }
});

const s3Uri = z.string().check((ctx) => {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/(.*)$/.exec(ctx.value);
  if (!m || !KEY_PREFIX.test(m[2])) {
    ctx.issues.push({
      code: 'custom',
      input: ctx.value,
      message: `${show(ctx.value)} is not a valid S3 folder URI; use 's3://<bucket>/<prefix>/', ending with '/'`,
    });
  }
});

const channelName = z.string().check((ctx) => {
  if (!/^[a-z0-9][a-z0-9_-]{0,63}$/.test(ctx.value)) {
    ctx.issues.push({
      code: 'custom',
      input: ctx.value,
      message: `${show(ctx.value)} is not a valid name; use up to 64 lowercase letters, digits, '_' or '-', starting with a letter or digit (it becomes a folder under /opt/ml/processing)`,
    });
  }
});

const ECR_IMAGE = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\/([a-z0-9._/-]+)(?::([\w.-]{1,128})|@(sha256:[a-f0-9]{64}))$/;
/** Parses an ECR image URI into its parts, or returns undefined. */
export function parseEcrImageUri(uri: string) {
  const m = ECR_IMAGE.exec(uri);
  return m ? { account: m[1], region: m[2], repository: m[3], tag: m[4], digest: m[5] } : undefined;
}
const imageUri = z.string().check((ctx) => {
  if (!parseEcrImageUri(ctx.value)) {
    ctx.issues.push({
      code: 'custom',
      input: ctx.value,
      message: `${show(ctx.value)} is not an ECR image URI; SageMaker Processing pulls from ECR: '<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>' (or '@sha256:<digest>')`,
    });
  }
});

const SECRET_LIKE = /(PASSWORD|PASSWD|SECRET|TOKEN|PRIVATE_KEY|ACCESS_KEY|API_KEY|CREDENTIAL)/i;
const environment = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).check((ctx) => {
  const entries = Object.entries(ctx.value);
  if (entries.length > 90) {
    ctx.issues.push({ code: 'custom', input: entries.length, message: `${entries.length} environment variables declared; at most 90 are allowed (SageMaker allows 100, BatCat reserves 10)` });
  }
  for (const [key, value] of entries) {
    const path = [key];
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,255}$/.test(key)) {
      ctx.issues.push({ code: 'custom', input: key, path, message: `environment variable name ${show(key)} is invalid; use letters, digits and '_', not starting with a digit` });
    } else if (key.startsWith('BATCAT_')) {
      ctx.issues.push({ code: 'custom', input: key, path, message: `environment variable ${show(key)} uses the reserved prefix 'BATCAT_'; BatCat sets those itself` });
    } else if (SECRET_LIKE.test(key)) {
      ctx.issues.push({ code: 'custom', input: key, path, message: `environment variable ${show(key)} looks like a secret; environment variables end up in the template and the job description, so keep secrets in AWS Secrets Manager and read them at run time` });
    }
    if (String(value).length > 256) {
      ctx.issues.push({ code: 'custom', input: value, path, message: `environment variable ${show(key)} is ${String(value).length} characters long; SageMaker allows at most 256` });
    }
  }
});

/** `<purpose>/<output>`: another purpose's output, read one window partition at a time. */
const outputRef = z.string().regex(/^[a-z0-9-]+\/[a-z0-9_-]+$/, {
  error: (iss) => `${show(iss.input)} is not an output reference; write '<purpose>/<output>', e.g. 'usage-analysis/summary'`,
});

const input = strict({
  name: channelName,
  prefix: keyPrefix.optional(),
  uri: s3Uri.optional(),
  from: outputRef.optional(),
  partitioned: z.boolean({ error: (iss) => `partitioned must be true or false, got ${show(iss.input)}` }).optional(),
  distribution: z.enum(['FullyReplicated', 'ShardedByS3Key'], {
    error: (iss) => `${show(iss.input)} is not a distribution; allowed: 'FullyReplicated' (every instance gets all files) or 'ShardedByS3Key' (files are split across instances)`,
  }).optional(),
}).check((ctx) => {
  const { prefix, uri, from, partitioned } = ctx.value;
  if ([prefix, uri, from].filter((v) => v !== undefined).length !== 1) {
    ctx.issues.push({
      code: 'custom',
      input: ctx.value,
      message: `input ${show(ctx.value.name)} needs exactly one of 'prefix' (a folder in the project bucket, e.g. 'raw/usage/'), `
        + `'uri' (a folder elsewhere, e.g. 's3://other-bucket/usage/') or 'from' (another purpose's output, e.g. 'usage-analysis/summary')`,
    });
  }
  if (partitioned !== undefined && prefix === undefined) {
    ctx.issues.push({
      code: 'custom',
      input: partitioned,
      path: ['partitioned'],
      message: `'partitioned' applies to 'prefix' inputs only ('from' inputs are always read one partition at a time)`,
    });
  }
});

/** `7d`: a whole number of days. */
function days(what: string, max: number) {
  return z.string({ error: (iss) => `${what} must be a number of days such as '1d' or '7d', got ${show(iss.input)}` }).check((ctx) => {
    const m = /^(\d+)d$/.exec(ctx.value);
    if (!m || Number(m[1]) < 1 || Number(m[1]) > max) {
      ctx.issues.push({ code: 'custom', input: ctx.value, message: `${what} ${show(ctx.value)} is invalid: use a whole number of days from '1d' to '${max}d', e.g. '1d' or '7d'` });
    }
  });
}
export const daysOf = (v: string): number => Number(v.slice(0, -1));

const timezone = z.string().check((ctx) => {
  if (!isTimeZone(ctx.value)) {
    ctx.issues.push({ code: 'custom', input: ctx.value, message: `${show(ctx.value)} is not an IANA time zone; use a name such as 'UTC', 'Europe/Berlin' or 'America/New_York'` });
  }
});

/** EventBridge Scheduler's six-field cron: minutes hours day-of-month month day-of-week year. */
const cron = z.string().check((ctx) => {
  const fields = ctx.value.trim().split(/\s+/);
  const ok = fields.length === 6 && fields.every((f) => /^[\d*?,/LW#A-Z-]+$/i.test(f)) && (fields[2] === '?' || fields[4] === '?');
  if (!ok) {
    ctx.issues.push({
      code: 'custom',
      input: ctx.value,
      message: `${show(ctx.value)} is not an EventBridge Scheduler cron expression; it has six fields, minutes hours day-of-month month day-of-week year, `
        + `with '?' in day-of-month or day-of-week, e.g. '0 2 * * ? *' (02:00 every day)`,
    });
  }
});
const rate = z.string().check((ctx) => {
  const m = /^(\d+) (minute|minutes|hour|hours|day|days)$/.exec(ctx.value.trim());
  if (!m || Number(m[1]) < 1 || (Number(m[1]) === 1) !== !m[2].endsWith('s')) {
    ctx.issues.push({ code: 'custom', input: ctx.value, message: `${show(ctx.value)} is not a rate; use e.g. '1 day', '12 hours' or '30 minutes'` });
  }
});

const schedule = strict({
  cron: cron.optional(),
  rate: rate.optional(),
  timezone: timezone.optional(),
}).check((ctx) => {
  if ((ctx.value.cron === undefined) === (ctx.value.rate === undefined)) {
    ctx.issues.push({ code: 'custom', input: ctx.value, message: `a schedule needs exactly one of 'cron' (e.g. '0 2 * * ? *') or 'rate' (e.g. '1 day')` });
  }
});

const s3Arrival = strict({
  input: channelName,
  suffix: z.string().min(1).max(100).regex(/^[A-Za-z0-9!_.()=+-]+$/, {
    error: (iss) => `suffix ${show(iss.input)} is invalid; use letters, digits and !_.()=+-, e.g. '.csv' or '.csv.gz'`,
  }).optional(),
});

const triggers = strict({
  schedule: schedule.optional(),
  s3: z.array(s3Arrival).min(1).optional(),
  after: z.string({ error: (iss) => `after must be the name of another purpose of this project, got ${show(iss.input)}` }).optional(),
});

const glueName = (what: string) => z.string().regex(GLUE_NAME, {
  error: (iss) => `${what} ${show(iss.input)} is invalid; use lowercase letters, digits and '_', starting with a letter or '_' (Glue and Athena names)`,
});

const COLUMN_TYPE = /^(string|boolean|tinyint|smallint|int|integer|bigint|float|double|date|timestamp|binary|decimal|decimal\(\d+,\s*\d+\)|(var)?char\(\d+\)|(array|map|struct)<.+>)$/;
const columnType = z.string().check((ctx) => {
  if (!COLUMN_TYPE.test(ctx.value)) {
    ctx.issues.push({ code: 'custom', input: ctx.value, message: `${show(ctx.value)} is not an Athena column type; use e.g. string, bigint, double, boolean, date, timestamp, decimal(10,2) or varchar(20)` });
  }
});

const table = strict({
  name: glueName('table name').optional(),
  description: z.string().max(2048).optional(),
  format: z.enum(['csv', 'parquet'], { error: (iss) => `${show(iss.input)} is not a table format; allowed: 'csv' (with a header line) or 'parquet'` }).optional(),
  columns: z.record(z.string(), columnType).check((ctx) => {
    const names = Object.keys(ctx.value);
    if (names.length === 0) ctx.issues.push({ code: 'custom', input: ctx.value, message: 'a table needs at least one column, e.g. columns: { vehicle_id: string, kwh: double }' });
    for (const n of names) {
      if (!GLUE_NAME.test(n)) ctx.issues.push({ code: 'custom', input: n, path: [n], message: `column name ${show(n)} is invalid; use lowercase letters, digits and '_'` });
      else if (n === 'dt') ctx.issues.push({ code: 'custom', input: n, path: [n], message: `'dt' is the partition column BatCat adds (the run's window start); do not declare it` });
    }
  }),
});

const output = strict({
  name: channelName,
  prefix: keyPrefix.optional(),
  table: table.optional(),
});

/** An Athena query that runs before the job; its result becomes the job's input `query`. */
const query = strict({
  file: z.string().regex(/^[^/].*\.sql$/, { error: (iss) => `${show(iss.input)} is not a query file; give a path relative to the project folder ending with .sql, e.g. 'queries/fleet-report.sql'` }),
  database: glueName('database').optional(),
  tables: z.array(glueName('table name')).min(1, { error: 'list the tables the query reads (tables: [...]); the state machine may read only those' }),
  locations: z.array(z.union([keyPrefix, s3Uri])).min(1).optional(),
  parameters: z.array(z.enum(['start', 'end'], { error: (iss) => `${show(iss.input)} is not a query parameter; allowed: 'start' and 'end' (the run's window)` })).optional(),
  local: z.string().regex(/^[^/].*\.csv$/, { error: (iss) => `${show(iss.input)} is not a local query result; give a CSV file relative to the project folder, e.g. 'queries/fleet-report.sample.csv'` }).optional(),
}).check((ctx) => {
  if (ctx.value.database !== undefined && ctx.value.locations === undefined) {
    ctx.issues.push({
      code: 'custom',
      input: ctx.value.database,
      path: ['locations'],
      message: `a query over another database needs 'locations': the S3 folders its tables read (e.g. 'raw/usage/' or 's3://other-bucket/usage/'), so the state machine may read them and nothing else`,
    });
  }
});

/** `10GB`, `500MB`, `1TB`: decimal units, as Athena bills. */
export function parseSize(v: string): number | undefined {
  const m = /^(\d+)\s*(MB|GB|TB)$/i.exec(v.trim());
  return m ? Number(m[1]) * { MB: 1e6, GB: 1e9, TB: 1e12 }[m[2].toUpperCase() as 'MB' | 'GB' | 'TB'] : undefined;
}
const athena = strict({
  bytesScannedCutoff: z.string().check((ctx) => {
    const bytes = parseSize(ctx.value);
    if (bytes === undefined || bytes < 10e6) {
      ctx.issues.push({ code: 'custom', input: ctx.value, message: `${show(ctx.value)} is not a valid cutoff; use a size such as '500MB', '10GB' or '1TB', at least '10MB' (Athena's minimum)` });
    }
  }).optional(),
});

const purpose = strict({
  name: kebabName('purpose name', 'it becomes part of S3 prefixes, state machine and job names', 1, MAX_PURPOSE_NAME_LENGTH),
  description: z.string().max(256).optional(),
  container: z.string().min(1).optional(),
  image: imageUri.optional(),
  instanceType: instanceType.optional(),
  instanceCount: intRange('instanceCount', 1, PROCESSING_LIMITS.maxInstanceCount).optional(),
  volumeSizeGb: intRange('volumeSizeGb', 1, PROCESSING_LIMITS.maxVolumeSizeGb).optional(),
  maxRuntime: duration.optional(),
  environment: environment.optional(),
  inputs: z.array(input).optional(),
  outputs: z.array(output).min(1, { error: 'a purpose needs at least one output; declare e.g. outputs: [{ name: result }]' }),
  window: days('window', 366).optional(),
  maxWindow: days('maxWindow', 366).optional(),
  backfillConcurrency: intRange('backfillConcurrency', 1, 40).optional(),
  triggers: triggers.optional(),
  query: query.optional(),
}).check((ctx) => {
  const p = ctx.value;
  if (p.query !== undefined) {
    const clash = (p.inputs ?? []).findIndex((i) => i.name === 'query');
    if (clash !== -1) {
      ctx.issues.push({ code: 'custom', input: 'query', path: ['inputs', clash, 'name'], message: `input name 'query' is taken by the query's result (/opt/ml/processing/input/query/); rename this input` });
    }
  }
  const windowDays = daysOf(p.window ?? '1d');
  if (p.maxWindow !== undefined && daysOf(p.maxWindow) < windowDays) {
    ctx.issues.push({ code: 'custom', input: p.maxWindow, path: ['maxWindow'], message: `maxWindow ${show(p.maxWindow)} is shorter than window ${show(p.window)}; a run must be able to cover one window` });
  }
  (p.inputs ?? []).forEach((i, n) => {
    const longest = Math.max(windowDays, p.maxWindow !== undefined ? daysOf(p.maxWindow) : 1);
    if ((i.partitioned || i.from !== undefined) && longest !== 1) {
      ctx.issues.push({
        code: 'custom',
        input: i.name,
        path: ['inputs', n, i.from !== undefined ? 'from' : 'partitioned'],
        message: `input ${show(i.name)} is read one dt= partition per run, which needs runs of one day (a job reads one folder per input), but window/maxWindow allow ${longest} days; `
          + `read the whole folder instead and filter by BATCAT_WINDOW_START and BATCAT_WINDOW_END in the script`,
      });
    }
  });
  (p.triggers?.s3 ?? []).forEach((a, n) => {
    const i = (p.inputs ?? []).find((x) => x.name === a.input);
    if (!i || i.prefix === undefined) {
      const candidates = (p.inputs ?? []).filter((x) => x.prefix !== undefined).map((x) => show(x.name));
      ctx.issues.push({
        code: 'custom',
        input: a.input,
        path: ['triggers', 's3', n, 'input'],
        message: `${show(a.input)} is not a 'prefix' input of this purpose; S3 arrival watches a folder of the project bucket. `
          + `${candidates.length > 0 ? `Allowed: ${candidates.join(', ')}` : 'Declare an input with a prefix first'}`,
      });
    }
  });
  if (p.container !== undefined && p.image !== undefined) {
    ctx.issues.push({ code: 'custom', input: p.image, path: ['image'], message: `purpose ${show(p.name)} sets both 'container' and 'image'; use 'container' to build from a folder or 'image' for an existing ECR image, not both` });
  }
  for (const [kind, list] of [['inputs', p.inputs ?? []], ['outputs', p.outputs]] as const) {
    const seen = new Map<string, number>();
    list.forEach((c, i) => {
      if (seen.has(c.name)) {
        ctx.issues.push({ code: 'custom', input: c.name, path: [kind, i, 'name'], message: `duplicate ${kind.slice(0, -1)} name ${show(c.name)} (first declared at ${kind}[${seen.get(c.name)}])` });
      } else {
        seen.set(c.name, i);
      }
    });
  }
});

export const projectSchema = strict({
  project: kebabName('project name', 'it names the stack, the bucket contents and the jobs, and S3 and SageMaker need lowercase', 3, 30),
  stage: z.string().regex(/^[a-z][a-z0-9]{0,7}$/, {
    error: (iss) => `stage ${show(iss.input)} is invalid: use 1-8 lowercase letters or digits starting with a letter, e.g. 'dev' or 'prod'`,
  }).default('dev'),
  description: z.string().max(512).optional(),
  alarmEmails: z.array(z.email({ error: (iss) => `${show(iss.input)} is not an e-mail address` })).default([]),
  athena: athena.optional(),
  purposes: z.array(purpose).min(1, { error: 'a project needs at least one purpose' }),
}).check((ctx) => {
  const seen = new Map<string, number>();
  ctx.value.purposes.forEach((p, i) => {
    if (seen.has(p.name)) {
      ctx.issues.push({ code: 'custom', input: p.name, path: ['purposes', i, 'name'], message: `duplicate purpose ${show(p.name)} (first declared at purposes[${seen.get(p.name)}]); every purpose needs its own name` });
    } else {
      seen.set(p.name, i);
    }
  });
  const byName = new Map(ctx.value.purposes.map((p) => [p.name, p]));
  const tables = new Map<string, string>();
  ctx.value.purposes.forEach((p, i) => p.outputs.forEach((o, n) => {
    if (o.table === undefined) return;
    const name = o.table.name ?? resultTableName(p.name, o.name);
    if (tables.has(name)) {
      ctx.issues.push({ code: 'custom', input: name, path: ['purposes', i, 'outputs', n, 'table'], message: `table ${show(name)} is also registered by ${tables.get(name)}; give one of them another table name` });
    } else {
      tables.set(name, `${p.name}/${o.name}`);
    }
  }));
  const names = [...byName.keys()].map(show).join(', ');
  ctx.value.purposes.forEach((p, i) => {
    const after = p.triggers?.after;
    if (after !== undefined) {
      const path = ['purposes', i, 'triggers', 'after'];
      if (after === p.name) ctx.issues.push({ code: 'custom', input: after, path, message: `purpose ${show(p.name)} cannot run after itself` });
      else if (!byName.has(after)) ctx.issues.push({ code: 'custom', input: after, path, message: `${show(after)} is not a purpose of this project; allowed: ${names}` });
      else {
        // Follow the chain back: a cycle would start every purpose in it forever.
        const chain = [p.name];
        for (let q = byName.get(after); q !== undefined; q = q.triggers?.after ? byName.get(q.triggers.after) : undefined) {
          if (chain.includes(q.name)) {
            ctx.issues.push({ code: 'custom', input: after, path, message: `${show(after)} makes a cycle (${[...chain, q.name].join(' -> ')}); a chain of purposes must have a first purpose` });
            break;
          }
          chain.push(q.name);
        }
      }
    }
    if (p.query !== undefined && p.query.database === undefined) {
      p.query.tables.forEach((t, n) => {
        if (!tables.has(t)) {
          ctx.issues.push({
            code: 'custom',
            input: t,
            path: ['purposes', i, 'query', 'tables', n],
            message: `${show(t)} is not a table of this project (${tables.size > 0 ? `its tables: ${[...tables.keys()].map(show).join(', ')}` : 'no output declares a table'}); `
              + `declare it as an output's table, or set query.database and query.locations for a table of another database`,
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
        ctx.issues.push({ code: 'custom', input: input.from, path, message: `${show(input.from)} names ${purposeName === p.name ? 'this purpose itself' : `no purpose of this project (allowed: ${names})`}` });
      } else if (!source.outputs.some((o) => o.name === outputName)) {
        ctx.issues.push({ code: 'custom', input: input.from, path, message: `purpose ${show(purposeName)} has no output ${show(outputName)}; its outputs: ${source.outputs.map((o) => show(o.name)).join(', ')}` });
      }
    });
  });
});

/** A project file as written, after defaults. */
export type ProjectFile = z.output<typeof projectSchema>;
export type PurposeFile = ProjectFile['purposes'][number];
