import { synthesizedProject } from './synthesized-project';

/*
 * A project with a weekly purpose over daily partitions (another purpose's results and another
 * team's encrypted bucket): it synthesizes with every check, and the manifests expire.
 */

const KEY = 'arn:aws:kms:us-east-1:999999999999:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const PROJECT = `project: demo
stage: dev
purposes:
  - name: daily
    inputs:
      - { name: events, prefix: raw/events/, partitioned: true }
    outputs:
      - { name: clean }
  - name: weekly
    window: 7d
    inputs:
      - { name: clean, from: daily/clean, complete: true }
      - { name: partner, uri: 's3://partner-data/usage/', partitioned: true, kmsKey: '${KEY}' }
    outputs:
      - { name: trend }
`;

const FILES = Object.fromEntries(
  ['daily', 'weekly'].map((p) => [`containers/${p}/Dockerfile`, 'FROM public.ecr.aws/docker/library/python:3.12-slim\n']),
);

describe('a weekly purpose over daily partitions, in a project', () => {
  const { synth, parent, nestedOf } = synthesizedProject(PROJECT, FILES, { guard: true });

  test('synthesizes with no unacknowledged cdk-nag, cfn-guard or validation finding', () => {
    expect(synth.findings()).toEqual([]);
  });

  test('every data bucket keeps replaced versions 90 days (keepVersions), so the runs their manifests name can be read again', () => {
    // The data buckets (the project's and the two purposes'), not the access logs' bucket.
    const buckets = Object.values(parent.findResources('AWS::S3::Bucket')).filter(
      (b: any) =>
        b.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm === 'aws:kms',
    );
    expect(buckets).toHaveLength(3);
    for (const b of buckets as any[]) {
      expect(b.Properties.LifecycleConfiguration.Rules).toContainEqual({
        Id: 'ExpireReplacedVersions',
        NoncurrentVersionExpiration: { NoncurrentDays: 90 },
        Status: 'Enabled',
      });
    }
  });

  test('the partition step is in the weekly purpose only, and its manifests expire with the bucket that holds them', () => {
    expect(JSON.stringify(nestedOf('weekly').toJSON())).toContain('ListWindowPartitions');
    expect(JSON.stringify(nestedOf('daily').toJSON())).not.toContain('ListWindowPartitions');
    const rules = Object.values(parent.findResources('AWS::S3::Bucket')).flatMap(
      (b: any) => b.Properties.LifecycleConfiguration?.Rules?.filter((r: any) => r.Id === 'ExpireWindowManifests') ?? [],
    );
    expect(rules).toEqual([
      {
        Id: 'ExpireWindowManifests',
        Prefix: '_batcat/window-manifests/',
        ExpirationInDays: 30,
        NoncurrentVersionExpiration: { NoncurrentDays: 1 },
        Status: 'Enabled',
      },
    ]);
  });
});
