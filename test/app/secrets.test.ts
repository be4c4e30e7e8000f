import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadProject, ProjectConfigError } from '../../lib/config/load-project';
import { definitionOf, tempDir } from '../helpers';
import { synthesizedProject } from './synthesized-project';

/*
 * A secret is passed by reference: the project file names a Secrets Manager secret, the job
 * gets `<NAME>_SECRET_ID` and may read that secret, and the value is nowhere in the template.
 */

const IMAGE = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/report:1';
const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/api/key-AbC123';
const YAML = `project: demo
purposes:
  - name: report
    image: ${IMAGE}
    networkIsolation: false
    secrets:
      DB_PASSWORD: prod/db/password
      API_KEY: ${ARN}
    outputs: [{ name: report }]
`;

function problems(yaml: string): string[] {
  const dir = tempDir('batcat-secrets-');
  fs.mkdirSync(path.join(dir, 'projects'));
  fs.writeFileSync(path.join(dir, 'projects', 'demo.yaml'), yaml);
  try {
    loadProject(path.join(dir, 'projects', 'demo.yaml'), dir);
  } catch (e) {
    if (e instanceof ProjectConfigError) return e.problems;
    throw e;
  }
  return [];
}

describe('secrets by reference', () => {
  const { synth, nestedOf } = synthesizedProject(YAML);
  const report = nestedOf('report');

  test('the job gets <NAME>_SECRET_ID with the secret ARN, never a value', () => {
    const env = definitionOf(report).States.RunProcessingJob.Parameters.Environment;
    expect(env.API_KEY_SECRET_ID).toBe(ARN);
    expect(JSON.stringify(env.DB_PASSWORD_SECRET_ID)).toMatch(/:secretsmanager:.*:secret:prod\/db\/password/);
    expect(env).not.toHaveProperty('DB_PASSWORD');
  });

  test('the job role may read exactly these secrets', () => {
    const statements = Object.values<any>(report.findResources('AWS::IAM::Policy'))
      .filter((p) => JSON.stringify(p.Properties.Roles).includes('JobRole'))
      .flatMap((p) => p.Properties.PolicyDocument.Statement)
      .filter((s) => JSON.stringify(s.Action).includes('secretsmanager'));
    const resources = statements.flatMap((s) => [s.Resource].flat().map((r: unknown) => JSON.stringify(r)));
    expect(resources).toHaveLength(2);
    expect(resources.some((r) => r.includes(':secret:prod/db/password-??????'))).toBe(true);
    expect(resources).toContain(JSON.stringify(ARN));
    expect(statements.flatMap((s) => [s.Action].flat())).toEqual(
      expect.arrayContaining(['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret']),
    );
    expect(
      statements.flatMap((s) => [s.Action].flat()).every((a: string) => /^secretsmanager:(GetSecretValue|DescribeSecret)$/.test(a)),
    ).toBe(true);
  });

  test('cdk-nag and the CloudFormation validation find nothing unacknowledged', () => {
    expect(synth.findings()).toEqual([]);
  });

  test('the project file refuses a secret without network, a bad name, a value in place of a reference, and points secret-like variables to secrets', () => {
    expect(problems(YAML.replace('networkIsolation: false', 'networkIsolation: true'))).toEqual([
      expect.stringMatching(
        /purposes\[0\]\.secrets: a secret is read at run time from Secrets Manager, which a job without network cannot reach: set networkIsolation: false/,
      ),
    ]);
    expect(problems(YAML.replace('DB_PASSWORD: prod/db/password', '9LIVES: prod/db/password'))).toEqual([
      expect.stringMatching(/purposes\[0\]\.secrets\.9LIVES: secret name '9LIVES' is invalid/),
    ]);
    expect(problems(YAML.replace('DB_PASSWORD: prod/db/password', 'DB_PASSWORD: "hunter2 with spaces"'))).toEqual([
      expect.stringMatching(
        /secret 'DB_PASSWORD' must name a Secrets Manager secret \(its name, e\.g\. prod\/db\/password, or its ARN\), not hold its value$/,
      ),
    ]);
    expect(problems(YAML.replace('DB_PASSWORD: prod/db/password', 'DB_PASSWORD: AKIAIOSFODNN7EXAMPLE'))).toEqual([
      expect.stringMatching(/secret 'DB_PASSWORD' looks like a credential itself/),
    ]);
    expect(problems(YAML.replace('    secrets:', '    environment: { DB_PASSWORD_SECRET_ID: x }\n    secrets:'))).toEqual([
      expect.stringMatching(/gives the script DB_PASSWORD_SECRET_ID, which 'environment' also sets/),
    ]);
    expect(problems(YAML.replace('    secrets:', '    environment: { GITHUB_TOKEN: abc }\n    secrets:'))).toEqual([
      expect.stringMatching(
        /'GITHUB_TOKEN' is named like a secret; .* name it under 'secrets' instead, e\.g\. secrets: \{ DB_PASSWORD: prod\/db\/password \}/,
      ),
    ]);
    // None of these messages repeats a value.
    expect(problems(YAML.replace('DB_PASSWORD: prod/db/password', 'DB_PASSWORD: "hunter2 with spaces"')).join('\n')).not.toContain(
      'hunter2',
    );
  });
});
