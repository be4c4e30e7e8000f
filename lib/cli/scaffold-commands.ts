import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isMap, isSeq, parseDocument } from 'yaml';
import { parseProject, ProjectConfigError } from '../config/load-project';
import { instanceTypeProblem, projectNameProblem, purposeNameProblem } from '../contract/rules';
import { packageInfo } from './scaffold/package-info';
import { ciWorkflow, stacksTest } from './scaffold/pull-request-guard';
import {
  cdkJson,
  docReadme,
  dockerfile,
  gitignore,
  packageJson,
  PROJECT_FOLDERS,
  projectReadme,
  projectYaml,
  purposeYaml,
  querySql,
  requirements,
  script,
  scriptName,
  type PurposeTemplate,
} from './scaffold/templates';
import type { Asker } from './prompts';
import { projectContext, UsageError } from './project-context';

/** A value from its flag, or else asked for (checked as it is typed); a bad flag is a usage error. */
async function valid(
  problem: (v: string) => string | undefined,
  given: string | undefined,
  askFor: (validate: (v: string) => string | undefined) => Promise<string>,
): Promise<string> {
  const value = given ?? (await askFor(problem));
  const bad = problem(value);
  if (bad) throw new UsageError(bad);
  return value;
}

/** Writes `files` (relative path -> content) below `dir`, returning the relative paths written. */
function writeFiles(dir: string, files: Record<string, string>): string[] {
  for (const [rel, content] of Object.entries(files)) {
    const file = path.join(dir, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content);
  }
  return Object.keys(files);
}

/** The files of a purpose's container folder. */
function containerFiles(purpose: string, input: string): Record<string, string> {
  return {
    [`containers/${purpose}/Dockerfile`]: dockerfile(purpose),
    [`containers/${purpose}/requirements.txt`]: requirements(purpose),
    [`containers/${purpose}/${scriptName(purpose)}`]: script(purpose, input),
  };
}

export interface InitOptions {
  readonly purpose?: string;
  readonly description?: string;
  readonly dir?: string;
  readonly force?: boolean;
  /** The batcat-cdk dependency of the new package.json. @default ^<this version> */
  readonly batcatVersion?: string;
}

/** `batcat init [name]`: a new data-science project folder that `npx cdk synth` accepts. */
export async function initCommand(
  cwd: string,
  nameArg: string | undefined,
  o: InitOptions,
  ask: Asker,
  out: (line: string) => void,
): Promise<number> {
  await ask.intro('batcat init: a new data-science project');
  const name = await valid(projectNameProblem, nameArg, (validate) =>
    ask.text('Project name?', { flag: 'the name: batcat init <name>', placeholder: '2026-rnd-battery', validate }),
  );
  const purpose = await valid(purposeNameProblem, o.purpose, (validate) =>
    ask.text('First purpose (one processing job)?', { flag: '--purpose', initial: 'analysis', validate }),
  );
  const description =
    o.description ?? (await ask.text('One line about the project?', { flag: '--description', initial: `Data science project ${name}` }));

  const dir = path.resolve(cwd, o.dir ?? name);
  if (fs.existsSync(dir)) {
    if (!fs.statSync(dir).isDirectory()) throw new UsageError(`${dir} exists and is not a folder`);
    const present = fs.readdirSync(dir);
    if (present.length > 0 && !o.force) {
      throw new UsageError(
        `${dir} is not empty (${present.slice(0, 5).join(', ')}${present.length > 5 ? ', ...' : ''}); choose another folder with --dir, or pass --force to add the project files there (files of the same name are replaced)`,
      );
    }
  }

  const info = packageInfo();
  const files: Record<string, string> = {
    'README.md': projectReadme(name, description, purpose),
    '.gitignore': gitignore(),
    'doc/README.md': docReadme(name),
    [`projects/${name}.yaml`]: projectYaml(name, description, { name: purpose, description: `The first purpose of ${name}` }),
    ...containerFiles(purpose, 'raw'),
    'package.json': packageJson(name, info, dependencySpec(o.batcatVersion, info.version)),
    'cdk.json': cdkJson(info),
    'test/stacks.test.js': stacksTest(),
    '.github/workflows/ci.yml': ciWorkflow('20'),
  };
  for (const f of PROJECT_FOLDERS) files[`${f}/.gitkeep`] = '';
  files[`data/raw/${purpose}/.gitkeep`] = '';

  // The project file must be one the app accepts; check it before writing anything.
  const text = files[`projects/${name}.yaml`];
  checkProjectText(text, `projects/${name}.yaml`, name, {
    [`containers/${purpose}/Dockerfile`]: files[`containers/${purpose}/Dockerfile`],
  });

  const tarball = vendoredTarball(o.batcatVersion, cwd);
  fs.mkdirSync(dir, { recursive: true });
  if (tarball) {
    fs.mkdirSync(path.join(dir, VENDOR_DIR), { recursive: true });
    fs.copyFileSync(tarball, path.join(dir, VENDOR_DIR, path.basename(tarball)));
  }
  const written = writeFiles(dir, files);
  if (tarball) written.push(`${VENDOR_DIR}/${path.basename(tarball)}`);
  out(`created ${dir}:`);
  for (const f of written.filter((w) => !w.endsWith('.gitkeep')).sort()) out(`  ${f}`);
  out(`  ${PROJECT_FOLDERS.join('/, ')}/`);
  out('');
  out('next:');
  out(`  cd ${path.relative(cwd, dir) || '.'}`);
  out('  npm install');
  out('  npm test          (snapshots every template in test/__snapshots__/: commit them, and pull requests show what they change)');
  out('  npx batcat doctor');
  out(`  npx batcat run-local ${name} ${purpose} --date <YYYY-MM-DD>   (with CSV files in data/raw/${purpose}/dt=<YYYY-MM-DD>/)`);
  out('  npx cdk synth');
  return 0;
}

