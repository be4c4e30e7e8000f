import * as fs from 'node:fs';
import * as path from 'node:path';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { parseDbIngestArguments } from '../contract/db-source';
import { runDbIngest, secretConnection, urlConnection } from './db-ingest';

/*
 * The entry of the ingestion image (`node /opt/batcat/db-ingest.js <arguments>`), and of
 * run-local, which runs the same bundle. BATCAT_SOURCE_URL (run-local) stands in for the secret.
 * A failure's reason goes to /opt/ml/output/message, which SageMaker makes the job's
 * FailureReason (BATCAT_MESSAGE_FILE elsewhere), and the exit code is 1.
 */
async function main(): Promise<void> {
  const request = parseDbIngestArguments(process.argv.slice(2));
  const url = process.env.BATCAT_SOURCE_URL;
  let connection;
  if (url) connection = urlConnection(request.engine, url);
  else {
    const secret = await new SecretsManagerClient({}).send(new GetSecretValueCommand({ SecretId: request.secret }));
    connection = secretConnection(request.engine, request.secret, secret.SecretString ?? '');
  }
  await runDbIngest(request, connection, (line) => console.log(line));
}

main().catch((e: Error) => {
  const reason = `db-ingest: ${e.message}`.slice(0, 1024);
  console.error(reason);
  const file = process.env.BATCAT_MESSAGE_FILE ?? '/opt/ml/output/message';
  if (fs.existsSync(path.dirname(file))) fs.writeFileSync(file, reason);
  process.exitCode = 1;
});
