import { Template } from 'aws-cdk-lib/assertions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Purpose } from '../../lib/constructs/purpose';
import type { PurposeProps } from '../../lib/constructs/purpose-props';
import { RunRequestError } from '../../lib/contract/run-input';
import { resolveRunRequest, singleRunInput } from '../../lib/runtime/trigger';
import { definitionOf, recordInputsStub, runConfigOf } from '../helpers';
import { awaitRedriveHandler, executionContext, StateMachine } from '../local-step-functions';
import { baseStack } from './fixtures';

/*
 * Typed parameters from the request to the job: the trigger's logic checks and defaults them
 * into the run input, and the synthesized state machine, run by the local interpreter, renders
 * them into the job's arguments and environment and records them in the run manifest.
 */

const NOW = new Date('2026-11-23T09:30:00Z');

function synth(overrides: Partial<PurposeProps> = {}) {
  const { stack, bucket, topic } = baseStack();
  const purpose = new Purpose(stack, 'Scoring', {
    purposeName: 'scoring',
    namePrefix: 'batcat-demo-dev',
    bucket,
    notificationTopic: topic,
    image: tasks.DockerImage.fromRegistry('123456789012.dkr.ecr.eu-west-1.amazonaws.com/scoring:1'),
    outputs: [{ name: 'scores' }],
    arguments: ['--threshold', '{param.threshold}', '--mode={param.mode}', '--day', '{window.start}'],
    parameters: {
      threshold: { type: 'number', default: 0.5, min: 0, max: 1 },
      mode: { type: 'string', default: 'fast', allowed: ['fast', 'full'] },
    },
    ...overrides,
  });
  const template = Template.fromStack(stack);
  return { purpose, definition: definitionOf(template), config: runConfigOf(template) };
}

const scoring = synth();

async function runJob(input: unknown) {
  const jobs: any[] = [];
  const manifests: any[] = [];
  const machine = new StateMachine(scoring.definition, { validationOptions: { checkArn: false } });
  await machine.run(input as never, {
    context: executionContext(scoring.purpose.stateMachineName, (input as any).runId),
    overrides: {
      taskResourceLocalHandlers: {
        RecordRunStart: async () => ({}),
        RecordRunSuccess: async () => ({}),
        PublishRunSucceeded: async () => ({}),
        AwaitRedrive: awaitRedriveHandler,
        PublishRunFailed: async () => ({}),
        RecordRunInputs: async (x: any) => {
          manifests.push(x);
          return recordInputsStub(x);
        },
        RecordRunOutputs: async () => ({ manifest: 's3://m/manifest.json', inputObjects: 0, outputObjects: 1 }),
        CommitResults: async () => ({ outputs: [] }),
        'CountOutput-scores': async () => ({ KeyCount: 1 }),
        RunProcessingJob: async (x: any) => {
          jobs.push(x);
          return { ProcessingJobArn: 'arn:job', ProcessingJobStatus: 'Completed' };
        },
      },
    },
  }).result;
  return { job: jobs[0], manifest: manifests[0] };
}

describe('typed parameters reach the job', () => {
  test('a manual run with --param: the values in the run input, the arguments, the environment and the manifest', async () => {
    const request = resolveRunRequest({ purpose: 'scoring', date: '2026-11-20', params: { threshold: '0.70' } }, scoring.config, NOW);
    const input = singleRunInput(request, scoring.config);
    expect(input.parameters).toEqual({ threshold: '0.7', mode: 'fast' });
    const { job, manifest } = await runJob(input);
    expect(job.AppSpecification.ContainerArguments).toEqual(['--threshold', '0.7', '--mode=fast', '--day', '2026-11-20']);
    expect(job.Environment).toMatchObject({ BATCAT_PARAM_THRESHOLD: '0.7', BATCAT_PARAM_MODE: 'fast' });
    expect(manifest.run.parameters).toEqual({ threshold: '0.7', mode: 'fast' });
  });

  test('a scheduled run takes the defaults', async () => {
    const request = resolveRunRequest(
      { trigger: 'schedule', purpose: 'scoring', scheduledTime: '2026-11-23T04:00:00Z' },
      scoring.config,
      NOW,
    );
    const input = singleRunInput(request, scoring.config);
    expect(input.parameters).toEqual({ threshold: '0.5', mode: 'fast' });
    const { job } = await runJob(input);
    expect(job.AppSpecification.ContainerArguments.slice(0, 3)).toEqual(['--threshold', '0.5', '--mode=fast']);
  });

  test('an unknown name, a wrong type or a value out of range is refused before a run is started', () => {
    const ask = (params: unknown) => () => resolveRunRequest({ purpose: 'scoring', date: '2026-11-20', params }, scoring.config, NOW);
    expect(ask({ treshold: '0.7' })).toThrow(RunRequestError);
    expect(ask({ treshold: '0.7' })).toThrow("'treshold' is not a parameter of 'scoring' (did you mean 'threshold'?)");
    expect(ask({ threshold: 'high' })).toThrow("parameter 'threshold' is number: 'high' is not a number");
    expect(ask({ threshold: '2' })).toThrow("'2' is above its max 1");
    expect(ask('threshold=2')).toThrow('params must be an object of parameter values, got "threshold=2"');
    const plain = synth({ parameters: undefined, arguments: undefined });
    expect(() => resolveRunRequest({ purpose: 'scoring', date: '2026-11-20', params: { threshold: '1' } }, plain.config, NOW)).toThrow(
      "purpose 'scoring' declares no parameters, so --param threshold cannot be given",
    );
  });

  test('a placeholder of an undeclared parameter, or a bad declaration, stops the synth at the construct', () => {
    expect(() => synth({ arguments: ['--x', '{param.treshold}'] })).toThrow(
      /arguments\[1\] '\{param.treshold\}' uses the placeholder \{param.treshold\}, which does not exist; did you mean \{param.threshold\}\? allowed: .*\{param.threshold\}, \{param.mode\}/,
    );
    expect(() => synth({ parameters: { threshold: { type: 'number', default: 2, max: 1 } }, arguments: [] })).toThrow(
      "parameters.threshold.default: default: parameter 'threshold' is number: 2 is above its max 1",
    );
  });
});
