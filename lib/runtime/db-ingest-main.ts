import * as fs from 'node:fs';
import * as path from 'node:path';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DB_SECRET_ENV, DB_URL_ENV, parseDbIngestArguments } from '../contract/db-source';
import { runDbIngest, secretConnection, urlConnection } from './db-ingest';

/*
 * The entry of the ingestion image (`node /opt/batcat/db-ingest.js <arguments>`), and of
 * run-local, which runs the same bundle. The secret is named by BATCAT_SOURCE_SECRET_ID; in
 * run-local, BATCAT_SOURCE_URL stands in for it.
 * A failure's reason goes to /opt/ml/output/message, which SageMaker makes the job's
 * FailureReason (BATCAT_MESSAGE_FILE elsewhere), and the exit code is 1.
 */
async function main(): Promise<void> {
  const request = parseDbIngestArguments(process.argv.slice(2));
  const url = process.env[DB_URL_ENV];
  const secretId = process.env[DB_SECRET_ENV];
  let connection;
  if (url) connection = urlConnection(request.engine, url);
  else if (secretId) {
    const secret = await new SecretsManagerClient({}).send(new GetSecretValueCommand({ SecretId: secretId }));
    connection = secretConnection(request.engine, secretId, secret.SecretString ?? '');
  } else
    throw new Error(`neither ${DB_SECRET_ENV} (the secret's ARN) nor ${DB_URL_ENV} (a database URL) is set: nothing names the database`);
  await runDbIngest(request, connection, (line) => console.log(line));
}

main().catch((e: Error) => {
  const reason = `db-ingest: ${e.message}`.slice(0, 1024);
  console.error(reason);
  const file = process.env.BATCAT_MESSAGE_FILE ?? '/opt/ml/output/message';
  if (fs.existsSync(path.dirname(file))) fs.writeFileSync(file, reason);
  process.exitCode = 1;
});
