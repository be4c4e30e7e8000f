import * as fs from 'node:fs';
import * as path from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CreateBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { runCli } from '../../lib/cli/main';
import { runManifestKeys, type ManifestChannel, type RunManifest } from '../../lib/contract/run-manifest';
import { tempDir } from '../helpers';
import { startS3Server, type S3Server } from '../s3-server';

/*
 * `batcat lineage` over run manifests in S3 (s3rver; CloudFormation mocked for the buckets):
 * the runs that wrote a window's result, and upstream through from: inputs (matched object by
 * object) and after: triggers.
 */

jest.setTimeout(60_000);

const PROJECT = `project: demo
stage: dev
purposes:
  - name: ingest
    framework: sklearn:1.2-1
    script: scripts/job.py
    outputs: [{ name: clean }]
  - name: features
    framework: sklearn:1.2-1
    script: scripts/job.py
    inputs:
      - { name: clean, from: ingest/clean }
    outputs: [{ name: vectors }]
    triggers: { after: ingest }
`;

const BUCKETS = { ingest: 'demo-ingest', features: 'demo-features' };
const cfn = mockClient(CloudFormationClient);
let server: S3Server;
let s3: S3Client;
let root: string;

const channel = (name: string, bucket: string, prefix: string, objects: Array<[string, string]>): ManifestChannel => ({
  name,
  bucket,
  prefixes: [prefix],
  objects: objects.map(([key, etag]) => ({ key, size: 10, etag, versionId: null })),
});

function manifest(purpose: string, runId: string, day: string, over: Partial<RunManifest>): RunManifest {
  return {
    version: 1,
    purpose,
    runId,
    execution: `arn:aws:states:eu-west-1:123456789012:execution:batcat-demo-dev-${purpose}:${runId}`,
    window: { start: day, end: day, endExclusive: '2026-11-23' },
    timezone: 'UTC',
    attempt: 1,
    trigger: { kind: 'manual' },
    jobName: `${purpose}-abc-0123`,
    image: 'sagemaker-scikit-learn:1.2-1',
    gitCommit: '3c1d2e4f5a6b7c8d',
    inputs: [],
    outputs: [],
    inputsRecordedAt: '2026-11-23T04:00:00Z',
    outputsRecordedAt: '2026-11-23T04:10:00Z',
    ...over,
  };
}

beforeAll(async () => {
  server = await startS3Server();
  s3 = server.client();
  for (const b of Object.values(BUCKETS)) await s3.send(new CreateBucketCommand({ Bucket: b }));
  const put = (bucket: string, m: RunManifest) =>
    s3.send(new PutObjectCommand({ Bucket: bucket, Key: runManifestKeys(m.purpose, m.runId).manifest, Body: JSON.stringify(m) }));
  const clean = 'results/ingest/clean/dt=2026-11-22/';
  await put(
    BUCKETS.ingest,
    manifest('ingest', 'ingest-20261122-a1', '2026-11-22', {
      outputs: [channel('clean', BUCKETS.ingest, clean, [[`${clean}part-0.csv`, 'e1']])],
    }),
  );
  await put(BUCKETS.ingest, manifest('ingest', 'ingest-20261121-a1', '2026-11-21', {}));
  // The first features run read a version of ingest's output no manifest wrote; the second was started after ingest's run.
  await put(
    BUCKETS.features,
    manifest('features', 'features-20261122-a1', '2026-11-22', {
      inputs: [channel('clean', BUCKETS.ingest, clean, [[`${clean}part-0.csv`, 'e0-older']])],
      outputsRecordedAt: '2026-11-22T10:00:00Z',
    }),
  );
  await put(
    BUCKETS.features,
    manifest('features', 'features-20261122-a2', '2026-11-22', {
      attempt: 2,
      trigger: { kind: 'upstream', purpose: 'ingest', executionArn: 'arn:...', runId: 'ingest-20261122-a1' },
      inputs: [channel('clean', BUCKETS.ingest, clean, [[`${clean}part-0.csv`, 'e1']])],
      outputs: [
        channel('vectors', BUCKETS.features, 'results/features/vectors/dt=2026-11-22/', [
          ['results/features/vectors/dt=2026-11-22/v.csv', 'e2'],
        ]),
      ],
    }),
  );
  root = tempDir('batcat-lineage-');
  fs.mkdirSync(path.join(root, 'projects'));
  fs.mkdirSync(path.join(root, 'scripts'));
  fs.writeFileSync(path.join(root, 'scripts', 'job.py'), 'print(1)\n');
  fs.writeFileSync(path.join(root, 'projects', 'demo.yaml'), PROJECT);
  cfn.on(DescribeStacksCommand, { StackName: 'batcat-demo-dev' }).resolves({
    Stacks: [
      {
        StackName: 'batcat-demo-dev',
        CreationTime: new Date(),
        StackStatus: 'CREATE_COMPLETE',
        Outputs: [
          { OutputKey: 'DataBucketName', OutputValue: 'demo-data' },
          { OutputKey: 'PurposeBucketingest', OutputValue: BUCKETS.ingest },
          { OutputKey: 'PurposeBucketfeatures', OutputValue: BUCKETS.features },
        ],
      },
    ],
  });
});
afterAll(async () => {
  s3?.destroy();
  await server?.stop();
});

