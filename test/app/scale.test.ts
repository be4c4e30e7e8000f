import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { ProjectStack } from '../../lib/app/project-stack';
import { CFN_TEMPLATE_LIMITS } from '../../lib/app/template-limits';
import { loadProjects } from '../../lib/config/load-project';
import { MAX_PURPOSE_NAME_LENGTH } from '../../lib/contract/names';
import { MAX_PER_PURPOSE_BUCKETS } from '../../lib/contract/storage';
import { CLI_BUNDLE_DIR } from '../global-setup';
import { retainedFixedNames, tempDir, testApp } from '../helpers';

/*
 * A project of 100 purposes must deploy as one stack: every template within CloudFormation's
 * limits (500 resources, 1 MB), and adding a purpose must not rename anything that exists.
 */

function projectWith(names: string[]): string {
  const dir = tempDir('batcat-scale-');
  fs.mkdirSync(path.join(dir, 'projects'));
  fs.mkdirSync(path.join(dir, 'containers', 'shared'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'containers', 'shared', 'Dockerfile'), 'FROM public.ecr.aws/docker/library/python:3.12-slim\n');
  const purposes = names.map((n) =>
    [
      `  - name: ${n}`,
      '    container: containers/shared',
      '    inputs: [{ name: data, prefix: raw/' + n + '/ }]',
      '    outputs: [{ name: result, table: { columns: { vehicle_id: string, kwh: double } } }]',
    ].join('\n'),
  );
  fs.writeFileSync(
    path.join(dir, 'projects', 'big.yaml'),
    `project: big\nstage: prod\nalarmEmails: [ops@example.com]\npurposes:\n${purposes.join('\n')}\n`,
  );
  return dir;
}

/**
 * Synthesizes a project and returns every template by file name: as `cdk synth` does (cdk-nag
 * and the built-in validation, in a child process: test/app/synth-project.ts), or with
 * `checks: false` without both, in this process.
 */
function synth(names: string[], checks = true) {
  const outdir = tempDir('batcat-scale-out-');
  const rootDir = projectWith(names);
  if (checks) {
    const r = spawnSync(process.execPath, [path.join(CLI_BUNDLE_DIR, 'synth-project.js'), rootDir, outdir], {
      encoding: 'utf8',
      timeout: 300_000,
    });
    if (r.status !== 0) throw new Error(`synth of ${names.length} purposes failed (exit ${r.status}): ${r.stderr.slice(-3000)}`);
  } else {
    const app = testApp({ outdir });
    for (const config of loadProjects(rootDir)) new ProjectStack(app, config.stackName, { config });
    app.synth();
  }
  const templates: Record<string, { bytes: number; template: any }> = {};
  for (const f of fs.readdirSync(outdir).filter((x) => x.endsWith('.template.json'))) {
    const text = fs.readFileSync(path.join(outdir, f), 'utf8');
    templates[f] = { bytes: Buffer.byteLength(text), template: JSON.parse(text) };
  }
  const reportFile = path.join(outdir, 'validation-report.json');
  const report = fs.existsSync(reportFile) ? JSON.parse(fs.readFileSync(reportFile, 'utf8')) : undefined;
  return { templates, report };
}

// Names of the maximum length: they recur in every template.
const names = Array.from({ length: 100 }, (_, i) => `purpose-${String(i).padStart(3, '0')}-`.padEnd(MAX_PURPOSE_NAME_LENGTH, 'x'));

