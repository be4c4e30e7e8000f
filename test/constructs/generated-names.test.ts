import { NestedStack, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { Backfill } from '../../lib/constructs/backfill';
import { ProjectDashboard } from '../../lib/constructs/project-dashboard';
import { Purpose } from '../../lib/constructs/purpose';
import { QueryWorkGroup } from '../../lib/constructs/query-workgroup';
import { ResultDatabase } from '../../lib/constructs/result-database';
import { ResultTable } from '../../lib/constructs/result-table';
import { RunLedger } from '../../lib/constructs/run-ledger';
import { RunTrigger } from '../../lib/constructs/run-trigger';
import { GLUE_NAME, MAX_STATE_MACHINE_NAME_LENGTH } from '../../lib/contract/names';
import { testApp } from '../helpers';
import { CONTAINER_DIR } from './fixtures';

/*
 * A team that uses the constructs names nothing: every physical name is generated from the
 * stack name and the construct path, also in a nested stack (whose name is a token), and the
 * same tree in a second stage's stack gets names of its own.
 */

/** A team's stack with its purpose in a nested stack, naming no resource. */
function teamStack(stackName: string, purposeId = 'Forecast') {
  const stack = new Stack(testApp(), 'Team', { stackName });
  const key = new kms.Key(stack, 'Key');
  const bucket = new s3.Bucket(stack, 'Data', { encryption: s3.BucketEncryption.KMS, encryptionKey: key });
  const topic = new sns.Topic(stack, 'Alarms', { masterKey: key });
  const jobs = new NestedStack(stack, 'Jobs');
  const purpose = new Purpose(jobs, purposeId, {
    purposeName: 'forecast',
    bucket,
    notificationTopic: topic,
    containerDirectory: CONTAINER_DIR,
    outputs: [{ name: 'scores' }],
  });
  const workGroup = new QueryWorkGroup(stack, 'Queries', { resultsBucket: bucket });
  const database = new ResultDatabase(stack, 'Results');
  const table = new ResultTable(database, 'Scores', {
    database,
    bucket,
    keyPrefix: 'results/forecast/scores/',
    columns: [{ name: 'vehicle_id', type: 'string' }],
  });
  new ProjectDashboard(stack, 'Dashboard', { purposes: [{ purposeName: 'forecast', stateMachineName: purpose.stateMachineName }] });
  return { stack, jobs, purpose, workGroup, database, table };
}

/** Every physical name a template gives, by resource type and name property. */
function physicalNames(...templates: Template[]): string[] {
  const nameProperties = ['StateMachineName', 'FunctionName', 'QueueName', 'AlarmName', 'LogGroupName', 'Name'];
  return templates.flatMap((t) =>
    Object.values(t.toJSON().Resources as Record<string, { Properties?: Record<string, unknown> }>).flatMap((r) =>
      nameProperties.map((p) => r.Properties?.[p]).filter((v): v is string => typeof v === 'string'),
    ),
  );
}

describe('names for construct users', () => {
  const dev = teamStack('team-dev');
  const devTemplates = [Template.fromStack(dev.stack), Template.fromStack(dev.jobs)];

  test('a purpose in a nested stack needs no namePrefix: its names come from the stack name and its path', () => {
    expect(dev.purpose.stateMachineName).toMatch(/^team-dev-Jobs-Forecast-[0-9A-F]{8}$/);
    const jobs = devTemplates[1];
    jobs.hasResourceProperties('AWS::StepFunctions::StateMachine', { StateMachineName: dev.purpose.stateMachineName });
    jobs.hasResourceProperties('AWS::Lambda::Function', { FunctionName: `${dev.purpose.stateMachineName}-trigger` });
    jobs.hasResourceProperties('AWS::StepFunctions::StateMachine', { StateMachineName: `${dev.purpose.stateMachineName}-backfill` });
    // The trust policy names the generated state machine, so only it may take the role.
    const trusted = JSON.stringify(jobs.findResources('AWS::IAM::Role'));
    expect(trusted).toContain(`:stateMachine:${dev.purpose.stateMachineName}`);
    expect(dev.purpose.jobNamePrefix).toMatch(/^forecast-[0-9a-f]{6}$/);
  });

  test('the names are the same on every synth, and another stage gets its own', () => {
    expect(teamStack('team-dev').purpose.stateMachineName).toBe(dev.purpose.stateMachineName);
    const prod = teamStack('team-prod');
    const prodNames = physicalNames(Template.fromStack(prod.stack), Template.fromStack(prod.jobs));
    const devNames = physicalNames(...devTemplates);
    expect(devNames.length).toBeGreaterThan(8);
    expect(prodNames.filter((n) => devNames.includes(n))).toEqual([]);
  });

  test('the workgroup, database and table get valid generated names; the dashboard gets one from CloudFormation', () => {
    expect(dev.workGroup.workGroupName).toMatch(/^team-dev-Queries-[0-9A-F]{8}$/);
    expect(dev.database.databaseName).toMatch(GLUE_NAME);
    expect(dev.table.tableName).toMatch(GLUE_NAME);
    expect(dev.table.tableName).not.toBe(dev.database.databaseName);
    const parent = devTemplates[0];
    parent.hasResourceProperties('AWS::Athena::WorkGroup', { Name: dev.workGroup.workGroupName });
    parent.hasResourceProperties('AWS::Glue::Database', { DatabaseInput: { Name: dev.database.databaseName } });
    parent.hasResourceProperties('AWS::Glue::Table', { TableInput: { Name: dev.table.tableName } });
    const [dashboard] = Object.values(parent.findResources('AWS::CloudWatch::Dashboard'));
    expect(dashboard.Properties.DashboardName).toBeUndefined();
  });

  test('a long path still gives names within the services limits', () => {
    const deep = teamStack('a-rather-long-team-stack-name-for-the-forecasting-department', 'ForecastOfEveryVehicleInTheFleetEveryDay');
    expect(deep.purpose.stateMachineName.length).toBeLessThanOrEqual(MAX_STATE_MACHINE_NAME_LENGTH);
    const names = physicalNames(Template.fromStack(deep.jobs));
    const fn = names.find((n) => n.endsWith('-trigger'))!;
    expect(fn.length).toBeLessThanOrEqual(64);
  });

  test('a Backfill on its own names its state machine after its path', () => {
    const stack = new Stack(testApp(), 'Ops', { stackName: 'ops' });
    const target = new sfn.StateMachine(stack, 'Target', { definitionBody: sfn.DefinitionBody.fromChainable(new sfn.Pass(stack, 'P')) });
    const scope = new Construct(stack, 'Daily');
    const backfill = new Backfill(scope, 'Backfill', { stateMachine: target });
    const t = Template.fromStack(stack);
    const [name] = Object.values(t.findResources('AWS::StepFunctions::StateMachine'))
      .map((r) => r.Properties.StateMachineName)
      .filter(Boolean);
    expect(name).toMatch(/^ops-Daily-Backfill-[0-9A-F]{8}$/);
    expect(backfill.logGroup).toBeDefined();
  });

  test('a RunTrigger on its own names its function, queue and alarms after its path', () => {
    const stack = new Stack(testApp(), 'Ops', { stackName: 'ops' });
    const target = new sfn.StateMachine(stack, 'Target', { definitionBody: sfn.DefinitionBody.fromChainable(new sfn.Pass(stack, 'P')) });
    const trigger = new RunTrigger(stack, 'Daily', {
      stateMachine: target,
      ledger: new RunLedger(stack, 'Ledger'),
      notificationTopic: new sns.Topic(stack, 'Topic'),
      runConfig: {
        purpose: 'daily',
        bucket: 'data',
        windowDays: 1,
        maxWindowDays: 1,
        maxBackfillWindows: 400,
        timezone: 'UTC',
        inputs: [],
        outputs: [{ name: 'scores', uri: 's3://data/results/daily/scores/' }],
      },
    });
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::Lambda::Function', { FunctionName: Match.stringLikeRegexp('^ops-Daily-[0-9A-F]{8}-trigger$') });
    t.hasResourceProperties('AWS::SQS::Queue', { QueueName: Match.stringLikeRegexp('^ops-Daily-[0-9A-F]{8}-trigger-dlq$') });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: Match.stringLikeRegexp('^ops-Daily-[0-9A-F]{8}-') });
    expect(trigger.alarms.errors).toBeDefined();
  });
});
