import * as fs from 'node:fs';
import * as path from 'node:path';
import * as constructsApi from '../../lib';
import * as appApi from '../../lib/app';
import { Purpose } from '../../lib/constructs/purpose';
import { S3InputMode } from '../../lib/constructs/sagemaker-create-processing-job';
import { REPO_ROOT } from '../helpers';
import { RUN_EVENT_SCHEMA } from '../../lib/contract/run-events';

/*
 * The entry points are the public API: the package root (also `batcat-cdk/constructs`) and
 * `batcat-cdk/app`. Their export lists and README.md's "What the package exports" must name the
 * same things, so a new export (or a dropped one) is a visible, documented decision.
 */

const ENTRIES = {
  constructs: { file: 'lib/index.ts', module: constructsApi, heading: 'From `batcat-cdk`' },
  app: { file: 'lib/app/index.ts', module: appApi, heading: 'From `batcat-cdk/app`' },
};

/** The names an entry file exports, values and types alike (`type X` counts as X). */
function exportedNames(file: string): string[] {
  const text = fs.readFileSync(path.join(REPO_ROOT, file), 'utf8');
  expect(text).not.toMatch(/export \*/);
  const listed = [...text.matchAll(/export (?:type )?\{([^}]*)\}/g)].flatMap((m) => m[1].split(','));
  // The root declares its values, which it loads on first use.
  const declared = [...text.matchAll(/^export declare const (\w+)/gm)].map((m) => m[1]);
  return [...listed, ...declared].map((n) => n.trim().replace(/^type /, '')).filter((n) => n !== '');
}

/** The names README.md lists under an entry's heading in "What the package exports". */
function documentedNames(heading: string): string[] {
  const readme = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const section = readme.indexOf('### What the package exports');
  expect(section).toBeGreaterThan(-1);
  const start = readme.indexOf(heading, section);
  expect(start).toBeGreaterThan(-1);
  const end = Math.min(...['\n## ', '\nFrom `'].map((m) => readme.indexOf(m, start + 1)).filter((i) => i > 0));
  const list = readme
    .slice(start, end)
    .split('\n')
    .filter((l) => /^\s*- |^ {2}\S/.test(l))
    .join('\n');
  return [...list.matchAll(/`([A-Za-z][A-Za-z0-9_]*)`/g)].map((m) => m[1]);
}

test.each(Object.entries(ENTRIES))('%s: the entry file exports by name exactly what README.md lists', (_name, e) => {
  expect(exportedNames(e.file).sort()).toEqual(documentedNames(e.heading).sort());
});

test.each(Object.entries(ENTRIES))('%s: every value the list names is exported at run time, and nothing else is', (_name, e) => {
  const values = Object.keys(e.module).sort();
  expect(values.length).toBeGreaterThan(3);
  expect(values.every((v) => exportedNames(e.file).includes(v))).toBe(true);
});

test('each value the root declares is defined, enumerable, and the class or enum its module exports', () => {
  const declared = exportedNames('lib/index.ts').filter((n) => n in constructsApi);
  expect(declared.length).toBeGreaterThan(20);
  for (const name of declared) {
    const descriptor = Object.getOwnPropertyDescriptor(constructsApi, name)!;
    expect([name, typeof (constructsApi as Record<string, unknown>)[name]]).toEqual([name, expect.stringMatching(/^(function|object)$/)]);
    expect(descriptor.enumerable).toBe(true);
  }
  expect(constructsApi.Purpose).toBe(Purpose);
  expect(constructsApi.S3InputMode).toBe(S3InputMode);
});

test('the constructs are at the root, the app and its configuration in batcat-cdk/app, and internals nowhere', () => {
  for (const name of ['Purpose', 'SageMakerCreateProcessingJob', 'QueryParameter', 'RunOutcome'])
    expect(Object.keys(constructsApi)).toContain(name);
  for (const name of ['ProjectStack', 'createBatCatApp', 'loadProject']) {
    expect(Object.keys(appApi)).toContain(name);
    expect(Object.keys(constructsApi)).not.toContain(name);
  }
  for (const name of ['projectSchema', 'resolveRunRequest', 'startRuns', 'parseProject', 'KEBAB_NAME', 'runInput']) {
    expect(Object.keys(constructsApi)).not.toContain(name);
    expect(Object.keys(appApi)).not.toContain(name);
  }
});

test('README publishes the completion event schema exactly as lib/contract/run-events.ts defines it', () => {
  const readme = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  expect(readme).toContain(`\`\`\`json\n${JSON.stringify(RUN_EVENT_SCHEMA, null, 2)}\n\`\`\``);
});
