import * as fs from 'node:fs';
import * as path from 'node:path';
import { Duration, TimeZone } from 'aws-cdk-lib';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { loadProject, ProjectConfigError } from '../../lib/config/load-project';
import type { PurposeProps } from '../../lib/constructs/purpose-props';
import {
  channelNameProblem,
  columnTypeProblem,
  cronDaylightSavingProblem,
  cronProblem,
  frameworkProblem,
  glueNameProblem,
  inputKeyProblem,
  jobNamePrefixProblem,
  keyPrefixProblem,
  workGroupNameProblem,
} from '../../lib/contract/rules';
import { parseS3Uri, tryParseS3Uri } from '../../lib/contract/s3-uri';
import { addDays, dateProblem, isDate, partitionDateOf, windowProblem } from '../../lib/contract/dates';
import { CONTAINER_DIR, usageAnalysis } from '../constructs/fixtures';
import { tempDir } from '../helpers';

/*
 * Each rule is stated once (lib/contract/rules.ts), so the project file and a construct used
 * directly from another team's stack reject a bad value with the same words. Only the "where"
 * differs: file, line and field for the project file, the construct path for a construct.
 */

const PURPOSE = `project: demo
purposes:
  - name: usage-analysis
    inputs:
      - { name: usage, prefix: raw/usage/ }
    outputs:
      - { name: summary }
`;

/** The one problem the project file reports, without its "line N:M: field: " prefix. */
function fileProblem(yaml: string): string {
  const dir = tempDir('batcat-rules-');
  fs.mkdirSync(path.join(dir, 'projects'));
  fs.mkdirSync(path.join(dir, 'containers', 'usage-analysis'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'containers', 'usage-analysis', 'Dockerfile'), 'FROM scratch\n');
  fs.writeFileSync(path.join(dir, 'projects', 'demo.yaml'), yaml);
  try {
    loadProject(path.join(dir, 'projects', 'demo.yaml'), dir);
  } catch (e) {
    if (!(e instanceof ProjectConfigError)) throw e;
    expect(e.problems).toHaveLength(1);
    return e.problems[0].replace(/^line \d+:\d+: [^ ]+: /, '');
  }
  throw new Error('expected the project file to be rejected');
}

/** The message a Purpose throws for these props, without its construct path. */
function constructProblem(overrides: Partial<PurposeProps>): string {
  try {
    usageAnalysis(overrides);
  } catch (e) {
    return (e as Error).message.replace(/^TestStack\/UsageAnalysis(\/[^:]+)?: /, '');
  }
  throw new Error('expected the construct to be rejected');
}

