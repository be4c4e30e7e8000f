import * as fs from 'node:fs';
import * as path from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetFunctionConfigurationCommand, LambdaClient } from '@aws-sdk/client-lambda';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutBucketVersioningCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { DescribeExecutionCommand, DescribeStateMachineCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { runCli } from '../../lib/cli/main';
import { loadProject } from '../../lib/config/load-project';
import { RUN_CONFIG_ENV } from '../../lib/contract/environment';
import { parseS3Uri } from '../../lib/contract/s3-uri';
import { synthesizePurposes } from '../../lib/local/synthesized-purpose';
import { commitOutputs } from '../../lib/runtime/commit';
import { recordRunInputs, recordRunOutputs } from '../../lib/runtime/run-manifest';
import { s3Store, s3VersionLister } from '../../lib/runtime/s3-store';
import { resolveRunRequest, singleRunInput } from '../../lib/runtime/trigger';
import { tempDir } from '../helpers';
import { awaitRedriveHandler, executionContext, StateMachine } from '../local-step-functions';
import { motoUnavailable, startMotoServer, type MotoServer } from '../moto-server';
import { synthesizedProject } from '../app/synthesized-project';

/*
 * `batcat reproduce --remote` end to end: a run of a purpose is executed with its real,
 * synthesized state machine against moto's versioned S3 (the real run-manifest and commit steps;
 * the job a small deterministic function of its input files), its input is overwritten, and the
 * reproduction stages the versions the run read, starts the deployed state machine (here: the
 * same definition executed locally, as StartExecution would) on them, and compares its outputs.
 */

jest.setTimeout(120_000);
const unavailable = motoUnavailable();
if (unavailable) console.warn(`test/cli/reproduce-remote.test.ts is skipped: ${unavailable}`);
const suite = unavailable ? describe.skip : describe;

const PROJECT = `project: demo
stage: dev
purposes:
  - name: daily
    inputs:
      - { name: events, prefix: raw/events/, partitioned: true }
      - { name: ref, prefix: raw/ref/ }
    outputs:
      - { name: clean }
`;
const SM_ARN = 'arn:aws:states:eu-west-1:123456789012:stateMachine:batcat-demo-dev-daily';

let moto: MotoServer;
let s3: S3Client;
let root: string;
let synth: ReturnType<typeof synthesizePurposes> extends Map<string, infer T> ? T : never;
let bucket: string;
/** What the job writes per run: a function of what it reads, unless a test makes it depend on the clock. */
let job: (inputs: string) => string = (inputs) => inputs.toUpperCase();
const ledgerWrites: string[] = [];
const jobInputs: string[][] = [];

const cfn = mockClient(CloudFormationClient);
const lambda = mockClient(LambdaClient);
const sfn = mockClient(SFNClient);

const put = (key: string, body: string) =>
  s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body })).then((r) => r.VersionId!);
const get = (key: string) => s3.send(new GetObjectCommand({ Bucket: bucket, Key: key })).then((o) => o.Body!.transformToString());
const keysUnder = async (prefix: string) =>
  ((await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }))).Contents ?? []).map((o) => o.Key!);

/** One execution of the purpose's synthesized state machine, as Step Functions would run it, against moto. */
async function execute(input: any): Promise<void> {
  const machine = new StateMachine(synth.definition as never, { validationOptions: { checkArn: false } });
  const store = (b: string) => s3Store(s3, b);
  await machine.run(input, {
    context: executionContext(synth.stateMachineName, input.runId),
    overrides: {
      taskResourceLocalHandlers: {
        RecordRunStart: async () => {
          ledgerWrites.push(`start ${input.runId}`);
          return {};
        },
        RecordRunSuccess: async () => {
          ledgerWrites.push(`success ${input.runId}`);
          return {};
        },
        PublishRunSucceeded: async () => ({}),
        AwaitRedrive: awaitRedriveHandler,
        PublishRunFailed: async () => ({}),
        RecordRunFailure: async () => {
          ledgerWrites.push(`failure ${input.runId}`);
          return {};
        },
        RecordRunInputs: (r: any) => recordRunInputs(s3VersionLister(s3), store(r.bucket), r),
        RecordRunOutputs: (r: any) => recordRunOutputs(s3VersionLister(s3), store(r.bucket), r),
        CommitResults: (r: any) => commitOutputs(store(r.bucket), r.outputs),
        'CountOutput-clean': async (p: any) => ({ KeyCount: (await keysUnder(p.Prefix)).length }),
        RunProcessingJob: async (params: any) => {
          // The job: every input file it is given, in key order, through `job`, into one output file.
          const read: string[] = [];
          let text = '';
          for (const i of params.ProcessingInputs) {
            const { bucket: b, key } = parseS3Uri(i.S3Input.S3Uri);
            for (const k of (await s3.send(new ListObjectsV2Command({ Bucket: b, Prefix: key }))).Contents ?? []) {
              read.push(`s3://${b}/${k.Key}`);
              text += await s3.send(new GetObjectCommand({ Bucket: b, Key: k.Key })).then((o) => o.Body!.transformToString());
            }
          }
          jobInputs.push(read);
          const outUri = parseS3Uri(params.ProcessingOutputConfig.Outputs[0].S3Output.S3Uri);
          await s3.send(new PutObjectCommand({ Bucket: outUri.bucket, Key: `${outUri.key}clean.csv`, Body: job(text) }));
          return {
            ProcessingJobArn: `arn:aws:sagemaker:eu-west-1:123456789012:processing-job/${params.ProcessingJobName}`,
            ProcessingJobStatus: 'Completed',
          };
        },
      } as any,
    },
  }).result;
}

