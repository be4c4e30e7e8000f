import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';
import { CreateTableCommand, DynamoDBClient, PutItemCommand, QueryCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { LEDGER_KEY } from '../lib/contract/ledger';
import { taskError } from '../lib/local/interpreter';

/*
 * moto's server (this machine's Python) on 127.0.0.1: the DynamoDB peer of the run ledger's
 * reads, writes and condition expressions, and an S3 peer for what s3rver lacks (multipart
 * copy). A suite that needs it checks `motoUnavailable()` first and is skipped, saying why, when
 * moto is not installed (DESIGN.md: never passed silently).
 */

export interface MotoServer {
  readonly endpoint: string;
  /** A DynamoDB client for it. */
  client(): DynamoDBClient;
  /** An S3 client for it (path-style, as moto serves buckets). */
  s3(): S3Client;
  /** Creates a ledger table shaped like RunLedger's and returns its name. */
  createLedger(): Promise<string>;
  /** Writes one ledger item from plain values (numbers as N, strings as S), as the state machine would leave it. */
  putItem(table: string, item: Record<string, string | number>): Promise<void>;
  /** Sends a ledger write of a state machine (a DynamoDB UpdateItem task's parameters) to `table`; its errors come back as the task's. */
  ledgerWrite(table: string, params: Record<string, unknown>): Promise<Record<string, never>>;
  /** Every item of `table` for `purpose`, as plain objects. */
  items(table: string, purpose: string): Promise<Array<Record<string, string | number>>>;
  stop(): Promise<void>;
}

/** Why moto's server cannot run here, or undefined if it can. */
export function motoUnavailable(): string | undefined {
  const probe = spawnSync('python3', ['-c', 'import moto.server, flask'], { encoding: 'utf8' });
  if (probe.error) return `python3 is not available (${probe.error.message})`;
  return probe.status === 0 ? undefined : `moto's server is not importable in python3: ${probe.stderr.trim().split('\n').pop()}`;
}

let tables = 0;

export async function startMotoServer(): Promise<MotoServer> {
  const port = await freePort();
  const child: ChildProcess = spawn('python3', ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const endpoint = `http://127.0.0.1:${port}`;
  const client = () =>
    new DynamoDBClient({ endpoint, region: 'eu-west-1', credentials: { accessKeyId: 'moto', secretAccessKey: 'moto' }, maxAttempts: 1 });
  await waitUntilAnswering(endpoint, child, () => stderr);
  return {
    endpoint,
    client,
    s3: () =>
      new S3Client({ endpoint, forcePathStyle: true, region: 'eu-west-1', credentials: { accessKeyId: 'moto', secretAccessKey: 'moto' } }),
    createLedger: async () => {
      const name = `ledger-${process.pid}-${++tables}`;
      await client().send(
        new CreateTableCommand({
          TableName: name,
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: [
            { AttributeName: LEDGER_KEY.partition, AttributeType: 'S' },
            { AttributeName: LEDGER_KEY.sort, AttributeType: 'S' },
          ],
          KeySchema: [
            { AttributeName: LEDGER_KEY.partition, KeyType: 'HASH' },
            { AttributeName: LEDGER_KEY.sort, KeyType: 'RANGE' },
          ],
        }),
      );
      return name;
    },
    putItem: async (table, item) => {
      await client().send(
        new PutItemCommand({
          TableName: table,
          Item: Object.fromEntries(Object.entries(item).map(([k, v]) => [k, typeof v === 'number' ? { N: String(v) } : { S: v }])),
        }),
      );
    },
    ledgerWrite: async (table, params) => {
      try {
        await client().send(new UpdateItemCommand({ ...params, TableName: table } as ConstructorParameters<typeof UpdateItemCommand>[0]));
        return {};
      } catch (e) {
        throw taskError(`DynamoDB.${(e as Error).name}`, (e as Error).message);
      }
    },
    items: async (table, purpose) => {
      const out = await client().send(
        new QueryCommand({
          TableName: table,
          KeyConditionExpression: '#p = :p',
          ExpressionAttributeNames: { '#p': LEDGER_KEY.partition },
          ExpressionAttributeValues: { ':p': { S: purpose } },
        }),
      );
      return (out.Items ?? []).map((item) =>
        Object.fromEntries(Object.entries(item).map(([k, v]) => [k, v.N !== undefined ? Number(v.N) : (v.S ?? JSON.stringify(v))])),
      );
    },
    stop: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

async function waitUntilAnswering(endpoint: string, child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`moto's server exited with ${child.exitCode}: ${stderr()}`);
    try {
      await fetch(`${endpoint}/moto-api/`);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  child.kill('SIGKILL');
  throw new Error(`moto's server did not answer at ${endpoint} within 30 s: ${stderr()}`);
}
