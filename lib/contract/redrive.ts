/*
 * Redrive: `batcat redrive` restarts a failed run with Step Functions' RedriveExecution, and
 * the run resumes at the step it failed in (lib/runtime/redrive.ts, the AwaitRedrive state).
 * The names the state machine and the CLI share.
 */

/** Step Functions redrives executions that ended at most this many days ago. */
export const REDRIVE_PERIOD_DAYS = 14;

/** A redrive that found a newer attempt of the window than the run: it ran nothing. */
export const REDRIVE_REFUSED_ERROR = 'BatCat.RedriveRefused';

/** A run that found its window held by another attempt. */
export const WINDOW_TAKEN_ERROR = 'BatCat.WindowTaken';

/** A run started with an input that is not a run input. */
export const INVALID_RUN_INPUT_ERROR = 'BatCat.InvalidRunInput';

/** Runs that ended before any work of their own, with why a redrive would end the same way. */
export const UNREDRIVABLE_ERRORS: Readonly<Record<string, string>> = {
  [WINDOW_TAKEN_ERROR]: 'it found another attempt holding its window and ran nothing',
  [INVALID_RUN_INPUT_ERROR]: 'its input is not a run input',
  [REDRIVE_REFUSED_ERROR]: 'its last redrive found a newer attempt of the window',
};

/** The name of a redriven try's attempt folder (`_attempts/<name>/`): the execution's name and the redrive count. */
export function redriveTryName(executionName: string, redriveCount: number): string {
  return redriveCount === 0 ? executionName : `${executionName}-redrive-${redriveCount}`;
}
