import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadProjects, ProjectConfigError, type ProjectConfig, type PurposeConfig } from '../config/load-project';
import { ACCOUNT_BUCKET_QUOTA, bucketsPerStage } from '../contract/storage';
import { containerCommand, readContainerSpec, type ContainerSpec } from '../local/container-spec';
import { imageRequirements } from '../config/requirements';
import { UsageError } from './project-context';
import { installCommand, unmetRequirement, unmetRequirements, wantedText, type Requirement } from '../contract/requirements';
import { installedVersions } from '../local/requirements';

/** One check: ok, or what is wrong and how to fix it. `warn` does not fail the doctor. */
export interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
  readonly fix?: string;
  readonly warn?: boolean;
}

export interface DoctorEnv {
  readonly rootDir: string;
  readonly env: NodeJS.ProcessEnv;
  readonly nodeVersion: string;
  readonly home: string;
  /** Runs `python --version`; tests replace it. */
  readonly pythonVersion: (python: string) => string | undefined;
  /** The installed versions of packages in `python` (null: missing); tests replace it. */
  readonly installedVersions: (python: string, names: readonly string[]) => Record<string, string | null> | undefined;
}

export const defaultDoctorEnv = (rootDir: string): DoctorEnv => ({
  rootDir,
  env: process.env,
  nodeVersion: process.versions.node,
  home: os.homedir(),
  pythonVersion: (python) => {
    const r = spawnSync(python, ['--version'], { encoding: 'utf8' });
    return r.status === 0 ? `${r.stdout}${r.stderr}`.trim() : undefined;
  },
  installedVersions,
});

function profilesIn(file: string): string[] {
  if (!fs.existsSync(file)) return [];
  return [...fs.readFileSync(file, 'utf8').matchAll(/^\s*\[(?:profile\s+)?([^\]]+)\]/gm)].map((m) => m[1].trim());
}

/** Where credentials would come from, found without calling AWS. */
function credentialsCheck(d: DoctorEnv): Check {
  const e = d.env;
  if (e.AWS_ACCESS_KEY_ID && e.AWS_SECRET_ACCESS_KEY)
    return { name: 'AWS credentials', ok: true, detail: 'from environment variables (AWS_ACCESS_KEY_ID)' };
  if (e.AWS_WEB_IDENTITY_TOKEN_FILE)
    return { name: 'AWS credentials', ok: true, detail: 'from a web identity token (AWS_WEB_IDENTITY_TOKEN_FILE)' };
  if (e.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI || e.AWS_CONTAINER_CREDENTIALS_FULL_URI)
    return { name: 'AWS credentials', ok: true, detail: 'from the container credentials endpoint' };
  const config = e.AWS_CONFIG_FILE ?? path.join(d.home, '.aws', 'config');
  const credentials = e.AWS_SHARED_CREDENTIALS_FILE ?? path.join(d.home, '.aws', 'credentials');
  const profiles = new Set([...profilesIn(config), ...profilesIn(credentials)]);
  const wanted = e.AWS_PROFILE ?? 'default';
  if (profiles.has(wanted))
    return {
      name: 'AWS credentials',
      ok: true,
      detail: `profile '${wanted}' in ${[config, credentials].filter((f) => profilesIn(f).includes(wanted)).join(' and ')} (not checked against AWS)`,
    };
  return {
    name: 'AWS credentials',
    ok: false,
    detail: e.AWS_PROFILE
      ? `profile '${e.AWS_PROFILE}' (AWS_PROFILE) is not in ${config} or ${credentials}`
      : 'none found in the environment or ~/.aws',
    fix: 'configure a profile (aws configure sso, or aws configure) and export AWS_PROFILE=<profile>; run-local and cdk synth work without credentials',
    warn: true,
  };
}

/** What doctor assumes about the account the projects deploy to. */
export interface DoctorOptions {
  /** How many stages of each project deploy to one account. @default 3 */
  readonly stages?: number;
  /** The share of the account's bucket quota the projects may need before doctor warns, in percent. @default 10 */
  readonly bucketShare?: number;
}

/** Whether the buckets of every project file's stages fit in the share of the account's bucket quota. */
export function bucketCheck(projects: readonly ProjectConfig[], options: DoctorOptions = {}): Check {
  const stages = options.stages ?? 3;
  const share = options.bucketShare ?? 10;
  const perStage = projects.map((p) => ({ file: p.file, storage: p.storage, buckets: bucketsPerStage(p.storage, p.purposes.length) }));
  const total = perStage.reduce((n, p) => n + p.buckets, 0) * stages;
  const allowed = Math.floor((ACCOUNT_BUCKET_QUOTA * share) / 100);
  const detail =
    `${perStage.map((p) => `${p.file}: ${p.buckets} per stage (storage: ${p.storage})`).join(', ')}; ` +
    `${total} for ${stages} stage(s), ${((total / ACCOUNT_BUCKET_QUOTA) * 100).toFixed(1)}% of the account's ${ACCOUNT_BUCKET_QUOTA} general purpose buckets`;
  if (total <= allowed) return { name: 'buckets', ok: true, detail };
  return {
    name: 'buckets',
    ok: true,
    warn: true,
    detail: `${detail}, more than the ${share}% (${allowed}) allowed here`,
    fix: `set storage: shared in the largest project file (2 buckets per stage), deploy fewer stages to this account, or ask for a higher quota (Service Quotas, Amazon S3, General purpose buckets); --stages and --bucket-share set what this check assumes`,
  };
}

