import * as fs from 'node:fs';
import * as path from 'node:path';
import * as api from '../../lib';
import { REPO_ROOT } from '../helpers';

/*
 * lib/index.ts is the public API. Its export list and README.md's "What the package exports"
 * must name the same things, so a new export (or a dropped one) is a visible, documented
 * decision.
 */

/** The names lib/index.ts exports, values and types alike (`type X` counts as X). */
function exportedNames(): string[] {
  const text = fs.readFileSync(path.join(REPO_ROOT, 'lib', 'index.ts'), 'utf8');
  expect(text).not.toMatch(/export \*/);
  return [...text.matchAll(/export (?:type )?\{([^}]*)\}/g)]
    .flatMap((m) => m[1].split(','))
    .map((n) => n.trim().replace(/^type /, ''))
    .filter((n) => n !== '');
}

function documentedNames(): string[] {
  const readme = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('### What the package exports');
  expect(start).toBeGreaterThan(-1);
  const end = readme.indexOf('\n## ', start);
  const list = readme
    .slice(start, end)
    .split('\n')
    .filter((l) => /^\s*- |^ {2}\S/.test(l))
    .join('\n');
  return [...list.matchAll(/`([A-Za-z][A-Za-z0-9]*)`/g)].map((m) => m[1]);
}

test('lib/index.ts exports by name exactly what README.md lists', () => {
  expect(exportedNames().sort()).toEqual(documentedNames().sort());
});

test('every value the list names is exported at run time, and nothing else is', () => {
  const values = Object.keys(api).sort();
  expect(values.every((v) => exportedNames().includes(v))).toBe(true);
  for (const name of ['Purpose', 'SageMakerCreateProcessingJob', 'ProjectStack', 'createBatCatApp', 'QueryParameter', 'RunOutcome']) {
    expect(values).toContain(name);
  }
  // Internals stay internal.
  for (const name of ['projectSchema', 'resolveRunRequest', 'startRuns', 'parseProject', 'KEBAB_NAME', 'runInput']) {
    expect(values).not.toContain(name);
  }
});
