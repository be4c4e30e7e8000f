import { Template } from 'aws-cdk-lib/assertions';
import aslValidator from 'asl-validator';
import type { OutputTable } from '../../lib/constructs/purpose-props';
import { QueryWorkGroup } from '../../lib/constructs/query-workgroup';
import { Purpose } from '../../lib/constructs/purpose';
import { CHECKS_NOT_RUN_ERROR, RULE_VIOLATION_ERROR } from '../../lib/contract/data-rules';
import { definitionOf } from '../helpers';
import { baseStack, CONTAINER_DIR } from './fixtures';

/*
 * A purpose whose output has a table: after the commit its state machine profiles the window's
 * partition in Athena and checks the rules before the run's success is recorded.
 */

const TABLE: OutputTable = {
  database: 'batcat_demo_dev',
  tableName: 'usage_analysis_summary',
  attemptsTableName: 'usage_analysis_summary_attempts',
  columns: [
    { name: 'vin', type: 'string' },
    { name: 'total_usage', type: 'double' },
  ],
  rules: { rows: { min: 1 }, columns: { vin: { notNull: true, unique: true } } },
};

function build(table: Partial<OutputTable> = {}, withWorkGroup = true) {
  const base = baseStack();
  const workGroup = withWorkGroup
    ? new QueryWorkGroup(base.stack, 'Queries', {
        workGroupName: 'demo-q',
        resultsBucket: base.bucket,
        resultsPrefix: '_batcat/query-results/usage-analysis/',
      })
    : undefined;
  const purpose = new Purpose(base.stack, 'UsageAnalysis', {
    purposeName: 'usage-analysis',
    namePrefix: 'batcat-demo-dev',
    bucket: base.bucket,
    notificationTopic: base.topic,
    containerDirectory: CONTAINER_DIR,
    inputs: [{ name: 'usage', keyPrefix: 'raw/usage/' }],
    outputs: [{ name: 'summary', table: { ...TABLE, ...table } }],
    profileWorkGroup: workGroup,
  });
  const template = Template.fromStack(base.stack);
  return { purpose, template, def: definitionOf(template) };
}

const statementsOf = (template: Template, rolePattern: RegExp) => {
  const policies = Object.entries(template.findResources('AWS::IAM::Policy')).filter(([, p]) =>
    (p.Properties.Roles as Array<{ Ref: string }>).some((r) => rolePattern.test(r.Ref)),
  );
  return policies.flatMap(([, p]) => p.Properties.PolicyDocument.Statement as any[]);
};

