import { AthenaClient } from '@aws-sdk/client-athena';
import { S3Client } from '@aws-sdk/client-s3';
import { profileFromRow } from '../../lib/contract/profile-sql';
import {
  athenaProfileRow,
  checkOutputs,
  storedProfiles,
  type OutputChecksRequest,
  type OutputChecksResult,
} from '../../lib/runtime/output-checks';
import { s3Store } from '../../lib/runtime/s3-store';

/*
 * The data check of a run, after its commit (lib/runtime/output-checks.ts): reads each table
 * output's profile from the Athena query that made it, keeps it next to the run's manifest and
 * checks the output's rules; a run that counts keeps each output's sample (a sample query's
 * result). The state machine reads the verdict; a broken `warn` rule is
 * logged as `ruleWarnings`, which a metric filter counts for the purpose's alarm.
 */

const s3 = new S3Client({});
const athena = new AthenaClient({});

export async function handler(event: OutputChecksRequest): Promise<OutputChecksResult> {
  const store = storedProfiles(
    s3Store(s3, event.bucket),
    event,
    async (o) => {
      if (!o.queryExecutionId) throw new Error(`no profile query ran for output ${o.name}`);
      const row = await athenaProfileRow(athena, o.queryExecutionId);
      return profileFromRow(row, o.columns, { ...event, output: o.name, table: o.table }, o.rules);
    },
    async (o) => {
      if (o.sampleQueryExecutionId === undefined) return undefined;
      if (o.sampleQueryExecutionId === '' || !event.queryResults) throw new Error(`the sample query of output ${o.name} did not run`);
      const { bucket, prefix } = event.queryResults;
      const key = `${prefix}${o.sampleQueryExecutionId}.csv`;
      const body = await s3Store(s3, bucket).read(key);
      if (body === undefined) throw new Error(`the sample query's result s3://${bucket}/${key} is missing`);
      return body;
    },
  );
  const result = await checkOutputs(event, store, (line) => console.info({ message: line, runId: event.runId }));
  console.info({
    message: result.reason || 'every rule held',
    runId: event.runId,
    ruleViolations: result.violations,
    ruleWarnings: result.warnings,
  });
  return result;
}
