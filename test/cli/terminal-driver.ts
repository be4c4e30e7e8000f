/*
 * Runs `batcat` in a process of its own with a scripted terminal: @clack/prompts reads the
 * keys from its `input` stream and draws on its `output` stream, as it would on a TTY. Jest
 * cannot load that ESM-only library in-process on Node 20, hence the separate process.
 * Usage (bundled by test/global-setup.ts): node terminal-driver.js '<json {argv, cwd, keys}>'; prints {code, out, err, screen}.
 */
import { PassThrough, Writable } from 'node:stream';
import { runCli } from '../../lib/cli/main';

async function main(): Promise<void> {
  const { argv, cwd, keys } = JSON.parse(process.argv[2]) as { argv: string[]; cwd: string; keys: string[] };
  const input = new PassThrough();
  let screen = '';
  const output = new Writable({
    write(c, _e, cb) {
      screen += c.toString();
      cb();
    },
  });
  (output as any).columns = 100;
  let out = '';
  let err = '';
  let typed = 0;
  let drawnAt = -1;
  // Type batch k once k prompts were submitted (each submitted prompt is redrawn with ◇) and
  // the next one is drawn (◆ after the last ◇). A batch must end with a submitting key.
  const timer = setInterval(() => {
    const submitted = (screen.match(/◇/g) ?? []).length;
    const waiting = screen.lastIndexOf('◆') > screen.lastIndexOf('◇');
    if (typed < keys.length && submitted === typed && waiting) {
      if (drawnAt === -1) drawnAt = Date.now();
      else if (Date.now() - drawnAt > 60) {
        input.write(keys[typed++]);
        drawnAt = -1;
      }
    }
  }, 20);
  const code = await runCli(argv, {
    cwd,
    out: (t) => {
      out += t;
    },
    err: (t) => {
      err += t;
    },
    prompt: { input, output },
  });
  clearInterval(timer);
  process.stdout.write(JSON.stringify({ code, out, err, screen }));
}

void main();
