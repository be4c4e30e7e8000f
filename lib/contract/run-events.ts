import type { RunInput, TriggerKind } from './run-input';

/*
 * The completion events: every run of a purpose ends by putting one event on the account's
 * default event bus, so other teams subscribe with a plain EventBridge rule and `after:`
 * triggers start from the same events. The state machine puts them (success, failure, a skip);
 * the trigger puts those of runs that ended without their failure path (timed out, stopped).
 * Documented in README.md, "Operating runs"; RUN_EVENT_SCHEMA is the published JSON schema.
 */

export const RUN_EVENT_SOURCE = 'batcat';
export const RUN_EVENT_VERSION = 1;

export const RUN_EVENT_TYPES = {
  succeeded: 'Run Succeeded',
  failed: 'Run Failed',
  skipped: 'Run Skipped',
} as const;

export type RunEventType = (typeof RUN_EVENT_TYPES)[keyof typeof RUN_EVENT_TYPES];

/** The `detail` of a completion event. */
export interface RunEventDetail {
  readonly version: typeof RUN_EVENT_VERSION;
  /** The project and stage, when the purpose was built with them (a project stack always is). */
  readonly project?: string;
  readonly stage?: string;
  readonly purpose: string;
  /** The purpose's state machine: an `after:` rule matches on it. */
  readonly stateMachineArn: string;
  readonly runId: string;
  readonly execution: string;
  readonly window: RunInput['window'];
  readonly trigger: TriggerKind;
  readonly attempt: number;
  /** The run replaced a window that had succeeded. */
  readonly force: boolean;
  /** Output name -> the window's result folder: what it holds now (the run's, or for a skip the earlier run's). */
  readonly outputs: Readonly<Record<string, string>>;
  readonly parameters?: Readonly<Record<string, string>>;
  readonly status: 'SUCCEEDED' | 'FAILED' | 'SKIPPED';
  /** Run Failed: the error name and the clearest reason found (the job's FailureReason, the query's, a rule...). */
  readonly error?: string;
  readonly reason?: string;
  /** Run Skipped: the run whose outputs stand, unchanged. */
  readonly cachedFrom?: string;
}

/** The JSON schema of a completion event's `detail`, as published in the README. */
export const RUN_EVENT_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'BatCat run completion event detail (source "batcat", detail-type "Run Succeeded", "Run Failed" or "Run Skipped")',
  type: 'object',
  required: ['version', 'purpose', 'stateMachineArn', 'runId', 'execution', 'window', 'trigger', 'attempt', 'force', 'outputs', 'status'],
  additionalProperties: false,
  properties: {
    version: { const: RUN_EVENT_VERSION },
    project: { type: 'string' },
    stage: { type: 'string' },
    purpose: { type: 'string' },
    stateMachineArn: { type: 'string', pattern: '^arn:[^:]+:states:' },
    runId: { type: 'string', maxLength: 80 },
    execution: { type: 'string', pattern: '^arn:[^:]+:states:' },
    window: {
      type: 'object',
      required: ['start', 'end', 'endExclusive'],
      additionalProperties: false,
      properties: {
        start: { type: 'string', format: 'date' },
        end: { type: 'string', format: 'date' },
        endExclusive: { type: 'string', format: 'date' },
      },
    },
    trigger: { enum: ['schedule', 's3', 'manual', 'upstream'] },
    attempt: { type: 'integer', minimum: 1 },
    force: { type: 'boolean' },
    outputs: { type: 'object', additionalProperties: { type: 'string', pattern: '^s3://' } },
    parameters: { type: 'object', additionalProperties: { type: 'string' } },
    status: { enum: ['SUCCEEDED', 'FAILED', 'SKIPPED'] },
    error: { type: 'string' },
    reason: { type: 'string' },
    cachedFrom: { type: 'string' },
  },
} as const;

/** The detail of the event for a run that ended outside its state machine's own paths (timed out, stopped), from its input. */
export function endedRunDetail(
  input: RunInput,
  run: { stateMachineArn: string; execution: string; error: string; reason: string; project?: string; stage?: string },
): RunEventDetail {
  return {
    version: RUN_EVENT_VERSION,
    ...(run.project !== undefined ? { project: run.project } : {}),
    ...(run.stage !== undefined ? { stage: run.stage } : {}),
    purpose: input.purpose,
    stateMachineArn: run.stateMachineArn,
    runId: input.runId,
    execution: run.execution,
    window: input.window,
    trigger: input.trigger.kind,
    attempt: input.attempt,
    force: input.force,
    outputs: input.outputs,
    ...(input.parameters ? { parameters: input.parameters } : {}),
    status: 'FAILED',
    error: run.error,
    reason: run.reason,
  };
}
