// check_dashboard.mjs - renders the page of `cxm dashboard` in Debian's
// headless Chromium (playwright-core, no browser download) and checks that it
// has no console error and that its charts carry the numbers of
// `cxm report --format json` and `cxm cohorts --format json` for the same
// input. Keeps screenshots (desktop, phone width, print) in OUTDIR.
//
//   node check_dashboard.mjs CXM INPUT OUTDIR
//
// Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const [cxm, input, outdir] = process.argv.slice(2);
if (!cxm || !input || !outdir) {
  console.error('usage: node check_dashboard.mjs CXM INPUT OUTDIR');
  process.exit(2);
}
mkdirSync(outdir, { recursive: true });
const html = resolve(join(outdir, 'dashboard.html'));
const run = (args) => execFileSync(cxm, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });

const report = JSON.parse(run(['report', '--format', 'json', input]));
let cohorts = null;
try { cohorts = JSON.parse(run(['cohorts', '--format', 'json', input])); } catch { cohorts = null; }
run(['dashboard', '--benchmark', 'nps=30', '--benchmark', 'csat=80', '--model', 'linear',
     '--bucket', 'week', '--title', 'Sample <stream> & co', input, '-o', html]);

let failures = 0;
const fail = (msg) => { failures++; console.error('FAIL: ' + msg); };
const num = (v) => (v === null || v === undefined || v === '' ? null : Number(v));
const close = (a, b, what) => {
  a = num(a); b = num(b);
  if (a === null || b === null) { if (a !== b) fail(`${what}: ${a} vs ${b}`); return; }
  if (Math.abs(a - b) > 1e-9 * Math.max(1, Math.abs(b))) fail(`${what}: page ${a}, report ${b}`);
};

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
const errors = [];
page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') errors.push(m.text()); });
page.on('pageerror', (e) => errors.push(String(e)));
page.on('request', (r) => { if (!r.url().startsWith('file:')) errors.push('network request: ' + r.url()); });
await page.goto(pathToFileURL(html).href);

// Title: escaped, shown as text.
const h1 = await page.textContent('h1');
if (h1 !== 'Sample <stream> & co') fail(`title rendered as ${JSON.stringify(h1)}`);

// Tiles = the report's "all" scope.
const tiles = await page.$$eval('#tiles .tile', (ts) => ts.map((t) => ({
  kpi: t.dataset.kpi, value: t.dataset.value, n: t.dataset.n,
  gap: t.querySelector('.g') ? t.querySelector('.g').dataset.gap : null })));
if (tiles.length < 8) fail(`only ${tiles.length} tiles`);
for (const t of tiles) {
  const r = report.all[t.kpi];
  if (!r) { fail(`tile ${t.kpi} not in the report`); continue; }
  close(t.value, r.value, `tile ${t.kpi}`);
  close(t.n, r.n, `tile ${t.kpi} n`);
  if (t.kpi === 'nps') close(t.gap, r.value - 30, 'NPS benchmark gap');
  if (t.kpi === 'csat') close(t.gap, r.value - 80, 'CSAT benchmark gap');
}

// NPS and CSAT series: every answer falls in one bucket; bands hold the value.
for (const [id, key] of [['nps-chart', 'nps'], ['csat-chart', 'csat']]) {
  const pts = await page.$$eval(`#${id} circle`, (cs) => cs.map((c) => ({
    v: Number(c.dataset.value), n: Number(c.dataset.n),
    lo: c.dataset.lo === undefined ? null : Number(c.dataset.lo),
    hi: c.dataset.hi === undefined ? null : Number(c.dataset.hi) })));
  if (report.all[key].n > 0 && pts.length === 0) fail(`${id}: no points`);
  const total = pts.reduce((s, p) => s + p.n, 0);
  if (total !== report.all[key].n) fail(`${id}: buckets hold ${total} answers, report ${report.all[key].n}`);
  for (const p of pts) if (p.lo !== null && !(p.lo <= p.v + 1e-9 && p.v <= p.hi + 1e-9)) fail(`${id}: band ${p.lo}..${p.hi} misses ${p.v}`);
  // Answer-weighted mean of bucket NPS = overall NPS (both are linear in counts).
  if (pts.length && key === 'nps') close(pts.reduce((s, p) => s + p.v * p.n, 0) / total, report.all.nps.value, 'weighted NPS of buckets');
}

