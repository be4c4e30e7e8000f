import { awaitRedrive, RunFailure } from '../../lib/runtime/redrive';

describe('awaitRedrive', () => {
  const failure = { error: 'BatCat.EmptyOutput', reason: 'output summary is empty: ...' };

  test("fails with the run's own error and reason in the try that failed", () => {
    let thrown: unknown;
    try {
      awaitRedrive({ ...failure, failedInRedrive: 0, redriveCount: 0 });
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(RunFailure);
    expect(thrown).toMatchObject({ name: 'BatCat.EmptyOutput', message: 'output summary is empty: ...' });
    // Lambda reports the stack as the trace: no file paths of the function in the execution's cause.
    expect((thrown as Error).stack).toBe('BatCat.EmptyOutput: output summary is empty: ...');
  });

  test('lets a redrive go on, and fails again in a redriven try that failed', () => {
    expect(awaitRedrive({ ...failure, failedInRedrive: 0, redriveCount: 1 })).toEqual({ redriveCount: 1 });
    expect(() => awaitRedrive({ ...failure, failedInRedrive: 1, redriveCount: 1 })).toThrow('output summary is empty');
    expect(awaitRedrive({ ...failure, failedInRedrive: 1, redriveCount: 2 })).toEqual({ redriveCount: 2 });
  });

  test("a failure named like Step Functions' own errors is reported as BatCat.RunFailed, the name kept in the reason", () => {
    // The States language reserves names beginning with 'States.' for Step Functions: a task may not report them.
    expect(() => awaitRedrive({ error: 'States.TaskFailed', reason: 'AlgorithmError: boom', failedInRedrive: 0, redriveCount: 0 })).toThrow(
      expect.objectContaining({ name: 'BatCat.RunFailed', message: 'States.TaskFailed: AlgorithmError: boom' }),
    );
  });

  test('a failure without a name or reason still fails, with a name and reason of its own', () => {
    expect(() => awaitRedrive({ error: '', reason: '', failedInRedrive: 0, redriveCount: 0 })).toThrow(
      expect.objectContaining({ name: 'BatCat.RunFailed', message: 'no reason was reported' }),
    );
  });

  test('counts that are not whole numbers are a bug in the state machine, named as such', () => {
    expect(() => awaitRedrive({ ...failure, failedInRedrive: undefined as unknown as number, redriveCount: 1 })).toThrow(
      'AwaitRedrive needs whole redrive counts, got failedInRedrive undefined and redriveCount 1',
    );
  });
});
