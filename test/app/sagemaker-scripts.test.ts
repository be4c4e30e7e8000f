import * as path from 'node:path';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { Stack, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ProjectStack } from '../../lib/app/project-stack';
import { loadProject, type ProjectConfig } from '../../lib/config/load-project';
import { resolveRunRequest, singleRunInput } from '../../lib/runtime/trigger';
import { synthesizePurposes } from '../../lib/local/synthesized-purpose';
import { everyTemplate, recordInputsStub, REPO_ROOT, synthOnce, testApp } from '../helpers';
import { awaitRedriveHandler, executionContext, StateMachine } from '../local-step-functions';
import { apiModelSource, createProcessingJobProblems } from '../api-model';
import { synthesizedProject } from './synthesized-project';

/*
 * Scripts written for SageMaker Processing (test/fixtures/sagemaker-scripts): the project file
 * that runs them unmodified synthesizes clean (cdk-nag, the built-in validation, cfn-guard),
 * and what each state machine sends to CreateProcessingJob is valid against the SageMaker API
 * model, in every combination of the new keys.
 */

jest.setTimeout(120_000);

const FIXTURE = path.join(REPO_ROOT, 'test', 'fixtures', 'sagemaker-scripts');

const synthesized = new Map<ProjectConfig, ReturnType<typeof synthesizePurposes>>();
/** What each purpose's RecordRunInputs step was asked to record of the run, by the last renderedJob. */
const manifestRuns = new Map<string, any>();

/** The CreateProcessingJob request a purpose's state machine makes for one window, executed locally. */
async function renderedJob(config: ProjectConfig, purpose: string): Promise<any> {
  if (!synthesized.has(config)) synthesized.set(config, synthesizePurposes(config));
  const synth = synthesized.get(config)!.get(purpose)!;
  const input = singleRunInput(
    resolveRunRequest({ purpose, date: '2026-11-20' }, synth.runConfig, new Date('2026-11-23T09:00:00Z')),
    synth.runConfig,
  );
  const name = input.runId;
  let job: any;
  const p = config.purposes.find((x) => x.name === purpose)!;
  const machine = new StateMachine(synth.definition as never, { validationOptions: { checkArn: false } });
  await machine.run(input as never, {
    context: executionContext(synth.stateMachineName, name),
    overrides: {
      taskResourceLocalHandlers: {
        RecordRunStart: () => Promise.resolve({}),
        RecordRunSuccess: () => Promise.resolve({}),
        PublishRunSucceeded: async () => ({}),
        AwaitRedrive: awaitRedriveHandler,
        PublishRunFailed: async () => ({}),
        CommitResults: () => Promise.resolve({ outputs: [] }),
        RecordRunInputs: async (params: any) => {
          manifestRuns.set(purpose, params.run);
          return recordInputsStub(params);
        },
        RecordRunOutputs: async () => ({ manifest: 's3://manifests/manifest.json', inputObjects: 0, outputObjects: 0 }),
        RunProcessingJob: (params: unknown) => {
          job = params;
          return Promise.resolve({
            ProcessingJobArn: 'arn:aws:sagemaker:local:000000000000:processing-job/x',
            ProcessingJobStatus: 'Completed',
          });
        },
        RunQuery: () => Promise.resolve({ QueryExecution: { QueryExecutionId: 'q1', Statistics: { DataScannedInBytes: 0 } } }),
        ...Object.fromEntries(p.outputs.map((o) => [`CountOutput-${o.name}`, () => Promise.resolve({ KeyCount: 1 })])),
      },
    },
  }).result;
  return job;
}

