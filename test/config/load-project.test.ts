import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import {
  defineProject,
  loadProject,
  loadProjects,
  parseProject,
  ProjectConfigError,
  type ProjectDefinition,
} from '../../lib/config/load-project';
import { REPO_ROOT, tempDir } from '../helpers';

/** A project folder with a container for `usage-analysis`, and the given project file. */
function projectDir(yaml: string, file = 'demo.yaml'): string {
  const dir = tempDir('batcat-config-');
  fs.mkdirSync(path.join(dir, 'projects'));
  fs.mkdirSync(path.join(dir, 'containers', 'usage-analysis'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'containers', 'usage-analysis', 'Dockerfile'), 'FROM scratch\n');
  fs.writeFileSync(path.join(dir, 'projects', file), yaml);
  return dir;
}

const VALID = `project: demo
stage: dev
alarmEmails: [team@example.com]
purposes:
  - name: usage-analysis
    inputs:
      - name: usage
        prefix: raw/usage/
    outputs:
      - name: summary
`;

/** `n` purposes p0, p1, ... of an ECR image (no container folder needed), each with `outputs`, as YAML list items. */
function imagePurposes(n: number, outputs: string): string {
  const image = `${'1'.repeat(12)}.dkr.ecr.eu-west-1.amazonaws.com/job@sha256:${'a'.repeat(64)}`;
  return Array.from({ length: n }, (_, i) => `  - name: p${i}\n    image: ${image}\n    outputs: ${outputs}`).join('\n');
}

/** The problems reported for the project file `file` of the folder `dir`, or fails if it is valid. */
function problemsIn(dir: string, file = 'demo.yaml'): string[] {
  try {
    loadProject(path.join(dir, 'projects', file), dir);
  } catch (e) {
    if (e instanceof ProjectConfigError) {
      expect(e.message).toContain(file);
      return e.problems;
    }
    throw e;
  }
  throw new Error('expected the project file to be rejected');
}

/** The problems reported for a project file, or fails if it is valid. */
function problems(yaml: string, file = 'demo.yaml'): string[] {
  return problemsIn(projectDir(yaml, file), file);
}