/** The environment checks before a first deploy. */
export function doctorChecks(d: DoctorEnv, options: DoctorOptions = {}): Check[] {
  const checks: Check[] = [];
  const major = Number(d.nodeVersion.split('.')[0]);
  checks.push(
    major >= 20
      ? { name: 'Node.js', ok: true, detail: `${d.nodeVersion}${major < 22 ? ' (the AWS SDK will need 22 or later from 2027)' : ''}` }
      : {
          name: 'Node.js',
          ok: false,
          detail: d.nodeVersion,
          fix: 'install Node.js 20 or later (22 recommended), e.g. with nvm install 22',
        },
  );

  const py = d.pythonVersion('python3');
  const pm = py ? /Python (\d+)\.(\d+)/.exec(py) : null;
  checks.push(
    !py
      ? {
          name: 'python3',
          ok: false,
          detail: 'not found on PATH',
          fix: 'install Python 3.9 or later (batcat run-local runs the purpose scripts with it)',
        }
      : pm && (Number(pm[1]) > 3 || Number(pm[2]) >= 9)
        ? { name: 'python3', ok: true, detail: py }
        : { name: 'python3', ok: false, detail: py, fix: 'install Python 3.9 or later' },
  );

  checks.push(credentialsCheck(d));
  const region = d.env.AWS_REGION ?? d.env.AWS_DEFAULT_REGION;
  checks.push(
    region
      ? { name: 'AWS region', ok: true, detail: region }
      : {
          name: 'AWS region',
          ok: false,
          warn: true,
          detail: 'AWS_REGION is not set (a profile may still set one)',
          fix: 'export AWS_REGION=<region>, e.g. eu-west-1',
        },
  );
  checks.push({
    name: 'CDK bootstrap',
    ok: true,
    warn: true,
    detail: 'cannot be checked offline',
    fix: 'before the first deploy to an account and region, run once: npx cdk bootstrap aws://<account>/<region>',
  });

  const installed =
    fs.existsSync(path.join(d.rootDir, 'node_modules', 'aws-cdk-lib')) || fs.existsSync(path.join(d.rootDir, 'node_modules', 'batcat-cdk'));
  checks.push(
    installed
      ? { name: 'dependencies', ok: true, detail: 'node_modules present' }
      : { name: 'dependencies', ok: false, detail: `no node_modules in ${d.rootDir}`, fix: 'run npm install (npm ci in CI)' },
  );

  if (!fs.existsSync(path.join(d.rootDir, 'projects'))) {
    checks.push({
      name: 'project files',
      ok: false,
      detail: `no projects/ folder in ${d.rootDir}`,
      fix: 'run batcat doctor in the project folder, or create one with batcat init <name>',
    });
    return checks;
  }
  let projects;
  try {
    projects = loadProjects(d.rootDir);
    checks.push({
      name: 'project files',
      ok: true,
      detail: projects.map((p) => `${p.file} (${p.purposes.length} purpose${p.purposes.length === 1 ? '' : 's'})`).join(', '),
    });
  } catch (e) {
    if (!(e instanceof ProjectConfigError)) throw e;
    checks.push({
      name: 'project files',
      ok: false,
      detail: e.message,
      fix: 'fix the lines listed above (README, "Project file reference")',
    });
    return checks;
  }
  for (const warning of projects.flatMap((p) => p.warnings)) {
    checks.push({ name: 'project files', ok: true, warn: true, detail: warning });
  }
  // Not a project-file warning: a project run only by its own jobs is right to leave it empty.
  for (const p of projects.filter((x) => x.dataAccess.length === 0)) {
    checks.push({
      name: 'data access',
      ok: true,
      warn: true,
      detail: `${p.file} lists no one under dataAccess: once deployed, only the stage's own roles may read and write its data, and batcat pull, push and query are refused to people`,
      fix: `add the IAM role you work with (its ARN with its path) to dataAccess in ${p.file}, e.g. dataAccess: ['arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_DataScience_*']`,
    });
  }
  checks.push(bucketCheck(projects, options));
  for (const p of projects) {
    for (const purpose of p.purposes) checks.push(...purposeChecks(d, purpose));
  }
  return checks;
}

