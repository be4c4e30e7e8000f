import * as fs from 'node:fs';
import * as path from 'node:path';
import { batcat, batcatHere, exampleCopy, filesBelow } from './cli-process';

/*
 * `batcat run-local` and `batcat runs --local` on a copy of the example project, run as child
 * processes: the synthesized state machine, the real scripts, python3, files in data/.
 */

jest.setTimeout(120_000);

const USAGE = 'vin,time,usage\nVIN2,2026-11-22T08:00:00,1.5\nVIN1,2026-11-22T09:00:00,2\nVIN1,2026-11-22T07:00:00,4\n';

function withUsage(root: string, day: string, csv = USAGE): void {
  const dir = path.join(root, 'data', 'raw', 'usage', `dt=${day}`);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'part-0001.csv'), csv);
}

describe('batcat run-local', () => {
  const root = exampleCopy();
  withUsage(root, '2026-11-22');

  test('runs the example purpose through its state machine and collects the summary CSV', () => {
    const r = batcat(['run-local', '2022-rnd-battery', 'usage-analysis', '--date', '2026-11-22', '--engine', 'namespace'], root);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    // Each state as it runs, with its duration, in order.
    const states = lines.filter((l) => /^[▶✓✗] /.test(l)).map((l) => l.replace(/ \(\d+ ms\)$/, ''));
    expect(states).toEqual([
      '▶ CheckRunInput',
      '✓ CheckRunInput',
      '▶ ResolveRun',
      '✓ ResolveRun',
      '▶ IsReproduction',
      '✓ IsReproduction',
      '▶ RecordRunStart',
      '✓ RecordRunStart',
      '▶ SettlesArrivals',
      '✓ SettlesArrivals',
      '▶ RecordReadStart',
      '✓ RecordReadStart',
      '▶ RecordRunInputs',
      '✓ RecordRunInputs',
      '▶ RunProcessingJob',
      '✓ RunProcessingJob',
      '▶ CountOutputs',
      '▶ CountOutput-summary',
      '✓ CountOutput-summary',
      '✓ CountOutputs',
      '▶ RequiredOutputsWritten',
      '✓ RequiredOutputsWritten',
      '▶ CommitUnlessReproduction',
      '✓ CommitUnlessReproduction',
      '▶ Profile-summary',
      '✓ Profile-summary',
      '▶ Sample-summary',
      '✓ Sample-summary',
      '▶ CheckOutputRules',
      '✓ CheckOutputRules',
      '▶ OutputRulesHeld',
      '✓ OutputRulesHeld',
      '▶ CommitResults',
      '✓ CommitResults',
      '▶ IngestFeatures-summary',
      '✓ IngestFeatures-summary',
      '▶ RecordRunOutputs',
      '✓ RecordRunOutputs',
      '▶ RecordRunSuccess',
      '✓ RecordRunSuccess',
      '▶ PublishRunSucceeded',
      '✓ PublishRunSucceeded',
      '▶ RunSucceeded',
      '✓ RunSucceeded',
    ]);
    expect(r.out).toContain('  input usage: 1 file(s) from data/raw/usage/dt=2026-11-22/');
    expect(r.out).toContain('engine: a private mount namespace (unshare)');
    expect(r.out).toContain('  $ python3 /opt/program/usage_analysis.py');
    expect(r.out).toContain('  data/result/usage-analysis/dt=2026-11-22/summary/usage_summary.csv');
    expect(fs.readFileSync(path.join(root, 'data/result/usage-analysis/dt=2026-11-22/summary/usage_summary.csv'), 'utf8')).toBe(
      [
        'vin,records,first_time,last_time,total_usage,mean_usage,max_usage',
        'VIN1,2,2026-11-22T07:00:00,2026-11-22T09:00:00,6.0,3.0,4.0',
        'VIN2,1,2026-11-22T08:00:00,2026-11-22T08:00:00,1.5,1.5,1.5',
        '',
      ].join('\r\n'),
    );

    const runDir = path.join(root, 'runs', 'usage-analysis', 'usage-analysis-20261122-a1');
    // batcat's own records, and the run in MLflow's file-store layout (test/cli/mlflow-runs.test.ts).
    expect(filesBelow(runDir).filter((f) => !/^(artifacts|metrics|params|tags)\/|^meta\.yaml$/.test(f))).toEqual([
      'event.json',
      'input.json',
      'job.json',
      'manifest.json',
      'outputs.json',
      'profiles/summary.json',
      'samples/summary.csv',
      'status.json',
      'stderr.log',
      'stdout.log',
    ]);
    // The completion event AWS would put on the default bus.
    expect(JSON.parse(fs.readFileSync(path.join(runDir, 'event.json'), 'utf8'))).toMatchObject({
      Source: 'batcat',
      DetailType: 'Run Succeeded',
      Detail: {
        project: '2022-rnd-battery',
        stage: 'dev',
        purpose: 'usage-analysis',
        status: 'SUCCEEDED',
        runId: 'usage-analysis-20261122-a1',
      },
    });
    // The profile of the summary table, from the files the run wrote (DuckDB).
    expect(r.out).toContain('profile of summary: 2 row(s), 7 column(s), 0 rule(s) broken');
    const profile = JSON.parse(fs.readFileSync(path.join(runDir, 'profiles', 'summary.json'), 'utf8'));
    expect(profile).toMatchObject({
      version: 1,
      purpose: 'usage-analysis',
      output: 'summary',
      table: 'usage_analysis_summary',
      engine: 'duckdb',
      rows: 2,
    });
    const column = (name: string) => profile.columns.find((c: { name: string }) => c.name === name);
    expect(column('vin')).toEqual({
      name: 'vin',
      type: 'string',
      nulls: 0,
      distinct: 2,
      min: 'VIN1',
      max: 'VIN2',
      top: [
        { value: 'VIN1', count: 1 },
        { value: 'VIN2', count: 1 },
      ],
    });
    expect(column('total_usage')).toMatchObject({ type: 'double', nulls: 0, min: 1.5, max: 6, mean: 3.75, quantiles: { p50: 3.75 } });
    expect(column('total_usage').stddev).toBeCloseTo(3.182, 4);
    expect(column('total_usage').histogram).toHaveLength(10);
    expect(column('total_usage').histogram[0]).toEqual({ lower: 1.5, upper: 1.95, count: 1 });
    expect(column('total_usage').histogram[9]).toEqual({ lower: 5.55, upper: 6, count: 1 });
    expect(column('records')).toMatchObject({ type: 'bigint', min: 1, max: 2, mean: 1.5 });
    const shown = batcat(['profile', '2022-rnd-battery', 'usage-analysis', '--local', '--date', '2026-11-22'], root);
    expect(shown.code).toBe(0);
    const table = shown.out.trimEnd().split('\n');
    expect(table[0]).toBe(
      'usage-analysis/summary (table usage_analysis_summary), run usage-analysis-20261122-a1, window 2026-11-22 .. 2026-11-22: 2 row(s)',
    );
    const cells = (l: string) => l.trim().split(/ {2,}/);
    expect(cells(table[1])).toEqual(['COLUMN', 'TYPE', 'NULLS', 'DISTINCT', 'MIN', 'MAX', 'MEAN', 'P50', 'HISTOGRAM / TOP']);
    expect(cells(table.find((l) => l.startsWith('  vin '))!)).toEqual(['vin', 'string', '0', '2', 'VIN1', 'VIN2', 'VIN1 (1), VIN2 (1)']);
    expect(cells(table.find((l) => l.startsWith('  total_usage '))!)).toEqual([
      'total_usage',
      'double',
      '0',
      '2',
      '1.5',
      '6',
      '3.75',
      '3.75',
      '█········█',
    ]);
    // The run's manifest, as on AWS: what it read and what it wrote (local files have no versions).
    const manifest = JSON.parse(fs.readFileSync(path.join(runDir, 'manifest.json'), 'utf8'));
    expect(manifest).toMatchObject({
      version: 1,
      purpose: 'usage-analysis',
      runId: 'usage-analysis-20261122-a1',
      window: { start: '2026-11-22', end: '2026-11-22' },
      trigger: { kind: 'manual' },
      inputs: [
        {
          name: 'usage',
          prefixes: ['raw/usage/dt=2026-11-22/'],
          objects: [
            {
              key: 'raw/usage/dt=2026-11-22/part-0001.csv',
              size: USAGE.length,
              etag: expect.stringMatching(/^[0-9a-f]{32}$/),
              versionId: null,
            },
          ],
        },
      ],
      outputs: [
        { name: 'summary', objects: [expect.objectContaining({ key: 'results/usage-analysis/summary/dt=2026-11-22/usage_summary.csv' })] },
      ],
    });
    expect(r.out).toContain('  manifest: 1 input and 1 output file(s), in runs/usage-analysis/usage-analysis-20261122-a1/manifest.json');
    const input = JSON.parse(fs.readFileSync(path.join(runDir, 'input.json'), 'utf8'));
    expect(input).toMatchObject({
      runId: 'usage-analysis-20261122-a1',
      window: { start: '2026-11-22', end: '2026-11-22' },
      trigger: { kind: 'manual' },
    });
    const job = JSON.parse(fs.readFileSync(path.join(runDir, 'job.json'), 'utf8')).job;
    // The rendered job parameters are those the real state machine sends to SageMaker.
    expect(job.ProcessingJobName).toMatch(/^usage-analysis-[0-9a-f]{6}-[0-9a-f]{32}$/);
    expect(job.Environment).toMatchObject({
      BATCAT_PURPOSE: 'usage-analysis',
      BATCAT_WINDOW_START: '2026-11-22',
      BATCAT_TRIGGER: 'manual',
      USAGE_UNIT: 'kWh',
    });
    expect(job.ProcessingInputs[0].S3Input.S3Uri).toBe('s3://local-data-bucket/raw/usage/dt=2026-11-22/');
    expect(JSON.parse(fs.readFileSync(path.join(runDir, 'status.json'), 'utf8'))).toMatchObject({
      status: 'SUCCEEDED',
      runId: 'usage-analysis-20261122-a1',
    });
    const summary = path.join(root, 'data/result/usage-analysis/dt=2026-11-22/summary/usage_summary.csv');
    expect(JSON.parse(fs.readFileSync(path.join(runDir, 'outputs.json'), 'utf8'))).toEqual([
      { file: 'data/result/usage-analysis/dt=2026-11-22/summary/usage_summary.csv', bytes: fs.statSync(summary).size },
    ]);
    expect(fs.readFileSync(path.join(runDir, 'stdout.log'), 'utf8')).toContain('reading 1 file(s)');
  });

  test('a query-fed purpose reads the CSV named by query.local, with the window bound as parameters', () => {
    const r = batcat(['run-local', '2022-rnd-battery', 'fleet-report', '--date', '2026-11-22', '--engine', 'namespace'], root);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`  query stands in: queries/fleet-report.sample.csv (parameters ["'2026-11-22'","'2026-11-22'"])`);
    expect(fs.readFileSync(path.join(root, 'data/result/fleet-report/dt=2026-11-22/report/fleet_report.csv'), 'utf8')).toBe(
      'window_start,window_end,vehicles,records,total_usage,mean_usage_per_vehicle\r\n2026-11-22,2026-11-22,3,72,93.75,31.25\r\n',
    );
  });

  test('a script that exits 0 but writes nothing fails the run, naming the empty output (SageMaker would call it a success)', () => {
    const silent = exampleCopy();
    withUsage(silent, '2026-11-22');
    // SageMaker-style: argparse, a hard-coded output path, and a bug that writes elsewhere.
    fs.writeFileSync(
      path.join(silent, 'containers', 'usage-analysis', 'usage_analysis.py'),
      [
        'import argparse, os',
        'parser = argparse.ArgumentParser()',
        "parser.add_argument('--threshold', type=float, default=0.5)",
        'args, _ = parser.parse_known_args()',
        "root = os.environ.get('BATCAT_PROCESSING_ROOT', '/opt/ml')",
        "os.makedirs(os.path.join(root, 'processing', 'output', 'sumary'), exist_ok=True)",
        "open(os.path.join(root, 'processing', 'output', 'sumary', 'out.csv'), 'w').write('a\\n1\\n')",
        "print('done')",
        '',
      ].join('\n'),
    );
    const r = batcat(['run-local', '2022-rnd-battery', 'usage-analysis', '--date', '2026-11-22', '--engine', 'namespace'], silent);
    expect(r.code).toBe(1);
    expect(r.out).toContain('✓ RunProcessingJob');
    expect(r.out).toContain('▶ EmptyOutput-summary');
    expect(r.out).toContain(
      'FAILED: BatCat.EmptyOutput: output summary is empty: the job wrote nothing to /opt/ml/processing/output/summary, ' +
        'so nothing reached s3://local-data-bucket/results/usage-analysis/summary/_attempts/usage-analysis-20261122-a1/.',
    );
    expect(r.out).toContain('set required: false on the output');
    const status = JSON.parse(fs.readFileSync(path.join(silent, 'runs/usage-analysis/usage-analysis-20261122-a1/status.json'), 'utf8'));
    expect(status).toMatchObject({ status: 'FAILED' });
    expect(
      JSON.parse(fs.readFileSync(path.join(silent, 'runs/usage-analysis/usage-analysis-20261122-a1/notification.json'), 'utf8')),
    ).toMatchObject({ Message: { error: 'BatCat.EmptyOutput', runId: 'usage-analysis-20261122-a1' } });
  });

  test('a failing script: the message and the stderr tail are shown, the exit code is 1, and the run is recorded as failed', () => {
    withUsage(root, '2026-11-23', 'vin,time,usage\nVIN1,2026-11-23T01:00:00,abc\n');
    const r = batcat(['run-local', '2022-rnd-battery', 'usage-analysis', '--date', '2026-11-23', '--engine', 'namespace'], root);
    expect(r.code).toBe(1);
    expect(r.out).toContain(
      "run usage-analysis-20261123-a1 FAILED: States.TaskFailed: InputError: part-0001.csv line 2: usage 'abc' is not a number",
    );
    expect(r.out).toMatch(
      / {2}\| InputError: part-0001\.csv line 2: usage 'abc' is not a number\n[^]*the script's whole stderr: runs\/usage-analysis\/usage-analysis-20261123-a1\/stderr\.log\n/,
    );
    expect(r.out).toContain('▶ NotifyFailure');
    expect(r.out).toMatch(/✗ AwaitRedrive \(\d+ ms\): BatCat\.RunFailed/);
    const status = JSON.parse(fs.readFileSync(path.join(root, 'runs/usage-analysis/usage-analysis-20261123-a1/status.json'), 'utf8'));
    expect(status).toMatchObject({ status: 'FAILED', cause: "InputError: part-0001.csv line 2: usage 'abc' is not a number" });
    expect(fs.existsSync(path.join(root, 'data/result/usage-analysis/dt=2026-11-23'))).toBe(false);
  });

  test('a missing input folder fails like SageMaker would, naming the local folder', () => {
    const r = batcat(['run-local', '2022-rnd-battery', 'usage-analysis', '--date', '2026-10-01', '--engine', 'namespace'], root);
    expect(r.code).toBe(1);
    expect(r.out).toContain(
      'ClientError: No objects found under s3://local-data-bucket/raw/usage/dt=2026-10-01/ (locally data/raw/usage/dt=2026-10-01/)',
    );
  });

  test('running a window again records a new attempt that replaces the result whole; runs --local lists them newest first', () => {
    // A file of the earlier attempt that this one does not write: gone after the commit, not mixed in.
    const result = path.join(root, 'data', 'result', 'usage-analysis', 'dt=2026-11-22', 'summary');
    fs.writeFileSync(path.join(result, 'stale.csv'), 'from an earlier attempt\n');
    const again = batcat(['run-local', '2022-rnd-battery', 'usage-analysis', '--date', '2026-11-22', '--engine', 'namespace'], root);
    expect(again.code).toBe(0);
    expect(again.out).toContain('run usage-analysis-20261122-a2:');
    expect(fs.readdirSync(result)).toEqual(['usage_summary.csv']);
    // The attempt's own folder is gone once committed.
    expect(fs.existsSync(path.join(root, 'data', 'result', 'usage-analysis', 'summary', '_attempts'))).toBe(false);
    const r = batcat(['runs', '2022-rnd-battery', 'usage-analysis', '--local'], root);
    expect(r.code).toBe(0);
    const rows = r.out.trim().split('\n');
    expect(rows[0]).toMatch(/^RUN\s+STATUS\s+WINDOW\s+STARTED \(UTC\)\s+DURATION\s+REASON$/);
    expect(rows).toHaveLength(5);
    expect(rows[1]).toMatch(/^usage-analysis-20261122-a2\s+SUCCEEDED\s+2026-11-22\.\.2026-11-22/);
    expect(r.out).toMatch(/usage-analysis-20261123-a1\s+FAILED\s+2026-11-23\.\.2026-11-23\s+.*InputError: part-0001\.csv line 2/);
  });

  test.each([
    [
      'an unknown purpose',
      ['run-local', '2022-rnd-battery', 'nope', '--engine', 'namespace'],
      /project '2022-rnd-battery' has no purpose 'nope'; its purposes: usage-analysis, fleet-report/,
    ],
    [
      'a bad date',
      ['run-local', '2022-rnd-battery', 'usage-analysis', '--date', '2026-02-30', '--engine', 'namespace'],
      /batcat: --date must be a calendar date written YYYY-MM-DD, got "2026-02-30"/,
    ],
    [
      '--from without --to',
      ['run-local', '2022-rnd-battery', 'usage-analysis', '--from', '2026-11-01', '--engine', 'namespace'],
      /batcat: --from and --to go together/,
    ],
    [
      'a missing data folder',
      ['run-local', '2022-rnd-battery', 'usage-analysis', '--date', '2026-11-22', '--data', 'nowhere', '--engine', 'namespace'],
      /data folder .*nowhere does not exist/,
    ],
    [
      'a python that is not there',
      [
        'run-local',
        '2022-rnd-battery',
        'usage-analysis',
        '--date',
        '2026-11-22',
        '--python',
        'python-does-not-exist',
        '--engine',
        'namespace',
      ],
      /cannot run python-does-not-exist/,
    ],
  ])('rejects %s with a clear message', async (_what, args, message) => {
    const r = await batcatHere(args, root);
    expect(r.code).not.toBe(0);
    expect(`${r.out}${r.err}`).toMatch(message);
  });

  test('without query.local, the query itself runs with DuckDB over the tables the project wrote here, the window bound', () => {
    const other = exampleCopy();
    const file = path.join(other, 'projects', '2022-rnd-battery.yaml');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/ {6}local: .*\n/, ''));
    withUsage(other, '2026-11-21', 'vin,time,usage\nVIN9,2026-11-21T08:00:00,100\n');
    withUsage(other, '2026-11-22');
    for (const day of ['2026-11-21', '2026-11-22']) {
      expect(batcat(['run-local', '2022-rnd-battery', 'usage-analysis', '--date', day, '--engine', 'namespace'], other).code).toBe(0);
    }
    const r = batcat(['run-local', '2022-rnd-battery', 'fleet-report', '--date', '2026-11-22', '--engine', 'namespace'], other);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const runDir = 'runs/fleet-report/fleet-report-20261122-a1';
    expect(r.out).toContain(
      `  query queries/fleet-report.sql run with DuckDB over usage_analysis_summary (parameters ["'2026-11-22'","'2026-11-22'"]): 2 row(s) in ${runDir}/query-result.csv`,
    );
    // Only the window's partition (dt = 2026-11-22): VIN9 of the 21st is left out, as Athena would.
    expect(fs.readFileSync(path.join(other, runDir, 'query-result.csv'), 'utf8')).toBe('vin,records,total_usage\nVIN1,2,6\nVIN2,1,1.5\n');
    expect(fs.readFileSync(path.join(other, 'data/result/fleet-report/dt=2026-11-22/report/fleet_report.csv'), 'utf8')).toBe(
      'window_start,window_end,vehicles,records,total_usage,mean_usage_per_vehicle\r\n2026-11-22,2026-11-22,2,3,7.5,3.75\r\n',
    );

    // Reproduced from the query result DuckDB wrote for the run.
    const again = batcat(['reproduce', '2022-rnd-battery', 'fleet-report-20261122-a1', '--local-run', '--engine', 'namespace'], other);
    expect(again.err).toBe('');
    expect(again.code).toBe(0);
    expect(again.out).toContain('reproduced: every output is byte for byte the one run fleet-report-20261122-a1 wrote');

    // The same query ad hoc: batcat query --local, with every table of the project that has files here.
    const adhoc = batcat(['query', '2022-rnd-battery', '--sql', 'queries/fleet-report.sql', '--date', '2026-11-21', '--local'], other);
    expect(adhoc.code).toBe(0);
    expect(adhoc.out).toBe('vin,records,total_usage\nVIN9,1,100\n');
    expect(adhoc.err).toContain('query queries/fleet-report.sql with DuckDB over the tables in data/, window 2026-11-21 .. 2026-11-21');

    // What DuckDB cannot run fails the run, naming the file and what to do.
    fs.writeFileSync(
      path.join(other, 'queries', 'fleet-report.sql'),
      "SELECT date_parse(dt, '%Y-%m-%d') AS d FROM usage_analysis_summary WHERE dt BETWEEN ? AND ?\n",
    );
    const bad = batcat(['run-local', '2022-rnd-battery', 'fleet-report', '--date', '2026-11-22', '--engine', 'namespace'], other);
    expect(bad.code).toBe(1);
    expect(bad.out).toContain('queries/fleet-report.sql cannot run here: DuckDB says:');
    expect(bad.out).toContain('date_parse');
    expect(bad.out).toContain('Give query.local');
  });

  test('a Redshift query without query.local says what to add', () => {
    const other = exampleCopy();
    const file = path.join(other, 'projects', '2022-rnd-battery.yaml');
    fs.writeFileSync(
      file,
      fs
        .readFileSync(file, 'utf8')
        .replace(/ {6}local: .*\n/, '')
        .replace(
          / {6}tables: \[usage_analysis_summary\]\n/,
          '      engine: redshift\n      workgroup: analytics\n      database: dev\n      secret: batcat/redshift\n',
        ),
    );
    fs.mkdirSync(path.join(other, 'data'));
    const r = batcat(['run-local', '2022-rnd-battery', 'fleet-report', '--date', '2026-11-22', '--engine', 'namespace'], other);
    expect(r.err).toContain("purpose 'fleet-report' starts with a Redshift query; add query.local to the project file");
    expect(r.code).toBe(2);
    expect(fs.existsSync(path.join(other, 'runs'))).toBe(false);
  });

  test('dates that cannot be run are refused before the synth, with exit code 2', () => {
    for (const [dates, message] of [
      [['--date', '2999-01-01'], /the window 2999-01-01\.\.2999-01-01 has not ended yet/],
      [['--from', '2026-10-01', '--to', '2026-10-30'], /is 30 days; one run of 'usage-analysis' may cover at most 1 \(maxWindow\)/],
    ] as const) {
      const r = batcat(['run-local', '2022-rnd-battery', 'usage-analysis', ...dates, '--engine', 'namespace'], root);
      expect([r.code, r.err]).toEqual([2, expect.stringMatching(message)]);
      expect(r.out).not.toContain('synthesizing');
    }
  });

  test('a secret reaches the script as the project file names it, for the script to read with your credentials', () => {
    const other = exampleCopy();
    withUsage(other, '2026-11-22');
    const file = path.join(other, 'projects', '2022-rnd-battery.yaml');
    fs.writeFileSync(
      file,
      fs
        .readFileSync(file, 'utf8')
        .replace(
          '    environment:\n',
          '    networkIsolation: false\n    secrets: { FLEET_DB_PASSWORD: prod/fleet-db/password }\n    environment:\n',
        ),
    );
    const r = batcat(['run-local', '2022-rnd-battery', 'usage-analysis', '--date', '2026-11-22', '--engine', 'namespace'], other);
    expect(r.code).toBe(0);
    const job = JSON.parse(
      fs.readFileSync(path.join(other, 'runs', 'usage-analysis', 'usage-analysis-20261122-a1', 'job.json'), 'utf8'),
    ).job;
    expect(job.Environment.FLEET_DB_PASSWORD_SECRET_ID).toBe('prod/fleet-db/password');
  });

  test("--stage of a branch: the run's input from data/ where it has the day, else from the parent's bucket copied to data/s3/<bucket>/", () => {
    const other = exampleCopy();
    const record = {
      parent: 'dev',
      parentStack: 'batcat-2022-rnd-battery-dev',
      dataBucket: 'dev-data',
      dataKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
      purposeBuckets: { 'usage-analysis': 'dev-ua', 'fleet-report': 'dev-fr' },
      createdAt: '2026-12-04T20:00:00.000Z',
    };
    fs.writeFileSync(path.join(other, 'cdk.context.json'), JSON.stringify({ 'batcat:branch:2022-rnd-battery:feat1': record }));
    const parentDay = path.join(other, 'data', 's3', 'dev-ua', 'raw', 'usage', 'dt=2026-11-21');
    fs.mkdirSync(parentDay, { recursive: true });
    fs.writeFileSync(path.join(parentDay, 'part-0001.csv'), USAGE.replace(/2026-11-22/g, '2026-11-21'));
    withUsage(other, '2026-11-22');
    const manifestOf = (runId: string) =>
      JSON.parse(fs.readFileSync(path.join(other, 'runs', 'usage-analysis', runId, 'manifest.json'), 'utf8'));
    for (const [day, bucket] of [
      ['2026-11-21', 'dev-ua'],
      ['2026-11-22', 'local-data-bucket'],
    ]) {
      const r = batcat(
        ['run-local', '2022-rnd-battery', 'usage-analysis', '--date', day, '--engine', 'namespace', '--stage', 'feat1'],
        other,
      );
      expect([day, r.code, r.err]).toEqual([day, 0, '']);
      const input = manifestOf(`usage-analysis-${day.replace(/-/g, '')}-a1`).inputs[0];
      expect([day, input.bucket, input.objects.length]).toEqual([day, bucket, 1]);
    }
    expect(
      fs.readFileSync(path.join(other, 'data', 'result', 'usage-analysis', 'dt=2026-11-21', 'summary', 'usage_summary.csv'), 'utf8'),
    ).toContain('VIN1');
  });
});

