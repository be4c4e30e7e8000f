import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseDocument } from 'yaml';
import { batcat, exampleCopy } from './cli-process';

/*
 * The example's summary output has rules (projects/2022-rnd-battery.yaml): a local run whose
 * output breaks one fails before its success is recorded, through the same states as on AWS.
 */

jest.setTimeout(120_000);

const PROJECT = path.join('projects', '2022-rnd-battery.yaml');

function withUsage(root: string, day: string, csv: string): void {
  const dir = path.join(root, 'data', 'raw', 'usage', `dt=${day}`);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'part-0001.csv'), csv);
}

/** Sets `value` at `at` below the summary output of usage-analysis, comments kept. */
function setRule(root: string, at: Array<string | number>, value: unknown): void {
  const file = path.join(root, PROJECT);
  const doc = parseDocument(fs.readFileSync(file, 'utf8'));
  doc.setIn(['purposes', 0, 'outputs', 0, ...at], value);
  fs.writeFileSync(file, doc.toString());
}

const runLocal = (root: string, day: string) =>
  batcat(['run-local', '2022-rnd-battery', 'usage-analysis', '--date', day, '--engine', 'namespace'], root);

describe('data rules in batcat run-local', () => {
  test("an output that breaks a rule fails the run with the rule, the column and the observed value, before its commit: the window's result stays", () => {
    const root = exampleCopy();
    // A good run of the window first: its result must survive the bad run after it.
    withUsage(root, '2026-11-22', 'vin,time,usage\nVIN1,2026-11-22T07:00:00,4\nVIN2,2026-11-22T08:00:00,1.5\n');
    expect(runLocal(root, '2026-11-22').code).toBe(0);
    const result = path.join(root, 'data/result/usage-analysis/dt=2026-11-22/summary/usage_summary.csv');
    const good = fs.readFileSync(result, 'utf8');
    // A meter that ran backwards: VIN1's total is negative, which the rule total_usage: { min: 0 } forbids.
    withUsage(root, '2026-11-22', 'vin,time,usage\nVIN1,2026-11-22T07:00:00,-4\nVIN2,2026-11-22T08:00:00,1.5\n');
    const r = runLocal(root, '2026-11-22');
    expect(r.code).toBe(1);
    const states = r.out
      .split('\n')
      .filter((l) => /^[▶✓✗] /.test(l))
      .map((l) => l.replace(/ \(\d+ ms\)(?=$|:)/, ''));
    expect(states.slice(states.indexOf('▶ CheckOutputRules'))).toEqual([
      '▶ CheckOutputRules',
      '✓ CheckOutputRules',
      '▶ OutputRulesHeld',
      '✓ OutputRulesHeld',
      '▶ RuleViolation',
      '✓ RuleViolation',
      '▶ Failed-RunProcessingJob',
      '✓ Failed-RunProcessingJob',
      '▶ RecordRunFailure',
      '✓ RecordRunFailure',
      '▶ NotifyFailure',
      '✓ NotifyFailure',
      '▶ PublishUnlessReproduction',
      '✓ PublishUnlessReproduction',
      '▶ PublishRunFailed',
      '✓ PublishRunFailed',
      // The state a failed run ends in, on AWS too, where a redrive would go on from it.
      '▶ AwaitRedrive',
      '✗ AwaitRedrive: BatCat.RuleViolation',
    ]);
    expect(r.out).toContain('run usage-analysis-20261122-a2 FAILED: BatCat.RuleViolation: the run broke its data rules:');
    // Checked before the commit: the window's result is still the good run's.
    expect(r.out).not.toContain('▶ CommitResults');
    expect(fs.readFileSync(result, 'utf8')).toBe(good);
    expect(r.out).toContain('  - output summary (table usage_analysis_summary): column total_usage has minimum -4; rule min is 0');
    const runDir = path.join(root, 'runs', 'usage-analysis', 'usage-analysis-20261122-a2');
    expect(JSON.parse(fs.readFileSync(path.join(runDir, 'status.json'), 'utf8'))).toMatchObject({
      status: 'FAILED',
      error: 'BatCat.RuleViolation',
    });
    expect(JSON.parse(fs.readFileSync(path.join(runDir, 'profiles', 'summary.json'), 'utf8'))).toMatchObject({ rows: 2 });
    // The history a later run's drift compares with keeps the good run's profile and sample.
    const kept = path.join(root, 'data', '_batcat', 'profiles', 'usage-analysis', 'summary', 'dt=2026-11-22', 'profile.json');
    expect(JSON.parse(fs.readFileSync(kept, 'utf8'))).toMatchObject({ runId: 'usage-analysis-20261122-a1' });
    const sample = path.join(root, 'data', '_batcat', 'samples', 'usage-analysis', 'summary', 'dt=2026-11-22', 'sample.csv');
    expect(fs.readFileSync(sample, 'utf8')).not.toContain('-4');
  });

  test('onViolation: warn prints the broken rule and the run succeeds; drift compares with the previous window', () => {
    const root = exampleCopy();
    setRule(root, ['onViolation'], 'warn');
    setRule(root, ['rules', 'drift'], { rows: 0.5 });
    withUsage(
      root,
      '2026-11-21',
      'vin,time,usage\nVIN1,2026-11-21T07:00:00,4\nVIN2,2026-11-21T08:00:00,1.5\nVIN3,2026-11-21T08:00:00,1\nVIN4,2026-11-21T08:00:00,1\n',
    );
    withUsage(root, '2026-11-22', 'vin,time,usage\nVIN1,2026-11-22T07:00:00,-4\n');
    const first = runLocal(root, '2026-11-21');
    expect(first.code).toBe(0);
    expect(first.out).not.toContain('warning: the run broke');
    const second = runLocal(root, '2026-11-22');
    expect(second.code).toBe(0);
    expect(second.out).toContain('warning: the run broke its data rules (onViolation: warn):');
    expect(second.out).toContain(
      '  - output summary (table usage_analysis_summary) has 1 row(s), 75% fewer than the 4 of run usage-analysis-20261121-a1; rule drift.rows allows 50%',
    );
    expect(second.out).toContain('column total_usage has minimum -4; rule min is 0');
    expect(second.out).toContain('▶ CountRuleWarnings');
    expect(second.out).toContain('run usage-analysis-20261122-a1 succeeded');
    // A run that counts (warn rules count) keeps its sample, as on AWS: the table's columns, its rows (up to sample: 1000).
    const sample = fs.readFileSync(path.join(root, 'data/_batcat/samples/usage-analysis/summary/dt=2026-11-22/sample.csv'), 'utf8');
    expect(sample.split('\n')[0]).toBe('vin,records,first_time,last_time,total_usage,mean_usage,max_usage');
    expect(sample.trimEnd().split('\n')).toHaveLength(2);
  });

  test('a rule on a column the table lacks stops run-local before anything runs, naming the file, the field and the columns', () => {
    const root = exampleCopy();
    setRule(root, ['rules', 'columns', 'total_usag'], { min: 0 });
    const r = runLocal(root, '2026-11-22');
    expect(r.code).toBe(2);
    expect(r.err).toContain('projects/2022-rnd-battery.yaml');
    expect(r.err).toContain('purposes[0].outputs[0].rules.columns.total_usag');
    expect(r.err).toContain("the table has no column 'total_usag' (did you mean 'total_usage'?)");
  });
});

