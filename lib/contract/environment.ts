/*
 * The environment variables BatCat sets: in the processing container (what a script may read),
 * in the trigger function, and in local runs.
 */

/** Every variable BatCat sets in a job starts with this; scripts' own variables may not. */
export const RESERVED_ENV_PREFIX = 'BATCAT_';

/** What the processing container receives, besides the purpose's own `environment`. */
export const JOB_ENV = {
  purpose: 'BATCAT_PURPOSE',
  runId: 'BATCAT_RUN_ID',
  windowStart: 'BATCAT_WINDOW_START',
  /** The last day of the window (included). */
  windowEnd: 'BATCAT_WINDOW_END',
  /** The day after the window: the window is [start, endExclusive). */
  windowEndExclusive: 'BATCAT_WINDOW_END_EXCLUSIVE',
  /** The IANA time zone the window's days are days of. */
  timezone: 'BATCAT_TIMEZONE',
  trigger: 'BATCAT_TRIGGER',
  jobName: 'BATCAT_JOB_NAME',
  executionId: 'BATCAT_EXECUTION_ID',
  /** Only for purposes with a query. */
  queryExecutionId: 'BATCAT_QUERY_EXECUTION_ID',
} as const;

/** How many environment variables BatCat may add to a job: what is left of SageMaker's 100 for the script's own. */
export const RESERVED_ENV_COUNT = 10;

/** The trigger function's configuration (a JSON `PurposeRunConfig`). */
export const RUN_CONFIG_ENV = 'BATCAT_RUN_CONFIG';

/** The variable that gives the script the ARN (or name) of the secret declared as `name` under `secrets`. */
export const secretIdVariable = (name: string) => `${name}_SECRET_ID`;
