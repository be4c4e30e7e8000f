import { Stack } from 'aws-cdk-lib';
import { createFeatureGroupProblems } from '../api-model';
import { projectProblems } from './project-problems';
import { synthesizedProject } from './synthesized-project';

/*
 * `featureGroup:` on an output: a feature group in the purpose's nested stack (features from the
 * output table's columns, offline store in the purpose's bucket with its Glue table in the
 * project database, online store on request), a step after each commit that puts the result into
 * it, least-privilege roles, and every template clean under cdk-nag and cfn-guard.
 */

const yaml = (featureGroup: string, columns = '{ vin: string, event_time: timestamp, soc_avg: double, trips: bigint }') => `project: demo
purposes:
  - name: fleet-features
    framework: sklearn:1.2-1
    script: scripts/usage.py
    outputs:
      - name: features
        table: { format: parquet, columns: ${columns} }
        featureGroup: ${featureGroup}
`;

describe('a feature group over an output', () => {
  const { synth, stack, nestedOf } = synthesizedProject(
    yaml('{ recordId: vin, eventTime: event_time, online: true }'),
    { 'scripts/usage.py': 'print(1)\n' },
    { guard: true },
  );
  const nested = nestedOf('fleet-features');
  const [group] = Object.values<any>(nested.findResources('AWS::SageMaker::FeatureGroup')).map((r) => r.Properties);

  test('the group: features from the columns, offline store in the purpose bucket with a table in the project database, online store', () => {
    expect(group).toMatchObject({
      FeatureGroupName: 'batcat-demo-dev-fleet-features-features',
      RecordIdentifierFeatureName: 'vin',
      EventTimeFeatureName: 'event_time',
      FeatureDefinitions: [
        { FeatureName: 'vin', FeatureType: 'String' },
        { FeatureName: 'event_time', FeatureType: 'String' },
        { FeatureName: 'soc_avg', FeatureType: 'Fractional' },
        { FeatureName: 'trips', FeatureType: 'Integral' },
      ],
      OfflineStoreConfig: {
        DataCatalogConfig: { Catalog: 'AwsDataCatalog', Database: 'batcat_demo_dev', TableName: 'fleet_features_features_features' },
        TableFormat: 'Glue',
      },
      OnlineStoreConfig: { EnableOnlineStore: true },
    });
    expect(JSON.stringify(group.OfflineStoreConfig.S3StorageConfig.S3Uri)).toContain('/features/fleet-features/features/');
    expect(group.OfflineStoreConfig.S3StorageConfig.KmsKeyId).toBeDefined();
    expect(group.OnlineStoreConfig.SecurityConfig.KmsKeyId).toBeDefined();
  });

  test('the request is a valid CreateFeatureGroup of the SageMaker API model', () => {
    expect(createFeatureGroupProblems(group)).toEqual([]);
    expect(createFeatureGroupProblems({ ...group, FeatureDefinitions: [{ FeatureName: 'x', FeatureType: 'Text' }] })).toEqual([
      expect.stringMatching(/FeatureDefinitions\[0\]\.FeatureType: "Text" is not one of Integral, Fractional, String/),
    ]);
  });

  test("after the commit, a step puts the window's result into the group, before the run's outputs are recorded", () => {
    const definition = JSON.stringify(
      Object.values<any>(nested.findResources('AWS::StepFunctions::StateMachine'))[0].Properties.DefinitionString,
    );
    expect(definition).toMatch(/\\"CommitResults\\":\{[^}]*\\"Next\\":\\"IngestFeatures-features\\"/);
    expect(definition).toMatch(/\\"IngestFeatures-features\\":\{[^}]*\\"Next\\":\\"RecordRunOutputs\\"/);
  });

  test('SageMaker writes the offline store folder and updates its table, nothing else; the ingestion puts records into this group', () => {
    const policies = Object.values<any>(nested.findResources('AWS::IAM::Policy')).map((p) => JSON.stringify(p.Properties.PolicyDocument));
    const store = policies.find((p) => p.includes('glue:UpdateTable'))!;
    expect(store).toContain('/features/fleet-features/features/*');
    expect(store).toContain('table/batcat_demo_dev/fleet_features_features_features');
    expect(store).not.toMatch(/"Resource":"\*"|s3:\*|glue:\*/);
    const put = policies.find((p) => p.includes('sagemaker:PutRecord'))!;
    expect(put).toContain('feature-group/batcat-demo-dev-fleet-features-features');
    expect(put).toContain('results/fleet-features/features/*');
    const role = Object.values<any>(nested.findResources('AWS::IAM::Role')).find(
      (r) =>
        JSON.stringify(r.Properties.AssumeRolePolicyDocument).includes('sagemaker.amazonaws.com') &&
        r.Properties.Description?.includes('Feature Store'),
    );
    expect(role.Properties.AssumeRolePolicyDocument.Statement[0].Condition).toBeDefined();
    expect(Stack.of(stack.purposes['fleet-features'])).toBeDefined();
  });

  test('cdk-nag and cfn-guard (the Control Tower controls) find nothing unacknowledged in any template', () => {
    expect(synth.findings()).toEqual([]);
  });
});

describe('mistakes in featureGroup:', () => {
  test('each at its line, with the fix', () => {
    expect(projectProblems(yaml('{ recordId: vim, eventTime: event_time }'))).toEqual([
      expect.stringMatching(
        /^line 9:\d+: purposes\[0\]\.outputs\[0\]\.featureGroup\.recordId: recordId 'vim' is not among the columns .*did you mean 'vin'\?/,
      ),
    ]);
    expect(projectProblems(yaml('{ recordId: vin, eventTime: recorded }'))).toEqual([
      expect.stringMatching(/featureGroup\.eventTime: eventTime 'recorded' is not among the columns of output 'features'/),
    ]);
    expect(projectProblems(yaml('{ recordId: soc_avg, eventTime: event_time }'))).toEqual([
      expect.stringMatching(/recordId 'soc_avg' is a double column; the record identifier must be a string or a whole number/),
    ]);
    expect(
      projectProblems(yaml('{ recordId: vin, eventTime: event_time }', '{ vin: string, event_time: timestamp, write_time: timestamp }')),
    ).toEqual([
      expect.stringMatching(/table\.columns\.write_time: column 'write_time' is a name the feature store's offline store keeps for itself/),
    ]);
    expect(
      projectProblems(`project: demo
purposes:
  - name: fleet-features
    framework: sklearn:1.2-1
    script: scripts/usage.py
    outputs:
      - name: features
        featureGroup: { recordId: vin, eventTime: event_time }
`),
    ).toEqual([
      expect.stringMatching(
        /outputs\[0\]\.featureGroup: the feature group of output 'features' takes its features from the output's table/,
      ),
    ]);
  });
});
