import { synthesizedProject } from './synthesized-project';
import { projectProblems } from './project-problems';

/*
 * Spark purposes in a project file: one EMR Serverless application per stage and release, shared
 * by its purposes (bounded by the largest maxCapacity they give), cdk-nag and cfn-guard clean over
 * every template; and each mistake in `spark:` at its line, with what to do instead.
 */

const SCRIPT = 'import sys\nprint(sys.argv)\n';
const FILES = { 'spark/daily.py': SCRIPT, 'spark/lib/__init__.py': '', 'spark/Job.jar': 'jar' };
const purpose = (name: string, spark: string, extra = '') => `  - name: ${name}
    script: spark/daily.py
    arguments: ['--in', '{input.raw.uri}', '--out', '{output.out.uri}']
    spark:
${spark}
${extra}    inputs:
      - name: raw
        prefix: raw/${name}/
        partitioned: true
    outputs:
      - name: out
`;

describe('Spark purposes in a project', () => {
  const yaml = `project: demo
purposes:
${purpose('a', '      maxCapacity: { cpu: 16 vCPU, memory: 64 GB }\n      pyFiles: [spark/lib/]\n      eventLogs: true')}${purpose('b', '      maxCapacity: { cpu: 32, memory: 32 GB }\n      config: { spark.sql.shuffle.partitions: 200 }')}${purpose('c', '      release: emr-7.2.0')}${purpose('d', "      runtime: sagemaker\n      release: '3.5'", '    instanceType: ml.m5.2xlarge\n    instanceCount: 2\n')}`;
  const { synth, parent, nestedOf } = synthesizedProject(yaml, FILES, { guard: true });

  test('one application per release, in the parent stack, bounded by the largest maxCapacity of its purposes', () => {
    const apps = Object.values<any>(parent.findResources('AWS::EMRServerless::Application')).map((a) => a.Properties);
    expect(apps.map((a) => [a.ReleaseLabel, a.MaximumCapacity])).toEqual([
      ['emr-7.5.0', { Cpu: '32 vCPU', Memory: '64 GB' }],
      ['emr-7.2.0', { Cpu: '64 vCPU', Memory: '256 GB' }],
    ]);
    for (const p of ['a', 'b', 'c']) expect(Object.keys(nestedOf(p).findResources('AWS::EMRServerless::Application'))).toEqual([]);
    expect(JSON.stringify(nestedOf('b').toJSON())).toContain('--conf spark.sql.shuffle.partitions=200');
    expect(JSON.stringify(nestedOf('d').toJSON())).toContain('smspark-submit');
  });

  test('cdk-nag and cfn-guard (the Control Tower controls) find nothing unacknowledged in any template', () => {
    expect(synth.findings()).toEqual([]);
  });
});

describe('mistakes in spark:', () => {
  function problems(spark: string, extra = '', script = 'spark/daily.py'): string[] {
    return projectProblems(`project: demo\npurposes:\n${purpose('a', spark, extra).replace('spark/daily.py', script)}`, FILES);
  }

  test('each at its line, with the fix', () => {
    expect(problems('      release: "3.5"')).toEqual([
      expect.stringMatching(
        /^line 7:\d+: purposes\[0\]\.spark\.release: spark\.release '3\.5' is not an EMR release label; write it like 'emr-7\.5\.0'/,
      ),
    ]);
    expect(problems('      eventLogs: true', '    instanceType: ml.m5.xlarge\n')).toEqual([
      expect.stringMatching(
        /^line 8:\d+: purposes\[0\]\.instanceType: 'instanceType' does not apply to a Spark purpose on emr-serverless: EMR Serverless sizes its workers itself/,
      ),
    ]);
    expect(problems('      runtime: spark-on-k8s')).toEqual([
      expect.stringMatching(
        /^line 7:\d+: purposes\[0\]\.spark\.runtime: spark\.runtime 'spark-on-k8s' is not a Spark runtime; allowed: emr-serverless, sagemaker$/,
      ),
    ]);
    expect(problems('      eventLogs: true', '', 'spark/Job.jar')).toEqual([
      expect.stringMatching(
        /^line 4:\d+: purposes\[0\]\.script: script 'spark\/Job\.jar' is a jar; name the class it runs in spark\.mainClass/,
      ),
    ]);
    expect(problems('      config: { spark.driver.extraJavaOptions: -Da=1 -Db=2 }')).toEqual([
      expect.stringMatching(
        /^line 7:\d+: purposes\[0\]\.spark\.config\.spark\.driver\.extraJavaOptions: .* must be a value without spaces/,
      ),
    ]);
    expect(problems('      pyFiles: [spark/missing/]')).toEqual([
      expect.stringMatching(/^line 7:\d+: purposes\[0\]\.spark\.pyFiles\[0\]: py-file 'spark\/missing\/' of purpose 'a' does not exist/),
    ]);
    expect(problems('      runtime: sagemaker\n      maxCapacity: { cpu: 8, memory: 32 GB }')).toEqual([
      expect.stringMatching(/^line 8:\d+: purposes\[0\]\.spark\.maxCapacity: spark\.maxCapacity bounds an EMR Serverless application/),
    ]);
    expect(problems('      eventLogs: true')).toEqual([]);
  });
});
