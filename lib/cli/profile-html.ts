/*
 * `batcat profile --html`: one self-contained HTML page (inline CSS and SVG, no script, nothing
 * fetched) of the profiles of a run's table outputs: per column a chart (the histogram of a
 * number, the top values of a string), null and distinct bars, and the output's rules with
 * their pass/fail state; with a second run, both side by side.
 */
import { checkRules, type OutputRules, type Violation } from '../contract/data-rules';
import type { ColumnProfile, TableProfile } from '../contract/profile';

/** One output on the page: its profile, and the other run's when comparing. */
export interface ProfilePageOutput {
  readonly output: string;
  readonly profile: TableProfile;
  readonly compare?: TableProfile;
  readonly rules?: OutputRules;
  /** The profile `drift` compares with (the previous window's); none: drift is not checked. */
  readonly previous?: TableProfile;
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const num = (v: number | string | undefined) =>
  v === undefined ? '' : typeof v === 'string' ? v : Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6)));

/** Every rule of `rules` by the name a violation carries, with its pass/fail state. */
export function ruleStates(
  rules: OutputRules,
  profile: TableProfile,
  previous?: TableProfile,
): Array<{ rule: string; state: 'pass' | 'fail' | 'not checked'; message?: string }> {
  const broken = new Map<string, Violation>(checkRules(rules, profile, previous).map((v) => [v.rule, v]));
  const names: string[] = [
    ...(['min', 'max'] as const).filter((k) => rules.rows?.[k] !== undefined).map((k) => `rows.${k}`),
    ...(rules.drift?.rows !== undefined ? ['drift.rows'] : []),
    ...Object.entries(rules.columns ?? {}).flatMap(([c, r]) => Object.keys(r).map((k) => `columns.${c}.${k}`)),
  ];
  const states = names.map((rule) => {
    const v = broken.get(rule);
    if (v) return { rule, state: 'fail' as const, message: v.message };
    if (rule === 'drift.rows' && !previous) return { rule, state: 'not checked' as const, message: 'no earlier window to compare with' };
    return { rule, state: 'pass' as const };
  });
  // A column the rules name but the profile lacks breaks every rule on it.
  for (const v of broken.values()) if (!names.includes(v.rule)) states.push({ rule: v.rule, state: 'fail', message: v.message });
  return states;
}

/** A bar chart as inline SVG: one bar per value, labelled below. */
function bars(values: ReadonlyArray<{ label: string; count: number }>, title: string): string {
  const w = 320;
  const h = 120;
  const top = Math.max(1, ...values.map((v) => v.count));
  const bw = values.length > 0 ? w / values.length : w;
  const rects = values
    .map((v, k) => {
      const bh = Math.round((v.count / top) * (h - 20));
      return `<rect x="${(k * bw + 1).toFixed(1)}" y="${h - 20 - bh}" width="${Math.max(1, bw - 2).toFixed(1)}" height="${bh}"><title>${esc(v.label)}: ${v.count}</title></rect>`;
    })
    .join('');
  const first = values[0]?.label ?? '';
  const last = values[values.length - 1]?.label ?? '';
  return (
    `<svg class="chart" role="img" aria-label="${esc(title)}" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}">${rects}` +
    `<text x="0" y="${h - 4}">${esc(first)}</text><text x="${w}" y="${h - 4}" text-anchor="end">${values.length > 1 ? esc(last) : ''}</text></svg>`
  );
}

function chart(c: ColumnProfile): string {
  if (c.histogram)
    return bars(
      c.histogram.map((b) => ({ label: num(b.lower), count: b.count })),
      `histogram of ${c.name}`,
    );
  if (c.top && c.top.length > 0)
    return bars(
      c.top.map((t) => ({ label: t.value, count: t.count })),
      `top values of ${c.name}`,
    );
  return `<svg class="chart" role="img" aria-label="no values of ${esc(c.name)}" viewBox="0 0 320 120" width="320" height="120"><text x="160" y="60" text-anchor="middle">no values to chart</text></svg>`;
}