const cases: Array<[string, string, Partial<PurposeProps>]> = [
  ['a purpose name', PURPOSE.replace('name: usage-analysis', 'name: Usage_Analysis'), { purposeName: 'Usage_Analysis' }],
  [
    'an instance type',
    PURPOSE.replace('    inputs:', '    instanceType: ml.m5.huge\n    inputs:'),
    { instanceType: new ec2.InstanceType('m5.huge') },
  ],
  ['an instance count', PURPOSE.replace('    inputs:', '    instanceCount: 101\n    inputs:'), { instanceCount: 101 }],
  ['a volume size', PURPOSE.replace('    inputs:', '    volumeSizeGb: 0\n    inputs:'), { volumeSize: { toGibibytes: () => 0 } as never }],
  [
    'a secret-looking environment variable',
    PURPOSE.replace('    inputs:', '    environment: { DB_PASSWORD: x }\n    inputs:'),
    { environment: { DB_PASSWORD: 'x' } },
  ],
  [
    'a reserved environment variable',
    PURPOSE.replace('    inputs:', '    environment: { BATCAT_RUN_ID: x }\n    inputs:'),
    { environment: { BATCAT_RUN_ID: 'x' } },
  ],
  [
    'an output key prefix',
    PURPOSE.replace('      - { name: summary }', '      - { name: summary, prefix: results/summary }'),
    { outputs: [{ name: 'summary', keyPrefix: 'results/summary' }] },
  ],
  [
    'a duplicate output',
    PURPOSE.replace('      - { name: summary }', '      - { name: summary }\n      - { name: summary }'),
    { outputs: [{ name: 'summary' }, { name: 'summary' }] },
  ],
  ['a backfill concurrency', PURPOSE.replace('    inputs:', '    backfillConcurrency: 41\n    inputs:'), { backfillConcurrency: 41 }],
  [
    'a maxWindow shorter than the window',
    PURPOSE.replace('    inputs:', "    window: '7d'\n    maxWindow: '3d'\n    inputs:"),
    { window: Duration.days(7), maxWindow: Duration.days(3) },
  ],
  [
    'complete on an input without partitions',
    PURPOSE.replace('prefix: raw/usage/', 'prefix: raw/usage/, complete: true').replace('    inputs:', "    window: '7d'\n    inputs:"),
    { inputs: [{ name: 'usage', keyPrefix: 'raw/usage/', complete: true }], window: Duration.days(7), s3Arrival: undefined },
  ],
  [
    'a local path outside /opt/ml/processing',
    PURPOSE.replace('prefix: raw/usage/', 'prefix: raw/usage/, localPath: /opt/ml/input/usage'),
    { inputs: [{ name: 'usage', keyPrefix: 'raw/usage/', localPath: '/opt/ml/input/usage' }], s3Arrival: undefined },
  ],
  [
    'two channels on one local path',
    PURPOSE.replace('{ name: summary }', '{ name: summary, localPath: /opt/ml/processing/input/usage/ }'),
    { outputs: [{ name: 'summary', localPath: '/opt/ml/processing/input/usage/' }] },
  ],
  [
    'a script with an entrypoint',
    PURPOSE.replace('    inputs:', '    script: containers/usage-analysis/usage_analysis.py\n    entrypoint: [python3, x.py]\n    inputs:'),
    { script: path.join(CONTAINER_DIR, 'usage_analysis.py'), entrypoint: ['python3', 'x.py'] },
  ],
  [
    'a placeholder that does not exist',
    PURPOSE.replace('    inputs:', "    arguments: ['--day', '{window.day}']\n    inputs:"),
    { arguments: ['--day', '{window.day}'] },
  ],
];

test.each(cases)('%s is rejected with the same words by the project file and by the construct', (_what, yaml, overrides) => {
  const fromFile = fileProblem(yaml);
  expect(fromFile.length).toBeGreaterThan(20);
  expect(constructProblem(overrides)).toBe(fromFile);
});

test.each<[string, string | undefined, string]>([
  ['a folder without its trailing slash', keyPrefixProblem('results/daily'), "try 'results/daily/'"],
  ['a folder with a leading slash and a space', keyPrefixProblem('/raw/usage data/'), "try 'raw/usage-data/'"],
  [
    'a folder with a wildcard',
    keyPrefixProblem('raw/*/'),
    "('*' would be a wildcard in the IAM policies built from the prefix); try 'raw/'",
  ],
  ['an input key with a wildcard', inputKeyProblem('raw/usage/*.csv'), "try 'raw/usage/.csv'"],
  ['an input name in capitals', channelNameProblem('Usage Data'), "try 'usage-data'"],
  ['a Glue name with hyphens', glueNameProblem('table name', 'Fleet-Daily'), "try 'fleet_daily'"],
  ['a Glue name starting with a digit', glueNameProblem('database', '2026-rnd'), "try '_2026_rnd'"],
  ['a workgroup name with a space', workGroupNameProblem('team queries'), "try 'team-queries'"],
  ['a job name prefix with an underscore', jobNamePrefixProblem('daily_usage'), "try 'daily-usage'"],
  ['a column type of pandas', columnTypeProblem('int64'), "did you mean 'bigint'?"],
  ['a column type of another database', columnTypeProblem('datetime'), "did you mean 'timestamp'?"],
  ['a misspelt column type', columnTypeProblem('strng'), "did you mean 'string'?"],
  ['a column type in capitals', columnTypeProblem('BIGINT'), "did you mean 'bigint'?"],
  ['a misspelt framework', frameworkProblem('skleran:1.2-1'), "did you mean 'sklearn:1.2-1'?"],
])('%s is refused with the fix', (_what, problem, fix) => {
  expect(problem).toContain(fix);
});

