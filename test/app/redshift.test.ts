import { synthesizedProject } from './synthesized-project';

/*
 * `query: { engine: redshift, ... }` in a project file: the purpose's state machine runs the
 * UNLOAD and the job reads it; the secret is named, never copied; every mistake is one clear
 * error at synth.
 */

const PROJECT = (query: string) => `project: demo
stage: dev
purposes:
  - name: fleet
    query:
${query
  .split('\n')
  .map((l) => `      ${l}`)
  .join('\n')}
    outputs:
      - { name: report }
`;

const FILES = {
  'queries/fleet.sql': 'SELECT vin, kwh FROM fleet.usage WHERE day BETWEEN ? AND ?\n',
  'containers/fleet/Dockerfile': 'FROM public.ecr.aws/docker/library/python:3.12-slim\n',
};

const GOOD = 'engine: redshift\nfile: queries/fleet.sql\nworkgroup: analytics\ndatabase: dev\nsecret: prod/fleet-redshift\nformat: parquet';

describe('a Redshift query in the project file', () => {
  const { synth, nestedOf, config } = synthesizedProject(PROJECT(GOOD), FILES, { guard: true });

  test('resolves to a Redshift query, and synthesizes with no unacknowledged finding', () => {
    expect(config.purposes[0].query).toMatchObject({
      engine: 'redshift',
      database: 'dev',
      tables: [],
      redshift: { workgroup: 'analytics', secret: 'prod/fleet-redshift', format: 'parquet' },
    });
    expect(synth.findings()).toEqual([]);
  });

  test('the state machine runs the UNLOAD into the query results folder; no Athena workgroup of its own', () => {
    const t = nestedOf('fleet');
    const text = JSON.stringify(t.toJSON());
    expect(text).toContain('aws-sdk:redshiftdata:executeStatement');
    expect(text).toContain('FORMAT AS PARQUET PARALLEL OFF');
    expect(text).toContain('athena-results/purposes/fleet/redshift/');
    expect(t.findResources('AWS::Athena::WorkGroup')).toEqual({});
    // The secret is referenced by name: its value is never in a template.
    expect(text).toContain('secret:prod/fleet-redshift-??????');
  });

  test.each<[string, string, RegExp]>([
    [
      'no secret',
      GOOD.replace('secret: prod/fleet-redshift\n', ''),
      /query\.secret: a Redshift query needs 'secret': the name or ARN of the Secrets Manager secret/,
    ],
    [
      'both a workgroup and a cluster',
      `${GOOD}\ncluster: fleet-dw`,
      /query\.cluster: a Redshift query needs exactly one of 'workgroup' \(Redshift Serverless\) or 'cluster'/,
    ],
    ['no database', GOOD.replace('database: dev\n', ''), /query\.database: a Redshift query needs 'database'/],
    [
      'a bad workgroup name',
      GOOD.replace('workgroup: analytics', 'workgroup: Analytics_WG'),
      /query\.workgroup: 'Analytics_WG' is not a Redshift workgroup name: use 3-64 lowercase letters, digits and hyphens/,
    ],
    ['tables with Redshift', `${GOOD}\ntables: [usage]`, /query\.tables: 'tables' is for engine: athena/],
    ['a secret with Athena', 'file: queries/fleet.sql\ntables: [usage]\nsecret: x', /query\.secret: 'secret' is for engine: redshift/],
    [
      'an unknown engine',
      GOOD.replace('engine: redshift', 'engine: snowflake'),
      /query\.engine: 'snowflake' is not a query engine; allowed: 'athena', 'redshift'/,
    ],
  ])('%s is refused at synth', (_what, query, message) => {
    expect(() => synthesizedProject(PROJECT(query), FILES, { validate: false })).toThrow(message);
  });
});
