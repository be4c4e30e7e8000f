import { daysWithoutLocalTime, isTimeZone } from './dates';
import { CATCH_UP_WINDOWS } from './ledger';
import { S3_SETTLE_DEFAULTS } from './run-input';
import { parseEcrImageUri, tryParseS3Uri } from './s3-uri';
import { RESERVED_ENV_COUNT, RESERVED_ENV_PREFIX, secretIdVariable } from './environment';
import {
  CHANNEL_NAME,
  GLUE_NAME,
  JOB_NAME_PREFIX,
  KEBAB_NAME,
  KEY_PREFIX,
  MAX_PURPOSE_NAME_LENGTH,
  PROJECT_NAME_LENGTH,
  STAGE_NAME,
  suggestName,
} from './names';
import { frameworkImage, frameworkNames } from './frameworks';
import { didYouMean } from './suggest';
import { INGEST_BUFFER_LIMITS, type IngestFormat } from './ingest';
import { DB_COLUMN_NAME, DB_ENGINES, DB_TABLE_NAME } from './db-source';
import { FEATURE_NAME, MAX_FEATURES, RESERVED_FEATURE_NAMES } from './feature-store';
import { EMR_RELEASE_LABEL, SAGEMAKER_SPARK_VERSIONS, SPARK_RUNTIMES, type SparkRuntimeName } from './spark';
import {
  placeholderNames,
  placeholderValue,
  type PlaceholderScope,
  CODE_INPUT_NAME,
  CODE_PATH,
  PROCESSING_INSTANCE_TYPES,
  PROCESSING_DEFAULTS,
  PROCESSING_LIMITS,
  PROCESSING_PATH_ROOT,
  RUN_DEFAULTS,
  splitPlaceholders,
  suggestInstanceTypes,
} from './processing';

/*
 * Every validation rule, stated once. Each returns the problem with a value (naming the value
 * and what is allowed) or undefined. The project-file schema and the constructs both call
 * these, so a construct used from another team's stack gives the same error text as the
 * project file; the caller adds where (file, line and field, or the construct path).
 */

/** A value as error messages show it: strings quoted. */
export const show = (v: unknown): string => (typeof v === 'string' ? `'${v}'` : JSON.stringify(v));

/** A kebab-case name of `min`-`max` characters; `why` says where it ends up. */
export function kebabNameProblem(what: string, why: string, value: string, min: number, max: number): string | undefined {
  let problem: string | undefined;
  if (value.length < min || value.length > max) problem = `must be ${min}-${max} characters long (it is ${value.length})`;
  else if (!KEBAB_NAME.test(value))
    problem = 'may only contain lowercase letters, digits and single hyphens, and must start and end with a letter or digit';
  const suggestion = suggestName(value, max);
  // A suggestion only when it is another name that would pass.
  const tryIt = suggestion !== value && suggestion.length >= min ? `; try ${show(suggestion)}` : '';
  return problem && `${what} ${show(value)} is invalid: ${problem} (${why})${tryIt}`;
}

export function projectNameProblem(value: string): string | undefined {
  return kebabNameProblem(
    'project name',
    "it names the stack, the bucket contents and the jobs, and S3 and SageMaker need lowercase; e.g. '2026-rnd-battery' ([year]-[department]-[topic])",
    value,
    PROJECT_NAME_LENGTH.min,
    PROJECT_NAME_LENGTH.max,
  );
}

export function purposeNameProblem(value: string): string | undefined {
  return kebabNameProblem('purpose name', 'it becomes part of S3 prefixes, state machine and job names', value, 1, MAX_PURPOSE_NAME_LENGTH);
}

export function stageProblem(value: string): string | undefined {
  return STAGE_NAME.test(value)
    ? undefined
    : `stage ${show(value)} is invalid: use 1-8 lowercase letters or digits starting with a letter, e.g. 'dev' or 'prod'`;
}

/**
 * A principal the data bucket and key let read and write data besides the stage's own roles
 * (`dataAccess`): an IAM role, user or account root ARN, matched as `aws:PrincipalArn`. A `*` may
 * stand for the random part of a name (AWS SSO roles have one), not for the whole name: `role/*`
 * would undo the restriction.
 */
export function dataAccessPrincipalProblem(value: string): string | undefined {
  const m = /^arn:aws(?:-cn|-us-gov)?:iam::(\d{12}):(root|(?:role|user)\/(.+))$/.exec(value);
  const example = "'arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_DataScience_*'";
  if (!m) return `${show(value)} is not an IAM principal ARN; name a role, user or account root in an account, e.g. ${example}`;
  if (value.includes('?')) return `${show(value)}: '?' is not allowed; a '*' may stand for the random part of a role name`;
  const name = m[3]?.split('/').pop();
  if (name !== undefined && !/[^*]/.test(name))
    return `${show(value)} would let every ${m[2].startsWith('user') ? 'user' : 'role'} of the path in; keep a part of the name, e.g. ${example}`;
  return undefined;
}

/**
 * The most outputs one project may declare: each gets a lifecycle rule on the project bucket,
 * which holds 1000, and the project's own rules need a few.
 */
export const MAX_PROJECT_OUTPUTS = 990;

/** A problem when the `count`-th output of the project is one too many. */
export function outputCountProblem(count: number): string | undefined {
  return count <= MAX_PROJECT_OUTPUTS
    ? undefined
    : `this is output number ${count} of the project; at most ${MAX_PROJECT_OUTPUTS} fit (S3 allows 1000 lifecycle rules per bucket, one per output): move some purposes into a second project file`;
}

/** `; try '<fixed>'` when `fixed` is another value that `passes`, else nothing: a fix is offered only when it works. */
function tryInstead(value: string, fixed: string, passes: (v: string) => boolean): string {
  return fixed !== value && fixed !== '' && passes(fixed) ? `; try ${show(fixed)}` : '';
}

/** The closest key to `value` made of S3-safe folder names: `folder` ends it with '/'. */
function fixKey(value: string, folder: boolean): string {
  const parts = value
    .trim()
    .replace(/\*/g, '')
    .split('/')
    .map((p) => p.replace(/[^A-Za-z0-9!_.()=+-]+/g, '-').replace(/^-+|-+$/g, ''))
    .filter((p) => p !== '' && p !== '.' && p !== '..');
  return parts.join('/') + (folder && parts.length > 0 ? '/' : '');
}

const isKeyPrefix = (value: string) => value !== '' && KEY_PREFIX.test(value) && !value.split('/').some((p) => p === '.' || p === '..');

/** A folder inside a bucket: relative, ends with '/', no '.' or '..', only S3-safe characters. */
export function keyPrefixProblem(value: string): string | undefined {
  return isKeyPrefix(value)
    ? undefined
    : `${show(value)} is not a valid key prefix; use folders of letters, digits and !_.()=+- separated by '/', ending with '/', without a leading '/', e.g. 'raw/usage/'` +
        (value.includes('*') ? " ('*' would be a wildcard in the IAM policies built from the prefix)" : '') +
        tryInstead(value, fixKey(value, true), isKeyPrefix);
}

/** `s3://<bucket>/<folder>/`. */
export function s3FolderUriProblem(value: string): string | undefined {
  const location = tryParseS3Uri(value);
  return location && KEY_PREFIX.test(location.key)
    ? undefined
    : `${show(value)} is not a valid S3 folder URI; use 's3://<bucket>/<prefix>/', ending with '/'`;
}

const OBJECT_KEY = /^(?:[A-Za-z0-9!_.()=+-]+\/)*[A-Za-z0-9!_.()=+-]+$/;