async function cli(args: string[]) {
  let out = '';
  let err = '';
  const code = await runCli([...args, '--root', root], {
    cwd: root,
    out: (t) => (out += t),
    err: (t) => (err += t),
    sleep: async () => undefined,
    clients: () => ({
      s3,
      cloudformation: new CloudFormationClient({ region: 'eu-west-1' }),
      lambda: new LambdaClient({ region: 'eu-west-1' }),
      sfn: new SFNClient({ region: 'eu-west-1' }),
    }),
  });
  return { code, out, err };
}

const RUN = 'daily-20261120-a1';

beforeAll(async () => {
  if (unavailable) return;
  moto = await startMotoServer();
  s3 = moto.s3();
  root = tempDir('batcat-remote-');
  fs.mkdirSync(path.join(root, 'projects'));
  fs.mkdirSync(path.join(root, 'containers', 'daily'), { recursive: true });
  fs.writeFileSync(path.join(root, 'projects', 'demo.yaml'), PROJECT);
  fs.writeFileSync(path.join(root, 'containers', 'daily', 'Dockerfile'), 'FROM public.ecr.aws/docker/library/python:3.12-slim\n');
  synth = synthesizePurposes(loadProject(path.join(root, 'projects', 'demo.yaml'), root)).get('daily')!;
  bucket = synth.runConfig.bucket;
  await s3.send(new CreateBucketCommand({ Bucket: bucket, CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }));
  await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
  cfn.on(DescribeStacksCommand).resolves({
    Stacks: [
      {
        StackName: 'batcat-demo-dev',
        CreationTime: new Date(),
        StackStatus: 'CREATE_COMPLETE',
        Outputs: [{ OutputKey: 'PurposeBucketdaily', OutputValue: bucket }],
      },
    ],
  });
  lambda.on(GetFunctionConfigurationCommand).resolves({
    Environment: { Variables: { [RUN_CONFIG_ENV]: JSON.stringify({ ...synth.runConfig, stateMachineArn: SM_ARN }) } },
  });
  sfn.on(DescribeStateMachineCommand).resolves({ definition: JSON.stringify(synth.definition) });
  let last = '';
  sfn.on(StartExecutionCommand).callsFake(async (req: { name: string; input: string; stateMachineArn: string }) => {
    expect(req.stateMachineArn).toBe(SM_ARN);
    last = req.name;
    await execute(JSON.parse(req.input));
    return { executionArn: `${SM_ARN.replace(':stateMachine:', ':execution:')}:${req.name}`, startDate: new Date() };
  });
  sfn.on(DescribeExecutionCommand).callsFake(async () => ({ status: 'SUCCEEDED', executionArn: last }));

  // The run on AWS: its inputs, then the run through the state machine, then the input is overwritten.
  await put('raw/events/dt=2026-11-20/part-0001.csv', 'vin,kwh\nv1,1\n');
  await put('raw/ref/stations.csv', 'id\ns1\n');
  const input = singleRunInput(
    resolveRunRequest({ purpose: 'daily', date: '2026-11-20' }, synth.runConfig, new Date('2026-11-22T09:00:00Z')),
    synth.runConfig,
  );
  expect(input.runId).toBe(RUN);
  await execute(input);
  expect(await get('results/daily/clean/dt=2026-11-20/clean.csv')).toBe('VIN,KWH\nV1,1\nID\nS1\n');
  await put('raw/events/dt=2026-11-20/part-0001.csv', 'vin,kwh\nv1,999\n');
}, 120_000);
afterAll(async () => {
  cfn.restore();
  lambda.restore();
  sfn.restore();
  s3?.destroy();
  await moto?.stop();
});

