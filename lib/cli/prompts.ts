import type { Readable, Writable } from 'node:stream';
import * as clack from '@clack/prompts';
import { UsageError } from './project-context';

/** The terminal to prompt on; absent when stdin or stdout is not a terminal (scripts, CI). */
export interface PromptIO {
  readonly input: Readable;
  readonly output: Writable;
}

/**
 * Asks for what the flags did not give, when there is a terminal. Without one, a missing
 * answer is a usage error naming the flag, so commands also run in scripts and CI.
 */
export class Asker {
  constructor(private readonly io?: PromptIO) {}

  get interactive(): boolean {
    return this.io !== undefined;
  }

  async text(message: string, o: { flag: string; initial?: string; placeholder?: string; validate?: (v: string) => string | undefined }): Promise<string> {
    if (!this.io) {
      if (o.initial !== undefined) return o.initial;
      throw new UsageError(`${message.replace(/\?$/, '')}: give ${o.flag} (there is no terminal to ask on)`);
    }
    const v = await clack.text({
      message,
      placeholder: o.placeholder,
      initialValue: o.initial,
      validate: (x) => o.validate?.(x ?? ''),
      input: this.io.input,
      output: this.io.output,
    });
    if (clack.isCancel(v)) throw new UsageError('cancelled; nothing was changed');
    return v;
  }

  async select<T extends string>(message: string, o: { flag: string; initial: T; options: Array<{ value: T; label?: string; hint?: string }> }): Promise<T> {
    if (!this.io) return o.initial;
    const v = await clack.select<T>({ message, initialValue: o.initial, options: o.options as any, input: this.io.input, output: this.io.output });
    if (clack.isCancel(v)) throw new UsageError('cancelled; nothing was changed');
    return v as T;
  }

  intro(title: string): void {
    if (this.io) clack.intro(title, { output: this.io.output });
  }
}
