import { definitionOf, runConfigOf, secureDataBucket, stubRefs } from '../helpers';
import { synthesizedProject } from './synthesized-project';

/*
 * The project file's `storage`: with `per-purpose` (the default) each purpose owns a bucket, and
 * another purpose reads from it exactly the folders it names, read-only; with `shared`, one
 * project bucket holds everything, as before.
 */

const PROJECT = (storage: string) => `project: demo
stage: dev
${storage}
purposes:
  - name: ingest
    inputs:
      - { name: events, prefix: raw/events/, partitioned: true }
    outputs:
      - name: clean
        table: { columns: { vin: string, kwh: double } }
    triggers:
      s3: [{ input: events, suffix: .csv }]
  - name: features
    inputs:
      - { name: clean, from: ingest/clean }
      - { name: events, prefix: raw/events/, partitioned: true }
    outputs:
      - { name: vectors }
    triggers:
      after: ingest
      s3: [{ input: events }]
  - name: report
    query:
      file: queries/report.sql
      tables: [ingest_clean]
    outputs:
      - { name: daily }
`;

const FILES = {
  'queries/report.sql': 'SELECT vin, sum(kwh) AS kwh FROM ingest_clean WHERE dt BETWEEN ? AND ? GROUP BY vin\n',
  ...Object.fromEntries(
    ['ingest', 'features', 'report'].map((p) => [`containers/${p}/Dockerfile`, 'FROM public.ecr.aws/docker/library/python:3.12-slim\n']),
  ),
};

/** Every statement of every IAM policy of a template, with `Ref`s and `Fn::GetAtt`s given as the logical ID they name. */
function statementsOf(template: { findResources: (type: string) => Record<string, any> }): any[] {
  const named = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(named)
      : v && typeof v === 'object'
        ? 'Ref' in v
          ? `<${String((v as any).Ref)}>`
          : 'Fn::GetAtt' in v
            ? `<${(v as any)['Fn::GetAtt'][0]}>`
            : 'Fn::Join' in v
              ? ((v as any)['Fn::Join'][1] as unknown[]).map(named).join((v as any)['Fn::Join'][0])
              : Object.fromEntries(Object.entries(v).map(([k, x]) => [k, named(x)]))
        : v;
  return Object.values(template.findResources('AWS::IAM::Policy')).flatMap((p) => named(p.Properties.PolicyDocument.Statement) as any[]);
}

/** The S3 actions `statements` allow on objects of `bucket` (a pattern of the resource), by resource. */
function objectAccess(statements: any[], bucket: RegExp): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const s of statements.filter((x) => x.Effect === 'Allow')) {
    for (const r of [s.Resource].flat().filter((x: string) => bucket.test(x) && x.includes('>/'))) {
      out[r] = [...new Set([...(out[r] ?? []), ...[s.Action].flat().filter((a: string) => a.startsWith('s3:'))])].sort();
    }
  }
  return out;
}