async function lineage(args: string[]) {
  let out = '';
  let err = '';
  const code = await runCli(['lineage', 'demo', ...args, '--root', root], {
    cwd: root,
    out: (t) => (out += t),
    err: (t) => (err += t),
    clients: () => ({ s3, cloudformation: new CloudFormationClient({ region: 'eu-west-1' }) }),
  });
  return { code, out, err };
}

describe('batcat lineage', () => {
  test("the window's runs, what each read and wrote, and upstream through from: and after:", async () => {
    const r = await lineage(['features', '--date', '2026-11-22']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const lines = r.out.trimEnd().split('\n');
    expect(lines[0]).toBe("features, the window holding 2026-11-22: 2 successful run(s); the last one's result is the window's");
    expect(lines).toContain(
      '  (replaced) run features-20261122-a1 of features (window 2026-11-22 .. 2026-11-22, manual, image sagemaker-scikit-learn:1.2-1, commit 3c1d2e4f5a6b)',
    );
    expect(lines).toContain('    clean came from ingest/clean, but no run manifest of ingest wrote those versions');
    expect(lines).toContain(
      '  (current) run features-20261122-a2 of features (window 2026-11-22 .. 2026-11-22, upstream, image sagemaker-scikit-learn:1.2-1, commit 3c1d2e4f5a6b)',
    );
    expect(lines).toContain('    wrote vectors: 1 object(s): results/features/vectors/dt=2026-11-22/v.csv');
    expect(lines).toContain(
      '    read clean (s3://demo-ingest/results/ingest/clean/dt=2026-11-22/): 1 object(s): results/ingest/clean/dt=2026-11-22/part-0.csv',
    );
    // Upstream: the ingest run whose output holds the very object read, found through from: and again through after:.
    expect(lines).toContain(
      '    ← clean (from ingest/clean): run ingest-20261122-a1 of ingest (window 2026-11-22 .. 2026-11-22, manual, image sagemaker-scikit-learn:1.2-1, commit 3c1d2e4f5a6b)',
    );
    expect(lines).toContain('      wrote clean: 1 object(s): results/ingest/clean/dt=2026-11-22/part-0.csv');
    expect(lines).toContain(
      '    ← started after run ingest-20261122-a1 of ingest (window 2026-11-22 .. 2026-11-22, manual, image sagemaker-scikit-learn:1.2-1, commit 3c1d2e4f5a6b)',
    );
    expect(lines.filter((l) => l.includes('wrote clean'))).toHaveLength(1); // shown once
  });

  test('a day without manifests, and a bad date, say so', async () => {
    const none = await lineage(['features', '--date', '2026-11-01']);
    expect(none.out).toContain('no run manifest of features covers 2026-11-01');
    const bad = await lineage(['features', '--date', '2026-13-01']);
    expect([bad.code, bad.err]).toEqual([
      2,
      expect.stringContaining('--date must be a calendar date written YYYY-MM-DD, got "2026-13-01"'),
    ]);
  });
});
