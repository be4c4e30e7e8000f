import { Match } from 'aws-cdk-lib/assertions';
import { synthesizedProject } from './synthesized-project';

/*
 * `lakeFormation` in the project file: where Lake Formation governs the Data Catalog, each query
 * purpose's role is granted read on exactly the tables its query lists, and with
 * `registerLocations` the project's buckets are registered with a role of their own. Without it,
 * no Lake Formation resource at all (IAM alone decides), in any template.
 */

const PROJECT = (lakeFormation: string) => `project: demo
stage: dev
${lakeFormation}
purposes:
  - name: ingest
    inputs:
      - { name: events, prefix: raw/events/, partitioned: true }
    outputs:
      - name: clean
        table: { columns: { vin: string, kwh: double } }
      - name: rejects
        table: { columns: { line: string } }
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
    ['ingest', 'report'].map((p) => [`containers/${p}/Dockerfile`, 'FROM public.ecr.aws/docker/library/python:3.12-slim\n']),
  ),
};

const LF_TYPES = ['AWS::LakeFormation::PrincipalPermissions', 'AWS::LakeFormation::Resource', 'AWS::LakeFormation::Permissions'];

describe('lakeFormation: { registerLocations: true }', () => {
  const { synth, parent, nestedOf } = synthesizedProject(PROJECT('lakeFormation: { registerLocations: true }'), FILES, { guard: true });

  test('the query role reads exactly the tables its query lists: DESCRIBE on the database, SELECT on the table', () => {
    const report = nestedOf('report');
    const grants = Object.values(report.findResources('AWS::LakeFormation::PrincipalPermissions')).map((g: any) => g.Properties);
    const role = { 'Fn::GetAtt': [expect.stringMatching(/^PurposeStateMachineRole/), 'Arn'] };
    expect(grants).toEqual([
      {
        Catalog: { Ref: 'AWS::AccountId' },
        Principal: { DataLakePrincipalIdentifier: role },
        Resource: { Database: { CatalogId: { Ref: 'AWS::AccountId' }, Name: 'batcat_demo_dev' } },
        Permissions: ['DESCRIBE'],
        PermissionsWithGrantOption: [],
      },
      {
        Catalog: { Ref: 'AWS::AccountId' },
        Principal: { DataLakePrincipalIdentifier: role },
        Resource: { Table: { CatalogId: { Ref: 'AWS::AccountId' }, DatabaseName: 'batcat_demo_dev', Name: 'ingest_clean' } },
        Permissions: ['SELECT', 'DESCRIBE'],
        PermissionsWithGrantOption: [],
      },
    ]);
    report.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: [{ Action: 'lakeformation:GetDataAccess', Effect: 'Allow', Resource: '*' }] },
      Roles: [{ Ref: Match.stringLikeRegexp('^PurposeStateMachineRole') }],
    });
    // The grants wait for the database and the table they name: the report stack waits for the ingest stack.
    const stacks = parent.findResources('AWS::CloudFormation::Stack');
    const reportStack = Object.entries(stacks).find(([id]) => id.startsWith('report'))![1] as any;
    expect(reportStack.DependsOn).toEqual(
      expect.arrayContaining([expect.stringMatching(/^Results[0-9A-F]{8}$/), expect.stringMatching(/^ingestNestedStack/)]),
    );
    // The job roles read S3 directly, which Lake Formation does not govern: no grant for them. The ingest purpose's state
    // machine profiles its own tables: DESCRIBE on the database, SELECT on those two tables, nothing else.
    const ingest = Object.values(nestedOf('ingest').findResources('AWS::LakeFormation::PrincipalPermissions')).map(
      (g: any) => g.Properties,
    );
    expect(ingest.map((g) => [g.Principal, g.Resource.Table?.Name ?? 'database', g.Permissions])).toEqual([
      [{ DataLakePrincipalIdentifier: role }, 'database', ['DESCRIBE']],
      ...['ingest_clean', 'ingest_clean_attempts', 'ingest_rejects', 'ingest_rejects_attempts'].map((t) => [
        { DataLakePrincipalIdentifier: role },
        t,
        ['SELECT', 'DESCRIBE'],
      ]),
    ]);
  });

  test("every bucket is registered, read by a role of Lake Formation's own that may only read them", () => {
    const locations = Object.values(parent.findResources('AWS::LakeFormation::Resource')).map((r: any) => r.Properties);
    expect(locations).toHaveLength(3);
    for (const l of locations) {
      expect(l).toEqual({
        ResourceArn: { 'Fn::GetAtt': [expect.stringMatching(/^DataBucket/), 'Arn'] },
        UseServiceLinkedRole: false,
        RoleArn: { 'Fn::GetAtt': [expect.stringMatching(/^LakeFormationLocationsRole/), 'Arn'] },
      });
    }
    parent.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: { Statement: [{ Action: 'sts:AssumeRole', Principal: { Service: 'lakeformation.amazonaws.com' } }] },
      Path: '/batcat/demo/dev/',
    });
    const statements = Object.values(parent.findResources('AWS::IAM::Policy'))
      .filter((p: any) => p.Properties.Roles.some((r: any) => /^LakeFormationLocationsRole/.test(r.Ref)))
      .flatMap((p: any) => p.Properties.PolicyDocument.Statement);
    expect([...new Set(statements.flatMap((s: any) => [s.Action].flat()))].sort()).toEqual([
      'kms:Decrypt',
      's3:GetObject',
      's3:ListBucket',
    ]);
  });

  test('cdk-nag, cfn-guard and the built-in validation find nothing unacknowledged', () => {
    expect(synth.findings()).toEqual([]);
  });
});

describe('lakeFormation: true and IAM only', () => {
  test('true grants the query role without registering a bucket; left out, no Lake Formation resource anywhere', () => {
    const granted = synthesizedProject(PROJECT('lakeFormation: true'), FILES, { validate: false });
    expect(Object.keys(granted.nestedOf('report').findResources('AWS::LakeFormation::PrincipalPermissions'))).toHaveLength(2);
    expect(granted.parent.findResources('AWS::LakeFormation::Resource')).toEqual({});

    const iamOnly = synthesizedProject(PROJECT(''), FILES, { validate: false });
    for (const t of [iamOnly.parent, iamOnly.nestedOf('ingest'), iamOnly.nestedOf('report')]) {
      for (const type of LF_TYPES) expect(t.findResources(type)).toEqual({});
      expect(JSON.stringify(t.toJSON())).not.toContain('lakeformation');
    }
  });

  test('a wrong value says what is allowed', () => {
    expect(() => synthesizedProject(PROJECT('lakeFormation: yes please'), FILES, { validate: false })).toThrow(
      /lakeFormation must be true, false or \{ registerLocations: true \}, got 'yes please'/,
    );
  });
});