describe('batcat rules suggest', () => {
  test('learns rules from the profiles of recent local runs and writes them under the output, the file and its comments kept', () => {
    const root = exampleCopy();
    withUsage(root, '2026-11-21', 'vin,time,usage\nVIN1,2026-11-21T07:00:00,4\nVIN2,2026-11-21T08:00:00,1.5\nVIN3,2026-11-21T08:00:00,1\n');
    withUsage(root, '2026-11-22', 'vin,time,usage\nVIN1,2026-11-22T07:00:00,2\nVIN2,2026-11-22T08:00:00,3\n');
    for (const day of ['2026-11-21', '2026-11-22']) expect(runLocal(root, day).code).toBe(0);
    const file = path.join(root, PROJECT);
    const before = fs.readFileSync(file, 'utf8');

    const printed = batcat(['rules', 'suggest', '2022-rnd-battery', 'usage-analysis', '--local', '--print'], root);
    expect(printed.code).toBe(0);
    expect(printed.out).toContain('usage-analysis/summary: rules every one of 2 profile(s) passes (windows 2026-11-21 .. 2026-11-22):');
    expect(fs.readFileSync(file, 'utf8')).toBe(before);

    // The example has rules already: they are kept unless --replace.
    const kept = batcat(['rules', 'suggest', '2022-rnd-battery', 'usage-analysis', '--local'], root);
    expect(kept.out).toContain('not written: summary has rules already in projects/2022-rnd-battery.yaml; add --replace to replace them');
    expect(fs.readFileSync(file, 'utf8')).toBe(before);

    const r = batcat(['rules', 'suggest', '2022-rnd-battery', 'usage-analysis', '--local', '--replace'], root);
    expect(r.code).toBe(0);
    expect(r.out).toContain('written into projects/2022-rnd-battery.yaml');
    const after = fs.readFileSync(file, 'utf8');
    expect(after).toContain('# 04:00 every day');
    expect(after).toContain('# queryable in Athena as batcat_2022_rnd_battery_dev.usage_analysis_summary');
    const rules = parseDocument(after).getIn(['purposes', 0, 'outputs', 0, 'rules'], false) as { toJSON(): unknown };
    expect(rules.toJSON()).toMatchObject({
      rows: { min: 1 },
      columns: {
        vin: { notNull: true, unique: true, values: ['VIN1', 'VIN2', 'VIN3'] },
        total_usage: { notNull: true, min: 1, max: 4 },
        records: { notNull: true, min: 1, max: 1 },
      },
      // 3 rows, then 2: a third fewer; half again is 0.5.
      drift: { rows: 0.5 },
    });
    // The file stays valid, and the runs it learned from pass it.
    expect(runLocal(root, '2026-11-22').code).toBe(0);
  });

  test('a purpose without runs, or without a table output, says what to do', () => {
    const root = exampleCopy();
    const none = batcat(['rules', 'suggest', '2022-rnd-battery', 'usage-analysis', '--local'], root);
    expect(none.code).toBe(0);
    expect(none.out).toContain(
      'usage-analysis/summary: no profile of a successful run yet; run it (batcat run-local, or on AWS) and suggest again',
    );
    const report = batcat(['rules', 'suggest', '2022-rnd-battery', 'fleet-report', '--local'], root);
    expect(report.code).toBe(2);
    expect(report.err).toContain("purpose 'fleet-report' has no output with a table; rules are about a table's profile (outputs[].table)");
  });
});
