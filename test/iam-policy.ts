/*
 * A small evaluator of IAM policy statements as synthesized, for proving who may do what:
 * actions and `aws:PrincipalArn`-style conditions with IAM's glob matching (`*`, `?`), the
 * operators our policies use, and IAM's rule that an explicit Deny wins over any Allow.
 * Resources are not matched (the caller picks the statements of one bucket or key).
 */

type Statement = { Effect: 'Allow' | 'Deny'; Action?: string | string[]; Condition?: Record<string, Record<string, unknown>> };

/** IAM's `StringLike`: `*` any run of characters (`/` included), `?` one. Case-sensitive. */
export function globMatches(pattern: string, value: string): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );
  return re.test(value);
}

/** Whether a statement's `Action` covers `action` (service prefixes compared without case, as IAM does). */
function actionCovered(actions: string | string[] | undefined, action: string): boolean {
  return [actions ?? []].flat().some((a) => globMatches(a.toLowerCase(), action.toLowerCase()));
}

/** Whether every condition holds for a request with these context keys (absent keys as IAM treats them). */
function conditionsHold(condition: Statement['Condition'], context: Record<string, string>): boolean {
  for (const [operator, keys] of Object.entries(condition ?? {})) {
    for (const [key, given] of Object.entries(keys)) {
      const values = [given].flat().map(String);
      const actual = context[key];
      const ifExists = operator.endsWith('IfExists');
      const op = operator.replace(/IfExists$/, '');
      if (actual === undefined) {
        if (op === 'Null') {
          if (!values.includes('true')) return false;
          continue;
        }
        // Absent: an ...IfExists or a negated operator holds, the others do not.
        if (ifExists || /Not/.test(op)) continue;
        return false;
      }
      const holds = (() => {
        switch (op) {
          case 'StringLike':
          case 'ArnLike':
            return values.some((v) => globMatches(v, actual));
          case 'StringNotLike':
          case 'ArnNotLike':
            return !values.some((v) => globMatches(v, actual));
          case 'StringEquals':
          case 'Bool':
            return values.includes(actual);
          case 'StringNotEquals':
            return !values.includes(actual);
          case 'Null':
            return values.includes('false');
          default:
            throw new Error(`the evaluator does not know the condition operator ${operator}`);
        }
      })();
      if (!holds) return false;
    }
  }
  return true;
}

/** IAM's answer for one request against a list of statements: an explicit deny wins, then any allow. */
export function decide(statements: readonly unknown[], action: string, context: Record<string, string>): 'deny' | 'allow' | 'none' {
  const applicable = (statements as Statement[]).filter((s) => actionCovered(s.Action, action) && conditionsHold(s.Condition, context));
  if (applicable.some((s) => s.Effect === 'Deny')) return 'deny';
  return applicable.some((s) => s.Effect === 'Allow') ? 'allow' : 'none';
}

/**
 * A template value with `Fn::Join` joined and the pseudo-parameters filled in (`aws`,
 * `account`, `us-east-1`); other references stay as `<Ref:X>` and `<GetAtt:X.Y>`.
 */
export function resolved(value: unknown, account: string): any {
  if (Array.isArray(value)) return value.map((v) => resolved(v, account));
  if (value === null || typeof value !== 'object') return value;
  const o = value as Record<string, any>;
  if (o['Fn::Join']) return (o['Fn::Join'][1] as unknown[]).map((p) => String(resolved(p, account))).join(o['Fn::Join'][0]);
  if (o.Ref !== undefined)
    return (
      ({ 'AWS::Partition': 'aws', 'AWS::AccountId': account, 'AWS::Region': 'us-east-1' } as Record<string, string>)[o.Ref] ??
      `<Ref:${o.Ref}>`
    );
  if (o['Fn::GetAtt']) return `<GetAtt:${[o['Fn::GetAtt']].flat().join('.')}>`;
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, resolved(v, account)]));
}