test('a fix is offered only where one can be made', () => {
  expect(keyPrefixProblem('/')).not.toContain('try');
  expect(columnTypeProblem('geometry')).toBe(
    "'geometry' is not an Athena column type; use e.g. string, bigint, double, boolean, date, timestamp, decimal(10,2) or varchar(20)",
  );
  expect(frameworkProblem('torch-serve:1')).not.toContain('did you mean');
  // Every fix offered passes its own rule.
  expect(keyPrefixProblem('results/daily/')).toBeUndefined();
  expect(glueNameProblem('database', '_2026_rnd')).toBeUndefined();
  expect(jobNamePrefixProblem('daily-usage')).toBeUndefined();
});

test.each([
  '0 4 * * ? *',
  '0 4 ? * MON-FRI *',
  '0/15 * * * ? *',
  '*/5 8-17 ? * 2-6 *',
  '0 12 L * ? *',
  '0 8 15W * ? *',
  '0 8 LW * ? *',
  '0 9 ? * 6#3 *',
  '0 9 ? * FRI#1 *',
  '0 9 ? * 6L *',
  '0 0 1 JAN,JUL ? 2027',
  '0 0 1 1-6/2 ? 2026-2030',
])('the cron %s is valid', (expression) => {
  expect(cronProblem(expression)).toBeUndefined();
});

test.each([
  ['0 25 * * ? *', "hours '25' is out of range (0-23)"],
  ['60 0 * * ? *', "minutes '60' is out of range (0-59)"],
  ['0 0 32 * ? *', "day-of-month '32' is out of range (1-31)"],
  ['0 0 1-40 * ? *', "day-of-month '1-40' is out of range (1-31)"],
  ['0 0 1 13 ? *', "month '13' is out of range (1-12 or JAN-DEC)"],
  ['0 0 ? * FOO *', "day-of-week 'FOO' is not a day-of-week value (1-7 or SUN-SAT)"],
  ['0 0 ? * 8 *', "day-of-week '8' is out of range (1-7 or SUN-SAT)"],
  ['0/0 * * * ? *', "minutes the step in '0/0' must be from 1 to 59"],
  ['0 0 1 1 ? 1969', "year '1969' is out of range (1970-2199)"],
  ['0 0 * * * *', "exactly one of day-of-month and day-of-week must be '?'"],
  ['0 0 ? * ? *', "exactly one of day-of-month and day-of-week must be '?'"],
  ['0 0 * * ?', 'has 5 fields; an EventBridge Scheduler cron has six: minutes hours day-of-month month day-of-week year'],
])('the cron %s is rejected, naming the field and its range', (expression, message) => {
  expect(cronProblem(expression)).toContain(message);
  expect(cronProblem(expression)).toContain("e.g. '0 4 * * ? *'");
});

test('the project file and a RunTrigger refuse a bad cron with the same words', () => {
  const yaml = PURPOSE.replace('    inputs:', '    triggers:\n      schedule: { cron: "0 25 * * ? *" }\n    inputs:');
  const fromFile = fileProblem(yaml);
  expect(fromFile).toContain("hours '25' is out of range (0-23)");
  expect(constructProblem({ schedule: scheduler.ScheduleExpression.expression('cron(0 25 * * ? *)') })).toBe(fromFile);
});

