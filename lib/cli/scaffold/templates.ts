/*
 * The files `batcat init` and `batcat add purpose` write. The layout follows BatCat's original
 * FileSys (data/, notebook/, report/, doc/, model/, log/, test/), plus what the deployment
 * needs: projects/<name>.yaml, containers/<purpose>/, package.json and cdk.json.
 */
import type { PackageInfo } from './package-info';

/** Folders every project has; data/ is git-ignored. */
export const PROJECT_FOLDERS = [
  'data/raw',
  'data/train',
  'data/test',
  'data/result',
  'data/tmp',
  'notebook',
  'report',
  'doc',
  'model',
  'log',
  'test',
];

export interface PurposeTemplate {
  readonly name: string;
  readonly description?: string;
  /** @default 'ml.m5.large' */
  readonly instanceType?: string;
  /** An EventBridge Scheduler cron (six fields). */
  readonly schedule?: string;
  /** @default 'UTC' */
  readonly timezone?: string;
  /** A query file (relative); the purpose then reads the query result instead of raw/<purpose>/. */
  readonly query?: string;
  /** The tables the query reads. */
  readonly tables?: string[];
}

/** `usage-analysis` -> `usage_analysis`: the script's file name. */
export const scriptName = (purpose: string) => `${purpose.replace(/-/g, '_')}.py`;

/** A purpose as YAML lines, indented for the `purposes:` list, with comments that explain it. */
export function purposeYaml(p: PurposeTemplate, indent = '  '): string {
  const lines = [
    `- name: ${p.name}`,
    ...(p.description ? [`  description: ${JSON.stringify(p.description)}`] : []),
    `  instanceType: ${p.instanceType ?? 'ml.m5.large'}`,
    '  maxRuntime: 1h',
  ];
  if (p.query) {
    lines.push(
      '  query:                      # runs in Athena first; the job reads the result in input/query/',
      `    file: ${p.query}`,
      `    tables: [${(p.tables ?? []).join(', ')}]`,
      `    # local: ${p.query.replace(/\.sql$/, '.sample.csv')}   # stands in for the result in batcat run-local`,
    );
  } else {
    lines.push(
      '  inputs:',
      '    - name: raw                # the script reads /opt/ml/processing/input/raw/',
      `      prefix: raw/${p.name}/${' '.repeat(Math.max(1, 18 - p.name.length))}# s3://<its bucket>/raw/${p.name}/dt=YYYY-MM-DD/ (locally data/raw/${p.name}/dt=YYYY-MM-DD/)`,
      '      partitioned: true        # each run reads the dt= folder of its day',
    );
  }
  lines.push(
    '  outputs:',
    `    - name: result             # -> results/${p.name}/result/dt=YYYY-MM-DD/ (locally data/result/${p.name}/dt=YYYY-MM-DD/result/)`,
  );
  if (p.schedule) {
    lines.push(
      '  triggers:',
      '    schedule:',
      `      cron: ${JSON.stringify(p.schedule)}   # runs the window that just ended`,
      `      timezone: ${p.timezone ?? 'UTC'}`,
    );
  } else {
    lines.push(
      '  # triggers:',
      '  #   schedule:',
      '  #     cron: "0 2 * * ? *"      # 02:00 every day: runs the day that just ended',
      '  #     timezone: UTC',
    );
  }
  return lines.map((l) => `${indent}${l}`).join('\n') + '\n';
}

export function projectYaml(project: string, description: string, purpose: PurposeTemplate): string {
  return `# ${project}: ${description}
# One file per project; each purpose is one processing job. \`npx cdk synth\` checks this file
# and says what is wrong, with the line. Reference: the batcat-cdk README, "Project file reference".
project: ${project}              # names the stack (batcat-${project}-dev), the jobs and the Glue database
stage: dev
description: ${JSON.stringify(description)}
alarmEmails: []                    # e-mail addresses that hear about failed runs
# Who may push, pull and query the data besides the stage's own jobs: IAM role ARNs with their
# path; a '*' may stand for the random end of an AWS SSO role name. Everyone else is refused.
dataAccess: []
storage: per-purpose               # each purpose's data in a bucket of its own; or: shared (one project bucket)

purposes:
${purposeYaml(purpose)}`;
}