/** A purpose's container folder (or image), the command it starts, and whether python3 has what the image has. */
function purposeChecks(d: DoctorEnv, purpose: PurposeConfig): Check[] {
  const name = `container ${purpose.name}`;
  let spec: ContainerSpec | undefined;
  const rel = (f: string) => path.relative(d.rootDir, f);
  if (purpose.containerDir) {
    const missing = ['Dockerfile', 'requirements.txt'].filter((f) => !fs.existsSync(path.join(purpose.containerDir!, f)));
    if (missing.length > 0) {
      return [
        {
          name,
          ok: false,
          detail: `${rel(purpose.containerDir)} has no ${missing.join(' or ')}`,
          fix: `add ${missing.map((m) => `${rel(purpose.containerDir!)}/${m}`).join(' and ')} (batcat add purpose creates complete folders)`,
        },
      ];
    }
    spec = readContainerSpec(purpose.containerDir);
  }
  const requirements = imageRequirements(purpose, d.rootDir);
  const command = purpose.script ? ['python3', rel(purpose.script)] : containerCommand(spec, purpose.entrypoint, purpose.arguments);
  const image = purpose.containerDir ? rel(purpose.containerDir) : (purpose.framework?.name ?? purpose.image?.uri);
  const checks: Check[] = [];
  if (command.length === 0 && purpose.containerDir) {
    checks.push({
      name,
      ok: false,
      detail: `${image}/Dockerfile has no ENTRYPOINT or CMD, and the project file sets no script or entrypoint`,
      fix: 'end the Dockerfile with ENTRYPOINT ["python3", "/opt/program/<script>.py"], or set script: in the project file',
    });
    return checks;
  }
  checks.push({
    name,
    ok: true,
    detail: `${image}${command.length > 0 ? `, runs: ${command.join(' ')}` : " (the image's own entrypoint)"}`,
  });
  if (requirements.length === 0) return checks;
  const installed = d.installedVersions(
    'python3',
    requirements.map((r) => r.name),
  );
  if (!installed) return checks; // the python3 check above already says so
  const unmet = unmetRequirements(requirements, installed);
  checks.push(
    unmet.length === 0
      ? {
          name: `packages ${purpose.name}`,
          ok: true,
          detail: `python3 has ${requirements.map((r) => r.name).join(', ')} as the image does`,
        }
      : {
          name: `packages ${purpose.name}`,
          ok: false,
          warn: true,
          detail: `python3 lacks what the image has, so batcat run-local without Docker may fail where AWS would not: ${unmet.join('; ')}`,
          fix: installCommand('python3', requirements),
        },
  );
  return checks;
}

/** `batcat doctor`: prints each check with OK or a fix; exit 2 (a set-up or configuration problem) if any check failed. */
export function doctorCommand(d: DoctorEnv, out: (line: string) => void, options: DoctorOptions = {}): number {
  const checks = doctorChecks(d, options);
  for (const c of checks) {
    const mark = c.ok ? (c.warn ? '!' : '✓') : c.warn ? '!' : '✗';
    out(`${mark} ${c.name}: ${c.ok && !c.warn ? 'OK, ' : ''}${c.detail}`);
    if (c.fix && (!c.ok || c.warn)) out(`    fix: ${c.fix}`);
  }
  const failed = checks.filter((c) => !c.ok && !c.warn);
  out(failed.length === 0 ? 'ready: nothing blocks a synth or a local run' : `${failed.length} problem(s) to fix before a first deploy`);
  return failed.length === 0 ? 0 : 2;
}

/**
 * `batcat doctor --run <run id>`: the packages the run's image brought, as its manifest recorded
 * them, against `python`'s. 0: the interpreter has them all; 2: some differ (each named, with
 * the command that installs them).
 */
export function runEnvironmentReport(
  run: { readonly runId: string; readonly source: string; readonly requirements?: readonly Requirement[] },
  python: string,
  d: Pick<DoctorEnv, 'installedVersions'>,
  out: (line: string) => void,
): number {
  const requirements = run.requirements ?? [];
  out(`run ${run.runId} (${run.source}): ${requirements.length} package(s) recorded`);
  if (requirements.length === 0) {
    out(
      'nothing to compare: the image named no packages (no requirements.txt in its container or source folder, no framework), or the run is older than this record',
    );
    return 0;
  }
  const installed = d.installedVersions(
    python,
    requirements.map((r) => r.name),
  );
  if (!installed) throw new UsageError(`cannot run ${python}; install Python 3 or pass --python PATH`);
  const unmet: Requirement[] = [];
  for (const r of requirements) {
    const problem = unmetRequirement(r, installed);
    if (problem) unmet.push(r);
    const hashes = r.hashes?.length ? `, ${r.hashes.length} hash(es) pinned` : '';
    out(problem ? `✗ ${problem}` : `✓ ${wantedText(r)} (${r.from}${hashes}): ${installed[r.name]}`);
  }
  if (unmet.length === 0) {
    out(`${python} has every package the run's image had`);
    return 0;
  }
  // The versions the run had, not today's requirements files, which may have changed since.
  const pins = unmet.map((r) => `'${r.name}${r.version === undefined ? '' : r.exact ? `==${r.version}` : `==${r.version}.*`}'`);
  out(`${unmet.length} package(s) differ from run ${run.runId}'s image`);
  out(`    fix: ${python} -m pip install ${pins.join(' ')}`);
  return 2;
}
