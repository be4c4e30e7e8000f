import * as fs from 'node:fs';
import * as path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { parseDocument } from 'yaml';
import { tempDir } from '../helpers';
import { batcat, exampleCopy } from './cli-process';

/*
 * `batcat profile --html`: the page of two local runs' profiles, opened in headless Chromium
 * (Debian's chromium package, /usr/bin/chromium; .ci/run installs it): it renders, with a chart
 * per column and run, the rules with their state, no console error and no request beyond itself.
 */

jest.setTimeout(120_000);

const CHROMIUM = '/usr/bin/chromium';
// As the machine notes say: without the networking flags Chromium keeps calling Google's hosts, which this network refuses.
const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

function withUsage(root: string, day: string, csv: string): void {
  const dir = path.join(root, 'data', 'raw', 'usage', `dt=${day}`);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'part-0001.csv'), csv);
}

describe('batcat profile --html', () => {
  let browser: Browser;
  beforeAll(async () => {
    if (!fs.existsSync(CHROMIUM))
      throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium), as .ci/run does`);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
  });
  afterAll(async () => {
    await browser?.close();
  });

  test('one self-contained page: a chart per column and run, null and distinct bars, the rules with their state', async () => {
    const root = exampleCopy();
    // warn, so that the second run counts though it breaks total_usage: { min: 0 }.
    const file = path.join(root, 'projects', '2022-rnd-battery.yaml');
    const doc = parseDocument(fs.readFileSync(file, 'utf8'));
    doc.setIn(['purposes', 0, 'outputs', 0, 'onViolation'], 'warn');
    fs.writeFileSync(file, doc.toString());
    withUsage(root, '2026-11-21', 'vin,time,usage\nVIN1,2026-11-21T07:00:00,4\nVIN2,2026-11-21T08:00:00,1.5\nVIN3,2026-11-21T08:00:00,1\n');
    withUsage(root, '2026-11-22', 'vin,time,usage\nVIN1,2026-11-22T07:00:00,-4\nVIN2,2026-11-22T08:00:00,2\n');
    for (const day of ['2026-11-21', '2026-11-22']) {
      expect(batcat(['run-local', '2022-rnd-battery', 'usage-analysis', '--date', day, '--engine', 'namespace'], root).code).toBe(0);
    }
    const out = path.join(tempDir('batcat-html-'), 'profile.html');
    const r = batcat(
      ['profile', '2022-rnd-battery', 'usage-analysis', '--local', '--date', '2026-11-22', '--html', out, '--compare', '2026-11-21'],
      root,
    );
    expect(r.err).toBe('');
    expect(r.out).toBe(`wrote ${out}: 1 output(s), 7 column(s); open it in a browser (it needs no network)\n`);

    const page = await browser.newPage();
    const problems: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('request', (q) => requests.push(q.url()));
    await page.goto(`file://${out}`);
    expect(await page.title()).toBe('usage-analysis: run usage-analysis-20261122-a1 and run usage-analysis-20261121-a1');
    const columns = page.locator('section.output[data-output="summary"] section.column');
    expect(await columns.count()).toBe(7);
    for (let k = 0; k < 7; k++) {
      // One chart per run, each drawn: bars with a height, or the note that there is nothing to chart.
      const charts = columns.nth(k).locator('svg.chart');
      expect(await charts.count()).toBe(2);
      for (let c = 0; c < 2; c++) {
        const box = await charts.nth(c).boundingBox();
        expect(box!.width).toBeGreaterThan(100);
        expect(await charts.nth(c).locator('rect, text').count()).toBeGreaterThan(0);
      }
      expect(await columns.nth(k).locator('.share').count()).toBe(4);
    }
    const totals = page.locator('section.column[data-column="total_usage"]');
    expect(await totals.locator('svg.chart').first().getAttribute('aria-label')).toBe('histogram of total_usage');
    expect(await page.locator('section.column[data-column="vin"] svg.chart').first().getAttribute('aria-label')).toBe('top values of vin');
    const rules = await page.locator('table.rules tr').allInnerTexts();
    expect(rules.map((t) => t.split('\t').slice(0, 2).join(' '))).toEqual([
      'rule run usage-analysis-20261122-a1',
      'rows.min pass',
      'columns.vin.notNull pass',
      'columns.vin.unique pass',
      'columns.total_usage.min fail',
    ]);
    expect(rules[4]).toContain('column total_usage has minimum -4; rule min is 0');
    expect(problems).toEqual([]);
    expect(requests).toEqual([`file://${out}`]);
    await page.close();
  });

  test('--compare needs --html, and a day no run covers is named', () => {
    const root = exampleCopy();
    const r = batcat(['profile', '2022-rnd-battery', 'usage-analysis', '--local', '--compare', '2026-11-21'], root);
    expect(r.code).toBe(2);
    expect(r.err).toContain('--compare shows two runs side by side on the HTML page; give --html <file> too');
    const none = batcat(['profile', '2022-rnd-battery', 'usage-analysis', '--local', '--html', 'x.html'], root);
    expect(none.code).toBe(2);
    expect(none.err).toContain('no successful local run of usage-analysis; run it with batcat run-local');
  });
});