describe('loadProject', () => {
  test('the example project loads with defaults applied', () => {
    const c = loadProject(path.join(REPO_ROOT, 'projects', '2022-rnd-battery.yaml'), REPO_ROOT);
    expect(c.stackName).toBe('batcat-2022-rnd-battery-dev');
    expect(c.alarmEmails).toEqual(['battery-data-team@example.com']);
    const p = c.purposes[0];
    expect(p).toMatchObject({
      name: 'usage-analysis',
      containerDir: path.join(REPO_ROOT, 'containers', 'usage-analysis'),
      instanceType: 'ml.m5.large',
      instanceCount: 1,
      volumeSizeGb: 30,
      maxRuntimeSeconds: 3600,
      inputs: [{ name: 'usage', prefix: 'raw/usage/', distribution: 'FullyReplicated' }],
      outputs: [{ name: 'summary', prefix: 'results/usage-analysis/summary/' }],
    });
  });

  test('defaults: stage dev, no e-mails, ml.m5.large, one hour', () => {
    const dir = projectDir('project: demo\npurposes:\n  - name: usage-analysis\n    outputs: [{ name: out }]\n');
    const c = loadProject(path.join(dir, 'projects', 'demo.yaml'), dir);
    expect(c).toMatchObject({ stage: 'dev', alarmEmails: [], stackName: 'batcat-demo-dev' });
    expect(c.purposes[0]).toMatchObject({
      instanceType: 'ml.m5.large',
      instanceCount: 1,
      volumeSizeGb: 30,
      maxRuntimeSeconds: 3600,
      quotaWaitSeconds: 6 * 3600,
      environment: {},
      inputs: [],
    });
  });

  test('freshness: how late the newest result may be beyond one window; none by default', () => {
    const dir = projectDir('project: demo\npurposes:\n  - name: usage-analysis\n    freshness: 6h\n    outputs: [{ name: out }]\n');
    expect(loadProject(path.join(dir, 'projects', 'demo.yaml'), dir).purposes[0].freshnessSeconds).toBe(6 * 3600);
    expect(loadProject(path.join(REPO_ROOT, 'projects', '2022-rnd-battery.yaml'), REPO_ROOT).purposes[1].freshnessSeconds).toBeUndefined();
    expect(problems('project: demo\npurposes:\n  - name: usage-analysis\n    freshness: soon\n    outputs: [{ name: out }]\n')).toEqual([
      "line 4:16: purposes[0].freshness: 'soon' is not a valid freshness; use a duration such as '6h', '90m' or '1d', at most 366 days",
    ]);
  });

  test('quotaWait: how long a run waits for instance quota, from 1 minute to 3 days', () => {
    const dir = projectDir('project: demo\npurposes:\n  - name: usage-analysis\n    quotaWait: 90m\n    outputs: [{ name: out }]\n');
    expect(loadProject(path.join(dir, 'projects', 'demo.yaml'), dir).purposes[0].quotaWaitSeconds).toBe(5400);
    expect(problems('project: demo\npurposes:\n  - name: usage-analysis\n    quotaWait: 4d\n    outputs: [{ name: out }]\n')).toEqual([
      "line 4:16: purposes[0].quotaWait: '4d' is not a valid quota wait; use a duration such as '30m', '6h' or '1d' between 1 minute and 3 days",
    ]);
  });

  test('unknown keys are named with their line and the allowed keys', () => {
    const p = problems(
      VALID.replace('stage: dev', 'stage: dev\nregion: eu-west-1').replace(
        '        prefix: raw/usage/',
        '        prefix: raw/usage/\n        format: csv',
      ),
    );
    expect(p).toEqual([
      "line 3:1: region: unknown key 'region'; allowed keys: project, stage, description, alarmEmails, allowedImageAccounts, dataAccess, storage, athena, keepVersions, lakeFormation, ingest, purposes",
      "line 10:9: purposes[0].inputs[0].format: unknown key 'format'; allowed keys: name, prefix, uri, kmsKey, from, partitioned, complete, distribution, localPath, mode, compression",
    ]);
  });

  test('a misspelt key gets a did-you-mean, once per key, and the required key it stands for is not reported as missing', () => {
    const p = problems('project: demo\nstgae: dev\npurpses:\n  - name: usage-analysis\nregoin: x\n');
    expect(p).toEqual([
      "line 2:1: stgae: unknown key 'stgae'; did you mean 'stage'?",
      "line 3:1: purpses: unknown key 'purpses'; did you mean 'purposes'?",
      "line 5:1: regoin: unknown key 'regoin'; allowed keys: project, stage, description, alarmEmails, allowedImageAccounts, dataAccess, storage, athena, keepVersions, lakeFormation, ingest, purposes",
    ]);
    expect(problems(VALID.replace('      - name: summary', '      - name: summary\n        tabel: { columns: { a: string } }'))).toEqual([
      "line 11:9: purposes[0].outputs[0].tabel: unknown key 'tabel'; did you mean 'table'?",
    ]);
  });

  test('a value of the wrong shape is shown at the value, with how to write it', () => {
    expect(
      problems(
        'project: demo\nalarmEmails: ops@example.com\npurposes:\n  - name: usage-analysis\n    inputs:\n      name: usage\n    outputs: [{ name: out }]\n',
      ),
    ).toEqual([
      'line 2:14: alarmEmails: expected array, received string; write it like: alarmEmails: [ops@example.com]',
      'line 6:7: purposes[0].inputs: expected array, received object; write it like: inputs: [{ name: usage, prefix: raw/usage/ }]',
    ]);
  });

  test('an empty file is named as empty, with how a project file starts', () => {
    for (const text of ['', '\n# only a comment\n']) {
      const dir = projectDir(text);
      expect(() => loadProject(path.join(dir, 'projects', 'demo.yaml'), dir)).toThrow(
        /demo\.yaml: 1 problem:\n {2}the file is empty; a project file starts like this:\n {4}project: 2026-rnd-battery\n {4}purposes:\n/,
      );
    }
  });

  test('the message gives each problem as file:line:column, as editors open it', () => {
    expect(() => parseProject('project: demo\nstage: Prod\npurposes: []\n', 'projects/demo.yaml', REPO_ROOT)).toThrow(
      "projects/demo.yaml: 2 problems:\n  projects/demo.yaml:2:8: stage: stage 'Prod' is invalid",
    );
  });

  test("a folder with '*' is refused: it would be a wildcard in the IAM policies built from it", () => {
    expect(problems(VALID.replace('        prefix: raw/usage/', '        prefix: "*/"'))).toEqual([
      expect.stringMatching(
        /inputs\[0\]\.prefix: '\*\/' is not a valid key prefix; .*\('\*' would be a wildcard in the IAM policies built from the prefix\)$/,
      ),
    ]);
  });

  test('an output may not overlap the query results, another output, or a folder another purpose reads by prefix, naming both', () => {
    const two = (first: string, second: string) =>
      `project: demo\npurposes:\n  - name: usage-analysis\n${first}\n  - name: usage-report\n    container: containers/usage-analysis\n${second}\n`;
    expect(problems(two('    outputs: [{ name: out, prefix: athena-results/mine/ }]', '    outputs: [{ name: out }]'))).toEqual([
      "line 4:36: purposes[0].outputs[0].prefix: purpose 'usage-analysis' output 'out' writes to 'athena-results/mine/', inside the query results folder 'athena-results/'; choose another prefix",
    ]);
    expect(problems(two('    outputs: [{ name: out, prefix: shared/ }]', '    outputs: [{ name: out, prefix: shared/report/ }]'))).toEqual([
      "line 7:36: purposes[1].outputs[0].prefix: purpose 'usage-report' output 'out' writes to 'shared/report/', which overlaps 'shared/' that purpose 'usage-analysis' output 'out' writes; give each output a folder of its own",
    ]);
    expect(
      problems(
        two(
          '    outputs: [{ name: out, prefix: raw/usage/clean/ }]',
          '    inputs: [{ name: usage, prefix: raw/usage/ }]\n    outputs: [{ name: out }]',
        ),
      ),
    ).toEqual([
      "line 4:36: purposes[0].outputs[0].prefix: purpose 'usage-analysis' output 'out' writes to 'raw/usage/clean/', which overlaps 'raw/usage/' that purpose 'usage-report' input 'usage' reads; give each output a folder of its own, and read another purpose's output with from: <purpose>/<output>",
    ]);
    // Reading another purpose's output by declaration is what from: is for.
    const dir = projectDir(
      two('    outputs: [{ name: out }]', '    inputs: [{ name: usage, from: usage-analysis/out }]\n    outputs: [{ name: out }]'),
    );
    expect(loadProject(path.join(dir, 'projects', 'demo.yaml'), dir).purposes[1].inputs[0].prefix).toBe('results/usage-analysis/out/');
  });

  test('an image by tag loads with a warning at its line, asking for a digest; by digest, without', () => {
    const yaml = (image: string) =>
      `project: demo\npurposes:\n  - name: usage-analysis\n    image: ${image}\n    outputs: [{ name: out }]\n`;
    const tagged = projectDir(yaml('111122223333.dkr.ecr.eu-west-1.amazonaws.com/team/job:latest'));
    expect(loadProject(path.join(tagged, 'projects', 'demo.yaml'), tagged).warnings).toEqual([
      expect.stringMatching(
        /demo\.yaml:4:12: purposes\[0\]\.image: image tag "latest" can be moved to another image; pin its digest \('\.\.\.@sha256:<digest>'\) so every run uses the image you tested$/,
      ),
    ]);
    const pinned = projectDir(yaml(`111122223333.dkr.ecr.eu-west-1.amazonaws.com/team/job@sha256:${'b'.repeat(64)}`));
    expect(loadProject(path.join(pinned, 'projects', 'demo.yaml'), pinned).warnings).toEqual([]);
  });

  test('with allowedImageAccounts, an image of another account must be pinned by digest', () => {
    const yaml = (image: string) =>
      `project: demo\nallowedImageAccounts: ['111122223333']\npurposes:\n  - name: usage-analysis\n    image: ${image}\n    outputs: [{ name: out }]\n`;
    expect(problems(yaml('444455556666.dkr.ecr.eu-west-1.amazonaws.com/team/job:latest'))).toEqual([
      "line 5:12: purposes[0].image: image '444455556666.dkr.ecr.eu-west-1.amazonaws.com/team/job:latest' is in account 444455556666, which allowedImageAccounts (111122223333) does not list; pin it by digest ('...@sha256:<digest>') or add the account to allowedImageAccounts",
    ]);
    for (const ok of [
      '111122223333.dkr.ecr.eu-west-1.amazonaws.com/team/job:latest',
      `444455556666.dkr.ecr.eu-west-1.amazonaws.com/team/job@sha256:${'a'.repeat(64)}`,
    ]) {
      const dir = projectDir(yaml(ok));
      expect(loadProject(path.join(dir, 'projects', 'demo.yaml'), dir).purposes[0].image?.uri).toBe(ok);
    }
    expect(problems(yaml('x').replace("['111122223333']", "['1234']"))[0]).toMatch(
      /allowedImageAccounts\[0\]: '1234' is not an AWS account id \(12 digits\)/,
    );
  });

  test('dataAccess names principals by ARN; a wildcard may stand for part of a name, never for the account or a whole name', () => {
    const yaml = (arns: string) =>
      `project: demo\ndataAccess: ${arns}\npurposes:\n  - name: usage-analysis\n    image: ${'1'.repeat(12)}.dkr.ecr.eu-west-1.amazonaws.com/job@sha256:${'a'.repeat(64)}\n    outputs: [{ name: out }]\n`;
    const good = [
      'arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_DataScience_*',
      'arn:aws:iam::123456789012:role/ci-deployer',
      'arn:aws:iam::123456789012:user/alice',
      'arn:aws-cn:iam::123456789012:root',
    ];
    const dir = projectDir(yaml(JSON.stringify(good)));
    expect(loadProject(path.join(dir, 'projects', 'demo.yaml'), dir).dataAccess).toEqual(good);
    expect(
      problems(
        yaml(
          "['arn:aws:iam::*:role/x', 'arn:aws:iam::123456789012:role/*', 'arn:aws:iam::123456789012:role/team/*', 'arn:aws:iam::123456789012:role/a?c', 'alice']",
        ),
      ),
    ).toEqual([
      "line 2:14: dataAccess[0]: 'arn:aws:iam::*:role/x' is not an IAM principal ARN; name a role, user or account root in an account, e.g. 'arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_DataScience_*'",
      "line 2:39: dataAccess[1]: 'arn:aws:iam::123456789012:role/*' would let every role of the path in; keep a part of the name, e.g. 'arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_DataScience_*'",
      "line 2:75: dataAccess[2]: 'arn:aws:iam::123456789012:role/team/*' would let every role of the path in; keep a part of the name, e.g. 'arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_DataScience_*'",
      "line 2:116: dataAccess[3]: 'arn:aws:iam::123456789012:role/a?c': '?' is not allowed; a '*' may stand for the random part of a role name",
      "line 2:154: dataAccess[4]: 'alice' is not an IAM principal ARN; name a role, user or account root in an account, e.g. 'arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_DataScience_*'",
    ]);
  });

  test('a shared-storage project of more than 990 outputs is refused at the first one too many: each is a lifecycle rule of the bucket, which holds 1000', () => {
    const purposes = (n: number) =>
      imagePurposes(
        n,
        '[{ name: a }, { name: b }, { name: c }, { name: d }, { name: e }, { name: f }, { name: g }, { name: h }, { name: i }, { name: j }]',
      );
    const dir = projectDir(`project: demo\nstorage: shared\npurposes:\n${purposes(99)}\n`);
    expect(loadProject(path.join(dir, 'projects', 'demo.yaml'), dir).purposes).toHaveLength(99);
    expect(problems(`project: demo\nstorage: shared\npurposes:\n${purposes(100)}\n`)).toEqual([
      'line 303:23: purposes[99].outputs[0].name: this is output number 991 of the project; at most 990 fit (S3 allows 1000 lifecycle rules per bucket, one per output): move some purposes into a second project file',
    ]);
    // With a bucket per purpose, each bucket holds one purpose's rules.
    expect(
      loadProject(path.join(projectDir(`project: demo\npurposes:\n${purposes(100)}\n`), 'projects', 'demo.yaml')).purposes,
    ).toHaveLength(100);
  });

  test('kmsKey names the key ARN of a uri input, and is refused as an alias, as a non-ARN, or on a folder of the project', () => {
    const withInput = (input: string) =>
      VALID.replace('      - name: usage\n        prefix: raw/usage/\n', `      - name: usage\n        prefix: raw/usage/\n${input}`);
    const key = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    const dir = projectDir(withInput(`      - { name: labels, uri: 's3://labelled/2026/', kmsKey: '${key}' }\n`));
    expect(loadProject(path.join(dir, 'projects', 'demo.yaml'), dir).purposes[0].inputs[1]).toMatchObject({
      bucket: 'labelled',
      kmsKey: key,
    });
    expect(
      problems(
        withInput(`      - { name: labels, uri: 's3://labelled/2026/', kmsKey: 'arn:aws:kms:eu-west-1:123456789012:alias/labels' }\n`),
      ),
    ).toEqual([
      "line 9:61: purposes[0].inputs[1].kmsKey: 'arn:aws:kms:eu-west-1:123456789012:alias/labels' is a key alias; give the key's ARN (aws kms describe-key --key-id arn:aws:kms:eu-west-1:123456789012:alias/labels prints it), since IAM policies match keys by key ARN, e.g. 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab'",
    ]);
    expect(problems(withInput(`      - { name: labels, uri: 's3://labelled/2026/', kmsKey: 'my-key' }\n`))).toEqual([
      "line 9:61: purposes[0].inputs[1].kmsKey: 'my-key' is not a KMS key ARN; give the ARN of the key that encrypts the bucket's objects, e.g. 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab'",
    ]);
    expect(
      problems(
        withInput(
          `      - { name: labels, uri: 's3://labelled/2026/', kmsKey: '${key}' }\n      - { name: more, uri: 's3://labelled-us/2026/', kmsKey: '${key.replace('eu-west-1', 'us-east-1')}' }\n`,
        ),
      ),
    ).toEqual([
      `line 10:62: purposes[0].inputs[2].kmsKey: '${key.replace('eu-west-1', 'us-east-1')}' is in us-east-1, but '${key}' is in eu-west-1: a project deploys to one region, and a job decrypts only through S3 of its own region; keep the encrypted inputs of one project in one region`,
    ]);
    expect(problems(withInput(`      - { name: labels, prefix: raw/labels/, kmsKey: '${key}' }\n`))).toEqual([
      "line 9:54: purposes[0].inputs[1].kmsKey: 'kmsKey' applies to 'uri' inputs only (another bucket's key); the project's own folders are encrypted with the project key",
    ]);
  });

  test('per-purpose storage is refused above 120 purposes, at the storage key, with both ways out', () => {
    const purposes = (n: number) => imagePurposes(n, '[{ name: a }]');
    expect(problems(`project: demo\nstorage: per-purpose\npurposes:\n${purposes(121)}\n`)).toEqual([
      "line 2:10: storage: storage 'per-purpose' allows at most 120 purposes in one project file (each brings a bucket and its policy to the parent stack, which CloudFormation limits to 500 resources and 1 MB), this project has 121; set storage: shared, or move some purposes into a second project file",
    ]);
    expect(
      loadProject(path.join(projectDir(`project: demo\nstorage: shared\npurposes:\n${purposes(121)}\n`), 'projects', 'demo.yaml')).storage,
    ).toBe('shared');
    expect(loadProject(path.join(projectDir(`project: demo\npurposes:\n${purposes(120)}\n`), 'projects', 'demo.yaml')).storage).toBe(
      'per-purpose',
    );
  });

  test('an invalid instance type is named with the five closest types and where the list is', () => {
    const [p] = problems(VALID.replace('  - name: usage-analysis', '  - name: usage-analysis\n    instanceType: ml.m5.huge'));
    expect(p).toMatch(
      /^line 6:19: purposes\[0\]\.instanceType: 'ml\.m5\.huge' is not a SageMaker Processing instance type; did you mean 'ml\.m5\.large'/,
    );
    expect(p).toMatch(/\(\d+ types are accepted, listed in lib\/contract\/instance-types\.generated\.ts\)$/);
    expect(p).not.toContain('ml.t3.medium');
  });

  test.each([
    [
      '2022-RnD-battery',
      "project name '2022-RnD-battery' is invalid: may only contain lowercase letters, digits and single hyphens",
      "try '2022-rnd-battery'",
    ],
    ['rnd_battery', "project name 'rnd_battery' is invalid", "try 'rnd-battery'"],
    ['-battery', "project name '-battery' is invalid", "try 'battery'"],
    ['a-very-long-project-name-that-goes-on', 'must be 3-30 characters long (it is 37)', "try 'a-very-long-project-name-that'"],
    // No suggestion that would fail again.
    ['ux', 'must be 3-30 characters long (it is 2)', "'2026-rnd-battery' ([year]-[department]-[topic]))"],
  ])('project name %p is rejected for S3 and CloudFormation', (name, problem, hint) => {
    const [p] = problems(VALID.replace('project: demo', `project: ${name}`), 'demo.yaml');
    expect(p).toContain('line 1:10: project: ');
    expect(p).toContain(problem);
    expect(p).toContain(hint);
    expect(p).not.toContain(`try '${name}'`);
  });

  test('invalid purpose and stage names', () => {
    const p = problems(VALID.replace('stage: dev', 'stage: Prod-1').replace('name: usage-analysis', 'name: Usage Analysis'));
    expect(p).toEqual([
      expect.stringMatching(/^line 2:8: stage: stage 'Prod-1' is invalid: use 1-8 lowercase letters or digits/),
      expect.stringMatching(/^line 5:11: purposes\[0\]\.name: purpose name 'Usage Analysis' is invalid: .* try 'usage-analysis'$/),
    ]);
  });

  test('outputs are required unless they say otherwise, and required must be a boolean', () => {
    const dir = projectDir(
      VALID.replace('      - name: summary\n', '      - name: summary\n      - name: debug\n        required: false\n'),
    );
    expect(loadProject(path.join(dir, 'projects', 'demo.yaml'), dir).purposes[0].outputs.map((o) => [o.name, o.required])).toEqual([
      ['summary', true],
      ['debug', false],
    ]);
    expect(problems(VALID.replace('      - name: summary\n', '      - name: summary\n        required: maybe\n'))).toEqual([
      "line 11:19: purposes[0].outputs[0].required: required must be true (a run that writes nothing here fails) or false, got 'maybe'",
    ]);
  });

  test('duplicate purposes name both places', () => {
    const p = problems(`${VALID}  - name: usage-analysis\n    outputs: [{ name: other }]\n`);
    expect(p).toEqual([
      "line 11:11: purposes[1].name: duplicate purpose name 'usage-analysis' (first declared at purposes[0]); every purpose needs its own name",
    ]);
  });

  test('duplicate input and output names', () => {
    const p = problems(VALID.replace('      - name: summary', '      - name: summary\n      - name: summary'));
    expect(p).toEqual([
      expect.stringMatching(/purposes\[0\]\.outputs\[1\]\.name: duplicate output name 'summary' \(first declared at outputs\[0\]\)/),
    ]);
  });

  test('a missing container folder names the path that was looked at', () => {
    const [p] = problems(VALID.replace('  - name: usage-analysis', '  - name: usage-analysis\n    container: containers/nowhere'));
    expect(p).toMatch(
      /^line 6:16: purposes\[0\]\.container: container folder 'containers\/nowhere' of purpose 'usage-analysis' does not exist \(looked in .*containers\/nowhere\); create it with a Dockerfile/,
    );
  });

  test('the default container folder must exist and hold a Dockerfile', () => {
    const dir = projectDir(VALID.replace('name: usage-analysis', 'name: forecast'));
    expect(() => loadProject(path.join(dir, 'projects', 'demo.yaml'), dir)).toThrow(
      /purposes\[0\]\.name: container folder 'containers\/forecast' of purpose 'forecast' does not exist/,
    );
    fs.mkdirSync(path.join(dir, 'containers', 'forecast'));
    expect(() => loadProject(path.join(dir, 'projects', 'demo.yaml'), dir)).toThrow(
      /container folder 'containers\/forecast' of purpose 'forecast' has no Dockerfile/,
    );
  });

  test('an existing ECR image needs no folder; container and image together are rejected', () => {
    const image = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/usage:1.4.0';
    const dir = projectDir(VALID.replace('name: usage-analysis', `name: forecast\n    image: ${image}`));
    expect(loadProject(path.join(dir, 'projects', 'demo.yaml'), dir).purposes[0]).toMatchObject({
      image: { uri: image, account: '123456789012', region: 'eu-west-1', repository: 'team/usage', tag: '1.4.0' },
      containerDir: undefined,
    });
    const [p] = problems(
      VALID.replace('  - name: usage-analysis', `  - name: usage-analysis\n    container: containers/usage-analysis\n    image: ${image}`),
    );
    expect(p).toContain("purposes[0].image: purpose 'usage-analysis' sets 'container' and 'image'; give one");
  });

  test('an image that is not in ECR is rejected', () => {
    const [p] = problems(VALID.replace('  - name: usage-analysis', '  - name: usage-analysis\n    image: python:3.12'));
    expect(p).toContain("purposes[0].image: 'python:3.12' is not an ECR image URI");
  });

  test('the file name must match the project name', () => {
    const [p] = problems(VALID, 'other.yaml');
    expect(p).toBe(
      'line 1:10: project: project "demo" does not match the file name; rename the file to projects/demo.yaml or set project: other',
    );
  });

  test('numbers, durations, distributions and folders are checked', () => {
    const p = problems(
      VALID.replace(
        '  - name: usage-analysis',
        '  - name: usage-analysis\n    instanceCount: 0\n    volumeSizeGb: 2.5\n    maxRuntime: 10 days',
      ).replace('        prefix: raw/usage/', '        prefix: /raw/usage\n        distribution: Sharded'),
    );
    expect(p).toEqual([
      'line 6:20: purposes[0].instanceCount: instanceCount must be a whole number from 1 to 100, got 0',
      'line 7:19: purposes[0].volumeSizeGb: volumeSizeGb must be a whole number from 1 to 16384, got 2.5',
      expect.stringMatching(
        /^line 8:17: purposes\[0\]\.maxRuntime: '10 days' is not a valid max runtime; use a duration such as '45m', '2h' or '1d'/,
      ),
      expect.stringMatching(/^line 11:17: purposes\[0\]\.inputs\[0\]\.prefix: '\/raw\/usage' is not a valid key prefix/),
      expect.stringMatching(
        /^line 12:23: purposes\[0\]\.inputs\[0\]\.distribution: 'Sharded' is not a distribution; allowed: 'FullyReplicated'/,
      ),
    ]);
  });

  test('folders the constructs could not use are rejected here, not later', () => {
    const p = problems(
      VALID.replace('        prefix: raw/usage/', "        prefix: raw/o'brien/\n      - name: other\n        uri: s3://Other_Bucket/x/"),
    );
    expect(p).toEqual([
      expect.stringMatching(/^line 8:17: purposes\[0\]\.inputs\[0\]\.prefix: 'raw\/o'brien\/' is not a valid key prefix/),
      expect.stringMatching(
        /^line 10:14: purposes\[0\]\.inputs\[1\]\.uri: 's3:\/\/Other_Bucket\/x\/' is not a valid S3 URI; use 's3:\/\/<bucket>\/<prefix>\/' for a folder/,
      ),
    ]);
  });

  test('an input needs exactly one of prefix and uri', () => {
    const p = problems(VALID.replace('        prefix: raw/usage/', '        uri: s3://other-bucket/usage/\n        prefix: raw/usage/'));
    expect(p).toEqual([expect.stringMatching(/purposes\[0\]\.inputs\[0\]: input 'usage' needs exactly one of 'prefix'/)]);
  });

  test('secrets and reserved names in the environment are rejected', () => {
    const p = problems(
      VALID.replace(
        '  - name: usage-analysis',
        '  - name: usage-analysis\n    environment:\n      DB_PASSWORD: hunter2\n      BATCAT_PURPOSE: x\n      OK_VALUE: 1',
      ),
    );
    expect(p).toEqual([
      expect.stringMatching(
        /^line 7:20: purposes\[0\]\.environment\.DB_PASSWORD: environment variable 'DB_PASSWORD' is named like a secret; .*Secrets Manager/,
      ),
      expect.stringMatching(
        /^line 8:23: purposes\[0\]\.environment\.BATCAT_PURPOSE: environment variable 'BATCAT_PURPOSE' uses the reserved prefix 'BATCAT_'/,
      ),
    ]);
  });

  test('a name is a secret when it ends in a secret word, not when it merely contains one; a value when it looks like a credential', () => {
    const yamlWith = (lines: string[]) =>
      VALID.replace('  - name: usage-analysis', `  - name: usage-analysis\n    environment:\n${lines.map((l) => `      ${l}`).join('\n')}`);
    const env = (lines: string[]) => problems(yamlWith(lines));
    const harmless = projectDir(
      yamlWith([
        'TOKENIZERS_PARALLELISM: "false"',
        'MAX_TOKENS: 512',
        'SECRETS_DIR: /opt/ml/secrets',
        'PASSWORD_MIN_LENGTH: 8',
        'SITE: https://example.com/a@b',
      ]),
    );
    expect(loadProject(path.join(harmless, 'projects', 'demo.yaml'), harmless).purposes[0].environment).toMatchObject({
      MAX_TOKENS: '512',
    });
    const named = env(['GITHUB_TOKEN: x', 'AWS_SECRET_ACCESS_KEY: x', 'db_password: x', 'OPENAI_API_KEY: x', 'TOKEN: x']);
    expect(named).toHaveLength(5);
    for (const p of named)
      expect(p).toMatch(/is named like a secret; environment variables end up in the template and the job description/);
    const values = env([
      'DATABASE_URL: postgres://app:hunter2@db.internal:5432/app',
      'KEY_ID: AKIAIOSFODNN7EXAMPLE',
      'HOOK: ghp_0123456789abcdefghijklmnopqrstuvwxyz',
      'PEM: "-----BEGIN RSA PRIVATE KEY-----"',
    ]);
    expect(values).toEqual([
      expect.stringMatching(
        /environment\.DATABASE_URL: the value of environment variable 'DATABASE_URL' looks like a URL with a password in it; /,
      ),
      expect.stringMatching(/environment\.KEY_ID: .* looks like an AWS access key id; /),
      expect.stringMatching(/environment\.HOOK: .* looks like a GitHub token; /),
      expect.stringMatching(/environment\.PEM: .* looks like a private key; /),
    ]);
    // The secret itself is never repeated in the error.
    expect(values.join('\n')).not.toMatch(/hunter2|AKIAIOSFODNN7EXAMPLE|ghp_0123/);
  });

  test('missing required fields and bad e-mails', () => {
    const p = problems('project: demo\nalarmEmails: [not-an-address]\npurposes:\n  - name: usage-analysis\n');
    expect(p).toEqual([
      "line 2:15: alarmEmails[0]: 'not-an-address' is not an e-mail address",
      expect.stringMatching(/^line 4:5: purposes\[0\]\.outputs: is required/),
    ]);
  });

  test('YAML errors are reported with their line, including duplicate keys', () => {
    expect(problems('project: demo\nproject: demo\n')).toEqual(['line 2:1: YAML the same key appears twice in one mapping']);
    expect(problems('project: demo\npurposes: [\n')[0]).toMatch(/^line \d+:\d+: YAML /);
  });

  test('every problem of a file is reported at once', () => {
    const p = problems('project: Demo\nstage: x-y\nextra: 1\npurposes: []\n');
    expect(p).toHaveLength(4);
  });

  test('parseProject validates text without a file', () => {
    expect(() => parseProject('project: demo\npurposes: []\n', 'inline.yaml', REPO_ROOT)).toThrow(
      'inline.yaml: 1 problem:\n  inline.yaml:2:11: purposes: a project needs at least one purpose',
    );
  });
});

describe('loadProjects', () => {
  test('loads every project file of the repository', () => {
    expect(loadProjects(REPO_ROOT).map((p) => p.stackName)).toEqual(['batcat-2022-rnd-battery-dev']);
  });

  test('reports the problems of every file, prefixed with the file', () => {
    const dir = projectDir('project: Demo\npurposes: []\n');
    fs.writeFileSync(path.join(dir, 'projects', 'other.yaml'), 'project: other\nfoo: 1\npurposes: []\n');
    try {
      loadProjects(dir);
      throw new Error('expected an error');
    } catch (e) {
      expect(e).toBeInstanceOf(ProjectConfigError);
      const problems = (e as ProjectConfigError).problems;
      expect(problems.some((p) => p.includes('demo.yaml: line 1:10: project:'))).toBe(true);
      expect(problems.some((p) => p.includes("other.yaml: line 2:1: foo: unknown key 'foo'"))).toBe(true);
    }
  });

  test("a stage asked for (--stage, BATCAT_STAGE) stands in for the files' stage: its own stack, database and names; a bad one is refused", () => {
    const [p] = loadProjects(REPO_ROOT, 'feat1');
    expect(p.stage).toBe('feat1');
    expect(p.stackName).toBe('batcat-2022-rnd-battery-feat1');
    expect(p.database).toBe(loadProjects(REPO_ROOT)[0].database.replace(/dev$/, 'feat1'));
    expect(() => loadProjects(REPO_ROOT, 'Feature-1')).toThrow(
      /the stage asked for \(--stage, BATCAT_STAGE or the context batcat:stage\): stage 'Feature-1' is invalid: use 1-8 lowercase letters or digits/,
    );
  });

  test('an empty projects folder is an error, not an empty app', () => {
    const dir = tempDir();
    expect(() => loadProjects(dir)).toThrow(/no project files found/);
  });
});

describe('triggers, windows and chained purposes', () => {
  test('the example project resolves its schedule, S3 arrival and chain', () => {
    const c = loadProject(path.join(REPO_ROOT, 'projects', '2022-rnd-battery.yaml'), REPO_ROOT);
    expect(c.purposes[0]).toMatchObject({
      schedule: 'cron(0 4 * * ? *)',
      timezone: 'Europe/Berlin',
      s3Arrival: [{ input: 'usage', prefix: 'raw/usage/', suffix: '.csv', settleSeconds: 600, maxSettleSeconds: undefined }],
      windowDays: 1,
      maxWindowDays: 1,
      backfillConcurrency: 2,
      inputs: [{ name: 'usage', prefix: 'raw/usage/', partitioned: true }],
    });
    expect(c.purposes[1]).toMatchObject({
      after: 'usage-analysis',
      schedule: undefined,
      timezone: 'UTC',
      inputs: [],
      query: {
        file: path.join(REPO_ROOT, 'queries', 'fleet-report.sql'),
        database: 'batcat_2022_rnd_battery_dev',
        tables: ['usage_analysis_summary'],
        locations: [{ prefix: 'results/usage-analysis/summary/' }],
        parameters: ['start', 'end'],
      },
    });
    expect(c.purposes[1].query!.sql).toContain('WHERE dt BETWEEN ? AND ?');
    expect(c).toMatchObject({
      database: 'batcat_2022_rnd_battery_dev',
      workgroup: 'batcat-2022-rnd-battery-dev',
      bytesScannedCutoff: 10e9,
    });
    expect(c.purposes[0].outputs[0].table).toEqual({
      name: 'usage_analysis_summary',
      description: undefined,
      format: 'csv',
      columns: [
        { name: 'vin', type: 'string' },
        { name: 'records', type: 'bigint' },
        { name: 'first_time', type: 'string' },
        { name: 'last_time', type: 'string' },
        { name: 'total_usage', type: 'double' },
        { name: 'mean_usage', type: 'double' },
        { name: 'max_usage', type: 'double' },
      ],
    });
  });

  test('a rate, a weekly window and a longer manual window', () => {
    const dir = projectDir(`${VALID}    window: 7d\n    maxWindow: 31d\n    triggers:\n      schedule: { rate: 7 days }\n`);
    expect(loadProject(path.join(dir, 'projects', 'demo.yaml'), dir).purposes[0]).toMatchObject({
      schedule: 'rate(7 days)',
      windowDays: 7,
      maxWindowDays: 31,
      timezone: 'UTC',
    });
  });

  test.each([
    [
      'a daily schedule of weekly windows',
      '    window: 7d\n    triggers:\n      schedule: { cron: "0 4 * * ? *" }\n',
      /ticks every 1 day, but a window is 7 days: most ticks would find no window that ended; tick once per window, e.g. a weekly cron such as '0 4 \? \* MON \*'/,
    ],
    [
      'an hourly schedule of daily windows',
      '    triggers:\n      schedule: { rate: 1 hour }\n',
      /'rate\(1 hour\)' ticks every 60 minutes, but a window is 1 day/,
    ],
    [
      'a schedule rarer than its catch-up reaches',
      '    triggers:\n      schedule: { rate: 14 days }\n',
      /ticks every 14 days, but a tick catches up at most 7 windows of 1 day, so windows between ticks would be lost/,
    ],
  ])('a schedule whose period does not fit the window is rejected: %s', (_what, yaml, message) => {
    const p = problems(`${VALID}${yaml}`);
    expect(p).toEqual([expect.stringMatching(message)]);
    expect(p[0]).toMatch(/^line \d+:\d+: purposes\[0\]\.triggers\.schedule\.(cron|rate): /);
  });

  test('a weekly schedule of daily windows is fine: each tick catches up the week', () => {
    expect(() =>
      loadProject(
        path.join(projectDir(`${VALID}    triggers:\n      schedule: { cron: "0 4 ? * MON *" }\n`), 'projects', 'demo.yaml'),
        REPO_ROOT,
      ),
    ).not.toThrow();
  });

  const CHAIN = `project: demo
purposes:
  - name: usage-analysis
    outputs: [{ name: summary }]
  - name: report
    container: containers/usage-analysis
    inputs: [{ name: summary, from: usage-analysis/summary }]
    outputs: [{ name: out }]
    triggers: { after: usage-analysis }
`;

  test('bad triggers are named with their line, and what is allowed', () => {
    expect(problems(`${VALID}    triggers:\n      schedule: { cron: "0 2 * * *", timezone: Mars/Olympus }\n`)).toEqual([
      expect.stringMatching(
        /^line 12:25: purposes\[0\]\.triggers\.schedule\.cron: '0 2 \* \* \*' has 5 fields; an EventBridge Scheduler cron has six: minutes hours/,
      ),
      "line 12:48: purposes[0].triggers.schedule.timezone: 'Mars/Olympus' is not an IANA time zone; use a name such as 'UTC', 'Europe/Berlin' or 'America/New_York'",
    ]);
    expect(problems(`${VALID}    triggers:\n      schedule: { rate: 2 day }\n`)).toEqual([
      expect.stringMatching(/rate: '2 day' is not a rate; use e.g. '1 day'/),
    ]);
    expect(problems(`${VALID}    triggers:\n      schedule: {}\n`)).toEqual([
      expect.stringMatching(/schedule: a schedule needs exactly one of 'cron'/),
    ]);
    expect(problems(`${VALID}    triggers:\n      s3: [{ input: nope }]\n`)).toEqual([
      expect.stringMatching(/purposes\[0\]\.triggers\.s3\[0\]\.input: 'nope' is not a 'prefix' input of this purpose; .* Allowed: 'usage'/),
    ]);
    expect(problems(`${VALID}    triggers:\n      s3: [{ input: usage, settle: soon }]\n`)).toEqual([
      expect.stringMatching(
        /^line 12:36: purposes\[0\]\.triggers\.s3\[0\]\.settle: 'soon' is not a valid settle time; use a duration such as '10m'/,
      ),
    ]);
    expect(problems(`${VALID}    triggers:\n      s3: [{ input: usage, settle: 2h }]\n`)).toEqual([
      expect.stringMatching(/triggers\.s3\[0\]\.settle: settle \(7200 s\) is longer than maxSettle \(3600 s\).*raise maxSettle/),
    ]);
    expect(problems(`${VALID}    triggers:\n      s3: [{ input: usage, maxSettle: 0 }]\n`)).toEqual([
      expect.stringMatching(/triggers\.s3\[0\]\.maxSettle: 0 is not a valid maxSettle/),
    ]);
    expect(problems(`${VALID}    triggers:\n      after: usage-analysis\n`)).toEqual([
      expect.stringMatching(/after: purpose 'usage-analysis' cannot run after itself/),
    ]);
    expect(problems(`${VALID}    triggers:\n      after: cleaning\n`)).toEqual([
      expect.stringMatching(/triggers\.after: 'cleaning' is not a purpose of this project; allowed: 'usage-analysis'/),
    ]);
  });

  test('parameters: typed, with defaults, usable in arguments; each mistake at its line', () => {
    const dir = projectDir(
      `${VALID}    arguments: ['--threshold', '{param.threshold}']\n    parameters:\n      threshold: { type: number, default: 0.5, min: 0, max: 1 }\n      day: { type: date, default: '2026-01-01' }\n`,
    );
    expect(loadProject(path.join(dir, 'projects', 'demo.yaml'), dir).purposes[0].parameters).toEqual({
      threshold: { type: 'number', default: 0.5, min: 0, max: 1 },
      day: { type: 'date', default: '2026-01-01' },
    });
    expect(problems(`${VALID}    cache: yes\n`)).toEqual([
      expect.stringMatching(
        /purposes\[0\]\.cache: cache must be true \(skip a run whose code, arguments, parameters and inputs are unchanged\) or false, got 'yes'/,
      ),
    ]);
    expect(problems(`${VALID}    parameters:\n      threshold: { type: float, default: 1 }\n`)).toEqual([
      "line 12:26: purposes[0].parameters.threshold.type: 'float' is not a parameter type; allowed: string, number, integer, boolean, date",
    ]);
    expect(problems(`${VALID}    parameters:\n      threshold: { type: number, max: 1 }\n`)).toEqual([
      expect.stringMatching(/^line 12:\d+: purposes\[0\]\.parameters\.threshold\.default: parameter 'threshold' needs a default/),
    ]);
    expect(
      problems(`${VALID}    arguments: ['--t', '{param.treshold}']\n    parameters:\n      threshold: { type: number, default: 1 }\n`),
    ).toEqual([
      expect.stringMatching(
        /^line 11:\d+: purposes\[0\]\.arguments\[1\]: arguments\[1\] '\{param.treshold\}' uses the placeholder \{param.treshold\}, which does not exist; did you mean \{param.threshold\}\? allowed: .*\{param.threshold\}/,
      ),
    ]);
  });

  test('a cycle of purposes and a reference to a missing output are refused', () => {
    const cycle = CHAIN.replace(
      '    outputs: [{ name: summary }]\n',
      '    outputs: [{ name: summary }]\n    triggers: { after: report }\n',
    );
    expect(problems(cycle)).toEqual([
      expect.stringMatching(/purposes\[0\]\.triggers\.after: 'report' makes a cycle \(usage-analysis -> report -> usage-analysis\)/),
      expect.stringMatching(/purposes\[1\]\.triggers\.after: 'usage-analysis' makes a cycle \(report -> usage-analysis -> report\)/),
    ]);
    expect(problems(CHAIN.replace('from: usage-analysis/summary', 'from: usage-analysis/details'))).toEqual([
      expect.stringMatching(/inputs\[0\]\.from: purpose 'usage-analysis' has no output 'details'; its outputs: 'summary'/),
    ]);
    expect(problems(CHAIN.replace('from: usage-analysis/summary', 'from: cleaning/out'))).toEqual([
      expect.stringMatching(/names no purpose of this project/),
    ]);
  });

  test('keepVersions: whole days from 1 to 3650, 90 by default', () => {
    const load = (yaml: string) => {
      const dir = projectDir(yaml);
      return loadProject(path.join(dir, 'projects', 'demo.yaml'), dir);
    };
    expect(load(VALID).keepVersionsDays).toBe(90);
    expect(load(`keepVersions: 30d\n${VALID}`).keepVersionsDays).toBe(30);
    expect(problems(`keepVersions: 0d\n${VALID}`)).toEqual([
      expect.stringMatching(/keepVersions: keepVersions '0d' is invalid: use a whole number of days from '1d' to '3650d'/),
    ]);
  });

  test('windows: whole days, maxWindow not below window; partitioned folders, complete only with partitions', () => {
    expect(problems(`${VALID}    window: 12h\n`)).toEqual([
      expect.stringMatching(/window '12h' is invalid: use a whole number of days from '1d' to '366d'/),
    ]);
    expect(problems(`${VALID}    window: 7d\n    maxWindow: 3d\n`)).toEqual([
      expect.stringMatching(/maxWindow '3d' is shorter than window '7d'/),
    ]);
    // Runs of several days over daily partitions, in the project bucket or elsewhere.
    const weekly =
      VALID.replace('prefix: raw/usage/', 'prefix: raw/usage/\n        partitioned: true\n        complete: true') + '    maxWindow: 7d\n';
    const load = (yaml: string) => {
      const dir = projectDir(yaml);
      return loadProject(path.join(dir, 'projects', 'demo.yaml'), dir);
    };
    expect(load(weekly).purposes[0].inputs[0]).toMatchObject({ partitioned: true, complete: true });
    expect(
      load(VALID.replace('prefix: raw/usage/', 'uri: s3://other-bucket/usage/\n        partitioned: true')).purposes[0].inputs[0],
    ).toMatchObject({ bucket: 'other-bucket', prefix: 'usage/', partitioned: true, complete: false });
    expect(problems(VALID.replace('prefix: raw/usage/', 'from: usage-analysis/summary\n        partitioned: true'))).toEqual([
      expect.stringMatching(/inputs\[0\]\.partitioned: 'partitioned' applies to 'prefix' and 'uri' inputs/),
    ]);
    expect(problems(VALID.replace('prefix: raw/usage/', 'uri: s3://other-bucket/usage.csv\n        partitioned: true'))).toEqual([
      expect.stringMatching(
        /inputs\[0\]\.uri: input 'usage' is partitioned, but 's3:\/\/other-bucket\/usage.csv' is one object; a partitioned input is a folder ending with '\/'/,
      ),
    ]);
    expect(problems(VALID.replace('prefix: raw/usage/', 'prefix: raw/usage/\n        complete: true'))).toEqual([
      expect.stringMatching(/inputs\[0\]\.complete: input 'usage' sets complete, .* it applies to partitioned inputs only/),
    ]);
    expect(problems(`${VALID}    backfillConcurrency: 0\n`)).toEqual([
      expect.stringMatching(/backfillConcurrency must be a whole number from 1 to 40, got 0/),
    ]);
  });
});

describe('queries and result tables', () => {
  const TABLES = `project: demo
athena:
  bytesScannedCutoff: 500MB
purposes:
  - name: usage-analysis
    outputs:
      - name: summary
        table:
          columns: { vin: string, kwh: double }
      - name: details
        table:
          name: usage_details
          format: parquet
          columns: { vin: string, at: timestamp, kwh: 'decimal(10,3)' }
    query:
      file: queries/usage.sql
      tables: [usage_details]
`;
  const SQL = "-- the window's days\nSELECT * FROM usage_details WHERE dt BETWEEN ? AND ? AND note <> '?'\n";

  function queryProject(yaml: string, sql: string | null = SQL): string {
    const dir = projectDir(yaml);
    if (sql !== null) {
      fs.mkdirSync(path.join(dir, 'queries'));
      fs.writeFileSync(path.join(dir, 'queries', 'usage.sql'), sql);
    }
    return dir;
  }
  const queryProblems = (yaml: string, sql: string | null) => problemsIn(queryProject(yaml, sql));

  test('tables get default names and format; the query reads the table folders; the cutoff is parsed', () => {
    const dir = queryProject(TABLES);
    const c = loadProject(path.join(dir, 'projects', 'demo.yaml'), dir);
    expect(c.bytesScannedCutoff).toBe(500e6);
    expect(c.database).toBe('batcat_demo_dev');
    expect(c.purposes[0].outputs.map((o) => [o.table!.name, o.table!.format])).toEqual([
      ['usage_analysis_summary', 'csv'],
      ['usage_details', 'parquet'],
    ]);
    expect(c.purposes[0].query).toMatchObject({
      database: 'batcat_demo_dev',
      tables: ['usage_details'],
      locations: [{ prefix: 'results/usage-analysis/details/' }],
      parameters: ['start', 'end'],
    });
  });

  test('a query over another database names its folders; parameters can bind start only', () => {
    const dir = queryProject(
      TABLES.replace(
        '      tables: [usage_details]',
        `      database: telemetry
      tables: [raw_usage]
      locations: [raw/usage/, 's3://telemetry-lake/usage/']
      parameters: [start]`,
      ),
      'SELECT * FROM raw_usage WHERE dt = ?',
    );
    const q = loadProject(path.join(dir, 'projects', 'demo.yaml'), dir).purposes[0].query!;
    expect(q).toMatchObject({
      database: 'telemetry',
      tables: ['raw_usage'],
      parameters: ['start'],
      locations: [{ prefix: 'raw/usage/' }, { bucket: 'telemetry-lake', prefix: 'usage/' }],
    });
  });

  test.each([
    [
      'an unknown table',
      TABLES.replace('tables: [usage_details]', 'tables: [usage_detail]'),
      SQL,
      /purposes\[0\]\.query\.tables\[0\]: 'usage_detail' is not a table of this project \(its tables: 'usage_analysis_summary', 'usage_details'\)/,
    ],
    [
      'another database without locations',
      TABLES.replace('      tables: [usage_details]', '      database: telemetry\n      tables: [raw]'),
      SQL,
      /query\.locations: a query over another database needs 'locations'/,
    ],
    ['a missing query file', TABLES, null, /query\.file: query file 'queries\/usage\.sql' of purpose 'usage-analysis' does not exist/],
    [
      'placeholders that do not match the parameters',
      TABLES,
      'SELECT * FROM usage_details WHERE dt = ?',
      /query file 'queries\/usage\.sql' has 1 '\?' placeholder\(s\), but 2 value\(s\) are bound \(query\.parameters: \[start, end\]\)/,
    ],
    ['an empty query file', TABLES, '  \n', /query file 'queries\/usage\.sql' is empty/],
    ['a query file that is not .sql', TABLES.replace('queries/usage.sql', 'queries/usage.txt'), SQL, /is not a query file/],
    [
      'an unknown parameter',
      TABLES.replace('      tables: [usage_details]', '      tables: [usage_details]\n      parameters: [start, today]'),
      SQL,
      /'today' is not a query parameter; allowed: 'start' and 'end'/,
    ],
    [
      'an input named query',
      TABLES.replace('    outputs:\n', '    inputs:\n      - { name: query, prefix: raw/q/ }\n    outputs:\n'),
      SQL,
      /inputs\[0\]\.name: input name 'query' is taken by the query's result/,
    ],
    [
      'a dt column',
      TABLES.replace('{ vin: string, kwh: double }', '{ vin: string, dt: string }'),
      SQL,
      /columns\.dt: 'dt' is the partition column BatCat adds/,
    ],
    ['a bad column type', TABLES.replace('kwh: double }', 'kwh: number }'), SQL, /'number' is not an Athena column type/],
    ['a bad column name', TABLES.replace('{ vin: string,', '{ VIN: string,'), SQL, /column name 'VIN' is invalid/],
    [
      'a duplicate table name',
      TABLES.replace('name: usage_details', 'name: usage_analysis_summary').replace(
        'tables: [usage_details]',
        'tables: [usage_analysis_summary]',
      ),
      SQL,
      /table 'usage_analysis_summary' is also registered by usage-analysis\/summary/,
    ],
    [
      "a cutoff below Athena's minimum",
      TABLES.replace('500MB', '5MB'),
      SQL,
      /'5MB' is not a valid cutoff; use a size such as '500MB', '10GB' or '1TB', at least '10MB'/,
    ],
    [
      'a table without columns',
      TABLES.replace('columns: { vin: string, kwh: double }', 'columns: {}'),
      SQL,
      /a table needs at least one column/,
    ],
  ])('rejects %s', (_what, yaml, sql, message) => {
    expect(queryProblems(yaml, sql)).toEqual([expect.stringMatching(message)]);
  });
});

describe('SageMaker script keys', () => {
  const SCRIPT = `project: demo
purposes:
  - name: preprocessing
    framework: sklearn:1.2-1
    script: scripts/preprocessing.py
    arguments: ['--train-test-split-ratio', '0.2']
    inputs:
      - { name: raw, prefix: raw/census/, localPath: /opt/ml/processing/input }
    outputs:
      - { name: train, localPath: /opt/ml/processing/train }
`;
  const withScript = (yaml: string) => {
    const dir = projectDir(yaml);
    fs.mkdirSync(path.join(dir, 'scripts'));
    fs.writeFileSync(path.join(dir, 'scripts', 'preprocessing.py'), 'print(1)\n');
    return dir;
  };
  const scriptProblems = (yaml: string) => problemsIn(withScript(yaml));

  test('a framework image with a script needs no container folder; the keys resolve as the constructs need them', () => {
    const dir = withScript(SCRIPT);
    const p = loadProject(path.join(dir, 'projects', 'demo.yaml'), dir).purposes[0];
    expect(p).toMatchObject({
      containerDir: undefined,
      framework: {
        name: 'sklearn:1.2-1',
        repository: 'sagemaker-scikit-learn',
        tag: '1.2-1-cpu-py3',
        package: 'scikit-learn',
        packageVersion: '1.2',
      },
      script: path.join(dir, 'scripts', 'preprocessing.py'),
      arguments: ['--train-test-split-ratio', '0.2'],
      networkIsolation: true,
      inputs: [{ name: 'raw', localPath: '/opt/ml/processing/input', mode: 'File', compression: 'None' }],
      outputs: [{ name: 'train', localPath: '/opt/ml/processing/train', uploadMode: 'EndOfJob' }],
    });
  });

  test.each([
    [
      'an unknown framework version, with the versions there are',
      SCRIPT.replace('sklearn:1.2-1', 'sklearn:1.3-1'),
      "line 4:16: purposes[0].framework: 'sklearn:1.3-1' is not a SageMaker framework image BatCat knows; write '<framework>:<version>', versions of sklearn: sklearn:0.20.0, sklearn:0.23-1, sklearn:1.0-1, sklearn:1.2-1, sklearn:1.4-2, sklearn:1.4-2-py312",
    ],
    [
      'an unknown framework, with the frameworks there are (shortened)',
      SCRIPT.replace('sklearn:1.2-1', 'pytorch:2.1'),
      "line 4:16: purposes[0].framework: 'pytorch:2.1' is not a SageMaker framework image BatCat knows; write '<framework>:<version>', allowed: sklearn:0.20.0, sklearn:0.23-1, sklearn:1.0-1, ..., xgboost:1.5-1, xgboost:1.7-1, xgboost:3.0-5, xgboost:3.2-0 (frameworks: sklearn, xgboost)",
    ],
    [
      'a script file that does not exist',
      SCRIPT.replace('scripts/preprocessing.py', 'scripts/preprocess.py'),
      expect.stringMatching(
        /^line 5:13: purposes\[0\]\.script: script 'scripts\/preprocess\.py' of purpose 'preprocessing' does not exist \(looked in .*scripts\/preprocess\.py\); give the path of your Python script relative to the project folder$/,
      ),
    ],
    [
      'a script that is not Python',
      SCRIPT.replace('scripts/preprocessing.py', 'scripts/preprocessing.sh'),
      "line 5:13: purposes[0].script: script 'scripts/preprocessing.sh' is not a Python file (.py); script mode runs python3 <script>",
    ],
    [
      'a placeholder that does not exist',
      SCRIPT.replace("'0.2']", "'0.2', '--day', '{window.day}']"),
      "line 6:61: purposes[0].arguments[3]: arguments[3] '{window.day}' uses the placeholder {window.day}, which does not exist; allowed: {window.start}, {window.end}, {window.endExclusive}, {window.timezone}, {run.id}, {input.raw.uri}, {output.train.uri}",
    ],
    [
      'two channels on one local path',
      SCRIPT.replace('localPath: /opt/ml/processing/train', 'localPath: /opt/ml/processing/input/'),
      "line 10:35: purposes[0].outputs[0].localPath: localPath '/opt/ml/processing/input/' of output 'train' is also the path of input 'raw'; two channels cannot share one folder (one may be inside another)",
    ],
    [
      'a local path outside /opt/ml/processing',
      SCRIPT.replace('localPath: /opt/ml/processing/train', 'localPath: /data/train'),
      "line 10:35: purposes[0].outputs[0].localPath: localPath '/data/train' of output 'train' is not below /opt/ml/processing/; SageMaker Processing copies inputs and outputs only there: use an absolute path such as '/opt/ml/processing/train'",
    ],
    [
      'an input named code in script mode',
      SCRIPT.replace('name: raw, prefix: raw/census/, localPath: /opt/ml/processing/input', 'name: code, prefix: raw/code/'),
      "line 8:17: purposes[0].inputs[0].name: input name 'code' is taken by the script in script mode (/opt/ml/processing/input/code/); rename this input",
    ],
    [
      'FastFile, which Processing does not have',
      SCRIPT.replace('localPath: /opt/ml/processing/input }', 'localPath: /opt/ml/processing/input, mode: FastFile }'),
      "line 8:86: purposes[0].inputs[0].mode: 'FastFile' is not an input mode of SageMaker Processing; allowed: 'File' (copied before the script starts) or 'Pipe' (streamed through a named pipe). FastFile is a Training input mode; CreateProcessingJob refuses it",
    ],
    [
      'Gzip without Pipe',
      SCRIPT.replace('localPath: /opt/ml/processing/input }', 'localPath: /opt/ml/processing/input, compression: Gzip }'),
      "line 8:93: purposes[0].inputs[0].compression: input 'raw' has compression 'Gzip' with mode 'File'; SageMaker decompresses only in Pipe mode. Use mode: Pipe, or leave compression out and read the .gz files in the script (File mode copies them as they are)",
    ],
    [
      'a framework without a script',
      SCRIPT.replace('    script: scripts/preprocessing.py\n', ''),
      "line 4:16: purposes[0].framework: a framework image runs your script: add 'script', e.g. script: scripts/preprocessing.py",
    ],
    [
      'a framework and a container folder',
      SCRIPT.replace('    framework:', '    container: containers/usage-analysis\n    framework:'),
      "line 5:16: purposes[0].framework: purpose 'preprocessing' sets 'container' and 'framework'; give one: 'container' to build from a folder, 'image' for an existing ECR image, or 'framework' for a SageMaker framework image such as 'sklearn:1.2-1'",
    ],
    [
      'a script and an entrypoint',
      SCRIPT.replace('    arguments:', '    entrypoint: [python3, x.py]\n    arguments:'),
      "line 6:17: purposes[0].entrypoint: 'script' runs 'python3 <script>' as the entrypoint; give 'script' or 'entrypoint', not both",
    ],
    [
      'a placeholder in the entrypoint',
      SCRIPT.replace('    script: scripts/preprocessing.py\n', '    entrypoint: [python3, x.py, "{run.id}"]\n'),
      "line 5:17: purposes[0].entrypoint: entrypoint[2] '{run.id}' has a placeholder; placeholders are replaced in arguments only, so move it to 'arguments'",
    ],
    [
      'a script outside its source folder',
      SCRIPT.replace('    arguments:', '    sourceDir: containers/\n    arguments:'),
      "line 5:13: purposes[0].script: script 'scripts/preprocessing.py' is not inside sourceDir 'containers/'; the script must be part of the folder uploaded with it, e.g. script: containers/preprocessing.py",
    ],
    [
      'a subnet id that is not one',
      SCRIPT.replace('    arguments:', '    vpc: { subnetIds: [subnet-1], securityGroupIds: [sg-0abc1234def567890] }\n    arguments:'),
      "line 6:24: purposes[0].vpc.subnetIds[0]: 'subnet-1' is not a subnet id, e.g. 'subnet-0abc1234def567890'",
    ],
  ])('rejects %s', (_what, yaml, message) => {
    expect(scriptProblems(yaml)).toEqual([message]);
  });
});

test('a purpose with more channels than SageMaker takes is rejected, counting the script', () => {
  const inputs = Array.from({ length: 10 }, (_, i) => `      - { name: in${i}, prefix: raw/in${i}/ }`).join('\n');
  const dir = projectDir(`project: demo
purposes:
  - name: usage-analysis
    script: containers/usage-analysis/job.py
    inputs:
${inputs}
    outputs:
      - name: summary
`);
  fs.writeFileSync(path.join(dir, 'containers', 'usage-analysis', 'job.py'), 'print(1)\n');
  expect(() => loadProject(path.join(dir, 'projects', 'demo.yaml'), dir)).toThrow(
    "demo.yaml:6:7: purposes[0].inputs: purpose 'usage-analysis' has 11 inputs (counting the query result and the script); a SageMaker Processing job takes at most 10",
  );
});

describe('defineProject: a project in code, with the fields, checks and defaults of a project file', () => {
  test('the example project, as an object, resolves to what its file resolves to', () => {
    const file = path.join(REPO_ROOT, 'projects', '2022-rnd-battery.yaml');
    const definition: ProjectDefinition = parse(fs.readFileSync(file, 'utf8'));
    const fromCode = defineProject(definition, { rootDir: REPO_ROOT, source: 'stacks/battery.ts' });
    const fromFile = loadProject(file, REPO_ROOT);
    expect({ ...fromCode, file: undefined }).toEqual({ ...fromFile, file: undefined });
    expect(fromCode.file).toBe('stacks/battery.ts');
    expect(fromCode.purposes.length).toBeGreaterThan(1);
  });

  test('a mistake names the field, with the same message as in a file, and nothing is built', () => {
    const dir = projectDir(VALID);
    let error: unknown;
    try {
      defineProject(
        {
          project: 'demo',
          purposes: [{ name: 'usage-analysis', instanceType: 'ml.m5.huge', outputs: [{ name: 'summary' }], triger: {} } as never],
        },
        { rootDir: dir },
      );
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ProjectConfigError);
    const { problems: found, message } = error as ProjectConfigError;
    expect(found).toHaveLength(2);
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^purposes\[0\]\.instanceType: 'ml\.m5\.huge' is not a SageMaker Processing instance type; did you mean 'ml\.m5\.large'/,
        ),
        "purposes[0].triger: unknown key 'triger'; did you mean 'triggers'?",
      ]),
    );
    expect(message).toMatch(/^the project definition: 2 problems:\n {2}purposes\[0\]\./);
  });
});