describe("storage: per-purpose (the default): each purpose's folders in its own bucket", () => {
  const p = synthesizedProject(PROJECT(''), FILES, { guard: true });
  const resources = p.parent.toJSON().Resources;
  const bucketIds = Object.keys(resources).filter((id) => resources[id].Type === 'AWS::S3::Bucket');
  const purposeBucket = (name: string) => {
    const id = bucketIds.find((b) => b.startsWith(`DataBucket${name}`));
    if (!id) throw new Error(`no bucket of ${name} in ${bucketIds.join(', ')}`);
    return id;
  };
  // A nested stack receives a bucket as parameters named after its logical ID: <name>Ref, <name>Arn.
  const param = (template: any, bucketId: string) => [
    ...new Set(
      Object.keys(template.toJSON().Parameters ?? {})
        .filter((k) => new RegExp(`${bucketId.replace(/[0-9A-F]{8}$/, '')}[0-9A-F]{8}(Ref|Arn)$`).test(k))
        .map((k) => k.replace(/(Ref|Arn)$/, '')),
    ),
  ];

  test('cdk-nag and cfn-guard find nothing unacknowledged in any template', () => {
    expect(p.config.storage).toBe('per-purpose');
    expect(p.synth.findings()).toEqual([]);
  });

  test('one bucket per purpose, plus the project bucket and its access logs, each with the full set of secure properties', () => {
    expect(bucketIds).toHaveLength(5);
    for (const name of ['ingest', 'features', 'report']) {
      const bucket = resources[purposeBucket(name)];
      expect(bucket.DeletionPolicy).toBe('Retain');
      expect(bucket.UpdateReplacePolicy).toBe('Retain');
      expect(bucket.Properties.BucketName).toBeUndefined();
      expect(bucket.Properties).toMatchObject({
        ...secureDataBucket({ 'Fn::GetAtt': [expect.stringMatching(/^DataKey/), 'Arn'] }),
        LoggingConfiguration: {
          DestinationBucketName: { Ref: expect.stringMatching(/^DataAccessLogs/) },
          LogFilePrefix: `purposes/${name}/`,
        },
      });
      // Found again by its tags after its stage was destroyed.
      expect(bucket.Properties.Tags).toEqual(
        expect.arrayContaining([
          { Key: 'batcat:project', Value: 'demo' },
          { Key: 'batcat:stage', Value: 'dev' },
          { Key: 'batcat:purpose', Value: name },
        ]),
      );
      const policy = Object.values<any>(resources).find(
        (r) => r.Type === 'AWS::S3::BucketPolicy' && r.Properties.Bucket.Ref === purposeBucket(name),
      );
      const statements = policy.Properties.PolicyDocument.Statement;
      expect(statements.find((s: any) => s.Condition?.Bool?.['aws:SecureTransport'] === 'false')).toMatchObject({
        Effect: 'Deny',
        Action: 's3:*',
      });
      expect(statements.map((s: any) => s.Sid).filter(Boolean)).toEqual(expect.arrayContaining(['DenyOtherEncryption', 'DenyOtherKeys']));
      // Only the stage's roles (and dataAccess) may touch its objects.
      expect(JSON.stringify(statements)).toContain(':role/batcat/demo/dev/*');
    }
  });

  test('each bucket is a stack output, which the command line reads to find it', () => {
    const outputs = p.parent.toJSON().Outputs;
    for (const [key, name] of [
      ['PurposeBucketingest', 'ingest'],
      ['PurposeBucketfeatures', 'features'],
      ['PurposeBucketreport', 'report'],
    ]) {
      expect(outputs[key].Value).toEqual({ Ref: purposeBucket(name) });
    }
    expect(outputs.DataBucketName.Value.Ref).toMatch(/^DataBucketE/);
  });

  test("a purpose's outputs, results and attempts are in its own bucket", () => {
    const features = p.nestedOf('features');
    const config = runConfigOf(
      features,
      stubRefs((ref) =>
        ref.includes('DataBucketfeatures') ? 'features-bucket' : ref.includes('DataBucketingest') ? 'ingest-bucket' : undefined,
      ),
    );
    expect(config.bucket).toBe('features-bucket');
    expect(config.outputs).toEqual([{ name: 'vectors', uri: 's3://features-bucket/results/features/vectors/' }]);
    expect(resources[purposeBucket('features')].Properties.LifecycleConfiguration.Rules).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Id: 'ExpireAttempts-features-vectors', Prefix: 'results/features/vectors/_attempts/' }),
      ]),
    );
    expect(JSON.stringify(resources[purposeBucket('ingest')].Properties.LifecycleConfiguration)).not.toContain('features');
  });

  test("a from: input reads the upstream purpose's output folder from its bucket, read-only, and nothing else of that bucket", () => {
    const features = p.nestedOf('features');
    const [ingestParam] = param(features, purposeBucket('ingest'));
    expect(ingestParam).toBeDefined();
    const statements = statementsOf(features);
    const onIngest = objectAccess(statements, new RegExp(`^<${ingestParam}`));
    // The upstream output (the from: input) and the raw folder ingest's bucket holds for both.
    expect(Object.keys(onIngest).sort()).toEqual([`<${ingestParam}Arn>/raw/events/*`, `<${ingestParam}Arn>/results/ingest/clean/*`].sort());
    for (const actions of Object.values(onIngest)) {
      expect(actions.filter((a) => /Put|Delete|Abort|Restore/.test(a))).toEqual([]);
    }
    // Writes go to its own bucket only.
    const writes = statements
      .filter((s) => s.Effect === 'Allow' && [s.Action].flat().some((a: string) => /^s3:(PutObject|DeleteObject)/.test(a)))
      .flatMap((s) => [s.Resource].flat());
    expect(writes.length).toBeGreaterThan(0);
    // Its output folder, and its run manifests.
    for (const r of writes) expect(r).toMatch(/DataBucketfeatures.*\/(results\/features\/vectors|_batcat\/runs\/features)\//);
    // The job reads each input where RecordRunInputs lists it: the from: input in the upstream's bucket.
    const recorded = definitionOf(
      features,
      stubRefs((ref) =>
        ref.includes('DataBucketingest') ? 'ingest-bucket' : ref.includes('DataBucketfeatures') ? 'features-bucket' : undefined,
      ),
    ).States.RecordRunInputs.Parameters.inputs.map((i: any) => `${i.bucket}/${i.prefix}`);
    expect(recorded.join(' ')).toContain('ingest-bucket/results/ingest/clean/');
    expect(recorded.join(' ')).not.toContain('features-bucket/raw');
  });

  test("the raw folder two purposes read is in the first reader's bucket; the second's S3 arrival trigger watches that bucket", () => {
    expect(p.config.ownedFolders).toEqual(
      expect.arrayContaining([
        { prefix: 'raw/events/', purpose: 'ingest' },
        { prefix: 'results/features/vectors/', purpose: 'features' },
      ]),
    );
    const features = p.nestedOf('features');
    const [ingestParam] = param(features, purposeBucket('ingest'));
    const rules = Object.values<any>(features.findResources('AWS::Events::Rule')).filter((r) =>
      r.Properties.EventPattern?.source?.includes('aws.s3'),
    );
    expect(rules).toHaveLength(1);
    expect(rules[0].Properties.EventPattern.detail.bucket.name).toEqual([{ Ref: `${ingestParam}Ref` }]);
    const config = runConfigOf(
      features,
      stubRefs((ref) =>
        ref.includes('DataBucketingest') ? 'ingest-bucket' : ref.includes('DataBucketfeatures') ? 'features-bucket' : undefined,
      ),
    );
    expect(config.s3Arrival).toEqual([
      { input: 'events', prefix: 'raw/events/', bucket: 'ingest-bucket', settleSeconds: 300, maxSettleSeconds: 3600 },
    ]);
    // ingest's own trigger watches its own bucket, named as the purpose's bucket.
    const ingest = runConfigOf(
      p.nestedOf('ingest'),
      stubRefs((ref) => (ref.includes('DataBucketingest') ? 'ingest-bucket' : undefined)),
    );
    expect(ingest.s3Arrival).toEqual([{ input: 'events', prefix: 'raw/events/', suffix: '.csv' }]);
    expect(ingest.bucket).toBe('ingest-bucket');
  });

  test("the Glue table of an output points at its purpose's bucket, and a query purpose reads the table's data there", () => {
    const ingest = p.nestedOf('ingest');
    const table = Object.values<any>(ingest.findResources('AWS::Glue::Table'))[0];
    expect(JSON.stringify(table.Properties.TableInput.StorageDescriptor.Location)).toContain(
      `${param(ingest, purposeBucket('ingest'))[0]}Ref`,
    );
    const report = p.nestedOf('report');
    const [ingestParam] = param(report, purposeBucket('ingest'));
    const onIngest = objectAccess(statementsOf(report), new RegExp(`^<${ingestParam}`));
    expect(Object.keys(onIngest)).toEqual([`<${ingestParam}Arn>/results/ingest/clean/*`]);
    for (const actions of Object.values(onIngest)) expect(actions.filter((a) => /Put|Delete/.test(a))).toEqual([]);
  });

  test('Athena query results stay in the project bucket, each purpose under its own folder', () => {
    const report = p.nestedOf('report');
    const projectParam = Object.keys(report.toJSON().Parameters).find((k) => /DataBucket[0-9A-F]{8}Ref$/.test(k));
    expect(projectParam).toBeDefined();
    const onProject = objectAccess(statementsOf(report), new RegExp(`^<${projectParam!.replace(/Ref$/, '')}`));
    expect(Object.keys(onProject)).toEqual([expect.stringMatching(/>\/athena-results\/purposes\/report\/\*$/)]);
  });
});

