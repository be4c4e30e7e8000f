import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { REPO_ROOT, tempDir } from '../helpers';

/* The example purpose's script, run with a plain python3 as the processing container contract describes. */

const SCRIPT = path.join(REPO_ROOT, 'containers', 'usage-analysis', 'usage_analysis.py');

function runScript(files: Record<string, string | Buffer>) {
  const root = tempDir('batcat-usage-');
  for (const [name, content] of Object.entries(files)) {
    const file = path.join(root, 'processing', 'input', 'usage', name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content);
  }
  const r = spawnSync('python3', [SCRIPT], { env: { ...process.env, BATCAT_PROCESSING_ROOT: root }, encoding: 'utf8' });
  const read = (rel: string) => (fs.existsSync(path.join(root, rel)) ? fs.readFileSync(path.join(root, rel), 'utf8') : undefined);
  return {
    status: r.status,
    stdout: r.stdout,
    stderr: r.stderr,
    summary: read('processing/output/summary/usage_summary.csv'),
    message: read('output/message'),
  };
}

describe('usage_analysis.py', () => {
  test('summarizes usage per vehicle across plain and gzip CSV files, in subfolders too', () => {
    const r = runScript({
      'day1.csv': 'vin,time,usage\nVIN2,2022-01-01T08:00:00,1.5\nVIN1,2022-01-01T09:00:00,2\nVIN1,2022-01-01T07:00:00,4\n',
      'more/day2.csv.gz': zlib.gzipSync('\ufeffvin,usage,time\nVIN1,3,2022-01-02T10:00:00\n'),
      'notes.txt': 'ignored',
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('reading 2 file(s)');
    expect(r.summary).toBe(
      [
        'vin,records,first_time,last_time,total_usage,mean_usage,max_usage',
        'VIN1,3,2022-01-01T07:00:00,2022-01-02T10:00:00,9.0,3.0,4.0',
        'VIN2,1,2022-01-01T08:00:00,2022-01-01T08:00:00,1.5,1.5,1.5',
        '',
      ].join('\r\n'),
    );
    expect(r.message).toBeUndefined();
  });

  test('a bad value fails with the file, line and value in /opt/ml/output/message', () => {
    const r = runScript({ 'day1.csv': 'vin,time,usage\nVIN1,2022-01-01,1\nVIN1,2022-01-02,abc\n' });
    expect(r.status).toBe(1);
    expect(r.message).toBe("InputError: day1.csv line 3: usage 'abc' is not a number");
    expect(r.stderr).toContain("usage 'abc' is not a number");
    expect(r.summary).toBeUndefined();
  });

  test('a missing column names the columns expected', () => {
    const r = runScript({ 'day1.csv': 'vin,timestamp,kwh\nVIN1,2022-01-01,1\n' });
    expect(r.status).toBe(1);
    expect(r.message).toBe('InputError: day1.csv: missing column(s) time, usage; expected a header with vin, time, usage');
  });

  test('no input files is a failure, not an empty result', () => {
    const r = runScript({ 'readme.txt': 'no data' });
    expect(r.status).toBe(1);
    expect(r.message).toMatch(/^InputError: no \.csv or \.csv\.gz files under .*processing\/input\/usage$/);
  });
});
