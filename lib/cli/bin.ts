#!/usr/bin/env node
// The `batcat` command: runs the CLI on this process's arguments and terminal.
import { runCli } from './main';

// The SDK's eight-line notice about Node.js versions would come before every AWS command's own output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// Ctrl-C stops a running query or copy cleanly; a second Ctrl-C exits at once.
const controller = new AbortController();
process.once('SIGINT', () => {
  process.stderr.write('batcat: interrupted, stopping (Ctrl-C again to quit now)\n');
  controller.abort(Object.assign(new Error('interrupted'), { name: 'Interrupted' }));
  process.once('SIGINT', () => process.exit(130));
});
void runCli(process.argv.slice(2), {
  cwd: process.cwd(),
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  signal: controller.signal,
  prompt: process.stdin.isTTY && process.stdout.isTTY ? { input: process.stdin, output: process.stdout } : undefined,
}).then((code) => {
  process.exitCode = code;
});