/** What an input reads: a folder (ending with '/') or one object. */
export function inputKeyProblem(value: string): string | undefined {
  const ok = (v: string) => isKeyPrefix(v) || (OBJECT_KEY.test(v) && !v.split('/').some((p) => p === '.' || p === '..'));
  return ok(value)
    ? undefined
    : `${show(value)} is not a valid folder or object key; use folders of letters, digits and !_.()=+- separated by '/' (no '*': it would be an IAM wildcard), e.g. 'raw/usage/' (a folder) or 'models/model.tar.gz' (one object)` +
        tryInstead(value, fixKey(value, value.endsWith('/') || value.endsWith('*')), ok);
}

/** `s3://<bucket>/<folder>/` or `s3://<bucket>/<key>`: what an input may read. */
export function s3InputUriProblem(value: string): string | undefined {
  const location = tryParseS3Uri(value);
  return location && location.key !== '' && inputKeyProblem(location.key) === undefined
    ? undefined
    : `${show(value)} is not a valid S3 URI; use 's3://<bucket>/<prefix>/' for a folder or 's3://<bucket>/<key>' for one object, e.g. 's3://models/churn/model.tar.gz'`;
}

const KMS_KEY_ARN =
  /^arn:aws[a-z-]*:kms:[a-z]{2}(-[a-z]+)+-\d:\d{12}:key\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$/;

/** The KMS key of another bucket's objects: a key ARN, which IAM policies match (an alias ARN they do not). */
export function kmsKeyArnProblem(value: string): string | undefined {
  if (KMS_KEY_ARN.test(value)) return undefined;
  const example = "e.g. 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab'";
  return /:alias\/|^alias\//.test(value)
    ? `${show(value)} is a key alias; give the key's ARN (aws kms describe-key --key-id ${value} prints it), since IAM policies match keys by key ARN, ${example}`
    : `${show(value)} is not a KMS key ARN; give the ARN of the key that encrypts the bucket's objects, ${example}`;
}

/** The region part of a KMS key ARN. */
export function kmsKeyRegion(keyArn: string): string | undefined {
  return KMS_KEY_ARN.test(keyArn) ? keyArn.split(':')[3] : undefined;
}

/** Grants on a bucket's key hold only through S3 of the stack's region, so the key must be in that region. */
export function kmsKeyRegionProblem(keyArn: string, region: string): string | undefined {
  const keyRegion = kmsKeyRegion(keyArn);
  return keyRegion === undefined || keyRegion === region
    ? undefined
    : `KMS key ${show(keyArn)} is in ${keyRegion}, the stack deploys to ${region}: the job reads through S3 of ${region} (kms:ViaService), and S3 encrypts a bucket's objects with a key of the bucket's region; deploy the stack to ${keyRegion}, or copy the data into a bucket of ${region}`;
}

/** An input or output name. */
export function channelNameProblem(value: string): string | undefined {
  const fixed = value
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^[-_]+|-+$/g, '')
    .slice(0, 64);
  return CHANNEL_NAME.test(value)
    ? undefined
    : `${show(value)} is not a valid name; use up to 64 lowercase letters, digits, '_' or '-', starting with a letter or digit (it becomes a folder under /opt/ml/processing)` +
        tryInstead(value, fixed, (v) => CHANNEL_NAME.test(v));
}

/** Names of one kind (inputs, outputs, purposes) must be unique: one problem per repeat, with its index. */
export function duplicateProblems(kind: string, names: readonly string[]): Array<{ index: number; message: string }> {
  const first = new Map<string, number>();
  const out: Array<{ index: number; message: string }> = [];
  names.forEach((name, index) => {
    const seen = first.get(name);
    if (seen === undefined) first.set(name, index);
    else out.push({ index, message: `duplicate ${kind} name ${show(name)} (first declared at ${kind}s[${seen}])` });
  });
  return out;
}

export function ecrImageProblem(value: string): string | undefined {
  return parseEcrImageUri(value)
    ? undefined
    : `${show(value)} is not an ECR image URI; SageMaker Processing pulls from ECR: '<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>' (or '@sha256:<digest>')`;
}

/**
 * With a list of allowed accounts, an image from another account must be pinned by digest: a tag
 * there can be moved by whoever owns that account, to code that runs with the job's role.
 */
export function imageAccountProblem(value: string, allowedAccounts: readonly string[] | undefined): string | undefined {
  const image = parseEcrImageUri(value);
  if (!image || allowedAccounts === undefined || allowedAccounts.includes(image.account) || image.digest !== undefined) return undefined;
  return (
    `image ${show(value)} is in account ${image.account}, which allowedImageAccounts (${allowedAccounts.join(', ')}) does not list; ` +
    `pin it by digest ('...@sha256:<digest>') or add the account to allowedImageAccounts`
  );
}

/** `ml.m5.large` and the other Processing instance types. */
export function instanceTypeProblem(value: string): string | undefined {
  if (PROCESSING_INSTANCE_TYPES.includes(value)) return undefined;
  return (
    `${show(value)} is not a SageMaker Processing instance type; did you mean ${suggestInstanceTypes(value).map(show).join(', ')}? ` +
    `(${PROCESSING_INSTANCE_TYPES.length} types are accepted, listed in lib/contract/instance-types.generated.ts)`
  );
}

export function wholeNumberProblem(what: string, value: unknown, min: number, max: number): string | undefined {
  const ok = typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
  return ok ? undefined : `${what} must be a whole number from ${min} to ${max}, got ${show(value)}`;
}

export const instanceCountProblem = (value: unknown) => wholeNumberProblem('instanceCount', value, 1, PROCESSING_LIMITS.maxInstanceCount);
export const volumeSizeGbProblem = (value: unknown) => wholeNumberProblem('volumeSizeGb', value, 1, PROCESSING_LIMITS.maxVolumeSizeGb);
export const backfillConcurrencyProblem = (value: unknown) =>
  wholeNumberProblem('backfillConcurrency', value, 1, RUN_DEFAULTS.maxBackfillConcurrency);

/** A job's maximum runtime; `shown` is the value as the user wrote it. */
export function maxRuntimeProblem(seconds: number | undefined, shown: unknown): string | undefined {
  const ok = seconds !== undefined && Number.isInteger(seconds) && seconds >= 1 && seconds <= PROCESSING_LIMITS.maxRuntimeSeconds;
  return ok
    ? undefined
    : `${show(shown)} is not a valid max runtime; use a duration such as '45m', '2h' or '1d' between 1 second and 9 days (SageMaker's limit)`;
}

/** How long a run may wait for instance quota; `shown` is the value as the user wrote it. */
export function quotaWaitProblem(seconds: number | undefined, shown: unknown): string | undefined {
  const ok = seconds !== undefined && Number.isInteger(seconds) && seconds >= 60 && seconds <= PROCESSING_DEFAULTS.maxQuotaWaitSeconds;
  return ok
    ? undefined
    : `${show(shown)} is not a valid quota wait; use a duration such as '30m', '6h' or '1d' between 1 minute and 3 days`;
}

/** How late a purpose's newest result may be beyond one window; `shown` is the value as the user wrote it. */
export function freshnessProblem(seconds: number | undefined, shown: unknown): string | undefined {
  const ok = seconds !== undefined && Number.isInteger(seconds) && seconds >= 0 && seconds <= 366 * 86_400;
  return ok ? undefined : `${show(shown)} is not a valid freshness; use a duration such as '6h', '90m' or '1d', at most 366 days`;
}

/** A window length in whole days; `shown` is the value as the user wrote it. */
export function windowDaysProblem(what: string, days: number | undefined, shown: unknown): string | undefined {
  const max = RUN_DEFAULTS.maxWindowDays;
  const ok = days !== undefined && Number.isInteger(days) && days >= 1 && days <= max;
  return ok ? undefined : `${what} ${show(shown)} is invalid: use a whole number of days from '1d' to '${max}d', e.g. '1d' or '7d'`;
}

