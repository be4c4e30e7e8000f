import type { Readable, Writable } from 'node:stream';
import { UsageError } from './project-context';

type Clack = typeof import('@clack/prompts');
let clackModule: Promise<Clack> | undefined;
/**
 * @clack/prompts is ESM only; a real dynamic import loads it from this CommonJS package on every
 * Node.js version we support (a compiled `import()` would become `require()`).
 */
function clack(): Promise<Clack> {
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  clackModule ??= (new Function('m', 'return import(m)') as (m: string) => Promise<Clack>)('@clack/prompts');
  return clackModule;
}

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

  async text(
    message: string,
    o: { flag: string; initial?: string; placeholder?: string; validate?: (v: string) => string | undefined },
  ): Promise<string> {
    if (!this.io) {
      if (o.initial !== undefined) return o.initial;
      throw new UsageError(`${message.replace(/\?$/, '')}: give ${o.flag} (there is no terminal to ask on)`);
    }
    const c = await clack();
    const v = await c.text({
      message,
      // The default shows as the placeholder: Enter takes it, typing replaces it.
      placeholder: o.placeholder ?? o.initial,
      defaultValue: o.initial,
      validate: (x) => (!x && o.initial !== undefined ? undefined : o.validate?.(x ?? '')),
      input: this.io.input,
      output: this.io.output,
    });
    if (c.isCancel(v)) throw new UsageError('cancelled; nothing was changed');
    return v;
  }

  async select<T extends string>(
    message: string,
    o: { flag: string; initial: T; options: Array<{ value: T; label?: string; hint?: string }> },
  ): Promise<T> {
    if (!this.io) return o.initial;
    const c = await clack();
    const v = await c.select<T>({
      message,
      initialValue: o.initial,
      options: o.options as Parameters<typeof c.select<T>>[0]['options'],
      input: this.io.input,
      output: this.io.output,
    });
    if (c.isCancel(v)) throw new UsageError('cancelled; nothing was changed');
    return v;
  }

  /** Yes or no; without a terminal, only `yes` (the flag given) answers. */
  async confirm(message: string, o: { flag: string; yes: boolean }): Promise<boolean> {
    if (o.yes) return true;
    if (!this.io)
      throw new UsageError(
        `${message.replace(/\?$/, '')}: give ${o.flag} to confirm (there is no terminal to ask on); nothing was changed`,
      );
    const c = await clack();
    const v = await c.confirm({ message, initialValue: false, input: this.io.input, output: this.io.output });
    return !c.isCancel(v) && v;
  }

  async intro(title: string): Promise<void> {
    if (this.io) (await clack()).intro(title, { output: this.io.output });
  }
}
