import {
  AthenaClient,
  GetQueryExecutionCommand,
  type GetQueryExecutionCommandOutput,
  type QueryExecutionState,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import { mockClient } from 'aws-sdk-client-mock';
import { queryAthena, readAthenaRows, runAthenaQuery } from '../../lib/io/athena';
import { countPlaceholders, executionParameters, sqlLiteral } from '../../lib/io/sql';
import { AthenaQueryError, QueryTimeoutError } from '../../lib/io/errors';

const athenaMock = mockClient(AthenaClient);
const athena = new AthenaClient({ region: 'eu-west-1' });
beforeEach(() => athenaMock.reset());

/** A fake clock and sleep: sleeping advances the clock, so waits take no real time. */
function fakeTime() {
  let t = 0;
  const sleeps: number[] = [];
  return {
    now: () => t,
    sleep: async (ms: number, signal?: AbortSignal) => {
      if (signal?.aborted) throw signal.reason;
      sleeps.push(ms);
      t += ms;
    },
    sleeps,
  };
}

const SQL = 'SELECT vehicle, kwh FROM usage WHERE dt BETWEEN ? AND ? AND fleet = ?';

function execution(state: QueryExecutionState, extra: Record<string, unknown> = {}): GetQueryExecutionCommandOutput {
  return {
    $metadata: {},
    QueryExecution: {
      QueryExecutionId: 'q-1',
      Status: { State: state, ...extra },
      ResultConfiguration: { OutputLocation: 's3://bucket/athena/q-1.csv' },
      Statistics: { DataScannedInBytes: 1234, EngineExecutionTimeInMillis: 56 },
    },
  };
}

describe('parameters', () => {
  test('the window and values become ExecutionParameters literals, never part of the SQL', async () => {
    athenaMock.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-1' });
    athenaMock.on(GetQueryExecutionCommand).resolves(execution('SUCCEEDED'));
    const time = fakeTime();
    const result = await runAthenaQuery(athena, {
      sql: SQL,
      window: { start: '2022-01-01', end: '2022-01-07' },
      parameters: ["north'; DROP TABLE usage; --"],
      workgroup: 'batcat-2022-rnd-battery-dev',
      database: 'batcat_2022_rnd_battery_dev',
      outputLocation: 's3://bucket/athena/',
      ...time,
    });
    expect(result).toEqual({
      queryExecutionId: 'q-1',
      outputLocation: 's3://bucket/athena/q-1.csv',
      dataScannedBytes: 1234,
      engineExecutionTimeMs: 56,
    });
    const start = athenaMock.commandCalls(StartQueryExecutionCommand)[0].args[0].input;
    expect(start).toEqual({
      QueryString: SQL,
      ExecutionParameters: ["'2022-01-01'", "'2022-01-07'", "'north''; DROP TABLE usage; --'"],
      WorkGroup: 'batcat-2022-rnd-battery-dev',
      QueryExecutionContext: { Database: 'batcat_2022_rnd_battery_dev', Catalog: 'AwsDataCatalog' },
      ResultConfiguration: { OutputLocation: 's3://bucket/athena/' },
    });
  });

  test('placeholders are counted outside strings and comments, and must match the values', () => {
    expect(countPlaceholders('SELECT \'?\', "a?" FROM t -- why?\nWHERE x = ? /* ? */ AND y = ?')).toBe(2);
    expect(() => executionParameters(SQL, { start: '2022-01-01', end: '2022-01-02' })).toThrow(
      "the query has 3 '?' placeholder(s) but 2 value(s) are bound (the window binds the first two: start, end)",
    );
    expect(() => executionParameters('SELECT 1', undefined, [1])).toThrow("the query has 0 '?' placeholder(s) but 1 value(s) are bound");
    expect(executionParameters('SELECT 1')).toBeUndefined();
    expect(() => executionParameters('SELECT ?, ?', { start: '2022-1-1', end: '2022-01-02' })).toThrow(
      'window.start must be a calendar date written YYYY-MM-DD, got "2022-1-1"',
    );
    expect(() => executionParameters('SELECT ?, ?', { start: '2022-01-03', end: '2022-01-02' })).toThrow(
      'window ends (2022-01-02) before it starts (2022-01-03)',
    );
  });

  test('literals by type', () => {
    expect(sqlLiteral(42)).toBe('42');
    expect(sqlLiteral(false)).toBe('FALSE');
    expect(sqlLiteral(new Date('2022-01-02T03:04:05.000Z'))).toBe("TIMESTAMP '2022-01-02 03:04:05.000'");
    expect(() => sqlLiteral(Number.NaN)).toThrow('not a finite number');
  });

  test('a wrong number of values starts nothing', async () => {
    await expect(runAthenaQuery(athena, { sql: SQL, window: { start: '2022-01-01', end: '2022-01-01' } })).rejects.toThrow(
      /3 '\?' placeholder/,
    );
    expect(athenaMock.commandCalls(StartQueryExecutionCommand)).toHaveLength(0);
  });
});

describe('waiting', () => {
  test('polls with doubling backoff up to the cap until the query succeeds', async () => {
    athenaMock.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-1' });
    athenaMock
      .on(GetQueryExecutionCommand)
      .resolvesOnce(execution('QUEUED'))
      .resolvesOnce(execution('RUNNING'))
      .resolvesOnce(execution('RUNNING'))
      .resolvesOnce(execution('RUNNING'))
      .resolvesOnce(execution('RUNNING'))
      .resolves(execution('SUCCEEDED'));
    const time = fakeTime();
    await runAthenaQuery(athena, { sql: 'SELECT 1', pollMs: 500, maxPollMs: 3000, ...time });
    expect(time.sleeps).toEqual([500, 1000, 2000, 3000, 3000]);
  });

  test("a failed query raises Athena's reason", async () => {
    athenaMock.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-1' });
    athenaMock.on(GetQueryExecutionCommand).resolves(
      execution('FAILED', {
        StateChangeReason: "COLUMN_NOT_FOUND: line 1:8: Column 'kwhh' cannot be resolved",
        AthenaError: { ErrorCategory: 2, ErrorType: 1006 },
      }),
    );
    const err = await runAthenaQuery(athena, { sql: 'SELECT kwhh FROM usage', ...fakeTime() }).catch((e) => e);
    expect(err).toBeInstanceOf(AthenaQueryError);
    expect(err.message).toBe("Athena query q-1 failed: COLUMN_NOT_FOUND: line 1:8: Column 'kwhh' cannot be resolved");
    expect(err).toMatchObject({ queryExecutionId: 'q-1', state: 'FAILED', errorType: '1006' });
  });

  test('a query that runs past the timeout is stopped', async () => {
    athenaMock.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-slow' });
    athenaMock.on(GetQueryExecutionCommand).resolves(execution('RUNNING'));
    athenaMock.on(StopQueryExecutionCommand).resolves({});
    const time = fakeTime();
    const err = await runAthenaQuery(athena, { sql: 'SELECT 1', timeoutMs: 60_000, ...time }).catch((e) => e);
    expect(err).toBeInstanceOf(QueryTimeoutError);
    expect(err.message).toBe('query q-slow did not finish within 60 s; it was stopped');
    expect(athenaMock.commandCalls(StopQueryExecutionCommand).map((c) => c.args[0].input)).toEqual([{ QueryExecutionId: 'q-slow' }]);
    expect(time.now()).toBe(60_000);
  });

  test("aborting stops the query and rejects with the caller's reason", async () => {
    athenaMock.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-2' });
    athenaMock.on(StopQueryExecutionCommand).resolves({});
    const controller = new AbortController();
    let polls = 0;
    athenaMock.on(GetQueryExecutionCommand).callsFake(() => {
      if (++polls === 2) controller.abort(new Error('user pressed Ctrl-C'));
      return execution('RUNNING');
    });
    await expect(runAthenaQuery(athena, { sql: 'SELECT 1', signal: controller.signal, pollMs: 1 })).rejects.toThrow('user pressed Ctrl-C');
    expect(athenaMock.commandCalls(StopQueryExecutionCommand)).toHaveLength(1);
  });
});

describe('results', () => {
  const columns = [
    { Name: 'vehicle', Type: 'varchar' },
    { Name: 'kwh', Type: 'double' },
    { Name: 'trips', Type: 'bigint' },
    { Name: 'ok', Type: 'boolean' },
    { Name: 'day', Type: 'date' },
  ];
  const row = (...v: Array<string | undefined>) => ({ Data: v.map((x) => (x === undefined ? {} : { VarCharValue: x })) });

  test('pages through typed rows, skipping the header row of the first page', async () => {
    athenaMock.on(GetQueryResultsCommand, { QueryExecutionId: 'q-1', NextToken: undefined }).resolves({
      ResultSet: {
        ResultSetMetadata: { ColumnInfo: columns },
        Rows: [row('vehicle', 'kwh', 'trips', 'ok', 'day'), row('v1', '1.5', '3', 'true', '2022-01-01')],
      },
      NextToken: 'page-2',
    });
    athenaMock.on(GetQueryResultsCommand, { QueryExecutionId: 'q-1', NextToken: 'page-2' }).resolves({
      ResultSet: { ResultSetMetadata: { ColumnInfo: columns }, Rows: [row('v2', undefined, '0', 'false', undefined)] },
    });
    const rows = [];
    for await (const r of readAthenaRows(athena, 'q-1')) rows.push(r);
    expect(rows).toEqual([
      { vehicle: 'v1', kwh: 1.5, trips: 3, ok: true, day: '2022-01-01' },
      { vehicle: 'v2', kwh: null, trips: 0, ok: false, day: null },
    ]);
    expect(athenaMock.commandCalls(GetQueryResultsCommand)).toHaveLength(2);
  });

  test('queryAthena runs and streams', async () => {
    athenaMock.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-1' });
    athenaMock.on(GetQueryExecutionCommand).resolves(execution('SUCCEEDED'));
    athenaMock
      .on(GetQueryResultsCommand)
      .resolves({ ResultSet: { ResultSetMetadata: { ColumnInfo: [{ Name: 'n', Type: 'integer' }] }, Rows: [row('n'), row('7')] } });
    const rows = [];
    for await (const r of queryAthena(athena, { sql: 'SELECT 7 AS n', ...fakeTime() })) rows.push(r);
    expect(rows).toEqual([{ n: 7 }]);
  });
});