/** `maxWindow` must cover at least one `window`. */
export function maxWindowProblem(windowDays: number, maxWindowDays: number): string | undefined {
  return maxWindowDays < windowDays
    ? `maxWindow '${maxWindowDays}d' is shorter than window '${windowDays}d'; a run must be able to cover one window`
    : undefined;
}

/** `complete` is about the days of a partitioned input's window. */
export function completeInputProblem(input: string, partitioned: boolean): string | undefined {
  return partitioned
    ? undefined
    : `input ${show(input)} sets complete, which fails a run when a day of its window has no dt= partition; ` +
        `it applies to partitioned inputs only ('from', or 'partitioned: true' on a folder)`;
}

/** A partitioned input is a folder of `dt=` partitions, not one object. */
export function partitionedObjectProblem(input: string, keyPrefix: string): string | undefined {
  return keyPrefix.endsWith('/')
    ? undefined
    : `input ${show(input)} is partitioned, but '${keyPrefix}' is one object; a partitioned input is a folder ending with '/' that holds dt=YYYY-MM-DD/ partitions`;
}

/** A purpose with a query gets its result as the input `query`. */
export function queryInputClashProblem(inputNames: readonly string[]): string | undefined {
  return inputNames.includes('query')
    ? `input name 'query' is taken by the query's result (/opt/ml/processing/input/query/); rename this input`
    : undefined;
}

/** In script mode the script arrives as the input `code`. */
export function codeInputClashProblem(inputNames: readonly string[]): string | undefined {
  return inputNames.includes(CODE_INPUT_NAME)
    ? `input name 'code' is taken by the script in script mode (${CODE_PATH}/); rename this input`
    : undefined;
}

/** Script mode runs `python3 <script>`. */
export function scriptFileProblem(script: string): string | undefined {
  return script.endsWith('.py') ? undefined : `script ${show(script)} is not a Python file (.py); script mode runs python3 <script>`;
}

/** A Spark purpose's script: a PySpark script, or a jar with the class it runs. */
export function sparkScriptProblem(script: string, mainClass: string | undefined): string | undefined {
  if (script.endsWith('.jar')) {
    if (mainClass === undefined)
      return `script ${show(script)} is a jar; name the class it runs in spark.mainClass, e.g. com.example.FleetDaily`;
    return /^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*$/.test(mainClass)
      ? undefined
      : `spark.mainClass ${show(mainClass)} is not a Java class name, such as com.example.FleetDaily`;
  }
  if (!script.endsWith('.py')) return `script ${show(script)} is neither a PySpark script (.py) nor a jar (.jar)`;
  return mainClass !== undefined
    ? `spark.mainClass ${show(mainClass)} runs a class of a jar, and script ${show(script)} is a PySpark script; leave mainClass out, or give the jar as script`
    : undefined;
}

/** `spark.runtime`: one BatCat runs Spark on. */
export function sparkRuntimeProblem(runtime: string): string | undefined {
  return (SPARK_RUNTIMES as readonly string[]).includes(runtime)
    ? undefined
    : `spark.runtime ${show(runtime)} is not a Spark runtime; allowed: ${SPARK_RUNTIMES.join(', ')}`;
}

/** `spark.release`: an EMR release label on EMR Serverless, a version of SageMaker's Spark image on SageMaker. */
export function sparkReleaseProblem(runtime: SparkRuntimeName, release: string): string | undefined {
  if (runtime === 'emr-serverless') {
    return EMR_RELEASE_LABEL.test(release)
      ? undefined
      : `spark.release ${show(release)} is not an EMR release label; write it like 'emr-7.5.0' (EMR Serverless' releases: ` +
          'https://docs.aws.amazon.com/emr/latest/EMR-Serverless-UserGuide/release-versions.html)';
  }
  return (SAGEMAKER_SPARK_VERSIONS as readonly string[]).includes(release)
    ? undefined
    : `spark.release ${show(release)} is not a Spark version of SageMaker's Spark processing image; allowed: ${SAGEMAKER_SPARK_VERSIONS.join(', ')}` +
        (EMR_RELEASE_LABEL.test(release) ? ` (${show(release)} is an EMR release, for runtime: emr-serverless)` : '');
}

/** Spark properties: names as Spark writes them, values spark-submit can carry (StartJobRun passes them as one space-separated string). */
export function sparkConfigProblems(config: Readonly<Record<string, unknown>>): Array<{ key: string; message: string }> {
  const out: Array<{ key: string; message: string }> = [];
  for (const [key, value] of Object.entries(config)) {
    if (!/^spark\.[A-Za-z0-9_.-]+$/.test(key)) {
      out.push({
        key,
        message: `spark.config key ${show(key)} is not a Spark property; Spark's start with 'spark.', e.g. spark.executor.memory`,
      });
    } else if (!['string', 'number', 'boolean'].includes(typeof value) || String(value) === '' || /\s/.test(String(value))) {
      out.push({
        key,
        message: `spark.config ${key}: ${show(value)} must be a value without spaces, as spark-submit --conf takes it (e.g. 4g, 200, true)`,
      });
    }
  }
  return out;
}

/** Purpose settings a Spark runtime sets itself or has no use for; `setting` as the caller names it. */
const SPARK_SETS_ITSELF: Readonly<Record<string, string>> = {
  container: 'the Spark runtime chooses the image',
  image: 'the Spark runtime chooses the image',
  framework: 'the Spark runtime chooses the image',
  entrypoint: 'the Spark runtime starts the script (spark-submit)',
  sourceDir: "give the script's modules as spark.pyFiles, which the driver and executors import",
};
const NOT_ON_EMR_SERVERLESS: Readonly<Record<string, string>> = {
  instanceType:
    'EMR Serverless sizes its workers itself; bound them with spark.maxCapacity and set spark.executor.memory/cores in spark.config',
  instanceCount: 'EMR Serverless scales its workers itself; bound them with spark.maxCapacity',
  volumeSizeGb: 'EMR Serverless gives each worker its disk; set spark.emr-serverless.executor.disk in spark.config',
  vpc: 'a VPC for EMR Serverless is not supported yet; use runtime: sagemaker, whose job runs in the VPC',
  networkIsolation: 'EMR Serverless has no network isolation setting; use runtime: sagemaker',
  quotaWait: 'EMR Serverless has no instance quota to wait for; its application capacity bounds the job',
};

/** The purpose settings (as the project file names them) that `sparkSettingProblem` judges. */
export const SPARK_CHECKED_SETTINGS: readonly string[] = [...Object.keys(SPARK_SETS_ITSELF), ...Object.keys(NOT_ON_EMR_SERVERLESS)];

/** `spark.maxCapacity` bounds the EMR Serverless application a purpose creates: not SageMaker's cluster, not an application given. */
export function sparkCapacityProblem(runtime: SparkRuntimeName, applicationGiven: boolean): string | undefined {
  if (runtime === 'sagemaker') {
    return 'spark.maxCapacity bounds an EMR Serverless application; on SageMaker the cluster is instanceCount instances of instanceType';
  }
  return applicationGiven
    ? 'spark.maxCapacity applies to the application the purpose creates; set it on the application you give'
    : undefined;
}

/** Why `setting` (given) does not apply to a Spark purpose on `runtime`, or undefined when it does. */
export function sparkSettingProblem(runtime: SparkRuntimeName, setting: string, shownAs = setting): string | undefined {
  const why = SPARK_SETS_ITSELF[setting] ?? (runtime === 'emr-serverless' ? NOT_ON_EMR_SERVERLESS[setting] : undefined);
  return why && `${show(shownAs)} does not apply to a Spark purpose on ${runtime}: ${why}; leave it out`;
}

/** Script mode sets the entrypoint itself. */
export function scriptWithEntrypointProblem(script: unknown, entrypoint: unknown): string | undefined {
  return script !== undefined && entrypoint !== undefined
    ? `'script' runs 'python3 <script>' as the entrypoint; give 'script' or 'entrypoint', not both`
    : undefined;
}

