import * as fs from 'node:fs';
import * as path from 'node:path';
import { createProcessingJobProblems, startJobRunProblems } from '../api-model';
import { REPO_ROOT, tempDir } from '../helpers';
import { batcat } from './cli-process';

/*
 * Spark purposes under `batcat run-local` (test/fixtures/spark): the synthesized state machine of
 * each runtime executed locally, its job run by spark-submit (a stand-in on PATH that records its
 * command line and runs the script as Spark would: --py-files on sys.path), the requests the
 * state machine rendered checked against the EMR Serverless and SageMaker API models.
 */

jest.setTimeout(120_000);

const FIXTURE = path.join(REPO_ROOT, 'test', 'fixtures', 'spark');

function fixtureCopy(): { root: string; record: string; env: Record<string, string> } {
  const root = tempDir('batcat-spark-');
  fs.cpSync(FIXTURE, root, { recursive: true });
  const record = path.join(root, 'spark-submit.jsonl');
  return { root, record, env: { PATH: `${path.join(root, 'bin')}:${process.env.PATH}`, SPARK_SUBMIT_RECORD: record } };
}

const run = (root: string, purpose: string, env: Record<string, string>) =>
  batcat(['run-local', 'spark-fleet', purpose, '--date', '2026-11-20'], root, env);
const submitted = (record: string) =>
  fs
    .readFileSync(record, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as string[]);
const jobOf = (root: string, purpose: string, runId: string) =>
  JSON.parse(fs.readFileSync(path.join(root, 'runs', purpose, runId, 'job.json'), 'utf8')).job;