/** A share of the rows as a bar. */
function share(label: string, n: number, rows: number): string {
  const pct = rows === 0 ? 0 : Math.min(100, (n / rows) * 100);
  return `<div class="share"><span>${label} ${n} (${pct.toFixed(pct < 10 ? 1 : 0)}%)</span><div class="bar"><div style="width:${pct.toFixed(1)}%"></div></div></div>`;
}

function columnRun(c: ColumnProfile | undefined, p: TableProfile): string {
  if (!c) return `<div class="run"><p class="missing">not in run ${esc(p.runId)}</p></div>`;
  const stats = [
    ['min', num(c.min)],
    ['max', num(c.max)],
    ['mean', num(c.mean)],
    ['p50', num(c.quantiles?.p50)],
    ['stddev', num(c.stddev)],
  ].filter(([, v]) => v !== '');
  return (
    `<div class="run"><div class="who">${esc(p.window.start)} · ${esc(p.runId)}</div>${chart(c)}` +
    share('nulls', c.nulls, p.rows) +
    share('distinct', c.distinct, p.rows) +
    `<dl>${stats.map(([k, v]) => `<dt>${k}</dt><dd>${esc(v)}</dd>`).join('')}</dl></div>`
  );
}

function outputSection(o: ProfilePageOutput): string {
  const runs = [o.profile, ...(o.compare ? [o.compare] : [])];
  const names = [...new Set(runs.flatMap((p) => p.columns.map((c) => c.name)))];
  const states = o.rules ? ruleStates(o.rules, o.profile, o.previous) : [];
  const rules =
    states.length === 0
      ? '<p>No rules (batcat rules suggest writes some from recent runs).</p>'
      : `<table class="rules"><tr><th>rule</th><th>run ${esc(o.profile.runId)}</th><th></th></tr>${states
          .map(
            (s) =>
              `<tr class="${s.state.replace(' ', '-')}"><td>${esc(s.rule)}</td><td>${s.state}</td><td>${esc(s.message ?? '')}</td></tr>`,
          )
          .join('')}</table>`;
  const columns = names
    .map((name) => {
      const type = runs.map((p) => p.columns.find((c) => c.name === name)?.type).find((t) => t !== undefined) ?? '';
      return `<section class="column" data-column="${esc(name)}"><h3>${esc(name)} <small>${esc(type)}</small></h3><div class="runs">${runs
        .map((p) =>
          columnRun(
            p.columns.find((c) => c.name === name),
            p,
          ),
        )
        .join('')}</div></section>`;
    })
    .join('');
  const rows = runs
    .map((p) => `${p.rows} row(s) in ${esc(p.window.start)}${p.window.end !== p.window.start ? ` .. ${esc(p.window.end)}` : ''}`)
    .join(' vs ');
  return `<section class="output" data-output="${esc(o.output)}"><h2>${esc(o.profile.purpose)}/${esc(o.output)} <small>table ${esc(o.profile.table)}</small></h2><p>${rows}</p><h3>Rules</h3>${rules}${columns}</section>`;
}

const STYLE = `body{font:14px system-ui,sans-serif;margin:24px;color:#222}h2{margin-top:32px}small{color:#777;font-weight:normal}
.column{border-top:1px solid #ddd;padding:8px 0}.runs{display:flex;gap:32px;flex-wrap:wrap}.run{width:340px}.who{color:#555;font-size:12px}
.chart rect{fill:#4a78b5}.chart text{font-size:10px;fill:#555}.share span{font-size:12px}.bar{background:#eee;height:6px;margin-bottom:4px}
.bar div{background:#d9822b;height:6px}dl{display:grid;grid-template-columns:auto 1fr;gap:0 8px;font-size:12px}dd{margin:0}
table.rules{border-collapse:collapse}.rules td,.rules th{padding:2px 8px;text-align:left}.rules .pass td:nth-child(2){color:#2a7d2a}
.rules .fail td:nth-child(2){color:#b22;font-weight:bold}.rules .not-checked td:nth-child(2){color:#777}.missing{color:#b22}`;

/** The whole page. */
export function profilePage(title: string, outputs: readonly ProfilePageOutput[]): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title><style>${STYLE}</style></head><body><h1>${esc(title)}</h1>${outputs
    .map(outputSection)
    .join('')}</body></html>\n`;
}