/** A source folder travels with its script; `field` is what the caller calls the folder. */
export function sourceWithoutScriptProblem(field: string, folder: string | undefined, script: unknown): string | undefined {
  return folder !== undefined && script === undefined
    ? `${show(field)} is uploaded with 'script'; add the script that runs, e.g. script: ${folder.replace(/\/?$/, '/')}preprocessing.py`
    : undefined;
}

/** A literal entrypoint: placeholders are rendered in arguments only. */
export function entrypointProblem(entrypoint: readonly string[]): string | undefined {
  const at = entrypoint.findIndex((e) => splitPlaceholders(e).placeholders.length > 0);
  return at === -1
    ? undefined
    : `entrypoint[${at}] ${show(entrypoint[at])} has a placeholder; placeholders are replaced in arguments only, so move it to 'arguments'`;
}

/** S3 arrival watches a folder of the purpose's own bucket: a `prefix` input. */
/**
 * An S3 trigger's settle times: `settle` from 0 (start at once) to the limit, `maxSettle` at least
 * `settle`. `shown` holds the values as the user wrote them.
 */
export function settleProblem(
  settleSeconds: number | undefined,
  maxSettleSeconds: number | undefined,
  shown: { settle?: unknown; maxSettle?: unknown },
): string | undefined {
  const max = S3_SETTLE_DEFAULTS.maxAllowedSeconds;
  const ok = (v: number | undefined) => v === undefined || (Number.isInteger(v) && v >= 0 && v <= max);
  if (!ok(settleSeconds)) {
    return `${show(shown.settle)} is not a valid settle time; use a duration such as '10m' or '1h' up to '24h', or 0 to start at once`;
  }
  if (!ok(maxSettleSeconds) || maxSettleSeconds === 0) {
    return `${show(shown.maxSettle)} is not a valid maxSettle; use a duration such as '1h' between 1 second and '24h'`;
  }
  const settle = settleSeconds ?? S3_SETTLE_DEFAULTS.settleSeconds;
  const limit = maxSettleSeconds ?? S3_SETTLE_DEFAULTS.maxSettleSeconds;
  if (settle > limit) {
    return `settle (${settle} s) is longer than maxSettle (${limit} s): a run would always stop waiting at maxSettle; raise maxSettle or shorten settle`;
  }
  return undefined;
}

export function s3ArrivalInputProblem(input: string, prefixInputs: readonly string[]): string | undefined {
  if (prefixInputs.includes(input)) return undefined;
  const meant = didYouMean(input, prefixInputs);
  return (
    `${show(input)} is not a 'prefix' input of this purpose${meant ? `; did you mean ${show(meant)}?` : ';'} S3 arrival watches a folder of the project bucket. ` +
    `${prefixInputs.length > 0 ? `Allowed: ${prefixInputs.map(show).join(', ')}` : 'Declare an input with a prefix first'}`
  );
}

/** A name that ends in a secret word: DB_PASSWORD, GITHUB_TOKEN; not TOKENIZERS_PARALLELISM or MAX_TOKENS. */
const SECRET_NAME = /(^|_)(PASSWORD|PASSWD|PWD|SECRET|SECRET_KEY|TOKEN|API_KEY|APIKEY|ACCESS_KEY|PRIVATE_KEY|CREDENTIALS?)$/i;

/** Values that are credentials whatever their name, with what each is. */
const SECRET_VALUES: ReadonlyArray<[RegExp, string]> = [
  [/\b(AKIA|ASIA)[0-9A-Z]{16}\b/, 'an AWS access key id'],
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----/, 'a private key'],
  [/\b[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:[^/\s@]+@/i, 'a URL with a password in it'],
  [/\bgh[pousr]_[A-Za-z0-9]{30,}/, 'a GitHub token'],
  [/\bxox[abprs]-[A-Za-z0-9-]{10,}/, 'a Slack token'],
  [/\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/, 'a JSON web token'],
  [/\bsk-[A-Za-z0-9_-]{20,}/, 'an API secret key'],
];
const SECRET_ADVICE =
  'environment variables end up in the template and the job description, so keep the secret in AWS Secrets Manager and name it under ' +
  "'secrets' instead, e.g. secrets: { DB_PASSWORD: prod/db/password }; the script gets DB_PASSWORD_SECRET_ID and reads the secret at run time";
const MAX_USER_ENV = PROCESSING_LIMITS.maxEnvironmentVariables - RESERVED_ENV_COUNT;

/** A script's environment: names, reserved and secret-looking names, value lengths, count. `key` is absent for the count. */
export function environmentProblems(environment: Record<string, unknown>): Array<{ key?: string; message: string }> {
  const out: Array<{ key?: string; message: string }> = [];
  const entries = Object.entries(environment);
  if (entries.length > MAX_USER_ENV) {
    out.push({
      message: `${entries.length} environment variables declared; at most ${MAX_USER_ENV} are allowed (SageMaker allows ${PROCESSING_LIMITS.maxEnvironmentVariables}, BatCat reserves ${RESERVED_ENV_COUNT})`,
    });
  }
  for (const [key, value] of entries) {
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,255}$/.test(key)) {
      out.push({
        key,
        message: `environment variable name ${show(key)} is invalid; use letters, digits and '_', not starting with a digit`,
      });
    } else if (key.startsWith(RESERVED_ENV_PREFIX)) {
      out.push({
        key,
        message: `environment variable ${show(key)} uses the reserved prefix '${RESERVED_ENV_PREFIX}'; BatCat sets those itself`,
      });
    } else if (SECRET_NAME.test(key)) {
      out.push({ key, message: `environment variable ${show(key)} is named like a secret; ${SECRET_ADVICE}` });
    }
    const credential = SECRET_VALUES.find(([pattern]) => pattern.test(String(value)));
    if (credential) {
      // The value is not repeated in the message: it would end up in logs and CI output.
      out.push({ key, message: `the value of environment variable ${show(key)} looks like ${credential[1]}; ${SECRET_ADVICE}` });
    }
    if (String(value).length > 256) {
      out.push({
        key,
        message: `environment variable ${show(key)} is ${String(value).length} characters long; SageMaker allows at most 256`,
      });
    }
  }
  return out;
}

/**
 * A purpose's secret references: a name for the script, and the Secrets Manager secret (its
 * name or ARN, never its value). The job reads them at run time, which needs the network.
 */
export function secretReferenceProblems(
  secrets: Record<string, unknown>,
  environment: Record<string, unknown>,
  networkIsolation: boolean,
): Array<{ key?: string; message: string }> {
  const out: Array<{ key?: string; message: string }> = [];
  const entries = Object.entries(secrets);
  const variables = entries.length + Object.keys(environment).length;
  if (entries.length > 0 && variables > MAX_USER_ENV) {
    out.push({
      message: `${variables} environment variables and secrets declared; at most ${MAX_USER_ENV} are allowed (each secret is a variable)`,
    });
  }
  if (entries.length > 0 && networkIsolation) {
    out.push({
      message:
        'a secret is read at run time from Secrets Manager, which a job without network cannot reach: set networkIsolation: false (and, in a VPC, give it a route or a Secrets Manager endpoint)',
    });
  }
  for (const [key, value] of entries) {
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,245}$/.test(key)) {
      out.push({
        key,
        message: `secret name ${show(key)} is invalid; use letters, digits and '_', not starting with a digit, e.g. DB_PASSWORD`,
      });
    } else if (key.startsWith(RESERVED_ENV_PREFIX)) {
      out.push({ key, message: `secret name ${show(key)} uses the reserved prefix '${RESERVED_ENV_PREFIX}'` });
    } else if (secretIdVariable(key) in environment) {
      out.push({
        key,
        message: `secret ${show(key)} gives the script ${secretIdVariable(key)}, which 'environment' also sets; rename one`,
      });
    }
    const id = String(value);
    const arn = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/.test(id);
    if (!arn && !/^[A-Za-z0-9/_+=.@-]{1,512}$/.test(id)) {
      // The value is not repeated: it might be the secret itself.
      out.push({
        key,
        message: `secret ${show(key)} must name a Secrets Manager secret (its name, e.g. prod/db/password, or its ARN), not hold its value`,
      });
    } else if (SECRET_VALUES.some(([pattern]) => pattern.test(id))) {
      out.push({ key, message: `secret ${show(key)} looks like a credential itself; give the name or ARN of the secret that holds it` });
    }
  }
  return out;
}