describe('Spark purposes under batcat run-local', () => {
  const { root, record, env } = fixtureCopy();

  test('EMR Serverless: the rendered StartJobRun is valid by the API model; spark-submit runs the script with the S3 locations as local folders', () => {
    const r = run(root, 'fleet-daily', env);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^engine: .*spark-submit in Spark's local mode, standing in for EMR Serverless$/m);
    const [argv] = submitted(record);
    const pyFiles = path.join(root, 'runs/fleet-daily/fleet-daily-20261120-a1/pyfiles.zip');
    expect(argv).toEqual([
      '--master',
      'local[*]',
      '--name',
      expect.stringMatching(/^fleet-daily-[0-9a-f]{6}-[0-9a-f]{32}$/),
      '--conf',
      'spark.hadoop.mapreduce.fileoutputcommitter.marksuccessfuljobs=false',
      '--conf',
      'spark.sql.shuffle.partitions=8',
      '--py-files',
      pyFiles,
      path.join(root, 'spark/fleet_daily.py'),
      '--input',
      `${path.join(root, 'data/raw/usage/dt=2026-11-20')}/`,
      '--output',
      `${path.join(root, 'data/result/fleet-daily/daily/_attempts/fleet-daily-20261120-a1')}/`,
      '--day',
      '2026-11-20',
    ]);
    // The script imported fleetlib from the zipped py-files; its result was committed as the day's, without Hadoop's checksum files.
    const day = path.join(root, 'data/result/fleet-daily/dt=2026-11-20/daily');
    expect(fs.readdirSync(day)).toEqual(['part-00000.csv']);
    expect(fs.readFileSync(path.join(day, 'part-00000.csv'), 'utf8').trim().split(/\r?\n/)).toEqual([
      'day,vehicles,total_usage',
      '2026-11-20,2,4.25',
    ]);
    const request = jobOf(root, 'fleet-daily', 'fleet-daily-20261120-a1');
    // The local synth stands in for the application's ID (a CloudFormation attribute) with its logical ID.
    expect(request.ApplicationId).toMatch(/^arn:aws:local:Spark.*\.ApplicationId$/);
    expect(startJobRunProblems({ ...request, ApplicationId: '00fabcdefghij012' })).toEqual([]);
    expect(request.ClientToken).toBe(request.Name);
    expect(request.JobDriver.SparkSubmit.EntryPointArguments).toEqual([
      '--input',
      's3://local-data-bucket/raw/usage/dt=2026-11-20/',
      '--output',
      's3://local-data-bucket/results/fleet-daily/daily/_attempts/fleet-daily-20261120-a1/',
      '--day',
      '2026-11-20',
    ]);
    expect(request.ConfigurationOverrides.MonitoringConfiguration.S3MonitoringConfiguration.LogUri).toBe(
      's3://local-data-bucket/_batcat/spark-logs/fleet-daily/_attempts/fleet-daily-20261120-a1/',
    );
  });

  test("SageMaker: the rendered CreateProcessingJob is PySparkProcessor's (smspark-submit, conf, code, py-files, event logs) and valid by the API model", () => {
    const r = run(root, 'fleet-daily-sagemaker', env);
    expect(r.code).toBe(0);
    expect(r.out).toContain("spark-submit in Spark's local mode, standing in for SageMaker's Spark image");
    const request = jobOf(root, 'fleet-daily-sagemaker', 'fleet-daily-sagemaker-20261120-a1');
    expect(createProcessingJobProblems(request)).toEqual([]);
    const app = request.AppSpecification;
    expect(app.ImageUri).toMatch(/\.dkr\.ecr\..+\/sagemaker-spark-processing:3\.5-cpu$/);
    expect(app.ContainerEntrypoint).toEqual([
      'smspark-submit',
      '--py-files',
      expect.stringMatching(/^\/opt\/ml\/processing\/input\/py-files\/[0-9a-f]{64}\.zip$/),
      '--local-spark-event-logs-dir',
      '/opt/ml/processing/spark-events/',
      expect.stringMatching(/^\/opt\/ml\/processing\/input\/code\/[0-9a-f]{64}\.py$/),
    ]);
    expect(app.ContainerArguments.slice(0, 2)).toEqual(['--input', 's3://local-data-bucket/raw/usage/dt=2026-11-20/']);
    const inputs = Object.fromEntries(request.ProcessingInputs.map((i: any) => [i.InputName, i.S3Input]));
    expect(inputs.conf).toMatchObject({
      LocalPath: '/opt/ml/processing/input/conf',
      S3Uri: expect.stringMatching(/^s3:\/\/local-data-bucket\/_batcat\/spark-conf\/fleet-daily-sagemaker\/[0-9a-f]{16}\/$/),
    });
    expect(inputs.code.LocalPath).toBe('/opt/ml/processing/input/code');
    expect(inputs['py-files'].LocalPath).toBe('/opt/ml/processing/input/py-files');
    const events = request.ProcessingOutputConfig.Outputs.find((o: any) => o.OutputName === 'spark-events');
    expect(events.S3Output).toMatchObject({
      S3Uri: 's3://local-data-bucket/_batcat/spark-events/fleet-daily-sagemaker/',
      LocalPath: '/opt/ml/processing/spark-events',
      S3UploadMode: 'Continuous',
    });
    expect(request.ProcessingResources.ClusterConfig.InstanceCount).toBe(2);
    // Spark reads and writes S3 itself.
    expect(request.NetworkConfig?.EnableNetworkIsolation).toBe(false);
    expect(fs.existsSync(path.join(root, 'data/result/fleet-daily-sagemaker/dt=2026-11-20/daily/part-00000.csv'))).toBe(true);
  });

  test('a failed Spark job fails the run with its reason and where the driver log is', () => {
    const r = run(root, 'fleet-daily', { ...env, FLEET_FAIL: '1' });
    expect(r.code).toBe(1);
    expect(r.out).toContain(
      'FAILED: States.TaskFailed: spark-submit exited with code 1; the last lines of its stderr: the fleet job failed on purpose',
    );
    const notice = JSON.parse(
      fs.readFileSync(path.join(root, 'runs/fleet-daily/fleet-daily-20261120-a2/notification.json'), 'utf8'),
    ).Message;
    expect(notice.failedIn).toBe('RenderArguments');
    expect(notice.reason).toMatch(
      /^spark-submit exited with code 1; .* \(the driver log: s3:\/\/local-data-bucket\/_batcat\/spark-logs\/fleet-daily\/_attempts\/fleet-daily-20261120-a2\/applications\/.+\/jobs\/local\/SPARK_DRIVER\/stderr\.gz\)$/,
    );
  });

  test('without spark-submit on PATH: one message saying what to install, nothing run', () => {
    const { root: bare } = fixtureCopy();
    const r = batcat(['run-local', 'spark-fleet', 'fleet-daily', '--date', '2026-11-20'], bare, { PATH: '/usr/bin:/bin' });
    expect(r.code).not.toBe(0);
    expect(r.err).toContain("there is no spark-submit on PATH. Install PySpark of the job's Spark version");
    expect(r.err).toContain("pip install 'pyspark==3.5.*'");
    expect(fs.existsSync(path.join(bare, 'runs'))).toBe(false);
  });
});
