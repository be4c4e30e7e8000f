import { Aws, Fn } from 'aws-cdk-lib';

/**
 * `name` with a suffix unique to this stack instance: the first 8 hex digits of the stack's id.
 * A resource that is retained when its stack is deleted cannot keep a fixed name, or the next
 * deploy of the same stage fails with "already exists"; with this suffix it gets a new one.
 */
export function stackUniqueName(name: string): string {
  return `${name}-${Fn.select(0, Fn.split('-', Fn.select(2, Fn.split('/', Aws.STACK_ID))))}`;
}
