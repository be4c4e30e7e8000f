import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import type { PurposeRunConfig } from '../../lib/contract/run-input';
import { startOfDay } from '../../lib/contract/dates';
import { checkFreshness, isFreshnessCheck } from '../../lib/runtime/freshness';
import { motoUnavailable, startMotoServer, type MotoServer } from '../moto-server';

/* The hourly freshness check, with the run ledger in moto's DynamoDB and CloudWatch and SNS mocked. */

const unavailable = motoUnavailable();
if (unavailable) console.warn(`test/runtime/freshness.test.ts is skipped: ${unavailable}`);
const suite = unavailable ? describe.skip : describe;

const cw = mockClient(CloudWatchClient);
const sns = mockClient(SNSClient);
let server: MotoServer;
let config: PurposeRunConfig;
beforeAll(async () => {
  if (!unavailable) server = await startMotoServer();
}, 60_000);
afterAll(async () => server?.stop());
beforeEach(async () => {
  cw.reset();
  sns.reset();
  if (unavailable) return;
  config = {
    purpose: 'usage-analysis',
    stateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:sm',
    backfillStateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:sm-backfill',
    bucket: 'b',
    windowDays: 1,
    maxWindowDays: 1,
    maxBackfillWindows: 10,
    timezone: 'Europe/Berlin',
    inputs: [],
    outputs: [],
    s3Arrival: [],
    ledgerTable: await server.createLedger(),
    freshness: { hours: 6, topicArn: 'arn:aws:sns:eu-west-1:123456789012:alarms', stateMachineName: 'batcat-demo-dev-usage-analysis' },
  };
});

const record = (window: string, status: string) =>
  server.putItem(config.ledgerTable, { purpose: config.purpose, window, windowEnd: window, status, attempts: 1 });

const check = (now: string) =>
  checkFreshness(config, { ddb: server.client(), cloudwatch: new CloudWatchClient({}), sns: new SNSClient({}), now: new Date(now) });

suite('the freshness check', () => {
  test('publishes the age of the newest successful window; a later failed window does not count', async () => {
    await record('2026-11-20', 'SUCCEEDED');
    await record('2026-11-21', 'SUCCEEDED');
    await record('2026-11-22', 'FAILED');
    // 05:00 in Berlin on the 23rd: the 21st ended at midnight before the 22nd (23:00 UTC on the 21st), 29 hours ago.
    const r = await check('2026-11-23T04:00:00Z');
    expect(r).toEqual({
      newestSuccess: { start: '2026-11-21', end: '2026-11-21' },
      ageHours: 29,
      lateAfterHours: 30,
      late: false,
      notified: false,
    });
    expect(cw.commandCalls(PutMetricDataCommand)[0].args[0].input).toEqual({
      Namespace: 'BatCat',
      MetricData: [
        {
          MetricName: 'NewestSuccessAgeHours',
          Dimensions: [{ Name: 'StateMachine', Value: 'batcat-demo-dev-usage-analysis' }],
          Value: 29,
          Unit: 'None',
          Timestamp: new Date('2026-11-23T04:00:00Z'),
        },
      ],
    });
    expect(sns.commandCalls(PublishCommand)).toHaveLength(0);
  });

  test('past one window plus the allowance it is late, and the first check past the limit notifies, naming the window', async () => {
    await record('2026-11-21', 'SUCCEEDED');
    const first = await check('2026-11-23T05:30:00Z');
    expect(first).toMatchObject({ ageHours: 30.5, late: true, notified: true });
    const message = JSON.parse(sns.commandCalls(PublishCommand)[0].args[0].input.Message!);
    expect(message).toMatchObject({
      purpose: 'usage-analysis',
      newestSuccessfulWindow: { start: '2026-11-21', end: '2026-11-21' },
      ageHours: 30.5,
      reason: expect.stringContaining("no window of 'usage-analysis' after 2026-11-21..2026-11-21 has succeeded"),
    });
    expect(sns.commandCalls(PublishCommand)[0].args[0].input).toMatchObject({
      TopicArn: 'arn:aws:sns:eu-west-1:123456789012:alarms',
      Subject: 'BatCat purpose late: batcat-demo-dev-usage-analysis',
    });
    // An hour later it is still late (the alarm stays in ALARM), but nobody is told again.
    expect(await check('2026-11-23T06:30:00Z')).toMatchObject({ late: true, notified: false });
    expect(sns.commandCalls(PublishCommand)).toHaveLength(1);
  });

  test('a purpose that never succeeded publishes no age, so the alarm (missing data is late) fires', async () => {
    await record('2026-11-22', 'FAILED');
    expect(await check('2026-11-23T04:00:00Z')).toEqual({ lateAfterHours: 30, late: true, notified: false });
    expect(cw.commandCalls(PutMetricDataCommand)).toHaveLength(0);
  });

  test('a day begins at midnight in its time zone, across daylight saving changes', () => {
    expect(startOfDay('2026-03-29', 'Europe/Berlin').toISOString()).toBe('2026-03-28T23:00:00.000Z');
    expect(startOfDay('2026-03-30', 'Europe/Berlin').toISOString()).toBe('2026-03-29T22:00:00.000Z');
    expect(startOfDay('2026-10-26', 'Europe/Berlin').toISOString()).toBe('2026-10-25T23:00:00.000Z');
    expect(startOfDay('2026-11-22', 'UTC').toISOString()).toBe('2026-11-22T00:00:00.000Z');
    expect(startOfDay('2026-11-22', 'America/New_York').toISOString()).toBe('2026-11-22T05:00:00.000Z');
  });

  test('only the freshness input of this purpose is a freshness check', () => {
    expect(isFreshnessCheck({ trigger: 'freshness', purpose: 'usage-analysis' }, config)).toBe(true);
    expect(isFreshnessCheck({ trigger: 'schedule', purpose: 'usage-analysis' }, config)).toBe(false);
    expect(() => isFreshnessCheck({ trigger: 'freshness', purpose: 'other' }, config)).toThrow(/checks 'usage-analysis' only/);
    expect(() => isFreshnessCheck({ trigger: 'freshness', purpose: 'usage-analysis' }, { ...config, freshness: undefined })).toThrow(
      /has no freshness allowance/,
    );
  });
});
