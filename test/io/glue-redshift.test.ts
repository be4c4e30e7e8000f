import { GetPartitionsCommand, GetTableCommand, GetTablesCommand, GlueClient } from '@aws-sdk/client-glue';
import {
  CancelStatementCommand,
  DescribeStatementCommand,
  ExecuteStatementCommand,
  GetStatementResultCommand,
  RedshiftDataClient,
} from '@aws-sdk/client-redshift-data';
import { mockClient } from 'aws-sdk-client-mock';
import { GlueTableNotFoundError, QueryTimeoutError, RedshiftStatementError } from '../../lib/io/errors';
import { describeTable, listPartitions, requireTables } from '../../lib/io/glue';
import { queryRedshift, runRedshiftStatement } from '../../lib/io/redshift';

const glueMock = mockClient(GlueClient);
const glue = new GlueClient({ region: 'eu-west-1' });
const redshiftMock = mockClient(RedshiftDataClient);
const redshift = new RedshiftDataClient({ region: 'eu-west-1' });
beforeEach(() => {
  glueMock.reset();
  redshiftMock.reset();
});

const notFound = () => Object.assign(new Error('Entity Not Found'), { name: 'EntityNotFoundException' });

const summaryTable = {
  Name: 'usage_analysis_summary',
  PartitionKeys: [{ Name: 'dt', Type: 'string' }],
  Parameters: {
    'projection.enabled': 'true',
    'projection.dt.type': 'date',
    'storage.location.template': 's3://bucket/results/usage-analysis/summary/dt=${dt}/',
  },
  StorageDescriptor: {
    Columns: [
      { Name: 'vehicle_id', Type: 'string', Comment: 'VIN' },
      { Name: 'kwh', Type: 'double' },
    ],
    Location: 's3://bucket/results/usage-analysis/summary/',
    InputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
    SerdeInfo: { SerializationLibrary: 'org.apache.hadoop.hive.serde2.OpenCSVSerde' },
  },
};

describe('Glue', () => {
  test('describes a table: columns, types, partition keys, location, format', async () => {
    glueMock.on(GetTableCommand).resolves({ Table: summaryTable });
    const t = await describeTable(glue, 'db', 'usage_analysis_summary');
    expect(t).toMatchObject({
      database: 'db',
      name: 'usage_analysis_summary',
      columns: [
        { name: 'vehicle_id', type: 'string', comment: 'VIN' },
        { name: 'kwh', type: 'double' },
      ],
      partitionKeys: [{ name: 'dt', type: 'string' }],
      location: 's3://bucket/results/usage-analysis/summary/',
      format: 'csv',
      projected: true,
    });
  });

  test('a missing table names the database and lists its tables (every page)', async () => {
    glueMock.on(GetTableCommand).rejects(notFound());
    glueMock.on(GetTablesCommand, { DatabaseName: 'db', NextToken: undefined }).resolves({ TableList: [{ Name: 'b' }], NextToken: 't2' });
    glueMock.on(GetTablesCommand, { DatabaseName: 'db', NextToken: 't2' }).resolves({ TableList: [{ Name: 'a' }] });
    const err = await describeTable(glue, 'db', 'usage').catch((e) => e);
    expect(err).toBeInstanceOf(GlueTableNotFoundError);
    expect(err.message).toBe('Glue table db.usage does not exist; tables in db: a, b');
  });

  test('requireTables reports every missing table at once', async () => {
    glueMock.on(GetTableCommand, { DatabaseName: 'db', Name: 'usage_analysis_summary' }).resolves({ Table: summaryTable });
    glueMock.on(GetTableCommand, { DatabaseName: 'db', Name: 'raw_usage' }).rejects(notFound());
    glueMock.on(GetTableCommand, { DatabaseName: 'db', Name: 'fleet' }).rejects(notFound());
    glueMock.on(GetTablesCommand).resolves({ TableList: [{ Name: 'usage_analysis_summary' }] });
    await expect(requireTables(glue, 'db', ['usage_analysis_summary', 'raw_usage', 'fleet'])).rejects.toThrow(
      'Glue tables db.raw_usage, db.fleet do not exist; tables in db: usage_analysis_summary',
    );
    glueMock.on(GetTableCommand).resolves({ Table: summaryTable });
    await expect(requireTables(glue, 'db', ['usage_analysis_summary'])).resolves.toHaveLength(1);
  });

  test('partitions of a projected table are computed from its template', async () => {
    glueMock.on(GetTableCommand).resolves({ Table: summaryTable });
    const parts = await listPartitions(glue, 'db', 'usage_analysis_summary', { start: '2022-02-27', end: '2022-03-01' });
    expect(parts).toEqual([
      { values: ['2022-02-27'], location: 's3://bucket/results/usage-analysis/summary/dt=2022-02-27/' },
      { values: ['2022-02-28'], location: 's3://bucket/results/usage-analysis/summary/dt=2022-02-28/' },
      { values: ['2022-03-01'], location: 's3://bucket/results/usage-analysis/summary/dt=2022-03-01/' },
    ]);
    expect(glueMock.commandCalls(GetPartitionsCommand)).toHaveLength(0);
  });

  test('partitions of a catalogued table are read from Glue with an expression, every page', async () => {
    const table = { ...summaryTable, Parameters: {} };
    glueMock.on(GetTableCommand).resolves({ Table: table });
    glueMock.on(GetPartitionsCommand, { NextToken: undefined }).resolves({
      Partitions: [{ Values: ['2022-01-02'], StorageDescriptor: { Location: 's3://b/dt=2022-01-02/' } }],
      NextToken: 'p2',
    });
    glueMock
      .on(GetPartitionsCommand, { NextToken: 'p2' })
      .resolves({ Partitions: [{ Values: ['2022-01-01'], StorageDescriptor: { Location: 's3://b/dt=2022-01-01/' } }] });
    const parts = await listPartitions(glue, 'db', 'usage_analysis_summary', { start: '2022-01-01', end: '2022-01-31' });
    expect(parts.map((p) => p.values[0])).toEqual(['2022-01-01', '2022-01-02']);
    expect(glueMock.commandCalls(GetPartitionsCommand)[0].args[0].input.Expression).toBe("dt >= '2022-01-01' AND dt <= '2022-01-31'");
  });

  test('bad windows and keys are refused before calling Glue', async () => {
    await expect(listPartitions(glue, 'db', 't', { start: "2022-01-01' OR '1'='1", end: '2022-01-02' })).rejects.toThrow(
      'window.start must be a calendar date written YYYY-MM-DD',
    );
    await expect(listPartitions(glue, 'db', 't', { start: '2022-01-01', end: '2022-01-02' }, 'dt; drop')).rejects.toThrow(
      "partition key 'dt; drop' is not a valid column name",
    );
    glueMock.on(GetTableCommand).resolves({ Table: { ...summaryTable, PartitionKeys: [] } });
    await expect(listPartitions(glue, 'db', 't', { start: '2022-01-01', end: '2022-01-02' })).rejects.toThrow(
      "table db.t is not partitioned by 'dt'; its partition keys: none",
    );
    expect(glueMock.commandCalls(GetPartitionsCommand)).toHaveLength(0);
  });
});

