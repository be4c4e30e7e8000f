import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Template } from 'aws-cdk-lib/assertions';
import { Purpose } from '../../lib/constructs/purpose';
import { definitionOf } from '../helpers';
import { ExecutionError, executionContext, StateMachine, taskError } from '../local-step-functions';
import { baseStack } from './fixtures';

/*
 * Runs the synthesized definition of a purpose with a local Step Functions interpreter; the
 * SageMaker and SNS tasks are answered by the functions below.
 */

const SM_NAME = 'batcat-demo-dev-usage-analysis';
const JOB_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;

const { stack, bucket, topic } = baseStack();
const purpose = new Purpose(stack, 'UsageAnalysis', {
  purposeName: 'usage-analysis',
  namePrefix: 'batcat-demo-dev',
  bucket,
  notificationTopic: topic,
  image: tasks.DockerImage.fromRegistry('123456789012.dkr.ecr.eu-west-1.amazonaws.com/usage:1'),
  inputs: [{ name: 'usage', keyPrefix: 'raw/usage/' }],
  outputs: [{ name: 'summary' }, { name: 'details', keyPrefix: 'curated/usage-details/' }],
});
const definition = definitionOf(Template.fromStack(stack), (ref: any) => (ref.Ref?.startsWith('Data') ? 'demo-data-bucket' : ref.Ref ?? 'stub'));

interface Run {
  output?: any;
  error?: any;
  jobRequests: any[];
  notifications: any[];
}

async function run(executionName: string, job: (params: any, attempt: number) => any, input: any = {}): Promise<Run> {
  const jobRequests: any[] = [];
  const notifications: any[] = [];
  const machine = new StateMachine(definition, { validationOptions: { checkArn: false } });
  const execution = machine.run(input, {
    context: executionContext(SM_NAME, executionName),
    overrides: {
      taskResourceLocalHandlers: {
        RunProcessingJob: async (params: any) => {
          jobRequests.push(params);
          return job(params, jobRequests.length);
        },
        NotifyFailure: async (params: any) => {
          notifications.push(params);
          return { MessageId: 'm-1' };
        },
      },
      retryIntervalOverrides: { RunProcessingJob: 0 },
    },
  });
  try {
    return { output: await execution.result, jobRequests, notifications };
  } catch (error) {
    return { error, jobRequests, notifications };
  }
}

const completed = (params: any) => ({ ProcessingJobArn: `arn:aws:sagemaker:eu-west-1:123456789012:processing-job/${params.ProcessingJobName}`, ProcessingJobStatus: 'Completed' });