suite('batcat reproduce --remote', () => {
  test('stages the versions the run read, runs the deployed state machine on them without ledger or commit, and finds the outputs byte for byte', async () => {
    ledgerWrites.length = 0;
    jobInputs.length = 0;
    const r = await cli(['reproduce', 'demo', RUN, '--remote']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain(`reproduced: every output is byte for byte the one run ${RUN} wrote`);
    const rid = /started (daily-20261120-a1-\d{14}-repro), a reproduction of/.exec(r.out)![1];
    // The job read the staged copies: the day's folder and the one object, as the run read them.
    expect(jobInputs).toEqual([
      [
        `s3://${bucket}/_batcat/reproduce/daily/${rid}/events/part-0001.csv`,
        `s3://${bucket}/_batcat/reproduce/daily/${rid}/ref/stations.csv`,
      ],
    ]);
    expect(await get(`_batcat/reproduce/daily/${rid}/events/part-0001.csv`)).toBe('vin,kwh\nv1,1\n');
    // No window claimed or recorded, no result replaced: the output is in the attempt's folder only.
    expect(ledgerWrites).toEqual([]);
    expect(await get(`results/daily/clean/_attempts/${rid}/clean.csv`)).toBe('VIN,KWH\nV1,1\nID\nS1\n');
    expect(await keysUnder('results/daily/clean/dt=2026-11-20/')).toEqual(['results/daily/clean/dt=2026-11-20/clean.csv']);
    expect(await keysUnder(`_batcat/runs/daily/${rid}/`)).toEqual([]);
  });

  test('a job that depends on something the manifest does not pin: exit 1, naming the file', async () => {
    job = (inputs) => `${inputs.toUpperCase()}${Date.now()}\n`;
    try {
      const r = await cli(['reproduce', 'demo', RUN, '--remote']);
      expect(r.code).toBe(1);
      expect(r.out).toMatch(/output clean: not identical to run daily-20261120-a1:\n {2}- clean\.csv differs \(MD5 [0-9a-f]{32} then/);
    } finally {
      job = (inputs) => inputs.toUpperCase();
    }
  });

  test('refused, exit 2, when the deployed state machine runs other code, or a version the run read expired', async () => {
    const recorded = JSON.parse(await get(`_batcat/runs/daily/${RUN}/manifest.json`));
    const deployed = JSON.stringify(synth.definition);
    expect(deployed).toContain(recorded.image);
    sfn
      .on(DescribeStateMachineCommand)
      .resolves({ definition: deployed.split(recorded.image).join('123456789012.dkr.ecr.eu-west-1.amazonaws.com/other:image') });
    const code = await cli(['reproduce', 'demo', RUN, '--remote']);
    sfn.on(DescribeStateMachineCommand).resolves({ definition: deployed });
    expect([code.code, code.err]).toEqual([
      2,
      expect.stringMatching(/^batcat: the deployed batcat-demo-dev-daily no longer runs the image .* that run daily-20261120-a1 ran/),
    ]);

    const manifest = JSON.parse(await get(`_batcat/runs/daily/${RUN}/manifest.json`));
    const ref = manifest.inputs.find((i: any) => i.name === 'ref').objects[0];
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: ref.key, VersionId: ref.versionId }));
    const gone = await cli(['reproduce', 'demo', RUN, '--remote']);
    expect([gone.code, gone.err]).toEqual([
      2,
      `batcat: s3://${bucket}/raw/ref/stations.csv version ${ref.versionId} no longer exists: a replaced version is kept 90 days (keepVersions in the project file) and then expires, or it was deleted. The run cannot be reproduced on the same bytes.\n`,
    ]);
  });
});

describe("a reproduction's end starts nothing and records nothing", () => {
  const { nestedOf } = synthesizedProject(
    `project: demo
purposes:
  - name: first
    outputs: [{ name: out }]
  - name: second
    inputs: [{ name: out, from: first/out }]
    outputs: [{ name: report }]
    triggers: { after: first }
`,
    Object.fromEntries(
      ['first', 'second'].map((p) => [`containers/${p}/Dockerfile`, 'FROM public.ecr.aws/docker/library/python:3.12-slim\n']),
    ),
    { validate: false },
  );
  test('the upstream and run-ended rules leave out executions named ...-repro', () => {
    const rules = Object.values(nestedOf('second').findResources('AWS::Events::Rule')).filter(
      (r: any) =>
        r.Properties.EventPattern?.source?.[0] === 'aws.states' &&
        r.Properties.EventPattern['detail-type'][0] === 'Step Functions Execution Status Change',
    );
    expect(rules.length).toBeGreaterThanOrEqual(2);
    for (const r of rules as any[]) {
      if (r.Properties.Description.startsWith('Timed-out and stopped runs')) continue; // notifies; a reproduction that stops should too
      expect(r.Properties.EventPattern.detail.name).toEqual([{ 'anything-but': { suffix: '-repro' } }]);
    }
  });
});