describe('Redshift Data API', () => {
  const base = {
    sql: 'SELECT vehicle, kwh FROM usage WHERE day = :day',
    parameters: { day: '2022-01-01' },
    secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:redshift-reader-AbCdEf',
    database: 'analytics',
    workgroupName: 'rnd',
    pollMs: 1,
  };

  test('authenticates with the secret, sends named parameters, waits and pages through rows', async () => {
    redshiftMock.on(ExecuteStatementCommand).resolves({ Id: 's-1' });
    redshiftMock
      .on(DescribeStatementCommand)
      .resolvesOnce({ Status: 'STARTED' })
      .resolves({ Status: 'FINISHED', HasResultSet: true, ResultRows: 3 });
    const meta = [
      { name: 'vehicle', label: 'vehicle' },
      { name: 'kwh', label: 'kwh' },
    ];
    redshiftMock.on(GetStatementResultCommand, { Id: 's-1', NextToken: undefined }).resolves({
      ColumnMetadata: meta,
      Records: [
        [{ stringValue: 'v1' }, { doubleValue: 1.5 }],
        [{ stringValue: 'v2' }, { isNull: true }],
      ],
      NextToken: 'n2',
    });
    redshiftMock
      .on(GetStatementResultCommand, { Id: 's-1', NextToken: 'n2' })
      .resolves({ ColumnMetadata: meta, Records: [[{ stringValue: 'v3' }, { longValue: 2 }]] });
    const rows = [];
    for await (const r of queryRedshift(redshift, base)) rows.push(r);
    expect(rows).toEqual([
      { vehicle: 'v1', kwh: 1.5 },
      { vehicle: 'v2', kwh: null },
      { vehicle: 'v3', kwh: 2 },
    ]);
    expect(redshiftMock.commandCalls(ExecuteStatementCommand)[0].args[0].input).toEqual({
      Sql: base.sql,
      Parameters: [{ name: 'day', value: '2022-01-01' }],
      SecretArn: base.secretArn,
      Database: 'analytics',
      WorkgroupName: 'rnd',
      ClusterIdentifier: undefined,
    });
  });

  test("a failed statement raises Redshift's reason", async () => {
    redshiftMock.on(ExecuteStatementCommand).resolves({ Id: 's-2' });
    redshiftMock.on(DescribeStatementCommand).resolves({ Status: 'FAILED', Error: 'ERROR: relation "usage" does not exist' });
    const err = await runRedshiftStatement(redshift, base).catch((e) => e);
    expect(err).toBeInstanceOf(RedshiftStatementError);
    expect(err.message).toBe('Redshift statement s-2 failed: ERROR: relation "usage" does not exist');
  });

  test('a timeout cancels the statement', async () => {
    redshiftMock.on(ExecuteStatementCommand).resolves({ Id: 's-3' });
    redshiftMock.on(DescribeStatementCommand).resolves({ Status: 'STARTED' });
    redshiftMock.on(CancelStatementCommand).resolves({ Status: true });
    let t = 0;
    const err = await runRedshiftStatement(redshift, {
      ...base,
      timeoutMs: 10_000,
      now: () => t,
      sleep: async (ms) => {
        t += ms;
      },
    }).catch((e) => e);
    expect(err).toBeInstanceOf(QueryTimeoutError);
    expect(redshiftMock.commandCalls(CancelStatementCommand).map((c) => c.args[0].input)).toEqual([{ Id: 's-3' }]);
  });

  test('an abort cancels the statement; exactly one of cluster or workgroup is required', async () => {
    redshiftMock.on(ExecuteStatementCommand).resolves({ Id: 's-4' });
    redshiftMock.on(CancelStatementCommand).resolves({ Status: true });
    const controller = new AbortController();
    redshiftMock.on(DescribeStatementCommand).callsFake(() => {
      controller.abort(new Error('stop'));
      return { Status: 'STARTED' };
    });
    await expect(runRedshiftStatement(redshift, { ...base, signal: controller.signal })).rejects.toThrow('stop');
    expect(redshiftMock.commandCalls(CancelStatementCommand)).toHaveLength(1);
    await expect(runRedshiftStatement(redshift, { ...base, clusterIdentifier: 'c' })).rejects.toThrow('exactly one of clusterIdentifier');
  });
});
