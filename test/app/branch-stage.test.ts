import * as path from 'node:path';
import { loadProject } from '../../lib/config/load-project';
import { branchContextKey, type BranchStage } from '../../lib/contract/branch';
import { WRITE_ACTIONS } from '../../lib/constructs/data-bucket';
import { synthesizePurposes } from '../../lib/local/synthesized-purpose';
import { recordRunInputs, type RecordInputsRequest } from '../../lib/runtime/run-manifest';
import { resolveRunRequest, singleRunInput } from '../../lib/runtime/trigger';
import { writeWindowManifests, type WindowManifestRequest } from '../../lib/runtime/window-manifest';
import { memoryStores } from '../helpers';
import { decide, resolved } from '../iam-policy';
import { awaitRedriveHandler, executionContext, StateMachine } from '../local-step-functions';
import { synthesizedProject } from './synthesized-project';

/*
 * A branch stage (`batcat stage create feat1 --from dev`): its templates pass every check, its
 * roles can read the parent's buckets and never write them (the parent's bucket and key
 * policies deny it, and no branch policy allows it), and its state machines read each input
 * from the branch where it has data for the run, from the parent where it has none.
 */

jest.setTimeout(120_000);

const PROJECT = `project: demo
stage: dev
purposes:
  - name: daily
    inputs:
      - { name: events, prefix: raw/events/, partitioned: true }
      - { name: ref, prefix: raw/ref/ }
    outputs:
      - { name: clean }
  - name: weekly
    window: 7d
    inputs:
      - { name: clean, from: daily/clean, complete: true }
      - { name: partner, uri: 's3://partner-data/usage/', partitioned: true }
    outputs:
      - { name: trend }
`;

