import * as fs from 'node:fs';
import * as path from 'node:path';
import { CloudFormationClient, ListStackResourcesCommand } from '@aws-sdk/client-cloudformation';
import { CreateBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { runCli } from '../../lib/cli/main';
import { loadProject } from '../../lib/config/load-project';
import { bucketPolicyStatements, externalReads, externalReport } from '../../lib/cli/external-command';
import { REPO_ROOT, tempDir } from '../helpers';
import { startS3Server, type S3Server } from '../s3-server';

/*
 * `batcat doctor --external` on a project that reads other teams' buckets: the statements their
 * owners add, with the job roles of the deployed stack (CloudFormation mocked) or the stage's
 * role path before a deploy, and a probe of each bucket against an S3-protocol server (s3rver).
 */

jest.setTimeout(60_000);

const KEY = 'arn:aws:kms:eu-west-1:999999999999:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const PROJECT = `project: partner-reads
stage: dev
purposes:
  - name: weekly-usage
    framework: sklearn:1.2-1
    script: scripts/job.py
    window: 7d
    inputs:
      - { name: usage, uri: 's3://partner-data/usage/', partitioned: true, kmsKey: '${KEY}' }
      - { name: lookup, uri: 's3://partner-data/lookup/vins.csv' }
    outputs:
      - { name: trend }
  - name: daily
    framework: sklearn:1.2-1
    script: scripts/job.py
    inputs:
      - { name: models, uri: 's3://shared-models/churn/' }
      - { name: raw, prefix: raw/daily/ }
    outputs:
      - { name: out }
`;

function projectFolder(): string {
  const dir = tempDir('batcat-external-');
  fs.mkdirSync(path.join(dir, 'projects'));
  fs.mkdirSync(path.join(dir, 'scripts'));
  fs.writeFileSync(path.join(dir, 'scripts', 'job.py'), 'print("hello")\n');
  fs.writeFileSync(path.join(dir, 'projects', 'partner-reads.yaml'), PROJECT);
  return dir;
}

const ACCOUNT = '123456789012';
const STACK = 'batcat-partner-reads-dev';
const nestedArn = (name: string) => `arn:aws:cloudformation:eu-west-1:${ACCOUNT}:stack/${STACK}-${name}NestedStack-1ABC/0a1b2c3d`;
const JOB_ROLE = (p: string) => `${STACK}-${p}-RunProcessingJobJobRol-XYZ`;
const cfn = mockClient(CloudFormationClient);
let server: S3Server;
let s3: S3Client;

beforeAll(async () => {
  server = await startS3Server();
  s3 = server.client();
  await s3.send(new CreateBucketCommand({ Bucket: 'partner-data' }));
  await s3.send(new PutObjectCommand({ Bucket: 'partner-data', Key: 'usage/dt=2026-11-16/part-0001.csv', Body: 'vin\nV1\n' }));
});
afterAll(async () => {
  s3?.destroy();
  await server?.stop();
});
beforeEach(() => cfn.reset());

/** The deployed stack: a parent with two purpose stacks (the first listed in two pages) and a dashboard. */
function deployed(): void {
  cfn.on(ListStackResourcesCommand, { StackName: STACK }).resolves({
    StackResourceSummaries: [
      {
        LogicalResourceId: 'Data',
        ResourceType: 'AWS::S3::Bucket',
        PhysicalResourceId: 'x',
        ResourceStatus: 'CREATE_COMPLETE',
        LastUpdatedTimestamp: new Date(),
      },
      ...['dailyNested', 'weeklyusageNested', 'DashboardNested'].map((id, n) => ({
        LogicalResourceId: id,
        ResourceType: 'AWS::CloudFormation::Stack',
        PhysicalResourceId: nestedArn(['daily', 'weeklyusage', 'Dashboard'][n]),
        ResourceStatus: 'CREATE_COMPLETE' as const,
        LastUpdatedTimestamp: new Date(),
      })),
    ],
  });
  const resource = (LogicalResourceId: string, ResourceType: string, PhysicalResourceId: string) => ({
    LogicalResourceId,
    ResourceType,
    PhysicalResourceId,
    ResourceStatus: 'CREATE_COMPLETE' as const,
    LastUpdatedTimestamp: new Date(),
  });
  const machine = (p: string) => `arn:aws:states:eu-west-1:${ACCOUNT}:stateMachine:${STACK}-${p}`;
  cfn.on(ListStackResourcesCommand, { StackName: nestedArn('weeklyusage') }).resolves({
    StackResourceSummaries: [
      resource('PurposeStateMachineA1', 'AWS::StepFunctions::StateMachine', machine('weekly-usage')),
      resource('PurposeBackfillStateMachineB2', 'AWS::StepFunctions::StateMachine', `${machine('weekly-usage')}-backfill`),
    ],
    NextToken: 'page-2',
  });
  cfn.on(ListStackResourcesCommand, { StackName: nestedArn('weeklyusage'), NextToken: 'page-2' }).resolves({
    StackResourceSummaries: [
      resource('PurposeRunProcessingJobJobRoleC3', 'AWS::IAM::Role', JOB_ROLE('weekly')),
      resource('PurposeWindowManifestsRoleD4', 'AWS::IAM::Role', `${STACK}-weekly-WindowManifestsRole-XYZ`),
      resource('PurposeCommitRoleE5', 'AWS::IAM::Role', `${STACK}-weekly-CommitRole-XYZ`),
    ],
  });
  cfn.on(ListStackResourcesCommand, { StackName: nestedArn('daily') }).resolves({
    StackResourceSummaries: [
      resource('PurposeStateMachineF6', 'AWS::StepFunctions::StateMachine', machine('daily')),
      resource('PurposeRunProcessingJobJobRoleG7', 'AWS::IAM::Role', JOB_ROLE('daily')),
    ],
  });
}

async function doctorExternal(root: string) {
  let out = '';
  const code = await runCli(['doctor', '--external', '--root', root], {
    cwd: root,
    out: (t) => {
      out += t;
    },
    err: (t) => {
      out += t;
    },
    clients: () => ({ s3, cloudformation: new CloudFormationClient({ region: 'eu-west-1' }) }),
  });
  return { code, out, external: out.slice(out.indexOf('Data from elsewhere')) };
}

/** The JSON printed after `heading`, as the user copies it. */
function statementsAfter(text: string, heading: string): any {
  const start = text.indexOf(heading);
  expect(start).toBeGreaterThanOrEqual(0);
  const all = text.slice(start).split('\n');
  const lines = all.slice(all.findIndex((l) => l === '    [' || l === '    {'));
  const end = lines.findIndex((l) => l === '    ]' || l === '    }');
  return JSON.parse(lines.slice(0, end + 1).join('\n'));
}

describe('batcat doctor --external', () => {
  test("with the stack deployed: statements naming each purpose's job role, and a probe of each bucket", async () => {
    deployed();
    const r = await doctorExternal(projectFolder());
    const role = (name: string) => `arn:aws:iam::${ACCOUNT}:role/batcat/partner-reads/dev/${name}`;
    expect(r.external).toContain('partner-reads.yaml: 3 input(s) in other buckets; stack batcat-partner-reads-dev in eu-west-1');
    expect(r.external).toContain(
      '  bucket partner-data: read by weekly-usage (input usage: usage/), weekly-usage (input lookup: lookup/vins.csv)',
    );
    expect(statementsAfter(r.external, 'bucket partner-data')).toEqual([
      {
        Sid: 'BatCatPartnerReadsDevWeeklyUsageRead',
        Effect: 'Allow',
        Principal: { AWS: role(JOB_ROLE('weekly')) },
        Action: 's3:GetObject',
        Resource: ['arn:aws:s3:::partner-data/usage/*', 'arn:aws:s3:::partner-data/lookup/vins.csv'],
      },
      {
        Sid: 'BatCatPartnerReadsDevWeeklyUsageList',
        Effect: 'Allow',
        // The partition step lists the weekly window's days.
        Principal: { AWS: [role(JOB_ROLE('weekly')), role(`${STACK}-weekly-WindowManifestsRole-XYZ`)] },
        Action: 's3:ListBucket',
        Resource: 'arn:aws:s3:::partner-data',
        Condition: { StringLike: { 's3:prefix': ['usage/*', 'lookup/vins.csv'] } },
      },
    ]);
    expect(r.external).toContain(
      "  probe with your own credentials (not the job role's): GetBucketLocation: us-east-1; HeadObject usage/dt=2026-11-16/part-0001.csv: OK; ListObjectsV2 lookup/vins.csv: no object there yet",
    );
    expect(statementsAfter(r.external, 'bucket shared-models')[0]).toMatchObject({ Principal: { AWS: role(JOB_ROLE('daily')) } });
    expect(r.external).toMatch(
      /probe with your own credentials \(not the job role's\): GetBucketLocation: NoSuchBucket.*; churn\/: NoSuchBucket/,
    );
    expect(r.external).toContain(`  key ${KEY}: its owner (account 999999999999) adds to the key policy:`);
    expect(statementsAfter(r.external, `key ${KEY}`)).toEqual({
      Sid: 'BatCatPartnerReadsDevDecrypt',
      Effect: 'Allow',
      Principal: { AWS: role(JOB_ROLE('weekly')) },
      Action: 'kms:Decrypt',
      Resource: '*',
      Condition: { StringEquals: { 'kms:ViaService': 's3.eu-west-1.amazonaws.com' } },
    });
    // The project's own folder (raw/daily/) is nobody else's business.
    expect(r.external).not.toContain('raw/daily');
  });

  test("before a deploy: the stage's role path, and what to do for exact ARNs", async () => {
    cfn
      .on(ListStackResourcesCommand)
      .rejects(Object.assign(new Error(`Stack with id ${STACK} does not exist`), { name: 'ValidationError' }));
    const r = await doctorExternal(projectFolder());
    expect(r.external).toContain(
      '  stack batcat-partner-reads-dev is not deployed in this account and region: the statements below let in every role of the stage',
    );
    expect(r.external).toContain('  replace <account-id> with the account the stack deploys to');
    expect(statementsAfter(r.external, 'bucket partner-data')[0]).toEqual({
      Sid: 'BatCatPartnerReadsDevWeeklyUsageRead',
      Effect: 'Allow',
      Principal: { AWS: 'arn:aws:iam::<account-id>:root' },
      Condition: { ArnLike: { 'aws:PrincipalArn': 'arn:aws:iam::<account-id>:role/batcat/partner-reads/dev/*' } },
      Action: 's3:GetObject',
      Resource: ['arn:aws:s3:::partner-data/usage/*', 'arn:aws:s3:::partner-data/lookup/vins.csv'],
    });
  });

  test('a project without foreign inputs says so, without calling AWS', async () => {
    const lines: string[] = [];
    await externalReport([loadProject(path.join(REPO_ROOT, 'projects', '2022-rnd-battery.yaml'), REPO_ROOT)], {} as never, (l) =>
      lines.push(l),
    );
    expect(lines).toEqual(['', "projects/2022-rnd-battery.yaml: no input in another bucket, so nobody else's policy needs a statement"]);
  });

  test('statements for a bucket read by two purposes keep them apart', () => {
    const dir = projectFolder();
    const project = loadProject(path.join(dir, 'projects', 'partner-reads.yaml'), dir);
    const reads = externalReads(project);
    expect(reads.map((r) => [r.purpose, r.input, r.bucket, r.prefix, r.listedByStep])).toEqual([
      ['weekly-usage', 'usage', 'partner-data', 'usage/', true],
      ['weekly-usage', 'lookup', 'partner-data', 'lookup/vins.csv', false],
      ['daily', 'models', 'shared-models', 'churn/', false],
    ]);
    const both = [...reads, { ...reads[2], bucket: 'partner-data', prefix: 'models/' }].filter((r) => r.bucket === 'partner-data');
    const roles = new Map([
      ['weekly-usage', { job: 'arn:aws:iam::1:role/w' }],
      ['daily', { job: 'arn:aws:iam::1:role/d' }],
    ]);
    const statements = bucketPolicyStatements(project, 'partner-data', both, { kind: 'roles', account: '1', roles });
    // Each purpose reads only its own folders: no statement lets one role into the other's.
    expect(statements.map((s: any) => [s.Sid, s.Principal.AWS, s.Resource, s.Condition?.StringLike])).toEqual([
      [
        'BatCatPartnerReadsDevWeeklyUsageRead',
        'arn:aws:iam::1:role/w',
        ['arn:aws:s3:::partner-data/usage/*', 'arn:aws:s3:::partner-data/lookup/vins.csv'],
        undefined,
      ],
      [
        'BatCatPartnerReadsDevWeeklyUsageList',
        'arn:aws:iam::1:role/w',
        'arn:aws:s3:::partner-data',
        { 's3:prefix': ['usage/*', 'lookup/vins.csv'] },
      ],
      ['BatCatPartnerReadsDevDailyRead', 'arn:aws:iam::1:role/d', 'arn:aws:s3:::partner-data/models/*', undefined],
      ['BatCatPartnerReadsDevDailyList', 'arn:aws:iam::1:role/d', 'arn:aws:s3:::partner-data', { 's3:prefix': 'models/*' }],
    ]);
  });
});
