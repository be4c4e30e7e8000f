import {
  ConditionalCheckFailedException,
  QueryCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { LEDGER_ATTRIBUTES as A, LEDGER_KEY, type LedgerEntry, type LedgerStatus } from '../contract/ledger';

/*
 * The trigger's side of the run ledger (lib/contract/ledger.ts): it reads which windows
 * succeeded, run or failed, and records runs that ended without their failure path.
 */

const STATUSES: ReadonlySet<string> = new Set<LedgerStatus>(['RUNNING', 'SUCCEEDED', 'FAILED']);

/** The items of `purpose` whose window starts between `from` and `to` (both included), by window start. */
export async function readLedger(
  ddb: DynamoDBClient,
  table: string,
  purpose: string,
  from: string,
  to: string,
): Promise<Map<string, LedgerEntry>> {
  const entries = new Map<string, LedgerEntry>();
  let startKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await ddb.send(
      new QueryCommand({
        TableName: table,
        ConsistentRead: true,
        KeyConditionExpression: '#p = :p AND #w BETWEEN :from AND :to',
        ExpressionAttributeNames: { '#p': LEDGER_KEY.partition, '#w': LEDGER_KEY.sort },
        ExpressionAttributeValues: { ':p': { S: purpose }, ':from': { S: from }, ':to': { S: to } },
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of page.Items ?? []) {
      const entry = entryOf(item);
      if (entry) entries.set(entry.window, entry);
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return entries;
}

/** The start of the earliest window `purpose` ever ran (any status), or undefined if it never ran. */
export async function firstLedgerWindow(ddb: DynamoDBClient, table: string, purpose: string): Promise<string | undefined> {
  const page = await ddb.send(
    new QueryCommand({
      TableName: table,
      KeyConditionExpression: '#p = :p',
      ExpressionAttributeNames: { '#p': LEDGER_KEY.partition, '#w': LEDGER_KEY.sort },
      ExpressionAttributeValues: { ':p': { S: purpose } },
      ScanIndexForward: true,
      Limit: 1,
      ProjectionExpression: '#w',
    }),
  );
  return page.Items?.[0]?.[LEDGER_KEY.sort]?.S;
}

/** Items read per page while looking for the newest success, and the most pages read. */
const PAGE = 50;
const MAX_PAGES = 20;

/** The newest SUCCEEDED item of `purpose`, reading its windows newest first, a page at a time. */
export async function newestSuccess(ddb: DynamoDBClient, table: string, purpose: string): Promise<LedgerEntry | undefined> {
  let startKey: Record<string, AttributeValue> | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const out = await ddb.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: '#p = :p',
        FilterExpression: '#status = :succeeded',
        ExpressionAttributeNames: { '#p': LEDGER_KEY.partition, '#status': A.status },
        ExpressionAttributeValues: { ':p': { S: purpose }, ':succeeded': { S: 'SUCCEEDED' } },
        ScanIndexForward: false,
        Limit: PAGE,
        ExclusiveStartKey: startKey,
      }),
    );
    const item = out.Items?.[0];
    if (item) return entryOf(item);
    startKey = out.LastEvaluatedKey;
    if (!startKey) return undefined;
  }
  return undefined;
}

/**
 * Records that the execution `executionArn`, which the ledger holds as RUNNING for `window`,
 * ended with `status` without reaching its own failure path. Returns false (and changes
 * nothing) if the ledger no longer holds that execution as running: its own path recorded it.
 */
export async function recordEndedRun(
  ddb: DynamoDBClient,
  table: string,
  run: { purpose: string; window: string; executionArn: string; status: string; reason: string; endedAt: Date },
): Promise<boolean> {
  return updateRunning(
    ddb,
    table,
    { purpose: run.purpose, window: run.window, execution: run.executionArn },
    {
      update: 'SET #status = :failed, #endedAt = :endedAt, #error = :error, #reason = :reason',
      names: { '#endedAt': A.endedAt, '#error': A.error, '#reason': A.reason },
      values: {
        ':failed': { S: 'FAILED' },
        ':endedAt': { S: run.endedAt.toISOString() },
        ':error': { S: run.status },
        ':reason': { S: run.reason },
      },
    },
  );
}

function entryOf(item: Record<string, AttributeValue>): LedgerEntry | undefined {
  const window = item[LEDGER_KEY.sort]?.S;
  const status = item[A.status]?.S;
  if (!window || !status || !STATUSES.has(status)) return undefined;
  return {
    window,
    windowEnd: item[A.windowEnd]?.S,
    status: status as LedgerStatus,
    attempts: Number(item[A.attempts]?.N ?? 0),
    execution: item[A.execution]?.S,
    runId: item[A.runId]?.S,
    error: item[A.error]?.S,
    settleUntil: item[A.settleUntil]?.S,
    settleLimit: item[A.settleLimit]?.S,
    readStartedAt: item[A.readStartedAt]?.S,
    followUp: item[A.followUp]?.S,
  };
}

/** Whether a conditional write was refused: the item is not as the writer read it. */
function conditionFailed(e: unknown): boolean {
  return e instanceof ConditionalCheckFailedException || (e as Error).name === 'ConditionalCheckFailedException';
}

/**
 * Applies `change` to the ledger item of `run.window` only while it holds `run.execution` as
 * running (and `change.condition`, if given). False, changing nothing, when the item is not so:
 * the run ended, or another attempt holds the window.
 */
async function updateRunning(
  ddb: DynamoDBClient,
  table: string,
  run: { purpose: string; window: string; execution: string },
  change: {
    update: string;
    condition?: string;
    names: Record<string, string>;
    values: Record<string, AttributeValue>;
  },
): Promise<boolean> {
  try {
    await ddb.send(
      new UpdateItemCommand({
        TableName: table,
        Key: { [LEDGER_KEY.partition]: { S: run.purpose }, [LEDGER_KEY.sort]: { S: run.window } },
        UpdateExpression: change.update,
        ConditionExpression: `#status = :running AND #execution = :execution${change.condition ? ` AND ${change.condition}` : ''}`,
        ExpressionAttributeNames: { ...change.names, '#status': A.status, '#execution': A.execution },
        ExpressionAttributeValues: { ...change.values, ':running': { S: 'RUNNING' }, ':execution': { S: run.execution } },
      }),
    );
    return true;
  } catch (e) {
    if (conditionFailed(e)) return false;
    throw e;
  }
}

/**
 * Pushes back the read of the settling run `execution` of `window` to `until`. False if the run
 * is no longer settling (it began to read, or ended) or already waits as long.
 */
export async function extendSettle(
  ddb: DynamoDBClient,
  table: string,
  run: { purpose: string; window: string; execution: string; until: string },
): Promise<boolean> {
  return updateRunning(ddb, table, run, {
    update: 'SET #settleUntil = :until',
    condition: 'attribute_not_exists(#readStartedAt) AND #settleUntil < :until',
    names: { '#settleUntil': A.settleUntil, '#readStartedAt': A.readStartedAt },
    values: { ':until': { S: run.until } },
  });
}

/**
 * Asks for one more run of `window` after the running `execution`, for an object that arrived
 * after it began to read. The first such object is kept; false if the run is no longer running.
 */
export async function requestFollowUp(
  ddb: DynamoDBClient,
  table: string,
  run: { purpose: string; window: string; execution: string; followUp: string },
): Promise<boolean> {
  return updateRunning(ddb, table, run, {
    update: 'SET #followUp = if_not_exists(#followUp, :followUp)',
    names: { '#followUp': A.followUp },
    values: { ':followUp': { S: run.followUp } },
  });
}