describe('a purpose run, executed locally', () => {
  test('passes the job its name, inputs, dated outputs and environment', async () => {
    const r = await run('manual-2026-11-23', completed, { requestedBy: 'test' });
    expect(r.error).toBeUndefined();
    expect(r.jobRequests).toHaveLength(1);
    const p = r.jobRequests[0];
    expect(p.ProcessingJobName).toMatch(JOB_NAME);
    expect(p.ProcessingJobName).toMatch(new RegExp(`^${purpose.jobNamePrefix}-[0-9a-f]{32}$`));
    expect(p.ProcessingInputs[0].S3Input).toMatchObject({ S3Uri: 's3://demo-data-bucket/raw/usage/', LocalPath: '/opt/ml/processing/input/usage' });
    expect(p.ProcessingOutputConfig.Outputs.map((o: any) => [o.OutputName, o.S3Output.S3Uri, o.S3Output.LocalPath])).toEqual([
      ['summary', 's3://demo-data-bucket/results/usage-analysis/summary/dt=2026-11-23/', '/opt/ml/processing/output/summary'],
      ['details', 's3://demo-data-bucket/curated/usage-details/dt=2026-11-23/', '/opt/ml/processing/output/details'],
    ]);
    expect(p.Environment).toEqual({
      BATCAT_PURPOSE: 'usage-analysis',
      BATCAT_RUN_DATE: '2026-11-23',
      BATCAT_JOB_NAME: p.ProcessingJobName,
      BATCAT_EXECUTION_ID: `arn:aws:states:eu-west-1:123456789012:execution:${SM_NAME}:manual-2026-11-23`,
    });
    expect(r.output).toMatchObject({
      requestedBy: 'test',
      batcat: { jobName: p.ProcessingJobName, date: '2026-11-23', partition: 'dt=2026-11-23/' },
      job: { arn: `arn:aws:sagemaker:eu-west-1:123456789012:processing-job/${p.ProcessingJobName}`, status: 'Completed' },
    });
  });

  test('any 80-character execution name gives a valid, distinct job name', async () => {
    const names = [
      'a'.repeat(80),
      `${'x_'.repeat(39)}_z`,
      `backfill.2026-11-01+force=1@${'9'.repeat(52)}`,
      `${'é'.repeat(40)}${'-'.repeat(40)}`,
    ];
    const jobNames: string[] = [];
    for (const name of names) {
      expect(name.length).toBe(80);
      const r = await run(name, completed);
      expect(r.error).toBeUndefined();
      const jobName = r.jobRequests[0].ProcessingJobName as string;
      expect(jobName).toMatch(JOB_NAME);
      expect(jobName.length).toBeLessThanOrEqual(63);
      jobNames.push(jobName);
    }
    expect(new Set(jobNames).size).toBe(names.length);
    // The same execution name gives the same job name: a redelivered start cannot create a second job.
    expect((await run(names[0], completed)).jobRequests[0].ProcessingJobName).toBe(jobNames[0]);
  });

  test('a failed job publishes its FailureReason and fails the execution with it', async () => {
    const description = {
      ProcessingJobName: 'x', ProcessingJobStatus: 'Failed',
      FailureReason: "AlgorithmError: InputError: usage.csv line 3: usage 'abc' is not a number",
    };
    const r = await run('run-1', () => {
      throw taskError('States.TaskFailed', JSON.stringify(description));
    });
    expect(r.jobRequests).toHaveLength(1);
    expect(r.error).toBeInstanceOf(ExecutionError);
    expect(r.notifications).toHaveLength(1);
    expect(r.notifications[0]).toMatchObject({
      TopicArn: expect.stringMatching(/^Topic/),
      Subject: `BatCat run failed: ${SM_NAME}`,
      Message: {
        purpose: 'usage-analysis',
        stateMachine: SM_NAME,
        execution: `arn:aws:states:eu-west-1:123456789012:execution:${SM_NAME}:run-1`,
        error: 'States.TaskFailed',
        reason: description.FailureReason,
        jobName: expect.stringMatching(JOB_NAME),
      },
    });
    expect(String(r.error.message)).toContain(description.FailureReason);
  });

  test('a JSON cause without FailureReason and a plain-text cause are passed on as they are', async () => {
    const json = await run('run-2', () => {
      throw taskError('States.TaskFailed', '{"ProcessingJobStatus":"Stopped"}');
    });
    expect(json.notifications[0].Message.reason).toBe('{"ProcessingJobStatus":"Stopped"}');
    const text = await run('run-3', () => {
      throw taskError('SageMaker.ValidationException', 'Role is not authorized');
    });
    expect(text.jobRequests).toHaveLength(1);
    expect(text.notifications[0].Message).toMatchObject({ error: 'SageMaker.ValidationException', reason: 'Role is not authorized' });
  });

  test('transient SageMaker errors are retried five times before the failure is reported', async () => {
    const r = await run('run-4', () => {
      throw taskError('SageMaker.AmazonSageMakerException', 'Internal error');
    });
    expect(r.jobRequests).toHaveLength(6);
    expect(r.notifications[0].Message).toMatchObject({ error: 'SageMaker.AmazonSageMakerException', reason: 'Internal error' });
  });

  test('an account resource limit is waited out, then the job runs', async () => {
    const r = await run('run-5', (params, attempt) => {
      if (attempt < 4) throw taskError('SageMaker.ResourceLimitExceededException', 'instance quota reached');
      return completed(params);
    });
    expect(r.error).toBeUndefined();
    expect(r.jobRequests).toHaveLength(4);
    expect(new Set(r.jobRequests.map((p) => p.ProcessingJobName)).size).toBe(1);
    expect(r.notifications).toHaveLength(0);
  });
});