export function dockerfile(purpose: string): string {
  return `# The ${purpose} purpose image. SageMaker Processing runs it on linux/amd64.
FROM public.ecr.aws/docker/library/python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \\
    PYTHONUNBUFFERED=1

WORKDIR /opt/program
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY ${scriptName(purpose)} .

# batcat run-local runs this script with your local python3, so keep the exec form.
ENTRYPOINT ["python3", "/opt/program/${scriptName(purpose)}"]
`;
}

export function requirements(purpose: string): string {
  return `# ${scriptName(purpose)} needs only the Python standard library so far.
# Add the packages your script imports, pinned (e.g. pandas==2.2.3); the image installs them,
# and for batcat run-local install them locally too (pip install -r requirements.txt).
`;
}

/** A script that already follows the processing contract: read the inputs, write the outputs, report failure. */
export function script(purpose: string, input: string): string {
  return `"""${purpose}: a BatCat purpose, run as a SageMaker Processing job.

The processing contract:
- inputs are folders under <root>/processing/input/<name>/ (here: '${input}');
- outputs are written to <root>/processing/output/<name>/ (here: 'result');
- the exit code decides success; on failure, write the reason to <root>/output/message.
<root> is /opt/ml in the job and in batcat run-local; BATCAT_PROCESSING_ROOT points it elsewhere when you run the script by hand.
The run's window is in BATCAT_WINDOW_START and BATCAT_WINDOW_END (YYYY-MM-DD, both included).

Replace summarize() with your analysis.
"""

import csv
import os
import sys
import traceback
from pathlib import Path

INPUT = "${input}"
OUTPUT = "result"


class InputError(Exception):
    """The input breaks the expected format; the message says where and how."""


def root() -> Path:
    return Path(os.environ.get("BATCAT_PROCESSING_ROOT", "/opt/ml"))


def report_failure(message: str) -> None:
    path = root() / "output" / "message"
    path.parent.mkdir(parents=True, exist_ok=True)
    # SageMaker shows at most 1 KB of the message as the job's FailureReason.
    path.write_text(message[:1000], encoding="utf-8")


def summarize(files, folder: Path, target: Path) -> None:
    """One row per input file: its rows and columns. Replace with your analysis."""
    with open(target, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["file", "rows", "columns", "window_start", "window_end"])
        for path in files:
            with open(path, newline="", encoding="utf-8") as handle:
                reader = csv.reader(handle)
                header = next(reader, [])
                rows = sum(1 for _ in reader)
            writer.writerow([path.relative_to(folder).as_posix(), rows, len(header),
                             os.environ.get("BATCAT_WINDOW_START", ""), os.environ.get("BATCAT_WINDOW_END", "")])


def main() -> int:
    base = root() / "processing"
    folder = base / "input" / INPUT
    files = sorted(p for p in folder.rglob("*.csv") if p.is_file()) if folder.is_dir() else []
    if not files:
        raise InputError(f"no .csv files under {folder}")
    target = base / "output" / OUTPUT / "summary.csv"
    target.parent.mkdir(parents=True, exist_ok=True)
    summarize(files, folder, target)
    print(f"summarized {len(files)} file(s) into {target}", flush=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except InputError as error:
        report_failure(f"InputError: {error}")
        print(f"InputError: {error}", file=sys.stderr)
        sys.exit(1)
    except Exception as error:  # anything else: keep the type and message, print the trace
        report_failure(f"{type(error).__name__}: {error}")
        traceback.print_exc()
        sys.exit(1)
`;
}

/** A starter query: the window's days of the first table. */
export function querySql(table: string): string {
  return `-- The two placeholders are the run's window start and end ('YYYY-MM-DD'), bound by Athena
-- as parameters: never paste dates into this text.
SELECT *
FROM ${table}
WHERE dt BETWEEN ? AND ?
`;
}