test('a daily cron in the hour daylight saving time skips is found, in any zone; other times and UTC pass', () => {
  const from = new Date('2026-11-29T00:00:00Z');
  expect(cronDaylightSavingProblem('0 2 * * ? *', 'Europe/Berlin', from)).toBe(
    "cron '0 2 * * ? *' in Europe/Berlin falls in the hour skipped when daylight saving time starts (on 2027-03-28 there is no 02:00), and EventBridge Scheduler " +
      "skips that tick, so that day's window would never run; schedule it outside the night's changeover, e.g. '0 4 * * ? *', or use timezone 'UTC'",
  );
  expect(cronDaylightSavingProblem('30 2 * * ? *', 'America/New_York', from)).toContain('(on 2027-03-14 there is no 02:30)');
  expect(cronDaylightSavingProblem('15 2 * * ? *', 'Australia/Lord_Howe', from)).toContain('(on 2027-10-03 there is no 02:15)'); // a 30-minute change
  expect(cronDaylightSavingProblem('0 3 * * ? *', 'Europe/Berlin', from)).toBeUndefined();
  expect(cronDaylightSavingProblem('0 2 * * ? *', 'UTC', from)).toBeUndefined();
  expect(cronDaylightSavingProblem('0 2,14 * * ? *', 'Europe/Berlin', from)).toBeUndefined(); // the 14:00 tick still runs that day
  expect(cronDaylightSavingProblem('0 2 ? * MON *', 'Europe/Berlin', from)).toBeUndefined(); // not daily: not checked
});

test('the project file and a RunTrigger refuse such a cron with the same words', () => {
  const yaml = PURPOSE.replace(
    '    inputs:',
    "    triggers:\n      schedule: { cron: '30 2 * * ? *', timezone: Europe/Berlin }\n    inputs:",
  );
  const fromFile = fileProblem(yaml);
  expect(fromFile).toMatch(/^cron '30 2 \* \* \? \*' in Europe\/Berlin falls in the hour skipped when daylight saving time starts/);
  expect(constructProblem({ schedule: scheduler.ScheduleExpression.expression('cron(30 2 * * ? *)', TimeZone.EUROPE_BERLIN) })).toBe(
    fromFile,
  );
});

describe('parsing, in one place', () => {
  test('S3 URIs', () => {
    expect(parseS3Uri('s3://bucket/raw/usage/')).toEqual({ bucket: 'bucket', key: 'raw/usage/' });
    expect(parseS3Uri('s3://bucket')).toEqual({ bucket: 'bucket', key: '' });
    expect(() => parseS3Uri('https://bucket/x')).toThrow("'https://bucket/x' is not an S3 URI; write s3://<bucket>/<key>");
    expect(tryParseS3Uri('s3://Other_Bucket/x/')).toBeUndefined();
    expect(tryParseS3Uri('s3://bucket')).toBeUndefined();
    expect(tryParseS3Uri('s3://my.bucket-1/a/b.csv')).toEqual({ bucket: 'my.bucket-1', key: 'a/b.csv' });
  });

  test('dates and windows', () => {
    expect(isDate('2024-02-29')).toBe(true);
    expect(isDate('2023-02-29')).toBe(false);
    expect(isDate('2026-1-1')).toBe(false);
    expect(dateProblem('2026-13-01', '--date')).toBe('--date must be a calendar date written YYYY-MM-DD, got "2026-13-01"');
    expect(windowProblem({ start: '2026-03-02', end: '2026-03-01' })).toBe('window ends (2026-03-01) before it starts (2026-03-02)');
    expect(windowProblem({ start: '2026-03-01', end: '2026-03-01' })).toBeUndefined();
    expect(addDays('2026-03-28', 2)).toBe('2026-03-30'); // across the European DST change
    expect(partitionDateOf('raw/usage/dt=2026-02-30/x.csv')).toBeUndefined();
    expect(partitionDateOf('raw/usage/dt=2026-02-28/x.csv')).toBe('2026-02-28');
  });
});
