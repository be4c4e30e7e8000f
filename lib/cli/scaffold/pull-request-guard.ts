/*
 * What `batcat init` writes so that a pull request shows, and checks, what it changes in the
 * stacks: a jest test that snapshots every synthesized template, and a CI workflow that runs it
 * and prints the snapshot diff.
 */

/** Where the template snapshots live in a new project, for the workflow's summary. */
export const SNAPSHOT_DIR = 'test/__snapshots__';

/** `test/stacks.test.js`: plain JavaScript, so the project needs jest and nothing to compile. */
export function stacksTest(): string {
  return `// Guards pull requests. Every template of every project, nested ones included, is synthesized
// as \`npx cdk synth\` does it and compared with its snapshot in ${SNAPSHOT_DIR}/, so a change to a
// project file, a container folder or batcat-cdk shows up in review as a readable diff. State
// machine definitions are unfolded, so the diff names the changed field.
// When a change is meant: npm test -- -u, and commit the updated snapshots with it.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { createBatCatApp } = require('batcat-cdk/app');

const ROOT = path.join(__dirname, '..');

let outdir;
let failure;
try {
  outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'batcat-stacks-'));
  const { context } = JSON.parse(fs.readFileSync(path.join(ROOT, 'cdk.json'), 'utf8'));
  // No Lambda bundling: the templates are what is compared. No git commit in the run manifests'
  // payload either, or every commit would change the snapshots.
  const { app } = createBatCatApp({
    rootDir: ROOT,
    outdir,
    context: { ...context, 'aws:cdk:bundling-stacks': [], 'batcat:git-commit': '' },
  });
  app.synth();
} catch (e) {
  failure = e;
}

test('the project files are valid, and cdk-nag and the CloudFormation checks find nothing unacknowledged', () => {
  if (failure) throw failure;
  const report = path.join(outdir, 'validation-report.json');
  const violations = fs.existsSync(report)
    ? JSON.parse(fs.readFileSync(report, 'utf8')).pluginReports.flatMap((p) => p.violations)
    : [];
  expect(violations).toEqual([]);
});

const templates = failure ? [] : fs.readdirSync(outdir).filter((f) => f.endsWith('.template.json')).sort();
if (templates.length > 0) {
  test.each(templates)('%s matches its snapshot', (file) => {
    expect(readable(JSON.parse(fs.readFileSync(path.join(outdir, file), 'utf8')))).toMatchSnapshot();
  });
}

/** The template with asset hashes masked and state machine definitions unfolded into objects. */
function readable(node, key) {
  if (typeof node === 'string') return node.replace(/[0-9a-f]{64}/g, '<asset hash>');
  if (Array.isArray(node)) return node.map((n) => readable(n));
  if (node === null || typeof node !== 'object') return node;
  if (key === 'DefinitionString') return unfold(node);
  return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, readable(v, k)]));
}

/** A definition written as a string, or as Fn::Join of strings and references, as an object. */
function unfold(definition) {
  const parts = typeof definition === 'string' ? [definition] : definition['Fn::Join']?.[1];
  if (!Array.isArray(parts)) return readable(definition);
  const text = parts.map((p) => (typeof p === 'string' ? p : \`<\${JSON.stringify(p).replace(/["\\\\]/g, '')}>\`)).join('');
  try {
    return readable(JSON.parse(text));
  } catch {
    return readable(text);
  }
}
`;
}

/** `.github/workflows/ci.yml`: the same checks on every pull request, and what it changes in the stacks. */
export function ciWorkflow(nodeVersion: string): string {
  return `# Every pull request: install exactly what package-lock.json says, run the tests (the template
# snapshots among them), synthesize, and show what the change does to the stacks.
name: ci
on:
  pull_request:
  push:
    branches: [main]
permissions:
  contents: read
jobs:
  check:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0
      - uses: actions/setup-node@v4
        with:
          node-version: ${nodeVersion}
          cache: npm
      - run: npm ci
      # CI=true: a template that differs from its snapshot, or has none, fails the run.
      - run: npm test
      - run: npx cdk synth
      - name: What this pull request changes in the stacks
        if: github.event_name == 'pull_request'
        env:
          BASE: origin/\${{ github.base_ref }}
        run: |
          {
            echo "## Template changes"
            echo
            git diff --stat "$BASE...HEAD" -- ${SNAPSHOT_DIR} projects containers
            echo
            echo '\`\`\`diff'
            git diff "$BASE...HEAD" -- ${SNAPSHOT_DIR} | head -c 60000
            echo '\`\`\`'
          } | tee -a "$GITHUB_STEP_SUMMARY"
`;
}