describe('the SageMaker-style fixture project', () => {
  const config = loadProject(path.join(FIXTURE, 'projects', 'sm-scripts.yaml'), FIXTURE);
  const app = testApp({ validate: true });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), everyTemplate(new CfnGuardValidator()));
  const stack = new ProjectStack(app, 'SmScripts', { config });
  const synth = synthOnce(app);
  const nested = (purpose: string) => synth.templateOf(Stack.of(stack.purposes[purpose]));

  test('synthesizes with no finding from cdk-nag, the built-in validation or cfn-guard, in every template', () => {
    expect(synth.findings()).toEqual([]);
  });

  test.each(['preprocessing', 'evaluation', 'scoring'])(
    '%s: the CreateProcessingJob request is valid against the SageMaker API model',
    async (purpose) => {
      const job = await renderedJob(config, purpose);
      expect({ source: apiModelSource(), problems: createProcessingJobProblems(job) }).toEqual({ source: apiModelSource(), problems: [] });
    },
  );

  test("each run's manifest records the packages the image brings: the framework's, the container folder's requirements", async () => {
    await renderedJob(config, 'preprocessing');
    await renderedJob(config, 'scoring');
    expect(manifestRuns.get('preprocessing').requirements).toEqual([
      { name: 'scikit-learn', version: '1.2', exact: false, from: 'framework sklearn:1.2-1' },
    ]);
    expect(manifestRuns.get('scoring').requirements).toEqual([
      { name: 'batcat-test-absent-package', version: '9.9.9', exact: true, from: 'containers/scoring/requirements.txt' },
    ]);
  });

  test('the validator is live: a request SageMaker would refuse is reported', () => {
    const problems = createProcessingJobProblems({ ProcessingJobName: 'x', ProcessingResources: {}, AppSpecification: {}, Unknown: 1 });
    expect(problems).toContain('CreateProcessingJob.RoleArn: required');
    expect(problems.some((p) => p.startsWith('CreateProcessingJob.Unknown: not a member'))).toBe(true);
    expect(problems).toContain('CreateProcessingJob.AppSpecification.ImageUri: required');
  });

  test('script mode: the framework image of the region, the code as input `code`, python3 on the script, the arguments rendered per run', async () => {
    const job = await renderedJob(config, 'preprocessing');
    expect(job.AppSpecification.ImageUri).toMatch(/\/sagemaker-scikit-learn:1\.2-1-cpu-py3$/);
    expect(job.AppSpecification.ContainerEntrypoint).toEqual([
      'python3',
      '-c',
      expect.stringContaining('zipfile'),
      expect.stringMatching(/^\/opt\/ml\/processing\/input\/code\/[0-9a-f]{64}\.zip$/),
      '/opt/ml/processing/input/code/preprocessing.py',
    ]);
    expect(job.AppSpecification.ContainerArguments).toEqual(['--train-test-split-ratio', '0.2', '--run-date', '2026-11-20']);
    expect(job.ProcessingInputs.map((i: any) => [i.InputName, i.S3Input.LocalPath])).toEqual([
      ['raw', '/opt/ml/processing/input'],
      ['code', '/opt/ml/processing/input/code'],
    ]);
    expect(job.ProcessingOutputConfig.Outputs.map((o: any) => [o.OutputName, o.S3Output.LocalPath])).toEqual([
      ['train', '/opt/ml/processing/train'],
      ['test', '/opt/ml/processing/test'],
    ]);
  });

  test('the image URI is looked up per region at deploy time, and the job role may pull only that repository', () => {
    const t = nested('preprocessing');
    const parent = synth.templateOf(stack);
    expect(JSON.stringify(t.toJSON())).toContain('"Fn::FindInMap":["SageMakerFrameworkRegistries",{"Ref":"AWS::Region"},"account"]');
    expect(t.toJSON().Mappings.SageMakerFrameworkRegistries['eu-west-1']).toEqual({ account: '141502667606' });
    expect(parent.toJSON().Mappings).toBeUndefined();
    const statements = Object.values<any>(t.findResources('AWS::IAM::Policy')).flatMap((p) => p.Properties.PolicyDocument.Statement);
    const pull = statements.find((s) => [s.Action].flat().includes('ecr:BatchGetImage'));
    expect(JSON.stringify(pull.Resource)).toContain(':repository/sagemaker-scikit-learn');
    const code = statements.find((s) => [s.Action].flat().includes('s3:GetObject') && JSON.stringify(s.Resource).includes('.zip'));
    expect(JSON.stringify(code.Resource)).toMatch(/\/[0-9a-f]{64}\.zip\*"/);
  });

  test('a single object as input: its key is the prefix, read access on that object only', async () => {
    const job = await renderedJob(config, 'evaluation');
    expect(job.ProcessingInputs[0]).toEqual({
      InputName: 'model',
      S3Input: {
        S3Uri: 's3://sm-scripts-models/abalone/model.tar.gz',
        LocalPath: '/opt/ml/processing/model',
        S3DataType: 'S3Prefix',
        S3InputMode: 'File',
        S3DataDistributionType: 'FullyReplicated',
        S3CompressionType: 'None',
      },
    });
    expect(JSON.stringify(nested('evaluation').toJSON())).toContain(':s3:::sm-scripts-models/abalone/model.tar.gz*');
  });

  test('a container with ENTRYPOINT ["python3"] and the script in CMD: no entrypoint or arguments are sent, the network may be on', async () => {
    const job = await renderedJob(config, 'scoring');
    expect(job.AppSpecification.ContainerEntrypoint).toBeUndefined();
    expect(job.AppSpecification.ContainerArguments).toBeUndefined();
    expect(job.NetworkConfig).toEqual({ EnableNetworkIsolation: false, EnableInterContainerTrafficEncryption: true }); // instanceCount: 2
    expect(job.ProcessingOutputConfig.Outputs[0].S3Output.S3UploadMode).toBe('Continuous');
  });
});

