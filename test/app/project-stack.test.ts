import * as fs from 'node:fs';
import * as path from 'node:path';
import { Stack, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadProject } from '../../lib/config/load-project';
import { ProjectStack } from '../../lib/app/project-stack';
import { definitionOf, synthOnce, tempDir, testApp } from '../helpers';

const IMAGE = '210987654321.dkr.ecr.eu-west-1.amazonaws.com/team/forecast@sha256:' + 'ab'.repeat(32);

function project(yaml: string) {
  const dir = tempDir('batcat-project-');
  fs.mkdirSync(path.join(dir, 'projects'));
  fs.writeFileSync(path.join(dir, 'projects', 'demo.yaml'), yaml);
  const config = loadProject(path.join(dir, 'projects', 'demo.yaml'), dir);
  const app = testApp({ validate: true });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const stack = new ProjectStack(app, 'Demo', { config });
  const synth = synthOnce(app);
  return { synth, stack, config, parent: synth.templateOf(stack), nested: synth.templateOf(Stack.of(stack.purposes.forecast)) };
}

describe('ProjectStack', () => {
  const { synth, stack, parent, nested } = project(`project: demo
stage: prod
purposes:
  - name: forecast
    image: ${IMAGE}
    instanceType: ml.c5.xlarge
    instanceCount: 4
    inputs:
      - name: features
        uri: s3://shared-feature-store/vehicles/
        distribution: ShardedByS3Key
    outputs:
      - name: predictions
        prefix: curated/predictions/
`);

  test('cdk-nag finds nothing unacknowledged for an external input bucket and an ECR image either', () => {
    expect(synth.findings()).toEqual([]);
  });

  test('is named from project and stage, and tags everything with them', () => {
    expect(stack.stackName).toBe('batcat-demo-prod');
    parent.hasResourceProperties('AWS::S3::Bucket', {
      Tags: [
        { Key: 'batcat:project', Value: 'demo' },
        { Key: 'batcat:stage', Value: 'prod' },
      ],
    });
  });

  test('an existing ECR image is pulled from its own repository only, by digest', () => {
    const def = definitionOf(nested);
    expect(def.States.RunProcessingJob.Parameters.AppSpecification.ImageUri).toBe(IMAGE);
    const statements = Object.values<any>(nested.findResources('AWS::IAM::Policy')).flatMap((p) => p.Properties.PolicyDocument.Statement);
    const pull = statements.find((s) => [s.Action].flat().includes('ecr:BatchGetImage'));
    expect(JSON.stringify(pull.Resource)).toContain(':ecr:eu-west-1:210987654321:repository/team/forecast');
    expect(Object.keys(nested.findResources('AWS::ECR::Repository'))).toEqual([]);
  });

  test('an input in another bucket is read below its prefix only, sharded across the instances', () => {
    const p = definitionOf(nested).States.RunProcessingJob.Parameters;
    expect(p.ProcessingInputs[0].S3Input).toMatchObject({
      S3Uri: 's3://shared-feature-store/vehicles/',
      S3DataDistributionType: 'ShardedByS3Key',
    });
    expect(p.ProcessingResources.ClusterConfig).toEqual({ InstanceCount: 4, InstanceType: 'ml.c5.xlarge', VolumeSizeInGB: 30 });
    const statements = Object.values<any>(nested.findResources('AWS::IAM::Policy')).flatMap((s) => s.Properties.PolicyDocument.Statement);
    const text = JSON.stringify(statements);
    expect(text).toContain(':s3:::shared-feature-store/vehicles/*');
    expect(text).toContain('"s3:prefix":["vehicles/*"]');
  });

  test('an output prefix may be set; the run partition is appended', () => {
    const out = definitionOf(nested).States.RunProcessingJob.Parameters.ProcessingOutputConfig.Outputs[0].S3Output;
    expect(out['S3Uri.$']).toMatch(/\/curated\/predictions\/\{\}', \$\.batcat\.partition\)$/);
  });
});