describe('profile and rule-check states', () => {
  const { template, def, purpose } = build();

  test("before the commit: Profile-<output>, Sample-<output>, CheckOutputRules, then the verdict; a broken rule never reaches the window's result", () => {
    expect(def.States.CommitUnlessReproduction.Default).toBe('Profile-summary');
    const profile = def.States['Profile-summary'];
    expect(profile.Resource).toMatch(/athena:startQueryExecution\.sync$/);
    expect(profile.Parameters).toMatchObject({ WorkGroup: 'demo-q', 'ExecutionParameters.$': '$.batcat.profileParameters' });
    // What this attempt wrote, through the attempts table: attempt = '<execution name>'.
    expect(profile.Parameters.QueryString).toContain('FROM "batcat_demo_dev"."usage_analysis_summary_attempts" WHERE attempt = ?');
    expect(profile.Next).toBe('Sample-summary');
    // The run's sample: 1000 rows by default, drawn uniformly from the same partition, in the table's columns.
    const sample = def.States['Sample-summary'];
    expect(sample.Parameters).toMatchObject({
      WorkGroup: 'demo-q',
      'ExecutionParameters.$': '$.batcat.profileParameters',
      QueryString:
        'SELECT "vin", "total_usage" FROM "batcat_demo_dev"."usage_analysis_summary_attempts" WHERE attempt = ? ORDER BY rand() LIMIT 1000',
    });
    expect(sample.Next).toBe('CheckOutputRules');
    // Without a sample the run still counts: the check says it is missing.
    expect(sample.Catch[0].Next).toBe('NoSample-summary');
    expect(def.States['NoSample-summary']).toMatchObject({ Result: { queryExecutionId: '' }, Next: 'CheckOutputRules' });
    expect(def.States.ResolveRun.Parameters['profileParameters.$']).toBe("States.Array(States.Format('\\'{}\\'', $$.Execution.Name))");
    expect(def.States.CheckOutputRules.Parameters.outputs).toEqual([
      {
        name: 'summary',
        table: 'usage_analysis_summary',
        columns: TABLE.columns,
        rules: TABLE.rules,
        onViolation: 'fail',
        'queryExecutionId.$': '$.profiles.p0.queryExecutionId',
        'sampleQueryExecutionId.$': '$.samples.s0.queryExecutionId',
      },
    ]);
    expect(def.States.CheckOutputRules.Parameters.queryResults).toEqual({
      bucket: expect.anything(),
      prefix: '_batcat/query-results/usage-analysis/',
    });
    expect(def.States.CheckOutputRules.Next).toBe('OutputRulesHeld');
    const held = def.States.OutputRulesHeld;
    expect(held.Choices).toEqual([
      { Variable: '$.checks.failed', BooleanEquals: true, Next: 'RuleViolation' },
      { Variable: '$.checks.warned', BooleanEquals: true, Next: 'CountRuleWarnings' },
    ]);
    expect(held.Default).toBe('CommitResults');
    expect(def.States.CommitResults.Next).toBe('RecordRunOutputs');
    expect(def.States.RecordRunOutputs.Next).toBe('RecordRunSuccess');
    // A broken fail rule: recorded as the run's failure, notified, and the execution fails.
    expect(def.States.RuleViolation.Parameters).toEqual({ error: RULE_VIOLATION_ERROR, 'reason.$': '$.checks.reason' });
    expect(def.States.RuleViolation.Next).toBe('Failed-RunProcessingJob');
    expect(def.States['Failed-RunProcessingJob'].Next).toBe('RecordRunFailure');
    // The profile query failing (the scan cap, say) with rules: the run does not count.
    const [caught] = def.States['Profile-summary'].Catch;
    expect(caught.Next).toBe('ProfileFailed-summary');
    expect(def.States['ProfileFailed-summary'].Parameters.error).toBe(CHECKS_NOT_RUN_ERROR);
    expect(def.States['ProfileFailed-summary'].Parameters['reason.$']).toContain('athena.bytesScannedCutoff');
    expect(def.States['ProfileFailed-summary'].Next).toBe('Failed-RunProcessingJob');
    // The check's own errors (ChecksNotRun among them, never retried) go to the failure path.
    expect(def.States.CheckOutputRules.Retry.map((r: { ErrorEquals: string[] }) => r.ErrorEquals[0])).toEqual([
      'Lambda.ClientExecutionTimeoutException',
      CHECKS_NOT_RUN_ERROR,
      'States.ALL',
    ]);
    expect(def.States.CheckOutputRules.Retry[1].MaxAttempts).toBe(0);
    expect(def.States.CheckOutputRules.Catch[0].Next).toBe('Caught-CheckOutputRules');
    // After the job: a redrive checks again, in the job's folder.
    expect(def.States.ResumeAtFailedStep.Choices).toContainEqual(
      expect.objectContaining({ StringEquals: 'CheckOutputRules', Next: 'CheckOutputRules' }),
    );
    expect(aslValidator(def).isValid).toBe(true);
    expect(purpose.alarms?.ruleWarnings).toBeUndefined();
  });

  test("the check's function may read its workgroup's results and write the purpose's run and profile folders, nothing else", () => {
    const statements = statementsOf(template, /OutputChecksRole/);
    const flat = (x: unknown) => JSON.stringify(x);
    const s3 = statements.filter((s) => [s.Action].flat().some((a: string) => a.startsWith('s3:')));
    expect(
      s3.map((s) => [s.Action, flat(s.Resource).replace(/\{"Fn::GetAtt":\["Data\w+","Arn"\]\}/g, 'BUCKET'), s.Condition ?? null]),
    ).toEqual([
      // Statements of one action are merged by CDK.
      [
        's3:GetObject',
        '[{"Fn::Join":["",[BUCKET,"/_batcat/profiles/usage-analysis/summary/*"]]},{"Fn::Join":["",[BUCKET,"/_batcat/query-results/usage-analysis/*"]]}]',
        null,
      ],
      [
        's3:PutObject',
        '[{"Fn::Join":["",[BUCKET,"/_batcat/profiles/usage-analysis/summary/*"]]},{"Fn::Join":["",[BUCKET,"/_batcat/runs/usage-analysis/*"]]},{"Fn::Join":["",[BUCKET,"/_batcat/samples/usage-analysis/summary/*"]]}]',
        null,
      ],
      ['s3:ListBucket', 'BUCKET', { StringLike: { 's3:prefix': ['_batcat/profiles/usage-analysis/summary/*'] } }],
    ]);
    const athena = statements.filter((s) => [s.Action].flat().some((a: string) => a.startsWith('athena:')));
    expect(athena).toHaveLength(1);
    expect(athena[0].Action).toBe('athena:GetQueryResults');
    expect(flat(athena[0].Resource)).toContain(':workgroup/demo-q');
    // The state machine: the profile query in its workgroup, over the output's folder and its table only.
    const machine = statementsOf(template, /StateMachineRole/);
    const glue = machine.find((s) => [s.Action].flat().includes('glue:GetTable'));
    expect(flat(glue.Resource)).toContain(':table/batcat_demo_dev/usage_analysis_summary_attempts');
    expect(flat(glue.Resource)).not.toContain('usage_analysis_summary"');
    expect(machine.some((s) => [s.Action].flat().includes('cloudwatch:PutMetricData'))).toBe(false);
  });

  test('warn rules: the metric, allowed only in the BatCat namespace, and an alarm on it', () => {
    const { template: t, def: d, purpose: p } = build({ onViolation: 'warn' });
    expect(d.States.CountRuleWarnings.Parameters).toEqual({
      Namespace: 'BatCat',
      MetricData: [
        {
          MetricName: 'RuleWarnings',
          Dimensions: [{ Name: 'StateMachine', Value: 'batcat-demo-dev-usage-analysis' }],
          'Value.$': '$.checks.warnings',
          Unit: 'Count',
        },
      ],
    });
    expect(d.States.CountRuleWarnings.Next).toBe('CommitResults');
    const put = statementsOf(t, /StateMachineRole/).find((s) => [s.Action].flat().includes('cloudwatch:PutMetricData'));
    expect(put).toMatchObject({ Resource: '*', Condition: { StringEquals: { 'cloudwatch:namespace': 'BatCat' } } });
    expect(p.alarms?.ruleWarnings).toBeDefined();
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'batcat-demo-dev-usage-analysis-broke-a-warn-rule',
      Namespace: 'BatCat',
      MetricName: 'RuleWarnings',
    });
  });

  test('without rules the profile only informs: a failed profile query goes on to the sample and the check', () => {
    const { def: d } = build({ rules: undefined });
    expect(d.States['Profile-summary'].Catch[0].Next).toBe('NoProfile-summary');
    expect(d.States['NoProfile-summary']).toMatchObject({ Result: { queryExecutionId: '' }, Next: 'Sample-summary' });
  });

  test('sampleRows: 0 draws no sample, and the function may write no samples', () => {
    const { def: d, template: t } = build({ sampleRows: 0 });
    expect(d.States['Sample-summary']).toBeUndefined();
    expect(d.States['Profile-summary'].Next).toBe('CheckOutputRules');
    expect(d.States.CheckOutputRules.Parameters.outputs[0]['sampleQueryExecutionId.$']).toBeUndefined();
    expect(JSON.stringify(statementsOf(t, /OutputChecksRole/))).not.toContain('_batcat/samples/');
    expect(() => build({ sampleRows: 1e6 })).toThrow("output 'summary': sampleRows must be a whole number from 0 to 100000, got 1000000");
  });

  test('bad tables and rules are refused at synth, naming the output, the field and the fix', () => {
    expect(() => build({ columns: [] })).toThrow(
      "output 'summary': table usage_analysis_summary has no columns, so there is nothing to profile or check; list them (columns)",
    );
    expect(() => build({ rules: { columns: { vim: { notNull: true } } } })).toThrow(
      "output 'summary': rules.columns.vim: the table has no column 'vim' (did you mean 'vin'?); its columns: vin, total_usage",
    );
    expect(() => build({ rules: { rows: { min: 10, max: 1 } } })).toThrow('rules.rows: rows: min 10 is above max 1, so no run could pass');
    expect(() => build({}, false)).toThrow(
      "output 'summary' has a table, whose profile query needs an Athena workgroup; give profileWorkGroup (or a query, whose workgroup is used)",
    );
  });
});
