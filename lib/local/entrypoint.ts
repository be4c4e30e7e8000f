import * as fs from 'node:fs';
import * as path from 'node:path';

/** Thrown for a purpose that cannot run here at all (no container folder, no entrypoint...). */
export class LocalRunError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LocalRunError';
  }
}

/** The local script and arguments the Dockerfile's ENTRYPOINT runs. */
export function localEntrypoint(containerDir: string): { script: string; args: string[] } {
  const dockerfile = path.join(containerDir, 'Dockerfile');
  if (!fs.existsSync(dockerfile)) throw new LocalRunError(`${dockerfile} does not exist`);
  const text = fs.readFileSync(dockerfile, 'utf8');
  const m = /^\s*(?:ENTRYPOINT|CMD)\s+(\[.*\])\s*$/im.exec(text);
  let argv: string[] | undefined;
  try {
    argv = m ? JSON.parse(m[1]) : undefined;
  } catch {
    argv = undefined;
  }
  const at = argv?.findIndex((a) => a.endsWith('.py')) ?? -1;
  if (!argv || at === -1) {
    throw new LocalRunError(
      `${dockerfile} has no ENTRYPOINT in exec form naming a Python script, such as ENTRYPOINT ["python3", "/opt/program/analysis.py"]; run-local runs that script with the local python3`,
    );
  }
  const script = path.join(containerDir, path.basename(argv[at]));
  if (!fs.existsSync(script)) throw new LocalRunError(`the ENTRYPOINT's script ${path.basename(argv[at])} is not in ${containerDir}`);
  return { script, args: argv.slice(at + 1) };
}