export function gitignore(): string {
  return `# Data stays out of git: pull it with batcat pull, keep it in the project bucket.
# Its folders stay, by their .gitkeep files, so a clone has the layout.
data/**
!data/**/
!data/**/.gitkeep
# Local runs, CDK output and dependencies.
runs/
cdk.out/
node_modules/
__pycache__/
.ipynb_checkpoints/
`;
}

export function packageJson(project: string, info: PackageInfo, batcatSpec: string): string {
  return `${JSON.stringify(
    {
      name: project,
      version: '0.1.0',
      private: true,
      description: `BatCat project ${project}`,
      scripts: {
        test: 'jest',
        synth: 'cdk synth',
        deploy: 'cdk deploy',
        doctor: 'batcat doctor',
        'run-local': 'batcat run-local',
      },
      dependencies: {
        ...info.commandDependencies,
        'aws-cdk-lib': info.awsCdkLib,
        'batcat-cdk': batcatSpec,
        constructs: info.constructs,
      },
      devDependencies: {
        'aws-cdk': info.awsCdkCli,
        jest: info.jest,
      },
      jest: {
        testEnvironment: 'node',
        testPathIgnorePatterns: ['/node_modules/', '<rootDir>/cdk.out/'],
        modulePathIgnorePatterns: ['<rootDir>/cdk.out/'],
      },
    },
    null,
    2,
  )}\n`;
}

export function cdkJson(info: PackageInfo): string {
  // quiet: the app prints a summary; the templates are in cdk.out/.
  return `${JSON.stringify({ app: 'node node_modules/batcat-cdk/dist/bin/app.js', quiet: true, context: info.cdkContext }, null, 2)}\n`;
}

export function projectReadme(project: string, description: string, purpose: string): string {
  return `# ${project}

${description}

## Layout

| Folder | What goes there |
| --- | --- |
| \`data/\` | Local data, never committed: \`raw/\` as delivered, \`train/\` and \`test/\` for modelling, \`result/\` for outputs (local runs write \`result/<purpose>/dt=YYYY-MM-DD/\`), \`tmp/\`. |
| \`notebook/\` | Exploration. |
| \`report/\` | Figures and reports. |
| \`doc/\` | The project write-up (\`doc/README.md\`). |
| \`model/\` | Trained model artifacts. |
| \`log/\` | Logs worth keeping. |
| \`test/\` | Tests of your scripts. |
| \`projects/${project}.yaml\` | The purposes (processing jobs), their inputs, outputs and schedules. |
| \`containers/<purpose>/\` | Each purpose's Dockerfile, requirements.txt and script. |
| \`runs/\` | Records of local runs (\`batcat runs --local\`). |

## Working on it

\`\`\`sh
npm install                                         # once: the CDK app and the batcat command
npx batcat doctor                                   # checks Node, Python, AWS credentials, the project file
mkdir -p data/raw/${purpose}/dt=2026-01-01 && cp my.csv data/raw/${purpose}/dt=2026-01-01/
npx batcat run-local ${project} ${purpose} --date 2026-01-01   # the real state machine, on this machine
npx cdk synth                                       # checks everything, offline
npx cdk deploy                                      # needs AWS credentials and a bootstrapped account
npx batcat run ${project} ${purpose} --date 2026-01-01 --wait
\`\`\`

Add a purpose with \`npx batcat add purpose ${project} <name>\`.
`;
}

/** The write-up template, after "How to ML Paper - A brief Guide". */
export function docReadme(project: string): string {
  return `# ${project}

Write this as if for a reader who joins the project in a year, maybe you.

## Abstract
The problem, what you did, what came out, in five sentences.

## Introduction
Why the problem matters, for whom, and what a good answer changes.

## Related work
What was tried before (here and elsewhere), and what it lacked.

## Data
Sources, time range, size, how it was collected, known gaps and biases.
Where it lives (bucket and prefixes, Glue tables) and how to get it (\`batcat pull\`).

## Method
The approach, its assumptions, and why it fits the data.

## Experiments
Setup, baselines, metrics, and how to reproduce each result (commands, purposes, dates).

## Results
Tables and figures (in \`report/\`), with what they show.

## Discussion
What the results mean, where they fail, what is still uncertain.

## Conclusion and next steps

## References
`;
}