/** Where a project keeps the batcat-cdk tarball it depends on, until the package comes from a registry. */
const VENDOR_DIR = 'vendor';

/**
 * The tarball `--batcat-version` names (a path, or `file:` and a path, ending in `.tgz`),
 * resolved from `cwd`; undefined for a version range.
 */
function vendoredTarball(spec: string | undefined, cwd: string): string | undefined {
  if (spec === undefined || !/\.tgz$/.test(spec)) return undefined;
  const file = path.resolve(cwd, spec.replace(/^file:/, ''));
  if (!fs.existsSync(file))
    throw new UsageError(
      `--batcat-version ${spec}: no such file ${file}; pass the path of a packed batcat-cdk (npm pack) or a version range such as ^0.1.0`,
    );
  return file;
}

/**
 * The batcat-cdk dependency of a new project: a version range, or the tarball copied into
 * `vendor/` by a path relative to the project, so that a colleague's clone and CI install it too.
 */
function dependencySpec(spec: string | undefined, version: string): string {
  if (spec === undefined) return `^${version}`;
  return /\.tgz$/.test(spec) ? `file:${VENDOR_DIR}/${path.basename(spec.replace(/^file:/, ''))}` : spec;
}

/** Validates project text as `cdk synth` would, with container folders given in memory. */
function checkProjectText(text: string, shown: string, name: string, extraFiles: Record<string, string>, rootDir?: string): void {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'batcat-check-'));
  try {
    if (rootDir) {
      // The files a project file names (containers, queries, scripts, py-files), not its data or runs.
      const skip = new Set(['projects', 'data', 'runs', 'cdk.out', 'node_modules', 'venv']);
      for (const e of fs.readdirSync(rootDir, { withFileTypes: true })) {
        if (e.isDirectory() && !skip.has(e.name) && !e.name.startsWith('.'))
          fs.cpSync(path.join(rootDir, e.name), path.join(tmp, e.name), { recursive: true });
      }
    }
    writeFiles(tmp, extraFiles);
    parseProject(text, shown, tmp, name);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

export interface AddPurposeOptions {
  readonly description?: string;
  readonly instance?: string;
  readonly schedule?: string;
  readonly timezone?: string;
  readonly query?: string;
  readonly tables?: string;
}

/**
 * `batcat add purpose <project> <purpose>`: appends the purpose to the project file as text
 * (every other byte of the file, comments included, stays as it was) and creates its
 * container folder. The new file is validated first; on any problem nothing is changed.
 */
export async function addPurposeCommand(
  rootDir: string,
  projectName: string,
  purposeArg: string | undefined,
  o: AddPurposeOptions,
  ask: Asker,
  out: (line: string) => void,
): Promise<number> {
  const project = projectContext(rootDir, projectName);
  const file = path.join(rootDir, 'projects', `${projectName}.yaml`);
  const existing = project.purposes.map((p) => p.name);
  const purpose =
    purposeArg ??
    (await ask.text('Purpose name?', {
      flag: 'the name: batcat add purpose <project> <purpose>',
      validate: (v) => purposeNameProblem(v) ?? (existing.includes(v) ? `purpose '${v}' exists already` : undefined),
    }));
  const bad = purposeNameProblem(purpose);
  if (bad) throw new UsageError(bad);
  if (existing.includes(purpose))
    throw new UsageError(`project '${projectName}' has a purpose '${purpose}' already; its purposes: ${existing.join(', ')}`);
  const instanceType =
    o.instance ??
    (await ask.select('Instance type?', {
      flag: '--instance',
      initial: 'ml.m5.large',
      options: ['ml.t3.medium', 'ml.m5.large', 'ml.m5.xlarge', 'ml.m5.2xlarge', 'ml.c5.xlarge', 'ml.r5.xlarge'].map((v) => ({ value: v })),
    }));
  const badType = instanceTypeProblem(instanceType);
  if (badType) throw new UsageError(badType);
  const schedule =
    o.schedule ??
    (ask.interactive && !o.query
      ? (await ask.text('Schedule (EventBridge cron, six fields; empty for manual runs only)?', {
          flag: '--schedule',
          initial: '',
          placeholder: '0 4 * * ? *',
        })) || undefined
      : undefined);
  if (o.tables !== undefined && o.query === undefined) throw new UsageError('--tables goes with --query');
  const tables = o.tables
    ?.split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
  if (o.query !== undefined && (!tables || tables.length === 0))
    throw new UsageError('--query needs --tables: the Glue tables the query reads, e.g. --tables usage_analysis_summary');
  const container = path.join(rootDir, 'containers', purpose);
  if (fs.existsSync(container) && fs.readdirSync(container).length > 0)
    throw new UsageError(`${container} exists and is not empty; remove it or choose another purpose name`);

  const template: PurposeTemplate = {
    name: purpose,
    description: o.description,
    instanceType,
    schedule,
    timezone: o.timezone,
    query: o.query,
    tables,
  };
  const text = fs.readFileSync(file, 'utf8');
  const updated = insertPurpose(text, template, file);
  const newFiles = containerFiles(purpose, o.query ? 'query' : 'raw');
  const queryFile = o.query !== undefined ? path.resolve(rootDir, o.query) : undefined;
  if (queryFile && !fs.existsSync(queryFile)) newFiles[path.relative(rootDir, queryFile)] = querySql(tables![0]);
  try {
    checkProjectText(updated, path.relative(process.cwd(), file) || file, projectName, newFiles, rootDir);
  } catch (e) {
    if (e instanceof ProjectConfigError)
      throw new UsageError(`the purpose would make ${e.message.replace(/^[^:]*: /, 'the project file invalid: ')}`);
    throw e;
  }
  const written = writeFiles(rootDir, newFiles);
  fs.writeFileSync(file, updated);
  out(`added purpose '${purpose}' to ${path.relative(rootDir, file)}`);
  for (const f of written) out(`created ${f}`);
  out(`next: edit containers/${purpose}/${scriptName(purpose)}, then npx batcat run-local ${projectName} ${purpose} --date <YYYY-MM-DD>`);
  return 0;
}

/** Inserts the purpose's YAML after the last item of `purposes:`, indented like the items there. */
export function insertPurpose(text: string, p: PurposeTemplate, file: string): string {
  const doc = parseDocument(text);
  const purposes = isMap(doc.contents) ? doc.contents.get('purposes', true) : undefined;
  if (!isSeq(purposes) || purposes.flow || purposes.items.length === 0 || !purposes.range) {
    throw new UsageError(`${file} has no block list 'purposes:' to add to`);
  }
  // Indent the new item like the first one: its '-' starts where theirs does.
  const first = (purposes.items[0] as { range?: [number, number, number] }).range![0];
  const dash = text.lastIndexOf('-', first);
  const indent = ' '.repeat(dash - (text.lastIndexOf('\n', dash) + 1));
  let at = purposes.range[2];
  // After the last item's own lines, before whatever follows the list.
  while (at > 0 && /\s/.test(text[at - 1]) && text[at - 1] !== '\n') at--;
  const before = text.slice(0, at);
  const after = text.slice(at);
  const snippet = purposeYaml(p, indent);
  return `${before}${before.endsWith('\n') ? '' : '\n'}${before.endsWith('\n\n') ? '' : '\n'}${snippet}${after.startsWith('\n') || after === '' ? '' : '\n'}${after}`;
}