describe('batcat run-local, a window of several days over daily partitions', () => {
  // A script as SageMaker users write them: fixed /opt/ml/processing paths, no BatCat import.
  const SCRIPT = `import os
base = "/opt/ml/processing/input/usage"
out = "/opt/ml/processing/output/days"
os.makedirs(out, exist_ok=True)
with open(os.path.join(out, "days.csv"), "w") as f:
    f.write("day,files\\n")
    for day in sorted(os.listdir(base)):
        f.write("%s,%d\\n" % (day, len(os.listdir(os.path.join(base, day)))))
`;
  const root = exampleCopy();
  const file = path.join(root, 'projects', '2022-rnd-battery.yaml');
  const weekly = (complete: boolean) =>
    [
      '  - name: weekly-usage',
      '    framework: sklearn:1.2-1',
      '    script: scripts/weekly.py',
      '    window: 7d',
      '    inputs:',
      `      - { name: usage, prefix: raw/usage/, partitioned: true, complete: ${complete} }`,
      '    outputs:',
      '      - { name: days }',
      '',
    ].join('\n');
  fs.mkdirSync(path.join(root, 'scripts'), { recursive: true });
  fs.writeFileSync(path.join(root, 'scripts', 'weekly.py'), SCRIPT);
  const original = fs.readFileSync(file, 'utf8');
  // The week of Monday 2026-11-16 with Wednesday and Saturday missing.
  for (const day of ['2026-11-16', '2026-11-17', '2026-11-19', '2026-11-20', '2026-11-22']) withUsage(root, day);
  fs.writeFileSync(path.join(root, 'data', 'raw', 'usage', 'dt=2026-11-17', 'part-0002.csv'), USAGE);
  withUsage(root, '2026-11-23'); // the next week: never read

  test('lists the days present into a manifest; the script sees one dt= folder per day, and the missing days are reported', () => {
    fs.writeFileSync(file, `${original}\n${weekly(false)}`);
    const r = batcat(['run-local', '2022-rnd-battery', 'weekly-usage', '--date', '2026-11-18', '--engine', 'namespace'], root);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const runId = 'weekly-usage-20261116-20261122-a1';
    expect(r.out).toContain(`run ${runId}: window 2026-11-16 .. 2026-11-22`);
    expect(r.out).toContain(
      `  input usage: 5 of 7 days, 6 file(s); no partition for 2026-11-18, 2026-11-21; manifest data/_batcat/window-manifests/weekly-usage/${runId}/usage.manifest`,
    );
    expect(r.out).toContain(
      '  input usage: 6 file(s) from the manifest data/_batcat/window-manifests/weekly-usage/' +
        `${runId}/usage.manifest (5 dt= partition(s) of data/raw/usage/) at /opt/ml/processing/input/usage`,
    );
    expect(fs.readFileSync(path.join(root, 'data/result/weekly-usage/dt=2026-11-16/days/days.csv'), 'utf8')).toBe(
      'day,files\ndt=2026-11-16,1\ndt=2026-11-17,2\ndt=2026-11-19,1\ndt=2026-11-20,1\ndt=2026-11-22,1\n',
    );
    const runDir = path.join(root, 'runs', 'weekly-usage', runId);
    expect(JSON.parse(fs.readFileSync(path.join(runDir, 'partitions.json'), 'utf8'))).toEqual({
      inputs: [
        {
          name: 'usage',
          manifest: `s3://local-data-bucket/_batcat/window-manifests/weekly-usage/${runId}/usage.manifest`,
          bucket: 'local-data-bucket',
          days: ['2026-11-16', '2026-11-17', '2026-11-19', '2026-11-20', '2026-11-22'],
          missingDays: ['2026-11-18', '2026-11-21'],
          objects: 6,
          bytes: 6 * USAGE.length,
        },
      ],
      missingDays: 2,
    });
    const job = JSON.parse(fs.readFileSync(path.join(runDir, 'job.json'), 'utf8')).job;
    expect(job.ProcessingInputs[0].S3Input).toMatchObject({
      S3DataType: 'ManifestFile',
      S3Uri: `s3://local-data-bucket/_batcat/window-manifests/weekly-usage/${runId}/usage.manifest`,
    });

    // Reproduced from the six files it read, in a folder of its own: the same week, the same days, the same output.
    const again = batcat(['reproduce', '2022-rnd-battery', runId, '--local-run', '--engine', 'namespace'], root);
    expect(again.err).toBe('');
    expect(again.code).toBe(0);
    expect(again.out).toContain('fetched 6 object(s)');
    expect(again.out).toContain('  input usage: 5 of 7 days, 6 file(s); no partition for 2026-11-18, 2026-11-21;');
    expect(again.out).toContain(`reproduced: every output is byte for byte the one run ${runId} wrote`);
  });

  test('with complete: true, the missing days fail the run before the script starts, naming them', () => {
    fs.writeFileSync(file, `${original}\n${weekly(true)}`);
    const r = batcat(['run-local', '2022-rnd-battery', 'weekly-usage', '--date', '2026-11-18', '--engine', 'namespace'], root);
    expect(r.code).toBe(1);
    expect(r.out).toContain('✗ ListWindowPartitions');
    expect(r.out).not.toContain('▶ RunProcessingJob');
    expect(r.out).toMatch(
      /run weekly-usage-20261116-20261122-a\d FAILED: BatCat\.MissingPartitions: input 'usage' says complete: true, but 2 of the 7 days of the window 2026-11-16 \.\. 2026-11-22 have no partition under s3:\/\/local-data-bucket\/raw\/usage\/: 2026-11-18, 2026-11-21\. Nothing was run\./,
    );
  });
});