/** A folder of the project bucket that a purpose reads or writes, named for errors (`usage-analysis output 'summary'`). */
export interface BucketFolder {
  readonly name: string;
  readonly prefix: string;
  readonly writes: boolean;
  /** A stream delivers into it: purposes read it by prefix, so only other writers may overlap it. */
  readonly delivers?: boolean;
}

/**
 * Outputs may not overlap what anything else reads or writes in the project bucket: another
 * output, an input read by prefix (a `from:` input reads its output by declaration, and is not
 * passed here), or the query results. Otherwise a purpose could overwrite what another reads.
 * Returns the problem for each output at fault, by its index in `folders`.
 */
export function folderOverlapProblems(
  folders: readonly BucketFolder[],
  queryResultsPrefix?: string,
): Array<{ index: number; message: string }> {
  const out: Array<{ index: number; message: string }> = [];
  const overlap = (a: string, b: string) => a.startsWith(b) || b.startsWith(a);
  folders.forEach((f, i) => {
    if (!f.writes) return;
    if (queryResultsPrefix !== undefined && overlap(f.prefix, queryResultsPrefix)) {
      out.push({
        index: i,
        message: `${f.name} writes to ${show(f.prefix)}, inside the query results folder ${show(queryResultsPrefix)}; choose another prefix`,
      });
      return;
    }
    const other = folders.find((g, j) => j !== i && overlap(f.prefix, g.prefix) && (g.writes ? j < i : !f.delivers));
    if (other) {
      out.push({
        index: i,
        message:
          `${f.name} writes to ${show(f.prefix)}, which overlaps ${show(other.prefix)} that ${other.name} ${other.writes ? 'writes' : 'reads'}; ` +
          `give each ${f.delivers ? 'stream' : 'output'} a folder of its own${other.writes ? '' : ", and read another purpose's output with from: <purpose>/<output>"}`,
      });
    }
  });
  return out;
}

/** Glue databases, tables and columns. */
export function glueNameProblem(what: string, value: string): string | undefined {
  const fixed = value
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_')
    .replace(/^(?=[0-9])/, '_')
    .slice(0, 255);
  return GLUE_NAME.test(value)
    ? undefined
    : `${what} ${show(value)} is invalid; use lowercase letters, digits and '_', starting with a letter or '_' (Glue and Athena names)` +
        tryInstead(value, fixed, (v) => GLUE_NAME.test(v));
}

/** An Athena workgroup's name. */
export function workGroupNameProblem(value: string): string | undefined {
  const valid = (v: string) => /^[a-zA-Z0-9._-]{1,128}$/.test(v);
  return valid(value)
    ? undefined
    : `workGroupName ${show(value)} is invalid; use 1-128 letters, digits, '.', '_' or '-'` +
        tryInstead(value, value.replace(/[^a-zA-Z0-9._-]+/g, '-').slice(0, 128), valid);
}

/** The start of every job name of a processing task: policies name `<prefix>-*`. */
export function jobNamePrefixProblem(value: string): string | undefined {
  const fixed = value
    .replace(/[^a-zA-Z0-9]+/g, '-')
    .replace(/^-+/, '')
    .slice(0, 30)
    .replace(/-+$/, '');
  return JOB_NAME_PREFIX.test(value)
    ? undefined
    : `jobNamePrefix ${show(value)} is invalid; use 1-30 letters, digits and inner hyphens (SageMaker job names)` +
        tryInstead(value, fixed, (v) => JOB_NAME_PREFIX.test(v));
}

/** A result table's column: a Glue name, and not the partition column BatCat adds. */
export function columnNameProblem(value: string): string | undefined {
  if (value === 'dt') return `'dt' is the partition column BatCat adds (the run's window start); do not declare it`;
  return glueNameProblem('column name', value);
}

const COLUMN_TYPE =
  /^(string|boolean|tinyint|smallint|int|integer|bigint|float|double|date|timestamp|binary|decimal|decimal\(\d+,\s*\d+\)|(var)?char\(\d+\)|(array|map|struct)<.+>)$/;

/** Types other systems have, as the Athena type to write instead. */
const COLUMN_TYPE_SYNONYMS: Record<string, string> = {
  text: 'string',
  str: 'string',
  varchar: 'string',
  object: 'string',
  long: 'bigint',
  int64: 'bigint',
  int32: 'int',
  int16: 'smallint',
  int8: 'tinyint',
  short: 'smallint',
  byte: 'tinyint',
  number: 'double',
  numeric: 'double',
  float64: 'double',
  float32: 'float',
  real: 'float',
  bool: 'boolean',
  datetime: 'timestamp',
  'datetime64[ns]': 'timestamp',
  timestamptz: 'timestamp',
  bytes: 'binary',
};

const SIMPLE_COLUMN_TYPES = [
  'string',
  'boolean',
  'tinyint',
  'smallint',
  'int',
  'bigint',
  'float',
  'double',
  'date',
  'timestamp',
  'binary',
  'decimal',
];

export function columnTypeProblem(value: string): string | undefined {
  if (COLUMN_TYPE.test(value)) return undefined;
  const meant =
    COLUMN_TYPE_SYNONYMS[value.toLowerCase()] ??
    (COLUMN_TYPE.test(value.toLowerCase()) ? value.toLowerCase() : didYouMean(value, SIMPLE_COLUMN_TYPES));
  return (
    `${show(value)} is not an Athena column type; ` +
    (meant ? `did you mean ${show(meant)}? Types are ` : 'use ') +
    'e.g. string, bigint, double, boolean, date, timestamp, decimal(10,2) or varchar(20)'
  );
}

/** Athena's per-query scan limit, in bytes; `shown` is the value as the user wrote it. */
export function bytesScannedCutoffProblem(bytes: number | undefined, shown: unknown): string | undefined {
  const ok = bytes !== undefined && Number.isInteger(bytes) && bytes >= 10e6;
  return ok
    ? undefined
    : `${show(shown)} is not a valid cutoff; use a size such as '500MB', '10GB' or '1TB', at least '10MB' (Athena's minimum)`;
}

export function timeZoneProblem(value: string): string | undefined {
  return isTimeZone(value)
    ? undefined
    : `${show(value)} is not an IANA time zone; use a name such as 'UTC', 'Europe/Berlin' or 'America/New_York'`;
}

/** `sklearn:1.2-1`: a framework and version SageMaker publishes a Processing image for. */
export function frameworkProblem(value: string): string | undefined {
  if (frameworkImage(value)) return undefined;
  const all = frameworkNames();
  const [framework] = value.split(':');
  const same = all.filter((n) => n.startsWith(`${framework}:`));
  const frameworks = [...new Set(all.map((n) => n.split(':')[0]))];
  const meant = same.length === 0 ? didYouMean(framework, frameworks) : undefined;
  if (meant) {
    const fixed = `${meant}:${value.split(':')[1] ?? ''}`;
    const versions = all.filter((n) => n.startsWith(`${meant}:`));
    return `${show(value)} is not a SageMaker framework image BatCat knows; did you mean ${show(frameworkImage(fixed) ? fixed : meant)}? Versions of ${meant}: ${versions.join(', ')}`;
  }
  const allowed = same.length > 0 ? same : all;
  const shown = allowed.length > 8 ? [...allowed.slice(0, 3), '...', ...allowed.slice(-4)] : allowed;
  return (
    `${show(value)} is not a SageMaker framework image BatCat knows; write '<framework>:<version>', ` +
    `${same.length > 0 ? `versions of ${framework}` : 'allowed'}: ${shown.join(', ')}` +
    (same.length > 0 ? '' : ` (frameworks: ${frameworks.join(', ')})`)
  );
}

