import * as fs from 'node:fs';
import * as path from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { runCli } from '../../lib/cli/main';
import { branchContextKey } from '../../lib/contract/branch';
import { motoUnavailable, startMotoServer, type MotoServer } from '../moto-server';
import { exampleCopy } from './cli-process';

/*
 * `batcat stage create | diff | promote | delete` end to end on a versioned S3 (moto's server)
 * and a DynamoDB ledger (moto), CloudFormation mocked for the two stacks' outputs and the CDK
 * CLI recorded instead of run.
 */

jest.setTimeout(120_000);
const unavailable = motoUnavailable();
if (unavailable) console.warn(`test/cli/stage.test.ts is skipped: ${unavailable}`);
const suite = unavailable ? describe.skip : describe;

const KEY = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const PARENT = { DataBucketName: 'dev-data', DataKeyArn: KEY, PurposeBucketusageXanalysis: 'dev-ua', PurposeBucketfleetXreport: 'dev-fr' };
const SUMMARY = 'results/usage-analysis/summary/';

let moto: MotoServer;
let s3: S3Client;
let root: string;
let ledger: string;
let branchDeployed = true;
let parentDeployed = true;
const cdkCalls: string[][] = [];
const cfn = mockClient(CloudFormationClient);

const put = (bucket: string, key: string, body: string) =>
  s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body })).then((r) => r.VersionId);
const get = (bucket: string, key: string, versionId?: string) =>
  s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId })).then((o) => o.Body!.transformToString());

async function cli(args: string[]) {
  let out = '';
  let err = '';
  const code = await runCli([...args, '--root', root], {
    cwd: root,
    out: (t) => (out += t),
    err: (t) => (err += t),
    clients: () => ({ s3, dynamodb: moto.client(), cloudformation: new CloudFormationClient({ region: 'eu-west-1' }) }),
    cdk: async (a) => {
      cdkCalls.push([...a]);
      if (a[0] === 'destroy') branchDeployed = false;
      return 0;
    },
  });
  return { code, out, err };
}

const context = () => JSON.parse(fs.readFileSync(path.join(root, 'cdk.context.json'), 'utf8'));

beforeAll(async () => {
  if (unavailable) return;
  moto = await startMotoServer();
  s3 = moto.s3();
  ledger = await moto.createLedger();
  for (const b of ['dev-data', 'dev-ua', 'dev-fr', 'f1-data', 'f1-ua', 'f1-fr', 'f1-logs']) {
    await s3.send(new CreateBucketCommand({ Bucket: b, CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }));
    await s3.send(new PutBucketVersioningCommand({ Bucket: b, VersioningConfiguration: { Status: 'Enabled' } }));
  }
  root = exampleCopy();
  fs.writeFileSync(path.join(root, 'cdk.context.json'), JSON.stringify({ 'vpc-provider:account=1:region=x': { kept: true } }));
  cfn.on(DescribeStacksCommand).callsFake((input: { StackName: string }) => {
    const outputs = (o: Record<string, string>) => ({
      Stacks: [{ StackName: input.StackName, Outputs: Object.entries(o).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })) }],
    });
    if (input.StackName === 'batcat-2022-rnd-battery-dev' && parentDeployed) return outputs(PARENT);
    if (input.StackName === 'batcat-2022-rnd-battery-feat1' && branchDeployed) {
      return outputs({
        DataBucketName: 'f1-data',
        DataKeyArn: KEY.replace('1234abcd', 'feedf00d'),
        PurposeBucketusageXanalysis: 'f1-ua',
        PurposeBucketfleetXreport: 'f1-fr',
        AccessLogsBucketName: 'f1-logs',
        LedgerTableName: ledger,
      });
    }
    const e = new Error(`Stack with id ${input.StackName} does not exist`);
    e.name = 'ValidationError';
    throw e;
  });
}, 60_000);
afterAll(async () => {
  cfn.restore();
  s3?.destroy();
  await moto?.stop();
});

