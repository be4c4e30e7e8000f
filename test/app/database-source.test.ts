import * as fs from 'node:fs';
import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Purpose } from '../../lib/constructs/purpose';
import { tempDir } from '../helpers';
import { projectProblems } from './project-problems';
import { synthesizedProject } from './synthesized-project';

/*
 * `source:` in a project file: a purpose that copies a table or query of a database with BatCat's
 * ingestion program. Its image is built from the package's program, its job reads the secret and
 * nothing else beyond its own folders, runs in the VPC with the network, and every template is
 * clean under cdk-nag and cfn-guard. Bad combinations are refused at their line, and by the
 * construct with the same words.
 */

const VPC = 'vpc: { subnetIds: [subnet-0123456789abcdef0], securityGroupIds: [sg-0123456789abcdef0] }';
const yaml = (source: string, rest = `    ${VPC}\n    outputs: [{ name: orders, table: { format: parquet, columns: { id: bigint } } }]`) =>
  `project: demo
purposes:
  - name: orders
    source:
${source}
${rest}
`;
const TABLE = '      engine: postgres\n      secret: prod/shop-db\n      table: public.orders\n      incremental: updated_at';

describe('a database source in a project', () => {
  const { synth, nestedOf } = synthesizedProject(
    yaml(
      '      engine: mysql\n      secret: arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/shop-AbCdEf\n      query: queries/orders.sql',
    ),
    { 'queries/orders.sql': 'SELECT * FROM orders WHERE updated_at >= :start AND updated_at < :end\n' },
    { guard: true },
  );
  const nested = nestedOf('orders');
  const job = JSON.stringify(nested.findResources('AWS::StepFunctions::StateMachine'));

  test('the job runs the ingestion program from its own image, with the query file as input code and the window rendered', () => {
    expect(job).toContain('\\"ContainerEntrypoint\\":[\\"node\\",\\"/opt/batcat/db-ingest.js\\"]');
    expect(job).toContain('--engine');
    expect(job).toContain('/opt/ml/processing/input/code/');
    expect(job).toContain('{window.timezone}');
    expect(job).toContain('\\"EnableNetworkIsolation\\":false');
    expect(job).toContain('subnet-0123456789abcdef0');
    expect(job).toContain('BATCAT_SOURCE_SECRET_ID');
    // The image is built from the staged folder: a Dockerfile and the bundled program.
    const dir = synth.assembly.directory;
    const images = fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.assets.json'))
      .flatMap((f) => Object.values<any>(JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')).dockerImages ?? {}));
    expect(images).toHaveLength(1);
    expect(images[0].source.platform).toBe('linux/amd64');
    const folder = path.join(dir, images[0].source.directory);
    expect(fs.readdirSync(folder).sort()).toEqual(['Dockerfile', 'db-ingest.js']);
    expect(fs.readFileSync(path.join(folder, 'Dockerfile'), 'utf8')).toContain('FROM public.ecr.aws/docker/library/node:22-slim');
  });

  test('the job role may read the secret, by its ARN, and no other', () => {
    const statements = Object.values<any>(nested.findResources('AWS::IAM::Policy')).flatMap((p) => p.Properties.PolicyDocument.Statement);
    const secretReads = statements.filter((s) => [s.Action].flat().includes('secretsmanager:GetSecretValue'));
    expect(secretReads).toHaveLength(1);
    expect(JSON.stringify(secretReads[0].Resource)).toContain('secret:prod/shop-AbCdEf');
  });

  test('cdk-nag and cfn-guard (the Control Tower controls) find nothing unacknowledged in any template', () => {
    expect(synth.findings()).toEqual([]);
  });
});

describe('mistakes in source:', () => {
  test('each at its line, with the fix', () => {
    expect(projectProblems(yaml('      engine: postgres\n      table: public.orders'))).toEqual([
      expect.stringMatching(
        /^line 4:\d+: purposes\[0\]\.source\.secret: a database source needs 'secret': the name or ARN of the Secrets Manager secret/,
      ),
    ]);
    expect(projectProblems(yaml(TABLE, '    outputs: [{ name: orders }]'))).toEqual([
      expect.stringMatching(
        /purposes\[0\]\.vpc: a database source needs 'vpc': subnets and security groups from which the database is reachable/,
      ),
    ]);
    expect(projectProblems(yaml(TABLE, `    ${VPC}\n    networkIsolation: true\n    outputs: [{ name: orders }]`))).toEqual([
      expect.stringMatching(
        /^line 10:\d+: purposes\[0\]\.networkIsolation: networkIsolation: true would cut the job off from the database/,
      ),
    ]);
    expect(projectProblems(yaml(TABLE, `    ${VPC}\n    script: scripts/usage.py\n    outputs: [{ name: orders }]`))).toEqual([
      expect.stringMatching(
        /^line 10:\d+: purposes\[0\]\.script: a database source runs BatCat's ingestion program, so 'script' has nothing to do here/,
      ),
    ]);
    expect(projectProblems(yaml(TABLE, `    ${VPC}\n    outputs: [{ name: a }, { name: b }]`))).toEqual([
      expect.stringMatching(/purposes\[0\]\.outputs: a database source writes one output, .* it has 2/),
    ]);
    expect(projectProblems(yaml(TABLE, `    ${VPC}\n    outputs: [{ name: a, table: { columns: { id: bigint } } }]`))).toEqual([
      expect.stringMatching(/a database source writes Parquet; its output's table reads 'csv': write format: parquet/),
    ]);
    expect(projectProblems(yaml('      engine: postgres\n      secret: s\n      table: t\n      query: q.sql'))).toEqual([
      expect.stringMatching(/source\.query: give exactly one of 'table' .* and 'query'/),
    ]);
    expect(projectProblems(yaml('      engine: oracle\n      secret: s\n      table: t'))).toEqual([
      expect.stringMatching(/source\.engine: 'oracle' is not a database engine; allowed: 'postgres', 'mysql'/),
    ]);
    expect(projectProblems(yaml('      engine: postgres\n      secret: s\n      query: queries/missing.sql'))).toEqual([
      expect.stringMatching(/source\.query: query file 'queries\/missing\.sql' of purpose 'orders' does not exist/),
    ]);
    expect(projectProblems(yaml(`${TABLE}\n      local: postgres://app:hunter2@127.0.0.1/shop`))).toEqual([
      expect.stringMatching(/source\.local: source\.local holds a password, which does not belong in a committed file/),
    ]);
    // The password is not repeated in the error.
    expect(projectProblems(yaml(`${TABLE}\n      local: postgres://app:hunter2@127.0.0.1/shop`)).join('\n')).not.toContain('hunter2');
  });

  test('the construct refuses the same mistakes with the same words', () => {
    const make = (props: Partial<ConstructorParameters<typeof Purpose>[2]>) => {
      const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
      const stack = new Stack(app, 'S');
      new Purpose(stack, 'Orders', {
        purposeName: 'orders',
        notificationTopic: new sns.Topic(stack, 'T'),
        outputs: [{ name: 'orders' }],
        source: { engine: 'postgres', secret: secretsmanager.Secret.fromSecretNameV2(stack, 'Db', 'prod/shop-db'), table: 'public.orders' },
        ...props,
      });
    };
    expect(() => make({})).toThrow(/S\/Orders: vpc: a database source needs 'vpc'/);
    expect(() => make({ containerDirectory: tempDir('c-') })).toThrow(
      /containerDirectory: a database source runs BatCat's ingestion program/,
    );
  });
});
