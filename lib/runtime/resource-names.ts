import { shortHash } from './run-contract';

/*
 * The physical names of a purpose's resources. The constructs give these names and the CLI
 * finds the resources by them, so both must derive them here.
 */

/** `<namePrefix>-<purpose>`: the state machine of a purpose; in a project stack, `batcat-<project>-<stage>-<purpose>`. */
export function purposeStateMachineName(namePrefix: string, purpose: string): string {
  return `${namePrefix}-${purpose}`;
}

/** The trigger function of the purpose whose state machine is `stateMachineName` (at most 64 characters). */
export function triggerFunctionName(stateMachineName: string): string {
  return derivedName(stateMachineName, 'trigger', 64);
}

/** The dead-letter queue of that trigger (at most 80 characters). */
export function triggerDeadLetterQueueName(stateMachineName: string): string {
  return derivedName(stateMachineName, 'trigger-dlq', 80);
}

/** The backfill state machine of the purpose whose state machine is `stateMachineName` (at most 80 characters). */
export function backfillStateMachineName(stateMachineName: string): string {
  return derivedName(stateMachineName, 'backfill', 80);
}

/** `<base>-<suffix>`, or when that is too long, `<start of base>-<6 hex of base>-<suffix>`: unique and stable. */
function derivedName(base: string, suffix: string, max: number): string {
  const plain = `${base}-${suffix}`;
  if (plain.length <= max) return plain;
  const head = base.slice(0, max - suffix.length - 8).replace(/-+$/, '');
  return `${head}-${shortHash(6, base)}-${suffix}`;
}