/** A channel's local path, normalized: no trailing '/', no '.' segments. */
export function normalizeLocalPath(value: string): string {
  const parts: string[] = [];
  for (const p of value.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') parts.pop();
    else parts.push(p);
  }
  return `/${parts.join('/')}`;
}

/**
 * The local paths of a job's inputs and outputs: each below /opt/ml/processing/, and no two the
 * same (one may hold another, as the code input inside an input at /opt/ml/processing/input).
 */
export function channelPathProblems(
  channels: ReadonlyArray<{ readonly kind: string; readonly name: string; readonly localPath: string }>,
): Array<{ index: number; message: string }> {
  const out: Array<{ index: number; message: string }> = [];
  const seen = new Map<string, string>();
  const names = new Set<string>();
  channels.forEach((c, index) => {
    // A repeated name is the duplicate-name rule's to report, not a second problem here.
    if (names.has(`${c.kind} ${c.name}`)) return;
    names.add(`${c.kind} ${c.name}`);
    const normalized = normalizeLocalPath(c.localPath);
    if (!/^[A-Za-z0-9._/-]+$/.test(c.localPath)) {
      out.push({
        index,
        message: `localPath ${show(c.localPath)} of ${c.kind} ${show(c.name)} may only contain letters, digits, '.', '_', '-' and '/', e.g. '/opt/ml/processing/train'`,
      });
      return;
    }
    if (!c.localPath.startsWith('/') || !`${normalized}/`.startsWith(PROCESSING_PATH_ROOT) || `${normalized}/` === PROCESSING_PATH_ROOT) {
      out.push({
        index,
        message:
          `localPath ${show(c.localPath)} of ${c.kind} ${show(c.name)} is not below ${PROCESSING_PATH_ROOT}; SageMaker Processing copies ` +
          `inputs and outputs only there: use an absolute path such as '/opt/ml/processing/train'`,
      });
      return;
    }
    const other = seen.get(normalized);
    if (other !== undefined) {
      out.push({
        index,
        message: `localPath ${show(c.localPath)} of ${c.kind} ${show(c.name)} is also the path of ${other}; two channels cannot share one folder (one may be inside another)`,
      });
    } else {
      seen.set(normalized, `${c.kind} ${show(c.name)}`);
    }
  });
  return out;
}

/** Container arguments: only the placeholders BatCat renders per run. */
export function argumentProblems(
  what: string,
  args: readonly string[],
  scope: PlaceholderScope = {},
): Array<{ index: number; message: string }> {
  const known = placeholderNames(scope);
  const out: Array<{ index: number; message: string }> = [];
  args.forEach((a, index) => {
    for (const p of splitPlaceholders(a).placeholders) {
      if (!placeholderValue(p, scope)) {
        const meant = didYouMean(p, known);
        out.push({
          index,
          message:
            `${what}[${index}] ${show(a)} uses the placeholder {${p}}, which does not exist; ` +
            (meant ? `did you mean {${meant}}? ` : '') +
            `allowed: ${known.map((k) => `{${k}}`).join(', ')}`,
        });
      }
    }
  });
  return out;
}

/** SageMaker decompresses Gzip only as it streams an input, in Pipe mode. */
export function compressionProblem(input: string, mode: string, compression: string): string | undefined {
  return compression === 'Gzip' && mode !== 'Pipe'
    ? `input ${show(input)} has compression 'Gzip' with mode ${show(mode)}; SageMaker decompresses only in Pipe mode. ` +
        `Use mode: Pipe, or leave compression out and read the .gz files in the script (File mode copies them as they are)`
    : undefined;
}

/** The values a cron minute or hour field takes (`5`, `1,13`, `0-6`, `2/6`, or a star with a step); undefined for what it cannot expand. */
function cronValues(field: string, max: number): number[] | undefined {
  const out = new Set<number>();
  for (const part of field.split(',')) {
    const m = /^(\*|\d+)(?:-(\d+))?(?:\/(\d+))?$/.exec(part);
    if (!m) return undefined;
    const from = m[1] === '*' ? 0 : Number(m[1]);
    const to = m[2] !== undefined ? Number(m[2]) : m[1] === '*' || m[3] !== undefined ? max : from;
    const step = m[3] !== undefined ? Number(m[3]) : 1;
    if (step < 1) return undefined;
    for (let v = from; v <= to; v += step) out.add(v);
  }
  return [...out];
}

