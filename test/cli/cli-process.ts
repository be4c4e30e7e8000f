import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runCli } from '../../lib/cli/main';
import { CLI_BUNDLE_DIR } from '../global-setup';
import { REPO_ROOT, tempDir } from '../helpers';

/** `batcat` and the scripted-terminal driver, bundled from the sources by test/global-setup.ts. */
export const CLI = path.join(CLI_BUNDLE_DIR, 'batcat.js');
export const TERMINAL_DRIVER = path.join(CLI_BUNDLE_DIR, 'terminal-driver.js');

/** Runs `batcat <args>` as a user would: a child process, no terminal, in `cwd`. */
export function batcat(args: string[], cwd: string, env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 120_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/**
 * Runs `batcat <args>` in this process, for the many refusals that need no child of their
 * own (the child-process tests cover the command as a user runs it).
 */
export async function batcatHere(args: string[], cwd: string): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(args, { cwd, out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

/** A copy of the example project (projects/, containers/, queries/, spark/) in a temp folder. */
export function exampleCopy(): string {
  const root = tempDir('batcat-example-');
  for (const d of ['projects', 'containers', 'queries', 'spark'])
    fs.cpSync(path.join(REPO_ROOT, d), path.join(root, d), { recursive: true });
  return root;
}

/** Every file below `dir`, relative and sorted. */
export function filesBelow(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string) =>
    fs
      .readdirSync(d, { withFileTypes: true })
      .forEach((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : out.push(path.relative(dir, path.join(d, e.name)))));
  walk(dir);
  return out.sort();
}
