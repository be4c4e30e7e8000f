import { DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import type { PurposeRunConfig } from '../../lib/contract/run-input';

/* The Lambda shell: configuration from the environment, one JSON log line per event, errors rethrown for the DLQ. */

const CONFIG: PurposeRunConfig = {
  purpose: 'usage-analysis',
  stateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:sm',
  backfillStateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:sm-backfill',
  bucket: 'demo-data',
  windowDays: 1,
  maxWindowDays: 1,
  maxBackfillWindows: 10,
  timezone: 'UTC',
  inputs: [],
  outputs: [{ name: 'summary', uri: 's3://demo-data/results/summary/' }],
  s3Arrival: [],
  ledgerTable: 'ledger',
};

const sfn = mockClient(SFNClient);
const ddb = mockClient(DynamoDBClient);
let handler: (event: unknown) => Promise<any>;
const logs: Array<{ level: string; entry: any }> = [];

beforeAll(async () => {
  process.env.BATCAT_RUN_CONFIG = JSON.stringify(CONFIG);
  process.env.AWS_REGION = 'eu-west-1';
  ({ handler } = await import('../../lambda/trigger/index'));
  jest.spyOn(console, 'info').mockImplementation((entry) => logs.push({ level: 'info', entry }));
  jest.spyOn(console, 'error').mockImplementation((entry) => logs.push({ level: 'error', entry }));
});
beforeEach(() => {
  sfn.reset();
  ddb.reset();
  ddb.on(QueryCommand).resolves({ Items: [] });
  logs.length = 0;
});

test('starts the run and logs what it started as one structured entry', async () => {
  sfn
    .on(StartExecutionCommand)
    .resolves({ executionArn: 'arn:aws:states:eu-west-1:123456789012:execution:sm:usage-analysis-20261101-a1', startDate: new Date() });
  const result = await handler({ purpose: 'usage-analysis', date: '2026-11-01' });
  expect(result.windows).toEqual([expect.objectContaining({ runId: 'usage-analysis-20261101-a1', action: 'started' })]);
  expect(logs).toEqual([
    { level: 'info', entry: expect.objectContaining({ message: '1 run(s) started', purpose: 'usage-analysis', trigger: 'manual' }) },
  ]);
  // The ledger was read for the window before anything started.
  expect(ddb.commandCalls(QueryCommand)[0].args[0].input).toMatchObject({ TableName: 'ledger', ConsistentRead: true });
});

test('rejects bad input with its reason in the log, and throws so an asynchronous event reaches the DLQ', async () => {
  const event = { purpose: 'usage-analysis', date: 'yesterday' };
  await expect(handler(event)).rejects.toThrow(/date must be a calendar date/);
  expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  expect(logs).toEqual([
    {
      level: 'error',
      entry: {
        message: 'request rejected; nothing started',
        purpose: 'usage-analysis',
        reason: expect.stringMatching(/date must be/),
        errorName: 'RunRequestError',
        event,
      },
    },
  ]);
});

test('a failed start is logged as such and thrown for Lambda to retry', async () => {
  sfn.on(StartExecutionCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
  await expect(handler({ purpose: 'usage-analysis', date: '2026-11-01' })).rejects.toThrow('Rate exceeded');
  expect(logs[0].entry).toMatchObject({ message: 'could not start the run', errorName: 'ThrottlingException' });
});

test('the hourly freshness check is dispatched to its own logic, which refuses a purpose without an allowance', async () => {
  await expect(handler({ trigger: 'freshness', purpose: 'usage-analysis' })).rejects.toThrow(/'usage-analysis' has no freshness allowance/);
  expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  expect(logs[0].entry).toMatchObject({ message: 'request rejected; nothing started', errorName: 'RunRequestError' });
});
