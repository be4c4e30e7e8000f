import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { parseMetrics } from '../../lib/local/mlflow-store';
import { batcat, exampleCopy, filesBelow } from './cli-process';

/*
 * Local runs in MLflow's file-store layout (`mlflow ui --backend-store-uri runs`). MLflow is not
 * installable here (no PyPI), so the files are checked against what its FileStore reads
 * (mlflow/store/tracking/file_store.py and mlflow/utils/validation.py): an experiment folder's
 * name is its id and matches _EXPERIMENT_ID_REGEX, a run folder's name is its run id and matches
 * _RUN_ID_REGEX, meta.yaml holds RunInfo's fields with the status as RunStatus's number, a param
 * or tag is a file holding its value, a metric a file of `<ms> <value> <step>` lines. A folder
 * without meta.yaml (the reproduce folder) is skipped by MLflow.
 */

jest.setTimeout(120_000);

const EXPERIMENT_ID = /^[a-zA-Z0-9][\w-]{0,63}$/;
const RUN_ID = /^[a-zA-Z0-9][\w-]{0,255}$/;
const USAGE = 'vin,time,usage\nVIN2,2026-11-22T08:00:00,1.5\nVIN1,2026-11-22T09:00:00,2\n';

describe('local runs as MLflow runs', () => {
  const root = exampleCopy();
  fs.mkdirSync(path.join(root, 'data', 'raw', 'usage', 'dt=2026-11-22'), { recursive: true });
  fs.writeFileSync(path.join(root, 'data', 'raw', 'usage', 'dt=2026-11-22', 'part-0001.csv'), USAGE);
  // The script logs metrics the documented way: lines appended to /opt/ml/output/metrics.
  const script = path.join(root, 'containers', 'usage-analysis', 'usage_analysis.py');
  fs.writeFileSync(
    script,
    fs
      .readFileSync(script, 'utf8')
      .replace(
        'if __name__ == "__main__":',
        [
          'def log_metrics():',
          '    os.makedirs("/opt/ml/output", exist_ok=True)',
          '    with open("/opt/ml/output/metrics", "a") as f:',
          '        f.write("vehicles 2\\nloss 0.5 1\\nloss 0.25 2\\nnot a metric\\n")',
          '',
          '',
          'if __name__ == "__main__":',
          '    log_metrics()',
        ].join('\n'),
      )
      .replace(/^import /m, 'import os\nimport '),
  );

  test("the purpose is an experiment and the run a run of it: meta.yaml, params, tags, metrics (BatCat's and the script's), artifacts", () => {
    const r = batcat(['run-local', '2022-rnd-battery', 'usage-analysis', '--date', '2026-11-22', '--engine', 'namespace'], root);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain(
      `warning: /opt/ml/output/metrics line 4: "not a metric" is not '<name> <number> [<whole step>]'; that line was not recorded`,
    );

    const experiment = parse(fs.readFileSync(path.join(root, 'runs', 'usage-analysis', 'meta.yaml'), 'utf8'));
    expect(experiment).toMatchObject({ experiment_id: 'usage-analysis', name: 'usage-analysis', lifecycle_stage: 'active' });
    expect(experiment.artifact_location).toBe(`file://${path.join(root, 'runs', 'usage-analysis')}`);
    expect(experiment.experiment_id).toMatch(EXPERIMENT_ID);

    const runDir = path.join(root, 'runs', 'usage-analysis', 'usage-analysis-20261122-a1');
    const meta = parse(fs.readFileSync(path.join(runDir, 'meta.yaml'), 'utf8'));
    expect(meta).toMatchObject({
      run_id: 'usage-analysis-20261122-a1',
      run_uuid: 'usage-analysis-20261122-a1',
      run_name: 'usage-analysis-20261122-a1',
      experiment_id: 'usage-analysis',
      status: 3, // RunStatus.FINISHED
      lifecycle_stage: 'active',
      artifact_uri: `file://${path.join(runDir, 'artifacts')}`,
      source_type: 4,
      tags: [],
    });
    expect(meta.run_id).toMatch(RUN_ID);
    expect(meta.user_id).toEqual(expect.any(String));
    expect(meta.end_time).toBeGreaterThanOrEqual(meta.start_time);

    const read = (f: string) => fs.readFileSync(path.join(runDir, f), 'utf8');
    expect(['project', 'stage', 'purpose', 'window_start', 'window_end', 'attempt', 'engine'].map((p) => read(`params/${p}`))).toEqual([
      '2022-rnd-battery',
      'dev',
      'usage-analysis',
      '2026-11-22',
      '2026-11-22',
      '1',
      'namespace',
    ]);
    expect(read('tags/mlflow.runName')).toBe('usage-analysis-20261122-a1');
    expect(read('tags/batcat.status')).toBe('SUCCEEDED');
    expect(read('tags/batcat.manifest')).toBe('runs/usage-analysis/usage-analysis-20261122-a1/manifest.json');
    expect(read('tags/mlflow.source.name')).toBe('containers/usage-analysis');

    const metric = (name: string) =>
      read(`metrics/${name}`)
        .trimEnd()
        .split('\n')
        .map((l) => l.split(' '));
    for (const lines of ['vehicles', 'loss', 'duration_seconds', 'output_files', 'input_files', 'summary.rows'].map(metric)) {
      for (const [ts, value, step] of lines) {
        expect(String(Number.parseInt(ts, 10))).toBe(ts);
        expect(Number.isFinite(Number(value))).toBe(true);
        expect(String(Number.parseInt(step, 10))).toBe(step);
      }
    }
    expect(metric('loss').map(([, v, s]) => [v, s])).toEqual([
      ['0.5', '1'],
      ['0.25', '2'],
    ]);
    expect(metric('vehicles').map(([, v, s]) => [v, s])).toEqual([['2', '0']]);
    expect(metric('input_files')[0][1]).toBe('1');
    expect(metric('output_files')[0][1]).toBe('1');
    expect(metric('summary.rows')[0][1]).toBe('2');

    // Artifacts are hard links of batcat's records and of the outputs: nothing copied.
    expect(filesBelow(path.join(runDir, 'artifacts'))).toEqual([
      'input.json',
      'job.json',
      'manifest.json',
      'outputs/result/usage-analysis/dt=2026-11-22/summary/usage_summary.csv',
      'profiles/summary.json',
      'stderr.log',
      'stdout.log',
    ]);
    const output = path.join(runDir, 'artifacts', 'outputs', 'result', 'usage-analysis', 'dt=2026-11-22', 'summary', 'usage_summary.csv');
    const result = path.join(root, 'data', 'result', 'usage-analysis', 'dt=2026-11-22', 'summary', 'usage_summary.csv');
    expect(fs.statSync(output).ino).toBe(fs.statSync(result).ino);
    const first = fs.readFileSync(output, 'utf8');
    expect(first).toContain('VIN1');

    // A later run of the window replaces the result; the first run's artifact keeps its bytes.
    fs.writeFileSync(
      path.join(root, 'data', 'raw', 'usage', 'dt=2026-11-22', 'part-0001.csv'),
      'vin,time,usage\nVIN7,2026-11-22T08:00:00,7\n',
    );
    expect(batcat(['run-local', '2022-rnd-battery', 'usage-analysis', '--date', '2026-11-22', '--engine', 'namespace'], root).code).toBe(0);
    expect(fs.readFileSync(result, 'utf8')).toContain('VIN7');
    expect(fs.readFileSync(output, 'utf8')).toBe(first);

    // batcat runs --local reads the same folders.
    const runs = batcat(['runs', '2022-rnd-battery', 'usage-analysis', '--local'], root);
    expect(runs.code).toBe(0);
    expect(runs.out.split('\n').slice(1, 3)).toEqual([
      expect.stringMatching(/^usage-analysis-20261122-a2 +SUCCEEDED +2026-11-22\.\.2026-11-22/),
      expect.stringMatching(/^usage-analysis-20261122-a1 +SUCCEEDED +2026-11-22\.\.2026-11-22/),
    ]);
  });

  test('a failed run is FAILED in MLflow, with the error as a tag and the reason as its note', () => {
    const r = batcat(['run-local', '2022-rnd-battery', 'usage-analysis', '--date', '2026-11-21', '--engine', 'namespace'], root);
    expect(r.code).toBe(1);
    const runDir = path.join(root, 'runs', 'usage-analysis', 'usage-analysis-20261121-a1');
    expect(parse(fs.readFileSync(path.join(runDir, 'meta.yaml'), 'utf8'))).toMatchObject({ status: 4 });
    expect(fs.readFileSync(path.join(runDir, 'tags', 'batcat.status'), 'utf8')).toBe('FAILED');
    expect(fs.readFileSync(path.join(runDir, 'tags', 'batcat.error'), 'utf8')).toMatch(/^BatCat\.|^States\./);
    expect(fs.readFileSync(path.join(runDir, 'tags', 'mlflow.note.content'), 'utf8')).not.toBe('');
  });
});

test('metrics lines: name, number, optional whole step; anything else is named and skipped', () => {
  expect(parseMetrics('a 1\n# comment\n\nb/c 2.5 3\nd x\ne 1 1.5\nf\ng 1 2 3\nh i-j 1\n', 7)).toEqual({
    metrics: [
      { name: 'a', value: 1, step: 0, timestamp: 7 },
      { name: 'b/c', value: 2.5, step: 3, timestamp: 7 },
    ],
    problems: [
      `line 5: "d x" is not '<name> <number> [<whole step>]'`,
      `line 6: "e 1 1.5" is not '<name> <number> [<whole step>]'`,
      `line 7: "f" is not '<name> <number> [<whole step>]'`,
      `line 8: "g 1 2 3" is not '<name> <number> [<whole step>]'`,
      `line 9: "h i-j 1" is not '<name> <number> [<whole step>]'`,
    ],
  });
});
