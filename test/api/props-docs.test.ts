import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';
import { REPO_ROOT } from '../helpers';

/*
 * The construct library's props are documented as aws-cdk's design guidelines ask: every
 * property of an exported interface in lib/constructs/ and lib/app/ has a summary, and every
 * optional one says its `@default`.
 */

function propsProblems(): string[] {
  const problems: string[] = [];
  for (const dir of ['constructs', 'app']) {
    for (const name of fs.readdirSync(path.join(REPO_ROOT, 'lib', dir)).filter((f) => f.endsWith('.ts'))) {
      const rel = path.join('lib', dir, name);
      const sf = ts.createSourceFile(rel, fs.readFileSync(path.join(REPO_ROOT, rel), 'utf8'), ts.ScriptTarget.Latest, true);
      sf.forEachChild((node) => {
        if (!ts.isInterfaceDeclaration(node) || !node.modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)) return;
        for (const member of node.members) {
          if (!ts.isPropertySignature(member)) continue;
          const where = `${rel}: ${node.name.text}.${member.name.getText(sf)}`;
          const docs = ts.getJSDocCommentsAndTags(member).filter(ts.isJSDoc);
          const summary = docs
            .map((d) => (typeof d.comment === 'string' ? d.comment : (d.comment ?? []).map((c) => c.text).join('')))
            .join('')
            .trim();
          if (summary === '') problems.push(`${where} has no summary`);
          const hasDefault = docs.some((d) => (d.tags ?? []).some((t) => t.tagName.text === 'default'));
          if (member.questionToken && !hasDefault) problems.push(`${where} is optional but has no @default`);
        }
      });
    }
  }
  return problems;
}

test('every prop of the public constructs has a summary, and every optional one a @default', () => {
  expect(propsProblems()).toEqual([]);
});