suite('batcat stage, on a versioned S3', () => {
  test('create records the parent’s buckets and key in cdk.context.json, keeps CDK’s own entries, and deploys the branch', async () => {
    const r = await cli(['stage', 'create', '2022-rnd-battery', 'feat1', '--from', 'dev']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(context()[branchContextKey('2022-rnd-battery', 'feat1')]).toEqual({
      parent: 'dev',
      parentStack: 'batcat-2022-rnd-battery-dev',
      dataBucket: 'dev-data',
      dataKeyArn: KEY,
      purposeBuckets: { 'usage-analysis': 'dev-ua', 'fleet-report': 'dev-fr' },
      createdAt: expect.stringMatching(/^20\d\d-/),
    });
    expect(context()['vpc-provider:account=1:region=x']).toEqual({ kept: true });
    expect(cdkCalls).toEqual([['deploy', 'batcat-2022-rnd-battery-feat1', '-c', 'batcat:stage=feat1']]);
    expect(r.out).toContain('reads dev-data, dev-ua, dev-fr where it has no data of its own');
  });

  test('create refuses a parent that is not deployed, a branch of a branch, and a bad name, each saying why', async () => {
    const notDeployed = await cli(['stage', 'create', '2022-rnd-battery', 'feat2', '--from', 'qa']);
    expect([notDeployed.code, notDeployed.err]).toEqual([
      2,
      'batcat: stack batcat-2022-rnd-battery-qa is not deployed in this account and region; deploy it (npx cdk deploy batcat-2022-rnd-battery-qa) first: a branch reads the deployed data of its parent\n',
    ]);
    const ofBranch = await cli(['stage', 'create', '2022-rnd-battery', 'feat2', '--from', 'feat1']);
    expect([ofBranch.code, ofBranch.err]).toEqual([
      2,
      expect.stringContaining("stage 'feat1' is itself a branch of 'dev'; branch from 'dev'"),
    ]);
    const badName = await cli(['stage', 'create', '2022-rnd-battery', 'Feature-1', '--from', 'dev']);
    expect([badName.code, badName.err]).toEqual([2, expect.stringContaining("the branch name: stage 'Feature-1' is invalid")]);
    expect(Object.keys(context()).filter((k) => k.startsWith('batcat:branch:'))).toEqual([branchContextKey('2022-rnd-battery', 'feat1')]);
  });

  test("diff lists the partitions new or changed in the branch, not the same ones, the parent's own or failed attempts", async () => {
    await put('dev-ua', 'raw/usage/dt=2026-11-21/part-0001.csv', 'vin\nV1\n');
    await put('dev-ua', `${SUMMARY}dt=2026-11-21/part-0000.csv`, 'parent 21\n');
    await put('dev-ua', `${SUMMARY}dt=2026-11-21/extra.csv`, 'only the parent has this\n');
    await put('dev-ua', `${SUMMARY}dt=2026-11-22/part-0000.csv`, 'same 22\n');
    await put('dev-ua', `${SUMMARY}dt=2026-11-20/part-0000.csv`, 'only in the parent\n');
    await put('f1-ua', `${SUMMARY}dt=2026-11-21/part-0000.csv`, 'branch 21\n');
    await put('f1-ua', `${SUMMARY}dt=2026-11-22/part-0000.csv`, 'same 22\n');
    await put('f1-ua', `${SUMMARY}dt=2026-11-23/part-0000.csv`, 'branch 23\n');
    await put('f1-ua', `${SUMMARY}_attempts/exec-1/part-0000.csv`, 'a failed attempt\n');
    const r = await cli(['stage', 'diff', '2022-rnd-battery', 'feat1']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const table = r.out.split('\n').filter((l) => /^(STATUS|new|changed) /.test(l));
    expect(table).toEqual([
      expect.stringMatching(/^STATUS\s+KIND\s+PREFIX\s+BRANCH\s+PARENT$/),
      expect.stringMatching(new RegExp(`^changed\\s+output\\s+${SUMMARY}dt=2026-11-21/\\s+1\\s+2$`)),
      expect.stringMatching(new RegExp(`^new\\s+output\\s+${SUMMARY}dt=2026-11-23/\\s+1\\s+0$`)),
    ]);
    expect(r.out).toContain(`compared ${SUMMARY}: 4 object(s) in the branch, 4 in dev`);
  });

  test('diff and promote refuse a branch whose parent stage was deleted, saying what to do', async () => {
    parentDeployed = false;
    try {
      for (const command of [['diff'], ['promote', '--yes']]) {
        const r = await cli(['stage', command[0], '2022-rnd-battery', 'feat1', ...command.slice(1)]);
        expect([r.code, r.err]).toEqual([
          2,
          'batcat: stack batcat-2022-rnd-battery-dev is not deployed in this account and region; deploy it (npx cdk deploy batcat-2022-rnd-battery-dev) again, or delete branch feat1 (batcat stage delete 2022-rnd-battery feat1): its parent stage dev was deleted\n',
        ]);
      }
    } finally {
      parentDeployed = true;
    }
    expect(await get('dev-ua', `${SUMMARY}dt=2026-11-21/part-0000.csv`)).toBe('parent 21\n');
  });

  test('promote refuses, writing nothing, where the parent changed since the branch was made, naming each change', async () => {
    // The parent's partitions of the diff test were written after `stage create`.
    const r = await cli(['stage', 'promote', '2022-rnd-battery', 'feat1', '--prefix', `${SUMMARY}dt=2026-11-21/`, '--yes']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('dev changed since branch feat1 was made (');
    expect(r.err).toMatch(new RegExp(`s3://dev-ua/${SUMMARY}dt=2026-11-21/part-0000\\.csv written 20\\d\\d-`));
    expect(r.err).toMatch(new RegExp(`s3://dev-ua/${SUMMARY}dt=2026-11-21/extra\\.csv written `));
    expect(r.err).not.toContain('dt=2026-11-22');
    expect(r.err).toContain(
      'nothing was promoted; to promote over these changes, make the branch again from dev (batcat stage create 2022-rnd-battery feat1 --from dev)',
    );
    expect(await get('dev-ua', `${SUMMARY}dt=2026-11-21/part-0000.csv`)).toBe('parent 21\n');
    // Made again from dev (a second later, past S3's whole-second LastModified), the branch has seen those changes.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const again = await cli(['stage', 'create', '2022-rnd-battery', 'feat1', '--from', 'dev']);
    expect([again.code, again.err]).toEqual([0, '']);
    expect(again.out).toContain('updated branch feat1 of dev');
  });

  test('promote asks first (without a terminal: --yes), refuses prefixes with nothing to promote, and makes the parent partition the branch’s', async () => {
    const noYes = await cli(['stage', 'promote', '2022-rnd-battery', 'feat1', '--prefix', `${SUMMARY}dt=2026-11-21/`]);
    expect([noYes.code, noYes.err]).toEqual([
      2,
      expect.stringContaining('give --yes to confirm (there is no terminal to ask on); nothing was changed'),
    ]);
    expect(await get('dev-ua', `${SUMMARY}dt=2026-11-21/part-0000.csv`)).toBe('parent 21\n');
    const inputs = await cli(['stage', 'promote', '2022-rnd-battery', 'feat1', '--prefix', 'raw/', '--yes']);
    expect([inputs.code, inputs.err]).toEqual([
      2,
      expect.stringContaining(
        `nothing to promote under raw/: the results that differ from dev are ${SUMMARY}dt=2026-11-21/, ${SUMMARY}dt=2026-11-23/`,
      ),
    ]);

    const r = await cli(['stage', 'promote', '2022-rnd-battery', 'feat1', '--prefix', `${SUMMARY}dt=2026-11-21/`, '--yes']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('promoted 1 prefix(es) to dev: 1 object(s) copied, 1 removed');
    expect(await get('dev-ua', `${SUMMARY}dt=2026-11-21/part-0000.csv`)).toBe('branch 21\n');
    await expect(get('dev-ua', `${SUMMARY}dt=2026-11-21/extra.csv`)).rejects.toThrow();
    // The replaced versions stay readable in the parent.
    const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: 'dev-ua', Prefix: `${SUMMARY}dt=2026-11-21/part-0000.csv` }));
    const old = versions.Versions!.find((v) => !v.IsLatest)!;
    expect(await get('dev-ua', `${SUMMARY}dt=2026-11-21/part-0000.csv`, old.VersionId)).toBe('parent 21\n');
    // The 23rd was not chosen; it still differs.
    const after = await cli(['stage', 'diff', '2022-rnd-battery', 'feat1']);
    expect(after.out).not.toMatch(/dt=2026-11-21\//);
    expect(after.out).toMatch(/new\s+output\s+results\/usage-analysis\/summary\/dt=2026-11-23\//);
  });

  test('delete refuses a stage that is not a branch; with --delete-data it destroys the stack, then deletes the branch’s buckets and ledger, never the parent’s', async () => {
    const notBranch = await cli(['stage', 'delete', '2022-rnd-battery', 'dev', '--yes']);
    expect([notBranch.code, notBranch.err]).toEqual([2, expect.stringContaining("stage 'dev' of 2022-rnd-battery is not a branch")]);
    const noYes = await cli(['stage', 'delete', '2022-rnd-battery', 'feat1', '--delete-data']);
    expect(noYes.code).toBe(2);
    expect(cdkCalls.filter((c) => c[0] === 'destroy')).toEqual([]);

    const r = await cli(['stage', 'delete', '2022-rnd-battery', 'feat1', '--delete-data', '--yes']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(cdkCalls.filter((c) => c[0] === 'destroy')).toEqual([
      ['destroy', 'batcat-2022-rnd-battery-feat1', '-c', 'batcat:stage=feat1', '--force'],
    ]);
    for (const b of ['f1-data', 'f1-ua', 'f1-fr', 'f1-logs']) await expect(s3.send(new HeadBucketCommand({ Bucket: b }))).rejects.toThrow();
    for (const b of ['dev-data', 'dev-ua', 'dev-fr']) await s3.send(new HeadBucketCommand({ Bucket: b }));
    expect(await get('dev-ua', `${SUMMARY}dt=2026-11-22/part-0000.csv`)).toBe('same 22\n');
    await expect(moto.client().send(new DescribeTableCommand({ TableName: ledger }))).rejects.toThrow(/not found|ResourceNotFound/i);
    expect(r.out).toContain('aws kms schedule-key-deletion --key-id');
    expect(context()[branchContextKey('2022-rnd-battery', 'feat1')]).toBeUndefined();
    expect(context()['vpc-provider:account=1:region=x']).toEqual({ kept: true });
  });
});
