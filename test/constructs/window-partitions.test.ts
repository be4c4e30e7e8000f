import { Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import aslValidator from 'asl-validator';
import { Purpose } from '../../lib/constructs/purpose';
import type { PurposeProps } from '../../lib/constructs/purpose-props';
import { WINDOW_ERRORS } from '../../lib/contract/window-manifest';
import { singleRunInput, resolveRunRequest } from '../../lib/runtime/trigger';
import { writeWindowManifests, type WindowManifestRequest } from '../../lib/runtime/window-manifest';
import { definitionOf, memoryStores, recordInputsStub, runConfigOf, stubRefs } from '../helpers';
import { awaitRedriveHandler, executionContext, ExecutionError, StateMachine, taskError } from '../local-step-functions';
import { createProcessingJobProblems } from '../api-model';
import { baseStack } from './fixtures';

/*
 * A weekly purpose over daily partitions: its template, and its synthesized definition executed
 * by the local Step Functions interpreter with the partition step's real logic over a store of
 * objects in memory.
 */

const MANIFESTS = '_batcat/window-manifests/weekly-usage/';

function weekly(overrides: Partial<PurposeProps> = {}) {
  const { stack, bucket, topic } = baseStack();
  const upstream = s3.Bucket.fromBucketName(stack, 'Upstream', 'upstream-results');
  const purpose = new Purpose(stack, 'WeeklyUsage', {
    purposeName: 'weekly-usage',
    namePrefix: 'batcat-demo-dev',
    bucket,
    notificationTopic: topic,
    image: tasks.DockerImage.fromRegistry('123456789012.dkr.ecr.eu-west-1.amazonaws.com/weekly:1'),
    window: Duration.days(7),
    inputs: [
      { name: 'usage', keyPrefix: 'raw/usage/', partitioned: true },
      { name: 'summary', bucket: upstream, keyPrefix: 'results/usage-analysis/summary/', partitioned: true, complete: true },
      { name: 'lookup', keyPrefix: 'curated/lookup/' },
    ],
    outputs: [{ name: 'trend' }],
    ...overrides,
  });
  const template = Template.fromStack(stack);
  const stubs = stubRefs((ref) => (ref.startsWith('Data') ? 'demo-data-bucket' : undefined));
  return { purpose, template, definition: definitionOf(template, stubs), config: runConfigOf(template, stubs) };
}

const demo = weekly();

describe('a purpose with a window of several days over partitions', () => {
  test('lists the partitions after the window is claimed and before the job, which reads them through manifests', () => {
    const { States } = demo.definition;
    expect(aslValidator(demo.definition).isValid).toBe(true);
    expect(States.RecordRunStart.Next).toBe('ListWindowPartitions');
    expect(States.ListWindowPartitions.Next).toBe('RecordRunInputs');
    expect(States.RecordRunInputs.Next).toBe('RunProcessingJob');
    expect(States.ListWindowPartitions.Parameters).toEqual({
      bucket: 'demo-data-bucket',
      'manifestPrefix.$': `States.Format('${MANIFESTS}{}', $.batcat.manifestFolder)`,
      'window.$': '$.window',
      inputs: [
        { name: 'usage', bucket: 'demo-data-bucket', prefix: 'raw/usage/', complete: false },
        { name: 'summary', bucket: 'upstream-results', prefix: 'results/usage-analysis/summary/', complete: true },
      ],
    });
    // What the data says is final; anything else is retried.
    expect(States.ListWindowPartitions.Retry).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ ErrorEquals: Object.values(WINDOW_ERRORS), MaxAttempts: 0 }),
        expect.objectContaining({ ErrorEquals: ['States.ALL'], MaxAttempts: 3 }),
      ]),
    );
    expect(States.ListWindowPartitions.Catch).toEqual([expect.objectContaining({ ErrorEquals: ['States.ALL'], ResultPath: '$.error' })]);
    const inputs = States.RunProcessingJob.Parameters.ProcessingInputs;
    expect(inputs.map((i: any) => [i.InputName, i.S3Input.S3DataType, i.S3Input['S3Uri.$'] ?? i.S3Input.S3Uri])).toEqual([
      ['usage', 'ManifestFile', "States.Format('s3://demo-data-bucket/{}', $.batcat.manifests.m0)"],
      ['summary', 'ManifestFile', "States.Format('s3://demo-data-bucket/{}', $.batcat.manifests.m1)"],
      ['lookup', 'S3Prefix', '$.manifest.uris.u2'],
    ]);
    expect(States.ResolveRun.Parameters).toMatchObject({
      'manifestFolder.$': "States.Format('{}/', $$.Execution.Name)",
      manifests: {
        'm0.$': `States.Format('${MANIFESTS}{}/usage.manifest', $$.Execution.Name)`,
        'm1.$': `States.Format('${MANIFESTS}{}/summary.manifest', $$.Execution.Name)`,
      },
    });
  });

  test("the step may list the inputs' folders and write manifests, nothing else; the job may read the manifests", () => {
    const policies = demo.template.findResources('AWS::IAM::Policy');
    const of = (role: RegExp) =>
      Object.values(policies)
        .filter((p: any) => p.Properties.Roles.some((r: any) => role.test(r.Ref)))
        .flatMap((p: any) => p.Properties.PolicyDocument.Statement);
    const step = of(/WindowManifestsRole/);
    const actions = step.flatMap((s: any) => [s.Action].flat()).sort();
    expect(actions).toEqual([
      'kms:GenerateDataKey',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      's3:ListBucket',
      's3:ListBucket',
      's3:PutObject',
    ]);
    expect(step.filter((s: any) => s.Action === 's3:ListBucket').map((s: any) => s.Condition.StringLike['s3:prefix'])).toEqual([
      ['raw/usage/*'],
      ['results/usage-analysis/summary/*'],
    ]);
    expect(step.find((s: any) => s.Action === 's3:PutObject').Resource).toEqual({
      'Fn::Join': ['', [{ 'Fn::GetAtt': [expect.stringMatching(/^Data/), 'Arn'] }, `/${MANIFESTS}*`]],
    });
    const job = of(/RunProcessingJobJobRole/);
    expect(job.find((s: any) => s.Action === 's3:GetObject').Resource).toContainEqual({
      'Fn::Join': ['', [{ 'Fn::GetAtt': [expect.stringMatching(/^Data/), 'Arn'] }, `/${MANIFESTS}*`]],
    });
    demo.template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp("lists the window's partitions"),
      Timeout: 300,
    });
  });

  test('a purpose whose runs are one day keeps reading the day folder, with no partition step', () => {
    const daily = weekly({ window: Duration.days(1), inputs: [{ name: 'usage', keyPrefix: 'raw/usage/', partitioned: true }] });
    expect(daily.definition.States.ListWindowPartitions).toBeUndefined();
    expect(daily.definition.States.RunProcessingJob.Parameters.ProcessingInputs[0].S3Input).toMatchObject({
      'S3Uri.$': '$.manifest.uris.u0',
      S3DataType: 'S3Prefix',
    });
    Template.fromStack(daily.purpose.node.scope as any).resourceCountIs('AWS::Lambda::Function', 4); // trigger, commit, run manifest, redrive gate
    // One-day windows, but a backfill of a week may run as one: the partitions are listed.
    const stretchy = weekly({ window: Duration.days(1), maxWindow: Duration.days(7) });
    expect(stretchy.definition.States.ListWindowPartitions).toBeDefined();
  });

  test('a manifest on a one-object input, or complete without partitions, is refused at synth', () => {
    expect(() => weekly({ inputs: [{ name: 'usage', keyPrefix: 'raw/usage.csv', partitioned: true }] })).toThrow(
      /input 'usage' is partitioned, but 'raw\/usage.csv' is one object/,
    );
    expect(() => weekly({ inputs: [{ name: 'usage', keyPrefix: 'raw/usage/', complete: true }] })).toThrow(
      /input 'usage' sets complete, .* applies to partitioned inputs only/,
    );
  });
});