describe('storage: shared keeps one project bucket for every folder', () => {
  const p = synthesizedProject(PROJECT('storage: shared'), FILES, { guard: true });
  const resources = p.parent.toJSON().Resources;

  test('two buckets (data and access logs), no purpose bucket output, nothing unacknowledged', () => {
    expect(p.synth.findings()).toEqual([]);
    expect(Object.values<any>(resources).filter((r) => r.Type === 'AWS::S3::Bucket')).toHaveLength(2);
    expect(Object.keys(p.parent.toJSON().Outputs).filter((k) => k.startsWith('PurposeBucket'))).toEqual([]);
    expect(p.config.ownedFolders).toEqual([]);
  });

  test('every purpose reads and writes the project bucket; the triggers watch it', () => {
    for (const name of ['ingest', 'features']) {
      const config = runConfigOf(
        p.nestedOf(name),
        stubRefs((ref) => (/DataBucket[0-9A-F]{8}/.test(ref) ? 'project-bucket' : undefined)),
      );
      expect(config.bucket).toBe('project-bucket');
      expect(config.s3Arrival.every((a: any) => a.bucket === undefined)).toBe(true);
    }
    const table = Object.values<any>(p.nestedOf('ingest').findResources('AWS::Glue::Table'))[0];
    expect(JSON.stringify(table.Properties.TableInput.StorageDescriptor.Location)).toMatch(/DataBucket[0-9A-F]{8}Ref/);
  });
});
