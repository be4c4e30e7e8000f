import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT, tempDir } from '../helpers';

/* The query-fed example purpose's script, given what Athena writes: <id>.csv (every value quoted) and <id>.csv.metadata. */

const SCRIPT = path.join(REPO_ROOT, 'containers', 'fleet-report', 'fleet_report.py');

function runScript(files: Record<string, string>) {
  const root = tempDir('batcat-fleet-');
  const folder = path.join(root, 'processing', 'input', 'query');
  fs.mkdirSync(folder, { recursive: true });
  for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(folder, name), content);
  const r = spawnSync('python3', [SCRIPT], {
    env: { ...process.env, BATCAT_PROCESSING_ROOT: root, BATCAT_WINDOW_START: '2022-11-03', BATCAT_WINDOW_END: '2022-11-04' },
    encoding: 'utf8',
  });
  const read = (rel: string) => (fs.existsSync(path.join(root, rel)) ? fs.readFileSync(path.join(root, rel), 'utf8') : undefined);
  return { status: r.status, stderr: r.stderr, report: read('processing/output/report/fleet_report.csv'), message: read('output/message') };
}

test('reports the fleet from the query result, counting each vehicle once across the window', () => {
  const r = runScript({
    'a1b2.csv': '"vin","records","total_usage"\n"VIN1","3","9.0"\n"VIN1","1","1.0"\n"VIN2","1","1.5"\n',
    'a1b2.csv.metadata': '\u0000binary athena metadata',
  });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  expect(r.report).toBe(
    'window_start,window_end,vehicles,records,total_usage,mean_usage_per_vehicle\r\n2022-11-03,2022-11-04,2,5,11.5,5.75\r\n',
  );
});

test('no query result fails with the reason in /opt/ml/output/message', () => {
  const r = runScript({});
  expect(r.status).toBe(1);
  expect(r.message).toMatch(/^InputError: expected one query result in .*input\/query, found 0$/);
  expect(r.report).toBeUndefined();
});
