/*
 * The last state of a failed run, `AwaitRedrive`. Step Functions' RedriveExecution re-runs the
 * state an execution failed in, with the same input. A failed run has already been recorded,
 * notified and published by the failure path, so that state must be one that a redrive can
 * get past: this step fails with the run's own error the first time, and lets the execution go
 * on when it runs again in a redrive (the context's RedriveCount then exceeds the one the
 * failure path recorded). The state machine then reopens the window's ledger item, takes a new
 * job name and attempt folder, and resumes at the step that failed.
 */

/** What the state machine sends: the run's failure and the redrive counts. */
export interface AwaitRedriveRequest {
  /** The run's error name, as the failure path chose it. */
  readonly error: string;
  /** Its reason. */
  readonly reason: string;
  /** `$$.Execution.RedriveCount` when the run failed. */
  readonly failedInRedrive: number;
  /** `$$.Execution.RedriveCount` now. */
  readonly redriveCount: number;
}

/** A redrive goes on from here. */
export interface AwaitRedriveResult {
  readonly redriveCount: number;
}

/** The error name of a failed run whose own error is one of Step Functions' (`States.TaskFailed`, say). */
export const RUN_FAILED_ERROR = 'BatCat.RunFailed';

/**
 * The run's failure, with its own name, so the execution fails with the error the run failed
 * with. Names beginning with `States.` are Step Functions' own, which no task may report (the
 * States language reserves them): such a failure is reported as BatCat.RunFailed, with the
 * original name in front of the reason.
 */
export class RunFailure extends Error {
  constructor(error: string, reason: string) {
    const reserved = error.startsWith('States.');
    super(reserved ? `${error}: ${reason}` : reason);
    this.name = reserved ? RUN_FAILED_ERROR : error;
    // Lambda reports the stack as the error's trace; the reason alone is the cause.
    this.stack = `${this.name}: ${this.message}`;
  }
}

/** Fails with the run's error unless the execution has been redriven since it failed. */
export function awaitRedrive(request: AwaitRedriveRequest): AwaitRedriveResult {
  const counts = [request.failedInRedrive, request.redriveCount];
  if (counts.some((n) => !Number.isInteger(n) || n < 0)) {
    throw new Error(`AwaitRedrive needs whole redrive counts, got failedInRedrive ${counts[0]} and redriveCount ${counts[1]}`);
  }
  if (request.redriveCount > request.failedInRedrive) return { redriveCount: request.redriveCount };
  throw new RunFailure(request.error || RUN_FAILED_ERROR, request.reason || 'no reason was reported');
}