describe('a project with 100 purposes', () => {
  const big = synth(names);

  test('is one stack whose templates each stay within CloudFormation limits, with no findings', () => {
    const parent = big.templates['batcat-big-prod.template.json'];
    expect(parent).toBeDefined();
    const nested = Object.entries(big.templates).filter(([f]) => f.endsWith('.nested.template.json'));
    // A nested stack per purpose, and two dashboards of 50 purposes each.
    expect(nested).toHaveLength(102);
    expect(Object.values<any>(parent.template.Resources).filter((r) => r.Type === 'AWS::CloudFormation::Stack')).toHaveLength(102);
    for (const [file, { bytes, template }] of Object.entries(big.templates)) {
      expect([file, Object.keys(template.Resources).length <= CFN_TEMPLATE_LIMITS.maxResources]).toEqual([file, true]);
      expect([file, bytes <= CFN_TEMPLATE_LIMITS.maxBytes]).toEqual([file, true]);
    }
    // Per-purpose storage: each purpose adds its nested stack, its bucket and the bucket's policy to the parent.
    const parentResources = Object.values<any>(parent.template.Resources);
    expect(parentResources.filter((r) => r.Type === 'AWS::S3::Bucket')).toHaveLength(100 + 2);
    expect(parentResources.filter((r) => r.Type === 'AWS::S3::BucketPolicy')).toHaveLength(100 + 2);
    // So the largest project the schema allows fits as well: the project's own resources, 3 per purpose, a dashboard per 50.
    const own = parentResources.length - 3 * 100 - 2;
    expect(own + 3 * MAX_PER_PURPOSE_BUCKETS + Math.ceil(MAX_PER_PURPOSE_BUCKETS / 50)).toBeLessThanOrEqual(
      CFN_TEMPLATE_LIMITS.maxResources,
    );
    expect(Object.keys(parent.template.Outputs).length + (MAX_PER_PURPOSE_BUCKETS - 100)).toBeLessThanOrEqual(200);
    // And its parent template keeps a fifth of CloudFormation's 1 MB for dataAccess lists and alarm e-mails.
    expect((parent.bytes / 100) * MAX_PER_PURPOSE_BUCKETS).toBeLessThan(0.8 * CFN_TEMPLATE_LIMITS.maxBytes);
    expect(big.report.pluginReports.flatMap((p: any) => p.violations)).toEqual([]);
    // Destroy and deploy again: nothing retained keeps a name the next deploy would need.
    expect(retainedFixedNames(Object.fromEntries(Object.entries(big.templates).map(([f, t]) => [f, t.template])))).toEqual([]);
  });
});

describe('a project that grows', () => {
  // Logical IDs come from construct IDs, not from a purpose's place or the count, so 20
  // purposes show this as well as 100 (whose limits and findings are checked above).
  const names = Array.from({ length: 20 }, (_, i) => `purpose-${String(i).padStart(3, '0')}`);
  const big = synth(names, false);

  test('adding a purpose, anywhere in the list, renames nothing that exists', () => {
    const grown = synth(['a-new-first-purpose', ...names.slice(0, 10), 'purpose-010-b', ...names.slice(10)], false);
    const parentBefore = big.templates['batcat-big-prod.template.json'].template.Resources;
    const parentAfter = grown.templates['batcat-big-prod.template.json'].template.Resources;
    // Every logical ID of the parent stack survives, with the same type.
    for (const [id, r] of Object.entries<any>(parentBefore)) {
      expect([id, parentAfter[id]?.Type]).toEqual([id, r.Type]);
    }
    // Two purposes: their nested stacks, buckets and bucket policies.
    expect(Object.keys(parentAfter).filter((id) => !(id in parentBefore))).toHaveLength(2 * 3);
    // Each existing purpose's nested template is unchanged, logical IDs and all (dashboards hold no state and may change).
    const nestedBefore = Object.entries(big.templates).filter(([f]) => f.endsWith('.nested.template.json') && !/prodDashboard/.test(f));
    expect(nestedBefore).toHaveLength(20);
    // Bundling is skipped here, so the trigger's code asset is hashed from its source folder, which the test runs change.
    const masked = (t: unknown) => JSON.parse(JSON.stringify(t).replace(/"S3Key":"[0-9a-f]{64}\.zip"/g, '"S3Key":"<asset>.zip"'));
    for (const [file, { template }] of nestedBefore) {
      expect([file, masked(grown.templates[file]?.template)]).toEqual([file, masked(template)]);
    }
  });
});