/** The fields of an EventBridge Scheduler cron expression, with their ranges and names. */
const CRON_FIELDS: ReadonlyArray<{ name: string; min: number; max: number; names?: readonly string[]; special: RegExp }> = [
  { name: 'minutes', min: 0, max: 59, special: /^$/ },
  { name: 'hours', min: 0, max: 23, special: /^$/ },
  // L (last day), W (nearest weekday: 15W, LW), ? (any, when day-of-week is given).
  { name: 'day-of-month', min: 1, max: 31, special: /^(\?|L|LW|([1-9]|[12]\d|3[01])W)$/ },
  {
    name: 'month',
    min: 1,
    max: 12,
    names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'],
    special: /^$/,
  },
  // L (last: 6L is the last Friday), # (nth: 6#3 is the third Friday), ? (any, when day-of-month is given).
  {
    name: 'day-of-week',
    min: 1,
    max: 7,
    names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'],
    special: /^(\?|L|[1-7]L|([1-7]|SUN|MON|TUE|WED|THU|FRI|SAT)#[1-5])$/i,
  },
  { name: 'year', min: 1970, max: 2199, special: /^$/ },
];

/** The problem with one element of a field: `*`, a value, a range `a-b`, each optionally `/step`; names for months and weekdays. */
function cronElementProblem(element: string, f: (typeof CRON_FIELDS)[number]): string | undefined {
  const value = (v: string): number | undefined => {
    const named = f.names?.indexOf(v.toUpperCase());
    if (named !== undefined && named >= 0) return named + f.min;
    return /^\d+$/.test(v) ? Number(v) : undefined;
  };
  const range = `${f.min}-${f.max}${f.names ? ` or ${f.names[0]}-${f.names[f.names.length - 1]}` : ''}`;
  const m = /^([^/]+)(?:\/(\d+))?$/.exec(element);
  if (!m) return `'${element}' is not a value, a range or a step`;
  if (m[2] !== undefined && (Number(m[2]) < 1 || Number(m[2]) > f.max)) return `the step in '${element}' must be from 1 to ${f.max}`;
  if (m[1] === '*') return undefined;
  const ends = m[1].split('-');
  if (ends.length > 2) return `'${element}' is not a range`;
  const values = ends.map(value);
  if (values.some((v) => v === undefined)) return `'${element}' is not a ${f.name} value (${range})`;
  if (values.some((v) => v! < f.min || v! > f.max)) return `'${element}' is out of range (${range})`;
  return undefined;
}

/**
 * The problem with an EventBridge Scheduler cron expression (six fields: minutes hours
 * day-of-month month day-of-week year), naming the field and its range; undefined if it is valid.
 */
export function cronProblem(expression: string): string | undefined {
  const fields = expression.trim().split(/\s+/);
  const example = "e.g. '0 4 * * ? *' (04:00 every day) or '0 4 ? * MON-FRI *' (04:00 on weekdays)";
  if (fields.length !== 6) {
    return `${show(expression)} has ${fields.length} field${fields.length === 1 ? '' : 's'}; an EventBridge Scheduler cron has six: minutes hours day-of-month month day-of-week year, ${example}`;
  }
  for (const [i, field] of fields.entries()) {
    const f = CRON_FIELDS[i];
    if (f.special.test(field)) continue;
    for (const element of field.split(',')) {
      const problem = cronElementProblem(element, f);
      if (problem) return `${show(expression)}: ${f.name} ${problem}; ${example}`;
    }
  }
  const [, , dayOfMonth, , dayOfWeek] = fields;
  if ((dayOfMonth === '?') === (dayOfWeek === '?')) {
    return `${show(expression)}: exactly one of day-of-month and day-of-week must be '?' (the other says which days), ${example}`;
  }
  return undefined;
}

/**
 * The days between a schedule's ticks, when they are regular: a daily or weekly cron with one
 * time a day, or a rate. `expression` is `cron(...)` or `rate(...)`; undefined for other shapes.
 */
function schedulePeriodDays(expression: string): number | undefined {
  const rate = /^rate\(\s*(\d+)\s+(minutes?|hours?|days?)\s*\)$/.exec(expression.trim());
  if (rate) return Number(rate[1]) / { minute: 1440, hour: 24, day: 1 }[rate[2].replace(/s$/, '') as 'minute' | 'hour' | 'day'];
  const cron = /^cron\((.*)\)$/.exec(expression.trim());
  if (!cron) return undefined;
  const [minutes, hours, dayOfMonth, month, dayOfWeek, year] = cron[1].trim().split(/\s+/);
  const ms = cronValues(minutes, 59);
  const hs = cronValues(hours, 23);
  if (!ms || !hs || month !== '*' || (year ?? '*') !== '*') return undefined;
  const perDay = ms.length * hs.length;
  if (['*', '?'].includes(dayOfMonth) && ['*', '?'].includes(dayOfWeek)) return 1 / perDay;
  if (dayOfMonth === '?' && /^[A-Za-z0-9]+$/.test(dayOfWeek) && perDay === 1) return 7;
  return undefined;
}

/**
 * A schedule must tick once per window, or less often as long as its catch-up reaches back over
 * the windows between two ticks: more often finds nothing new, less often loses windows.
 */
export function schedulePeriodProblem(expression: string, windowDays: number): string | undefined {
  const period = schedulePeriodDays(expression);
  if (period === undefined || (period >= windowDays && period <= windowDays * CATCH_UP_WINDOWS)) return undefined;
  const every = period < 1 ? `${Math.round(period * 24 * 60)} minutes` : `${period} day${period === 1 ? '' : 's'}`;
  const fix =
    windowDays === 7
      ? "a weekly cron such as '0 4 ? * MON *'"
      : windowDays === 1
        ? "a daily cron such as '0 4 * * ? *'"
        : `rate '${windowDays} days'`;
  return period < windowDays
    ? `the schedule ${show(expression)} ticks every ${every}, but a window is ${windowDays} day${windowDays === 1 ? '' : 's'}: most ticks would find no window that ended; tick once per window, e.g. ${fix}`
    : `the schedule ${show(expression)} ticks every ${every}, but a tick catches up at most ${CATCH_UP_WINDOWS} windows of ${windowDays} day${windowDays === 1 ? '' : 's'}, so windows between ticks would be lost; tick at least every ${windowDays * CATCH_UP_WINDOWS} days, e.g. ${fix}`;
}

/**
 * A daily cron whose every tick of some day falls in the hour skipped when daylight saving time
 * starts in `timezone`: EventBridge Scheduler skips such a tick, so that day's window would never
 * run. Crons that name particular days are not checked.
 */
export function cronDaylightSavingProblem(cron: string, timezone: string, from = new Date()): string | undefined {
  const [minutes, hours, dayOfMonth, month, dayOfWeek, year] = cron.trim().split(/\s+/);
  const everyDay = ['*', '?'].includes(dayOfMonth) && month === '*' && ['*', '?'].includes(dayOfWeek) && (year ?? '*') === '*';
  const ms = cronValues(minutes, 59);
  const hs = cronValues(hours, 23);
  if (!everyDay || !ms || !hs || hs.length * ms.length > 48) return undefined;
  const missing = hs.flatMap((h) => ms.map((m) => new Set(daysWithoutLocalTime(h, m, timezone, from))));
  const day = [...missing[0]].find((d) => missing.every((set) => set.has(d)));
  if (day === undefined) return undefined;
  const at = `${String(hs[0]).padStart(2, '0')}:${String(ms[0]).padStart(2, '0')}`;
  return (
    `cron ${show(cron)} in ${timezone} falls in the hour skipped when daylight saving time starts (on ${day} there is no ${at}), and EventBridge Scheduler ` +
    `skips that tick, so that day's window would never run; schedule it outside the night's changeover, e.g. '${ms[0]} ${(hs[0] + 2) % 24} * * ? *', or use timezone 'UTC'`
  );
}

/**
 * A Redshift name as the project file gives it: a workgroup (3-64), a cluster (1-63) or a
 * database (1-64), lowercase letters, digits and hyphens (underscores in a database), starting
 * with a letter.
 */
export function redshiftNameProblem(what: 'workgroup' | 'cluster' | 'database', value: string): string | undefined {
  const rule =
    what === 'database'
      ? { re: /^[a-z_][a-z0-9_$]{0,63}$/, text: '1-64 lowercase letters, digits, _ or $, starting with a letter or _' }
      : what === 'cluster'
        ? {
            re: /^[a-z](?:[a-z0-9]|-(?=[a-z0-9])){0,62}$/,
            text: '1-63 lowercase letters, digits and single hyphens, starting with a letter',
          }
        : { re: /^[a-z0-9-]{3,64}$/, text: '3-64 lowercase letters, digits and hyphens' };
  return rule.re.test(value) ? undefined : `${show(value)} is not a Redshift ${what} name: use ${rule.text}`;
}

/** How long a data bucket keeps the versions an overwrite or delete replaced: what reproducing an old run can still read. */
export const DEFAULT_KEEP_VERSIONS_DAYS = 90;
export const MAX_KEEP_VERSIONS_DAYS = 3650;

/** `keepVersions` in whole days. */
export function keepVersionsProblem(days: number | undefined, shown: unknown): string | undefined {
  const ok = days !== undefined && Number.isInteger(days) && days >= 1 && days <= MAX_KEEP_VERSIONS_DAYS;
  return ok
    ? undefined
    : `keepVersions ${show(shown)} is invalid: use a whole number of days from '1d' to '${MAX_KEEP_VERSIONS_DAYS}d', e.g. '90d' (replaced versions are kept that long, so older runs can be reproduced)`;
}

/** An `ingest:` entry's name: it names the stream, its Glue table and its alarms. */
export function ingestNameProblem(value: string): string | undefined {
  return kebabNameProblem('ingest name', 'it names the Firehose stream, its table and its alarms', value, 1, 32);
}

/** Firehose's buffering hints; conversion to Parquet and partitioning by a field need at least 64 MiB. */
export function ingestBufferProblem(what: 'seconds' | 'mb', value: unknown, why?: string): string | undefined {
  const L = INGEST_BUFFER_LIMITS;
  if (what === 'seconds') return wholeNumberProblem('buffer.seconds', value, L.minSeconds, L.maxSeconds);
  const range = wholeNumberProblem('buffer.mb', value, L.minMb, L.maxMb);
  if (range || why === undefined || (value as number) >= L.minMbConverted) return range;
  return `buffer.mb must be at least ${L.minMbConverted} when ${why} (Firehose refuses less), got ${show(value)}; write buffer: { mb: ${L.minMbConverted} } or more`;
}

/** A Parquet stream converts each JSON record with its table's schema, so it needs the columns. */
export function ingestSchemaProblem(name: string, format: IngestFormat, columns: readonly string[] | undefined): string | undefined {
  if (format !== 'parquet' || (columns !== undefined && columns.length > 0)) return undefined;
  return (
    `ingest ${show(name)} writes parquet, which Firehose converts each JSON record to with the table's schema: ` +
    `declare the columns, e.g. columns: { vehicle_id: string, soc: double, recorded_at: timestamp }, or write format: json`
  );
}

/** A stream partitions by a field's date: a column of its table, when it has one. */
export function ingestPartitionFieldProblem(field: string, columns: readonly string[] | undefined): string | undefined {
  const name = glueNameProblem('partitionBy field', field);
  if (name) return name;
  if (columns === undefined || columns.includes(field)) return undefined;
  const meant = didYouMean(field, columns);
  return (
    `partitionBy ${show(field)} is not among the columns (${columns.map(show).join(', ')})${meant ? `; did you mean ${show(meant)}?` : ';'} ` +
    `give the field whose ISO 8601 date or timestamp decides a record's dt= folder, or 'arrival' for the day it arrived`
  );
}

/** What chooses the program of a purpose, besides a database source, as the project file names it. */
export const PROGRAM_SETTINGS = ['container', 'image', 'framework', 'script', 'spark', 'entrypoint', 'arguments', 'query'] as const;

/** A database source purpose, as far as the rules about it see it. */
export interface DatabaseSourceShape {
  readonly engine: string;
  readonly secret?: string;
  readonly table?: string;
  readonly query?: string;
  readonly incremental?: string;
  /** The settings given that choose another program, or read S3 (`inputs`), as the caller names them. */
  readonly otherSettings: readonly string[];
  readonly vpc: boolean;
  readonly networkIsolation?: boolean;
  readonly outputs: number;
  /** The format of its output's table, when the output has one. */
  readonly tableFormat?: string;
}

/**
 * A database source copies one table or query into one Parquet output, through a secret and a
 * VPC, with BatCat's ingestion program: each problem names the field (`source.<x>` for the
 * source's own) and the fix.
 */
export function databaseSourceProblems(s: DatabaseSourceShape): Array<{ field: string; message: string }> {
  const problems: Array<{ field: string; message: string }> = [];
  const add = (field: string, message: string | undefined) => message && problems.push({ field, message });
  if (!(DB_ENGINES as readonly string[]).includes(s.engine))
    add('source.engine', `${show(s.engine)} is not a database engine; allowed: ${DB_ENGINES.map(show).join(', ')}`);
  if (s.secret === undefined || s.secret === '')
    add(
      'source.secret',
      "a database source needs 'secret': the name or ARN of the Secrets Manager secret with host, port, username, password and dbname (the shape RDS writes), e.g. secret: prod/orders-db",
    );
  if ((s.table === undefined) === (s.query === undefined))
    add(
      s.table === undefined ? 'source.table' : 'source.query',
      "give exactly one of 'table' (e.g. table: public.orders, copied whole or by 'incremental') and 'query' (a SQL file with :start and :end, e.g. query: queries/orders.sql)",
    );
  if (s.table !== undefined && !DB_TABLE_NAME.test(s.table))
    add('source.table', `${show(s.table)} is not a table name; write 'table' or 'schema.table' (letters, digits, '_' and '$')`);
  if (s.incremental !== undefined) {
    if (s.query !== undefined)
      add('source.incremental', "'incremental' is for a table; a query file selects its window itself, with :start and :end");
    else if (!DB_COLUMN_NAME.test(s.incremental))
      add('source.incremental', `${show(s.incremental)} is not a column name (letters, digits, '_' and '$'), e.g. incremental: updated_at`);
  }
  for (const other of s.otherSettings)
    add(
      other,
      `a database source runs BatCat's ingestion program, so '${other}' has nothing to do here; leave it out, ` +
        'and give what reads the copied rows its own purpose (triggers: { after: <this purpose> })',
    );
  if (!s.vpc)
    add(
      'vpc',
      "a database source needs 'vpc': subnets and security groups from which the database is reachable, " +
        'e.g. vpc: { subnetIds: [subnet-0123456789abcdef0], securityGroupIds: [sg-0123456789abcdef0] }',
    );
  if (s.networkIsolation === true)
    add(
      'networkIsolation',
      'networkIsolation: true would cut the job off from the database; leave it out (a database source has its VPC network)',
    );
  if (s.outputs !== 1) add('outputs', `a database source writes one output, the Parquet files of its table or query; it has ${s.outputs}`);
  if (s.tableFormat !== undefined && s.tableFormat !== 'parquet')
    add(
      'outputs.0.table.format',
      `a database source writes Parquet; its output's table reads ${show(s.tableFormat)}: write format: parquet`,
    );
  return problems;
}

/**
 * A feature group over an output: its features are the columns of the output's table, among
 * them the record identifier (text or a whole number) and the event time (a timestamp, text in
 * ISO 8601, or seconds since 1970). Each problem names the field of `featureGroup` (or `table`).
 */
export function featureGroupProblems(
  output: string,
  fg: { readonly recordId: string; readonly eventTime: string },
  columns: ReadonlyArray<{ readonly name: string; readonly type: string }> | undefined,
): Array<{ field: string; message: string }> {
  if (columns === undefined || columns.length === 0)
    return [
      {
        field: 'featureGroup',
        message: `the feature group of output ${show(output)} takes its features from the output's table: declare table: { format: parquet, columns: { ... } } with the record identifier and event time among them`,
      },
    ];
  const problems: Array<{ field: string; message: string }> = [];
  const names = columns.map((c) => c.name);
  const among = (field: 'recordId' | 'eventTime', what: string, allowed: RegExp, allowedShown: string) => {
    const column = columns.find((c) => c.name === fg[field]);
    if (!column) {
      const meant = didYouMean(fg[field], names);
      problems.push({
        field: `featureGroup.${field}`,
        message: `${field} ${show(fg[field])} is not among the columns of output ${show(output)} (${names.map(show).join(', ')})${meant ? `; did you mean ${show(meant)}?` : ''}: the ${what} must be a column`,
      });
    } else if (!allowed.test(column.type.toLowerCase()))
      problems.push({
        field: `featureGroup.${field}`,
        message: `${field} ${show(fg[field])} is a ${column.type} column; the ${what} must be ${allowedShown}`,
      });
  };
  among(
    'recordId',
    'record identifier',
    /^(string|varchar.*|char.*|tinyint|smallint|int|integer|bigint)$/,
    'a string or a whole number (string, int, bigint)',
  );
  among(
    'eventTime',
    'event time',
    /^(timestamp|date|string|varchar.*|char.*|float|double|real)$/,
    'a timestamp or date, an ISO 8601 string, or seconds since 1970 (double)',
  );
  for (const c of columns) {
    if ((RESERVED_FEATURE_NAMES as readonly string[]).includes(c.name))
      problems.push({
        field: `table.columns.${c.name}`,
        message: `column ${show(c.name)} is a name the feature store's offline store keeps for itself (${RESERVED_FEATURE_NAMES.join(', ')}); rename it`,
      });
    else if (!FEATURE_NAME.test(c.name))
      problems.push({
        field: `table.columns.${c.name}`,
        message: `column ${show(c.name)} is not a feature name: letters and digits, with '-' or '_' between them, at most 64`,
      });
  }
  if (columns.length > MAX_FEATURES)
    problems.push({
      field: 'table.columns',
      message: `a feature group has at most ${MAX_FEATURES} features; the table has ${columns.length} columns`,
    });
  return problems;
}
