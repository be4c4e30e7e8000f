import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT } from '../helpers';

/*
 * One supported Node.js range: package.json's engines, which doctor checks too. npm ci from the
 * lockfile must not warn that a dependency wants a newer Node.js than this one (it did for
 * aws-local-stepfunctions, which is now vendored: lib/local/vendor/).
 */

test("npm ci on this machine's Node.js warns about no dependency's engines, and ours admit this Node.js", () => {
  const engines = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')).engines.node;
  expect(engines).toBe('>=20.19');
  expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(20);
  const r = spawnSync('npm', ['ci', '--dry-run', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: REPO_ROOT, encoding: 'utf8' });
  expect(r.status).toBe(0);
  expect(`${r.stdout}${r.stderr}`).not.toContain('EBADENGINE');
});