async function execute(objects: Record<string, string[]>) {
  const { storeOf, buckets } = memoryStores(objects);
  const input = singleRunInput(
    resolveRunRequest({ purpose: 'weekly-usage', date: '2026-11-18' }, demo.config, new Date('2026-11-30T09:00:00Z')),
    demo.config,
  );
  const jobs: any[] = [];
  const notifications: any[] = [];
  const machine = new StateMachine(demo.definition, { validationOptions: { checkArn: false } });
  const execution = machine.run(input as any, {
    context: executionContext(demo.purpose.stateMachineName, input.runId),
    overrides: {
      taskResourceLocalHandlers: {
        RecordRunStart: async () => ({}),
        RecordRunSuccess: async () => ({}),
        PublishRunSucceeded: async () => ({}),
        AwaitRedrive: awaitRedriveHandler,
        PublishRunFailed: async () => ({}),
        RecordRunFailure: async () => ({}),
        ListWindowPartitions: async (request: WindowManifestRequest) => {
          try {
            return await writeWindowManifests(storeOf, request);
          } catch (e) {
            // As Lambda reports a function's error to Step Functions.
            throw taskError((e as Error).name, JSON.stringify({ errorType: (e as Error).name, errorMessage: (e as Error).message }));
          }
        },
        RunProcessingJob: async (params: any) => {
          jobs.push(params);
          return {
            ProcessingJobArn: `arn:aws:sagemaker:eu-west-1:123456789012:processing-job/${params.ProcessingJobName}`,
            ProcessingJobStatus: 'Completed',
          };
        },
        'CountOutput-trend': async () => ({ KeyCount: 1 }),
        CommitResults: async () => ({ outputs: [] }),
        RecordRunInputs: recordInputsStub,
        RecordRunOutputs: async () => ({ manifest: 's3://manifests/manifest.json', inputObjects: 0, outputObjects: 0 }),
        NotifyFailure: async (params: any) => {
          notifications.push(params);
          return { MessageId: 'm-1' };
        },
      } as any,
      retryIntervalOverrides: { ListWindowPartitions: 0 },
    },
  });
  try {
    return { input, output: (await execution.result) as any, jobs, notifications, buckets };
  } catch (error) {
    return { input, error: error as Error, jobs, notifications, buckets };
  }
}