// Funnel = the report's funnel object.
if (report.funnel) {
  const stages = await page.$$eval('#funnel g[data-stage]', (gs) => gs.map((g) => ({
    stage: g.dataset.stage, customers: g.dataset.customers, conversion: g.dataset.conversion })));
  if (stages.length !== 4) fail(`funnel has ${stages.length} stages`);
  for (const s of stages) {
    close(s.customers, report.funnel[s.stage].customers, `funnel ${s.stage} customers`);
    if (s.stage !== 'awareness') close(s.conversion, report.funnel[s.stage].conversion_from_previous, `funnel ${s.stage} conversion`);
  }
} else fail('the report has no funnel object');

// Attribution (linear) = the report's.
if (report.attribution && report.attribution.linear) {
  const rows = await page.$$eval('#attribution g[data-channel]', (gs) => gs.map((g) => ({
    ch: g.dataset.channel, revenue: g.dataset.revenue, orders: g.dataset.orders, roas: g.dataset.roas })));
  if (rows.length === 0) fail('no attribution rows');
  for (const r of rows) {
    const want = report.attribution.linear[r.ch];
    if (!want) { fail(`attribution channel ${r.ch} not in the report`); continue; }
    close(r.revenue, want.revenue, `attribution ${r.ch} revenue`);
    close(r.orders, want.orders, `attribution ${r.ch} orders`);
    close(r.roas === '' ? null : r.roas, want.roas, `attribution ${r.ch} roas`);
  }
} else fail('the report has no attribution.linear object');

// Cohort heat map = `cxm cohorts`.
if (cohorts) {
  const rows = await page.$$eval('#cohorts tr[data-cohort]', (rs) => rs.map((r) => ({
    month: r.dataset.cohort, size: Number(r.dataset.size),
    shares: [...r.querySelectorAll('td[data-share]')].map((td) => Number(td.dataset.share)) })));
  if (rows.length === 0) fail('no cohort rows');
  for (const r of rows) {
    const want = cohorts.cohorts.find((c) => c.month === r.month);
    if (!want) { fail(`cohort ${r.month} not in cxm cohorts`); continue; }
    if (want.size !== r.size) fail(`cohort ${r.month} size ${r.size} vs ${want.size}`);
    r.shares.forEach((s, k) => close(s, want.on[k], `cohort ${r.month} month ${k}`));
  }
} else fail('cxm cohorts --format json failed');

// Segment table = the report's segments.
const segs = await page.$$eval('#segments tr[data-segment]', (rs) => rs.map((r) => ({
  seg: r.dataset.segment,
  cells: [...r.querySelectorAll('td[data-kpi]')].map((td) => ({ kpi: td.dataset.kpi, value: td.dataset.value })) })));
for (const s of segs) {
  const scope = s.seg === '' ? report.all : report.segments[s.seg];
  if (!scope) { fail(`segment ${s.seg} not in the report`); continue; }
  for (const c of s.cells) close(c.value, scope[c.kpi].value, `segment ${s.seg || 'all'} ${c.kpi}`);
}
if (segs.length !== 1 + Object.keys(report.segments).length) fail(`segment table has ${segs.length} rows`);

await page.screenshot({ path: join(outdir, 'dashboard.png'), fullPage: true });

// Phone width: nothing wider than the screen outside the scrolling tables.
await page.setViewportSize({ width: 375, height: 800 });
const overflow = await page.evaluate(() => document.documentElement.scrollWidth);
if (overflow > 380) fail(`page is ${overflow} px wide at a 375 px viewport`);
await page.screenshot({ path: join(outdir, 'dashboard-phone.png'), fullPage: true });
await page.emulateMedia({ media: 'print' });
await page.setViewportSize({ width: 1000, height: 1400 });
await page.screenshot({ path: join(outdir, 'dashboard-print.png'), fullPage: true });
await browser.close();

for (const e of errors) fail('console: ' + e);
if (failures) { console.error(`${failures} failure(s)`); process.exit(1); }
console.log(`dashboard OK: ${tiles.length} tiles, ${segs.length} segment rows; screenshots in ${outdir}`);