describe('every combination of the new keys', () => {
  const { synth, config } = synthesizedProject(
    `project: demo
purposes:
  - name: ecr-args
    image: 210987654321.dkr.ecr.eu-west-1.amazonaws.com/team/model:1.4
    entrypoint: [python3, /opt/program/train.py]
    arguments: ['--from={window.start}', '--to', '{window.end}', '--run', '{run.id}', '--json', '{"k": [1]}', '--meta={"run": "{run.id}"}']
    vpc:
      subnetIds: [subnet-0abc1234def567890, subnet-0abc1234def567891]
      securityGroupIds: [sg-0abc1234def567890]
    inputs:
      - { name: stream, prefix: raw/stream/, mode: Pipe, compression: Gzip, localPath: /opt/ml/processing/stream }
      - { name: lookup, uri: 's3://other-bucket/lookup/table.csv' }
    outputs:
      - { name: model, localPath: /opt/ml/processing/model, uploadMode: Continuous, required: false }
  - name: container-script
    container: containers/container-script
    script: src/job.py
    sourceDir: src/
    networkIsolation: false
    instanceCount: 2
    inputs:
      - { name: data, prefix: raw/data/, distribution: ShardedByS3Key, localPath: /opt/ml/processing/input/data }
    outputs:
      - { name: out }
`,
    {
      'containers/container-script/Dockerfile': 'FROM public.ecr.aws/docker/library/python:3.12-slim\n',
      'src/job.py': 'print("hello")\n',
      'src/helpers/util.py': 'X = 1\n',
    },
    // cdk-nag only: the built-in validation reads the same resource types in the fixture project above.
    { validate: false },
  );

  test('synthesizes with no cdk-nag finding', () => {
    expect(synth.findings()).toEqual([]);
  });

  test.each(['ecr-args', 'container-script'])('%s: the request is valid against the SageMaker API model', async (purpose) => {
    expect(createProcessingJobProblems(await renderedJob(config, purpose))).toEqual([]);
  });

  test('placeholders are rendered per run; braces that are not placeholders stay as written', async () => {
    const job = await renderedJob(config, 'ecr-args');
    expect(job.AppSpecification).toMatchObject({
      ContainerEntrypoint: ['python3', '/opt/program/train.py'],
      ContainerArguments: [
        '--from=2026-11-20',
        '--to',
        '2026-11-20',
        '--run',
        'ecr-args-20261120-a1',
        '--json',
        '{"k": [1]}',
        '--meta={"run": "ecr-args-20261120-a1"}',
      ],
    });
    expect(job.ProcessingInputs[0].S3Input).toMatchObject({
      S3InputMode: 'Pipe',
      S3CompressionType: 'Gzip',
      LocalPath: '/opt/ml/processing/stream',
    });
    expect(job.NetworkConfig).toEqual({
      EnableNetworkIsolation: true,
      VpcConfig: { Subnets: ['subnet-0abc1234def567890', 'subnet-0abc1234def567891'], SecurityGroupIds: ['sg-0abc1234def567890'] },
    });
  });

  test('script mode works with a container folder too: the image is built, the script runs from the code input', async () => {
    const job = await renderedJob(config, 'container-script');
    expect(job.AppSpecification.ImageUri).toMatch(/container-assets/);
    expect(job.AppSpecification.ContainerEntrypoint.at(-1)).toBe('/opt/ml/processing/input/code/job.py');
    expect(job.ProcessingInputs.map((i: any) => i.S3Input.LocalPath)).toEqual([
      '/opt/ml/processing/input/data',
      '/opt/ml/processing/input/code',
    ]);
  });
});