const day = (prefix: string, d: string) => `${prefix}dt=${d}/part-0001.csv`;
const WEEK = ['2026-11-16', '2026-11-17', '2026-11-18', '2026-11-19', '2026-11-20', '2026-11-21', '2026-11-22'];

describe('a weekly run, executed locally', () => {
  test('the job reads the days present through the manifests; the missing days are in the run output', async () => {
    const present = WEEK.filter((d) => !['2026-11-18', '2026-11-21'].includes(d));
    const r = await execute({
      'demo-data-bucket': present.map((d) => day('raw/usage/', d)),
      'upstream-results': WEEK.map((d) => day('results/usage-analysis/summary/', d)),
    });
    expect(r.error).toBeUndefined();
    expect(r.input.window).toEqual({ start: '2026-11-16', end: '2026-11-22', endExclusive: '2026-11-23' });
    const manifestOf = (name: string) => `${MANIFESTS}${r.input.runId}/${name}.manifest`;
    expect(r.output.partitions).toEqual({
      inputs: [
        expect.objectContaining({
          name: 'usage',
          manifest: `s3://demo-data-bucket/${manifestOf('usage')}`,
          missingDays: ['2026-11-18', '2026-11-21'],
          objects: 5,
        }),
        expect.objectContaining({
          name: 'summary',
          manifest: `s3://demo-data-bucket/${manifestOf('summary')}`,
          missingDays: [],
          objects: 7,
        }),
      ],
      missingDays: 2,
    });
    expect(JSON.parse(r.buckets.get('demo-data-bucket')!.get(manifestOf('usage'))!)).toEqual([
      { prefix: 's3://demo-data-bucket/raw/usage/' },
      ...present.map((d) => `dt=${d}/part-0001.csv`),
    ]);
    expect(r.jobs).toHaveLength(1);
    const job = r.jobs[0];
    expect(job.ProcessingInputs.map((i: any) => [i.InputName, i.S3Input.S3DataType, i.S3Input.S3Uri])).toEqual([
      ['usage', 'ManifestFile', `s3://demo-data-bucket/${manifestOf('usage')}`],
      ['summary', 'ManifestFile', `s3://demo-data-bucket/${manifestOf('summary')}`],
      ['lookup', 'S3Prefix', 's3://demo-data-bucket/curated/lookup/'],
    ]);
    expect(createProcessingJobProblems(job)).toEqual([]);
  });

  test('a complete input with a missing day fails the run before the job, and the topic is told which days', async () => {
    const r = await execute({
      'demo-data-bucket': WEEK.map((d) => day('raw/usage/', d)),
      'upstream-results': WEEK.filter((d) => d !== '2026-11-20').map((d) => day('results/usage-analysis/summary/', d)),
    });
    expect(r.error).toBeInstanceOf(ExecutionError);
    expect(String(r.error!.message)).toContain("input 'summary' says complete: true");
    expect(r.jobs).toEqual([]);
    expect(r.notifications.map((n) => n.Message)).toEqual([
      expect.objectContaining({
        error: WINDOW_ERRORS.missingDays,
        reason: expect.stringMatching(
          /^input 'summary' says complete: true, but 1 of the 7 days of the window 2026-11-16 \.\. 2026-11-22 have no partition under s3:\/\/upstream-results\/results\/usage-analysis\/summary\/: 2026-11-20\. Nothing was run\./,
        ),
      }),
    ]);
    // Nothing written: the other input's manifest is not left behind either.
    expect([...r.buckets.get('demo-data-bucket')!.keys()].filter((k) => k.startsWith(MANIFESTS))).toEqual([]);
  });
});