describe('batcat run-local, a purpose whose query runs in Redshift', () => {
  test('query.local stands in for the UNLOAD, and the script finds it in input/query/ as on AWS', () => {
    const root = exampleCopy();
    fs.mkdirSync(path.join(root, 'data'));
    const file = path.join(root, 'projects', '2022-rnd-battery.yaml');
    fs.writeFileSync(
      file,
      fs
        .readFileSync(file, 'utf8')
        .replace(
          '      tables: [usage_analysis_summary]\n',
          '      engine: redshift\n      workgroup: analytics\n      database: fleet\n      secret: prod/fleet-redshift\n',
        ),
    );
    const r = batcat(['run-local', '2022-rnd-battery', 'fleet-report', '--date', '2026-11-22', '--engine', 'namespace'], root);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(
      / {2}query stands in: queries\/fleet-report\.sample\.csv for the Redshift UNLOAD into athena-results\/purposes\/fleet-report\/redshift\/fleet-report-20261122-a1\//,
    );
    expect(r.out).toContain('▶ WaitForQuery');
    expect(r.out).toContain('✓ QueryDone');
    expect(fs.readFileSync(path.join(root, 'data/result/fleet-report/dt=2026-11-22/report/fleet_report.csv'), 'utf8')).toBe(
      'window_start,window_end,vehicles,records,total_usage,mean_usage_per_vehicle\r\n2026-11-22,2026-11-22,3,72,93.75,31.25\r\n',
    );
    const rendered = JSON.parse(fs.readFileSync(path.join(root, 'runs/fleet-report/fleet-report-20261122-a1/job.json'), 'utf8'));
    expect(rendered.query.Sql).toMatch(
      /^UNLOAD \('.*WHERE dt BETWEEN ''2026-11-22'' AND ''2026-11-22''.*'\) TO 's3:\/\/local-data-bucket\/athena-results\/purposes\/fleet-report\/redshift\//s,
    );
    expect(rendered.job.ProcessingInputs.find((i: any) => i.InputName === 'query').S3Input.S3Uri).toBe(
      's3://local-data-bucket/athena-results/purposes/fleet-report/redshift/fleet-report-20261122-a1/',
    );
  });
});