const ACCOUNT = '123456789012';
const PARENT_KEY = `arn:aws:kms:us-east-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const BRANCH: BranchStage = {
  parent: 'dev',
  parentStack: 'batcat-demo-dev',
  dataBucket: 'parent-data',
  dataKeyArn: PARENT_KEY,
  purposeBuckets: { daily: 'parent-daily', weekly: 'parent-weekly' },
  createdAt: '2026-12-04T20:00:00.000Z',
};
const FILES = {
  ...Object.fromEntries(
    ['daily', 'weekly'].map((p) => [`containers/${p}/Dockerfile`, 'FROM public.ecr.aws/docker/library/python:3.12-slim\n']),
  ),
  'cdk.context.json': JSON.stringify({ [branchContextKey('demo', 'feat1')]: BRANCH, 'some-cdk-lookup': { kept: true } }),
};

/** Every IAM role of the templates, with the statements of the policies attached to it. */
function rolesOf(templates: Record<string, any>[]): Array<{ id: string; path: string; statements: any[] }> {
  return templates.flatMap((t) => {
    const resources: Record<string, any> = t.Resources;
    return Object.entries(resources)
      .filter(([, r]) => r.Type === 'AWS::IAM::Role')
      .map(([id, r]) => ({
        id,
        path: r.Properties.Path,
        statements: Object.values(resources)
          .filter((p: any) => p.Type === 'AWS::IAM::Policy' && p.Properties.Roles.includes(`<Ref:${id}>`))
          .flatMap((p: any) => p.Properties.PolicyDocument.Statement),
      }));
  });
}

const flat = (v: unknown): string => JSON.stringify(v);

describe('a branch stage of a project with purpose buckets', () => {
  const branch = synthesizedProject(PROJECT, FILES, { guard: true, stage: 'feat1' });
  const parent = synthesizedProject(PROJECT, FILES, { stage: 'dev' });
  const templatesOf = (p: typeof branch) => p.synth.templates().map((t) => resolved(t, ACCOUNT));

  test('it is its own stack, named for the branch, and synthesizes with no unacknowledged finding', () => {
    expect(branch.config.stackName).toBe('batcat-demo-feat1');
    expect(branch.config.branch).toEqual(BRANCH);
    expect(parent.config.branch).toBeUndefined();
    expect(branch.synth.findings()).toEqual([]);
  });

  test("every role of the branch is below the parent's role path, in a folder of the branch's own", () => {
    const roles = rolesOf(templatesOf(branch));
    expect(roles.length).toBeGreaterThan(10);
    expect(new Set(roles.map((r) => r.path))).toEqual(new Set(['/batcat/demo/dev/feat1/']));
    expect(new Set(rolesOf(templatesOf(parent)).map((r) => r.path))).toEqual(new Set(['/batcat/demo/dev/']));
  });

  test("the parent's bucket policies let a branch role read and list, and deny it every write and delete", () => {
    const branchRole = `arn:aws:iam::${ACCOUNT}:role/batcat/demo/dev/feat1/batcat-demo-feat1-daily-JobRole`;
    const parentRole = `arn:aws:iam::${ACCOUNT}:role/batcat/demo/dev/batcat-demo-dev-daily-JobRole`;
    const stranger = `arn:aws:iam::${ACCOUNT}:role/someone-else`;
    const policies = Object.values(parent.parent.findResources('AWS::S3::BucketPolicy')).map(
      (p: any) => resolved(p.Properties.PolicyDocument.Statement, ACCOUNT) as any[],
    );
    // The project bucket, the two purpose buckets and the access logs' bucket.
    expect(policies).toHaveLength(4);
    const dataPolicies = policies.filter((s) => s.some((x: any) => x.Sid === 'DataOnlyForDataPrincipals'));
    expect(dataPolicies).toHaveLength(3);
    const asked = (statements: any[], action: string, principal: string) =>
      decide(statements, action, { 'aws:PrincipalArn': principal, 'aws:SecureTransport': 'true', 'aws:PrincipalIsAWSService': 'false' });
    for (const statements of dataPolicies) {
      for (const action of ['s3:GetObject', 's3:GetObjectVersion', 's3:ListBucket', 's3:ListBucketVersions']) {
        expect([action, asked(statements, action, branchRole)]).toEqual([action, 'none']);
      }
      for (const action of [
        's3:PutObject',
        's3:DeleteObject',
        's3:DeleteObjectVersion',
        's3:PutObjectTagging',
        's3:RestoreObject',
        's3:AbortMultipartUpload',
        's3:PutBucketPolicy',
        's3:DeleteBucket',
      ]) {
        expect([action, asked(statements, action, branchRole)]).toEqual([action, 'deny']);
        // The parent's own roles keep writing; anyone else reads nothing.
        expect([action, asked(statements, action, parentRole)]).toEqual([action, 'none']);
      }
      expect(asked(statements, 's3:GetObject', stranger)).toBe('deny');
    }
    const key = resolved(Object.values(parent.parent.findResources('AWS::KMS::Key'))[0], ACCOUNT);
    const keyAsked = (action: string, principal: string) =>
      decide(key.Properties.KeyPolicy.Statement, action, {
        'aws:PrincipalArn': principal,
        'kms:EncryptionContext:aws:s3:arn': 'arn:aws:s3:::parent-daily/raw/events/dt=2026-11-20/part-0001.csv',
        'aws:PrincipalIsAWSService': 'false',
      });
    expect(keyAsked('kms:Decrypt', branchRole)).toBe('allow'); // the account's IAM policies decide
    expect(keyAsked('kms:GenerateDataKey', branchRole)).toBe('deny');
    expect(keyAsked('kms:Encrypt', branchRole)).toBe('deny');
    expect(keyAsked('kms:GenerateDataKey', parentRole)).toBe('allow');
  });

  test("no policy of a branch role allows a write on the parent's buckets or an encryption with its key; the job and manifest roles may read them", () => {
    const roles = rolesOf(templatesOf(branch));
    const onParent = roles.flatMap((r) =>
      r.statements.filter((s) => /parent-(data|daily|weekly)|1234abcd-12ab/.test(flat(s.Resource))).map((s) => ({ role: r.id, ...s })),
    );
    expect(onParent.length).toBeGreaterThan(0);
    for (const s of onParent) {
      expect(s.Effect).toBe('Allow');
      for (const write of [...WRITE_ACTIONS, 's3:PutObject', 's3:DeleteObject', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:ReEncryptTo']) {
        // Whatever its conditions: none may ever allow it.
        expect([s.role, write, decide([{ ...s, Condition: undefined }], write, {})]).toEqual([s.role, write, 'none']);
      }
    }
    const allowed = (action: string, resource: RegExp, context: Record<string, string> = {}) =>
      onParent.filter((s) => decide([s], action, context) === 'allow' && resource.test(flat(s.Resource)));
    // daily's job reads raw/events/ and raw/ref/ of the parent's daily bucket; weekly's reads daily's results.
    expect(allowed('s3:GetObject', /parent-daily\/raw\/events\/\*/).length).toBeGreaterThan(0);
    expect(allowed('s3:GetObject', /parent-daily\/raw\/ref\/\*/).length).toBeGreaterThan(0);
    expect(allowed('s3:GetObject', /parent-daily\/results\/daily\/clean\/\*/).length).toBeGreaterThan(0);
    const listing = { 's3:prefix': 'raw/events/dt=2026-11-20/' };
    expect(allowed('s3:ListBucketVersions', /parent-daily"/, listing).length).toBeGreaterThan(0);
    expect(allowed('s3:ListBucket', /parent-daily"/, listing).length).toBeGreaterThan(0);
    expect(allowed('s3:ListBucket', /parent-daily"/, { 's3:prefix': 'results/weekly/' })).toEqual([]);
    expect(
      allowed('kms:Decrypt', /1234abcd-12ab/, {
        'kms:ViaService': 's3.us-east-1.amazonaws.com',
        'kms:EncryptionContext:aws:s3:arn': 'arn:aws:s3:::parent-daily',
      }).length,
    ).toBeGreaterThan(0);
  });
});

describe("a branch's runs, executed locally: each input from the branch where it has the run's data, else from the parent", () => {
  const dir = synthesizedProject(PROJECT, FILES, { validate: false, stage: 'feat1' }).config.rootDir;
  const config = loadProject(path.join(dir, 'projects', 'demo.yaml'), dir, 'feat1');
  const purposes = synthesizePurposes(config);

  async function run(purpose: string, date: string, objects: Record<string, string[]>) {
    const synth = purposes.get(purpose)!;
    const { storeOf, versions, buckets } = memoryStores(objects);
    const input = singleRunInput(resolveRunRequest({ purpose, date }, synth.runConfig, new Date('2026-11-30T09:00:00Z')), synth.runConfig);
    let job: any;
    let recorded: any;
    const machine = new StateMachine(synth.definition as never, { validationOptions: { checkArn: false } });
    await machine.run(input as never, {
      context: executionContext(synth.stateMachineName, input.runId),
      overrides: {
        taskResourceLocalHandlers: {
          RecordRunStart: async () => ({}),
          RecordRunSuccess: async () => ({}),
          PublishRunSucceeded: async () => ({}),
          AwaitRedrive: awaitRedriveHandler,
          PublishRunFailed: async () => ({}),
          CommitResults: async () => ({ outputs: [] }),
          ListWindowPartitions: (request: WindowManifestRequest) => writeWindowManifests(storeOf, request),
          RecordRunInputs: async (request: RecordInputsRequest) => {
            const r = await recordRunInputs(versions, storeOf(request.bucket), request);
            recorded = JSON.parse((await storeOf(request.bucket).read(r.inputs.replace(/^s3:\/\/[^/]+\//, '')))!);
            return r;
          },
          RecordRunOutputs: async () => ({ manifest: 's3://m/manifest.json', inputObjects: 0, outputObjects: 0 }),
          RunProcessingJob: async (params: any) => {
            job = params;
            return { ProcessingJobArn: 'arn:aws:sagemaker:us-east-1:123456789012:processing-job/x', ProcessingJobStatus: 'Completed' };
          },
          ...Object.fromEntries(['clean', 'trend'].map((o) => [`CountOutput-${o}`, async () => ({ KeyCount: 1 })])),
        } as any,
      },
    }).result;
    const uri = (name: string) => job.ProcessingInputs.find((i: any) => i.InputName === name).S3Input.S3Uri;
    return { job, uri, recorded, buckets, own: synth.runConfig.bucket };
  }

  test('a new branch reads every input of the day from the parent, and the manifest records the parent bucket', async () => {
    const r = await run('daily', '2026-11-20', {
      'parent-daily': ['raw/events/dt=2026-11-20/part-0001.csv', 'raw/ref/stations.csv'],
    });
    expect(r.uri('events')).toBe('s3://parent-daily/raw/events/dt=2026-11-20/');
    expect(r.uri('ref')).toBe('s3://parent-daily/raw/ref/');
    expect(r.recorded.inputs.map((i: any) => [i.name, i.bucket, i.objects.length])).toEqual([
      ['events', 'parent-daily', 1],
      ['ref', 'parent-daily', 1],
    ]);
  });

  test("where the branch has the run's data it reads its own, input by input and day by day", async () => {
    const objects = {
      'parent-daily': ['raw/events/dt=2026-11-20/part-0001.csv', 'raw/events/dt=2026-11-21/part-0001.csv', 'raw/ref/stations.csv'],
    };
    const first = await run('daily', '2026-11-20', objects);
    const own = first.own;
    expect(own).not.toMatch(/^parent-/);
    const withBranchData = { ...objects, [own]: ['raw/events/dt=2026-11-20/part-0001.csv'] };
    const day20 = await run('daily', '2026-11-20', withBranchData);
    expect(day20.uri('events')).toBe(`s3://${own}/raw/events/dt=2026-11-20/`);
    expect(day20.uri('ref')).toBe('s3://parent-daily/raw/ref/');
    // Another day the branch has nothing of: the parent's partition.
    const day21 = await run('daily', '2026-11-21', withBranchData);
    expect(day21.uri('events')).toBe('s3://parent-daily/raw/events/dt=2026-11-21/');
  });

  test("a week's run lists the window's partitions in the parent when the branch has none, and records the bucket its manifest names", async () => {
    const week = ['16', '17', '18', '19', '20', '21', '22'].map((d) => `results/daily/clean/dt=2026-11-${d}/part-0000.csv`);
    const r = await run('weekly', '2026-11-16', { 'parent-daily': week, 'partner-data': ['usage/dt=2026-11-16/a.csv'] });
    const clean = r.recorded.inputs.find((i: any) => i.name === 'clean');
    expect([clean.bucket, clean.objects.length]).toEqual(['parent-daily', 7]);
    const manifestKey = r.uri('clean').replace(/^s3:\/\/[^/]+\//, '');
    const body = r.buckets.get(r.own)!.get(manifestKey)!;
    expect(JSON.parse(body)[0]).toEqual({ prefix: 's3://parent-daily/results/daily/clean/' });
    expect(r.recorded.inputs.find((i: any) => i.name === 'partner').bucket).toBe('partner-data');
    // Once the branch's daily has results in the week, the branch reads its own.
    const branchDaily = purposes.get('daily')!.runConfig.bucket;
    const own = await run('weekly', '2026-11-16', {
      'parent-daily': week,
      [branchDaily]: week,
      'partner-data': ['usage/dt=2026-11-16/a.csv'],
    });
    const ownClean = own.recorded.inputs.find((i: any) => i.name === 'clean');
    expect([ownClean.bucket, ownClean.objects.length]).toEqual([branchDaily, 7]);
    const ownBody = own.buckets.get(own.own)!.get(own.uri('clean').replace(/^s3:\/\/[^/]+\//, ''))!;
    expect(JSON.parse(ownBody)[0]).toEqual({ prefix: `s3://${branchDaily}/results/daily/clean/` });
  });
});
