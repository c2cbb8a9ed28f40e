// report.mjs - the KPI report of `cxm report --format json`, computed by
// DuckDB with SQL written for the purpose. The benchmark's peer.
//
// Copyright (c) 2026 The libcxmetrics authors. MIT licence, see COPYING.
//
// Usage: node report.mjs [--threads N] [--max-lateness S] [--timing] FILE...
//
// Reads canonical event CSV files (header names the columns: time, customer,
// type, channel, value, value2, segments; others ignored) and prints
//   {"all": {KPI: {...}}, "segments": {SEG: {...}}, "channels": {CH: {...}},
//    "segment_channels": {SEG: {CH: {...}}}}
// with every KPI as {"value": ..., "n": ...} (nps adds moe95 and the three
// counts). Semantics (docs/kpis.md of the library has the same definitions):
// - An event is accepted as the library accepts it: known type, a customer
//   for all types but spend, numbers in range (scores integers in range,
//   money >= 0 and present, session numbers >= 0 or absent), time in
//   [1970-01-01, 2105-12-31], and not older than the newest earlier event of
//   its customer (of its channel, for spend) by more than the lateness bound
//   (default 604800 s). Rejected lines change nothing.
// - Segments: a non-empty `segments` cell sets the customer's segments from
//   that event on (inclusive), `-` clears them, empty keeps them. Event-level
//   KPIs of a segment count the events whose customer held the segment at
//   event time (file order). Customer-level KPIs of a segment count the
//   customers holding it at the end.
// - Customer-level KPIs of a channel count the customers acquired there: the
//   channel of the first purchase (buyer KPIs and new buyers for CAC), of the
//   first lead (lead conversion), of the first interaction (engagement rate);
//   "first" is by time, ties broken by file order.
// - Money is rounded to cents (half away from zero) per event, then summed
//   exactly as integers.
// Times must be Unix seconds, or ISO-8601 with "Z" or without a zone (taken
// as UTC); other zones are not supported here.

import { DuckDBInstance } from '@duckdb/node-api';

function usage() {
  process.stderr.write(
    'usage: node report.mjs [--threads N] [--max-lateness S] [--timing] FILE...\n');
  process.exit(2);
}

const args = process.argv.slice(2);
let threads = 2;
let maxLateness = 604800;
let timing = false;
const files = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--threads') threads = parseInt(args[++i], 10);
  else if (a === '--max-lateness') maxLateness = parseInt(args[++i], 10);
  else if (a === '--timing') timing = true;
  else if (a.startsWith('--')) usage();
  else files.push(a);
}
if (!files.length || !(threads > 0) || !(maxLateness >= 0)) usage();

const t0 = performance.now();
let tPrev = t0;
function lap(what) {
  if (!timing) return;
  const t = performance.now();
  process.stderr.write(`duckdb: ${what}: ${((t - tPrev) / 1000).toFixed(3)} s\n`);
  tPrev = t;
}

const instance = await DuckDBInstance.create(':memory:', {
  threads: String(threads),
  preserve_insertion_order: 'true',
});
const con = await instance.connect();
const run = (sql) => con.run(sql);
const rows = async (sql) => (await con.runAndReadAll(sql)).getRowObjectsJS();

const sqlString = (s) => `'${s.replaceAll("'", "''")}'`;
const fileList = `[${files.map(sqlString).join(', ')}]`;

// ---- 1. Load, in file order (rowid of the table = position in the input).
async function load(timeType) {
  await run(`
    CREATE OR REPLACE TABLE raw AS
    SELECT time AS t, customer AS c, type AS ty, channel AS ch,
           value AS v, value2 AS v2, segments AS sg
    FROM read_csv(${fileList}, header = true, auto_detect = true,
                  types = {'time': '${timeType}', 'customer': 'VARCHAR',
                           'type': 'VARCHAR', 'channel': 'VARCHAR',
                           'value': 'DECIMAL(18,6)', 'value2': 'DOUBLE',
                           'segments': 'VARCHAR'})`);
}
let timeExpr = 't';
try {
  await load('BIGINT');
} catch (e) {
  // Not all Unix seconds: read as text, take ISO-8601 with Z or no zone.
  await load('VARCHAR');
  timeExpr = `CASE WHEN regexp_full_match(t, '-?[0-9]+') THEN CAST(t AS BIGINT)
                   ELSE CAST(epoch(CAST(regexp_replace(t, 'Z$', '') AS TIMESTAMP)) AS BIGINT) END`;
}
lap('load');

// ---- 2. Checked events, with the segments each customer holds.
// One window pass per customer (per channel for spend), in file order, gives
// both the newest earlier time (for the lateness bound) and the last
// non-empty segments cell so far. If a rejected-as-late event carried a
// segments cell, that carry is redone without the late events.
const INTER = `('touch', 'engage', 'session', 'message_click')`;
await run(`
  CREATE TYPE evtype AS ENUM ('touch', 'session', 'engage', 'message_sent',
    'message_open', 'message_click', 'lead', 'purchase', 'refund', 'spend',
    'nps', 'csat', 'ces', 'churn')`);
await run(`
  CREATE OR REPLACE TABLE ev AS
  WITH valid AS (
    SELECT rowid AS rn, ${timeExpr} AS t, nullif(c, '') AS c,
           TRY_CAST(ty AS evtype) AS ty, coalesce(ch, '') AS ch, v, v2,
           nullif(sg, '') AS sg
    FROM raw
  ), checked AS (
    SELECT * FROM valid
    WHERE t BETWEEN 0 AND 4291747199 AND (
      (ty = 'spend' AND v >= 0) OR (c IS NOT NULL AND (
        ty IN ('touch', 'engage', 'message_sent', 'message_open',
               'message_click', 'lead', 'churn')
        OR (ty = 'session' AND coalesce(v, 0) >= 0 AND coalesce(v2, 0) >= 0)
        OR (ty IN ('purchase', 'refund') AND v >= 0)
        OR (ty = 'nps' AND v BETWEEN 0 AND 10 AND v = trunc(v))
        OR (ty = 'csat' AND v BETWEEN 1 AND 5 AND v = trunc(v))
        OR (ty = 'ces' AND v BETWEEN 1 AND 7 AND v = trunc(v)))))
  )
  SELECT rn, t, c, ty, ch, v2,
    CASE WHEN ty IN ('purchase', 'refund', 'spend')
         THEN CAST(round(v, 2) * 100 AS BIGINT) END AS cents,
    CAST(v AS DOUBLE) AS v,
    CASE WHEN ty = 'spend' THEN NULL ELSE sg END AS sg,
    coalesce(t < max(t) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
             - ${maxLateness}, false) AS late,
    CASE WHEN ty = 'spend' THEN NULL
         ELSE last_value(sg IGNORE NULLS) OVER (w ROWS UNBOUNDED PRECEDING) END AS cur
  FROM checked
  WINDOW w AS (PARTITION BY ty = 'spend', CASE WHEN ty = 'spend' THEN ch ELSE c END
               ORDER BY rn)`);
const [{ n: lateSeg }] = await rows(`SELECT count(*) AS n FROM ev WHERE late AND sg IS NOT NULL`);
if (Number(lateSeg) > 0) {
  await run(`
    CREATE OR REPLACE TABLE ev AS
    SELECT * REPLACE (CASE WHEN ty = 'spend' THEN NULL ELSE last_value(sg IGNORE NULLS) OVER (
        PARTITION BY c ORDER BY rn ROWS UNBOUNDED PRECEDING) END AS cur)
    FROM ev WHERE NOT late`);
} else {
  await run(`DELETE FROM ev WHERE late`);
}
lap('accepted events and segments at event time');

// A segments cell as a list of distinct labels ('-' or NULL: none).
const segList = (col) => `CASE WHEN ${col} IS NULL OR ${col} = '-' THEN []::VARCHAR[]
  ELSE list_sort(list_distinct(list_filter(string_split(${col}, ';'), x -> x <> ''))) END`;

// ---- 3. Event-level counts per (segments cell in force, channel), then per
// (set of segments, channel): small tables.
const ECOUNTS = {
  events: 'count(*)',
  nps_n: `count(*) FILTER (ty = 'nps')`,
  prom: `count(*) FILTER (ty = 'nps' AND v >= 9)`,
  pas: `count(*) FILTER (ty = 'nps' AND v BETWEEN 7 AND 8)`,
  det: `count(*) FILTER (ty = 'nps' AND v <= 6)`,
  csat_n: `count(*) FILTER (ty = 'csat')`,
  csat_good: `count(*) FILTER (ty = 'csat' AND v >= 4)`,
  csat_sum: `coalesce(sum(v) FILTER (ty = 'csat'), 0)`,
  ces_n: `count(*) FILTER (ty = 'ces')`,
  ces_sum: `coalesce(sum(v) FILTER (ty = 'ces'), 0)`,
  orders: `count(*) FILTER (ty = 'purchase')`,
  rev: `coalesce(sum(cents) FILTER (ty = 'purchase'), 0)`,
  refunds_n: `count(*) FILTER (ty = 'refund')`,
  ref: `coalesce(sum(cents) FILTER (ty = 'refund'), 0)`,
  sessions: `count(*) FILTER (ty = 'session')`,
  bounces: `count(*) FILTER (ty = 'session' AND v = 1)`,
  engaged: `count(*) FILTER (ty = 'session' AND (v >= 2 OR v2 >= 10))`,
  sent: `count(*) FILTER (ty = 'message_sent')`,
  opens: `count(*) FILTER (ty = 'message_open')`,
  clicks: `count(*) FILTER (ty = 'message_click')`,
  leads: `count(*) FILTER (ty = 'lead')`,
  spend_n: `count(*) FILTER (ty = 'spend')`,
  spend: `coalesce(sum(cents) FILTER (ty = 'spend'), 0)`,
};
await run(`
  CREATE OR REPLACE TABLE eagg AS
  WITH byseg AS (
    SELECT cur, ch, ${Object.entries(ECOUNTS).map(([k, e]) => `${e} AS ${k}`).join(',\n    ')}
    FROM ev GROUP BY cur, ch
  )
  SELECT ${segList('cur')} AS segs, ch,
    ${Object.keys(ECOUNTS).map((k) => `sum(${k}) AS ${k}`).join(', ')}
  FROM byseg GROUP BY ALL`);
lap('event-level counts');

// ---- 4. Per customer, then per (segments now, acquiring channels).
await run(`
  CREATE OR REPLACE TABLE cagg AS
  WITH cust AS (
    SELECT c,
      count(*) FILTER (ty = 'purchase') AS orders,
      coalesce(sum(cents) FILTER (ty = 'purchase'), 0)
        - coalesce(sum(cents) FILTER (ty = 'refund'), 0) AS net,
      max(t) FILTER (ty = 'purchase') AS last_purchase,
      min(t) FILTER (ty = 'lead') AS first_lead,
      arg_min(ch, {'t': t, 'rn': rn}) FILTER (ty = 'purchase') AS buy_ch,
      arg_min(ch, {'t': t, 'rn': rn}) FILTER (ty = 'lead') AS lead_ch,
      arg_min(ch, {'t': t, 'rn': rn}) FILTER (ty IN ${INTER}) AS int_ch,
      count(*) FILTER (ty IN ${INTER}) AS interactions,
      arg_max(cur, rn) AS segs_now
    FROM ev WHERE c IS NOT NULL GROUP BY c
  ), bycell AS (
    SELECT segs_now, buy_ch, lead_ch, int_ch,
      count(*) FILTER (orders > 0) AS buyers,
      coalesce(sum(orders) FILTER (orders > 0), 0) AS buyer_orders,
      count(*) FILTER (orders >= 2) AS repeaters,
      coalesce(sum(net) FILTER (orders > 0), 0) AS buyer_net,
      count(*) FILTER (first_lead IS NOT NULL) AS lead_customers,
      count(*) FILTER (last_purchase >= first_lead) AS converted,
      count(*) FILTER (interactions > 0) AS engaged_customers,
      coalesce(sum(interactions), 0) AS interactions
    FROM cust GROUP BY ALL
  )
  SELECT ${segList('segs_now')} AS segs, buy_ch, lead_ch, int_ch,
    sum(buyers) AS buyers, sum(buyer_orders) AS buyer_orders,
    sum(repeaters) AS repeaters, sum(buyer_net) AS buyer_net,
    sum(lead_customers) AS lead_customers, sum(converted) AS converted,
    sum(engaged_customers) AS engaged_customers,
    sum(interactions) AS interactions
  FROM bycell GROUP BY ALL`);
lap('customer-level counts');

// ---- 5. Scopes. kind: A (all), S (segment), C (channel), X (segment x channel).
const ECOLS = Object.keys(ECOUNTS);
// Customer-level groups and the channel that acquires the customer for each.
const CGROUPS = [
  ['buy_ch', ['buyers', 'buyer_orders', 'repeaters', 'buyer_net']],
  ['lead_ch', ['lead_customers', 'converted']],
  ['int_ch', ['engaged_customers', 'interactions']],
];

function scopesOf(table, cols, chCol) {
  const s = cols.map((k) => `sum(${k}) AS ${k}`).join(', ');
  return `
    SELECT 'A' AS kind, NULL::VARCHAR AS seg, NULL::VARCHAR AS ch, ${s} FROM ${table}
    UNION ALL
    SELECT 'C', NULL, ${chCol}, ${s} FROM ${table}
      WHERE ${chCol} IS NOT NULL AND ${chCol} <> '' GROUP BY ${chCol}
    UNION ALL
    SELECT 'S', seg, NULL, ${s} FROM ${table}, unnest(segs) AS u(seg) GROUP BY seg
    UNION ALL
    SELECT 'X', seg, ${chCol}, ${s} FROM ${table}, unnest(segs) AS u(seg)
      WHERE ${chCol} IS NOT NULL AND ${chCol} <> '' GROUP BY seg, ${chCol}`;
}

const key = (alias) => `${alias}.kind = u.kind AND ${alias}.seg IS NOT DISTINCT FROM u.seg
  AND ${alias}.ch IS NOT DISTINCT FROM u.ch`;
const f = (x) => `CAST(${x} AS DOUBLE)`;
const ratio = (num, den) => `CASE WHEN ${den} = 0 THEN NULL ELSE ${f(num)} / ${f(den)} END`;

const scopes = await rows(`
  WITH
  chans AS (SELECT DISTINCT ch FROM eagg WHERE ch <> ''),
  segl AS (SELECT DISTINCT seg FROM (
             SELECT unnest(${segList('sg')}) AS seg FROM (SELECT DISTINCT sg FROM ev))),
  universe AS (
    SELECT 'A' AS kind, NULL::VARCHAR AS seg, NULL::VARCHAR AS ch
    UNION ALL SELECT 'C', NULL, ch FROM chans
    UNION ALL SELECT 'S', seg, NULL FROM segl
    -- like cxm: a segment x channel pair is listed when it has an event
    UNION ALL SELECT DISTINCT 'X', seg, ch FROM eagg, unnest(segs) AS u(seg)
      WHERE ch <> ''),
  e AS (${scopesOf('eagg', ECOLS, 'ch')}),
  ${CGROUPS.map(([chCol, cols], i) => `c${i} AS (${scopesOf('cagg', cols, chCol)})`).join(',\n  ')},
  base AS (
    SELECT u.kind, u.seg, u.ch,
      ${ECOLS.map((k) => `coalesce(e.${k}, 0)::BIGINT AS ${k}`).join(', ')},
      ${CGROUPS.map(([, cols], i) => cols.map((k) => `coalesce(c${i}.${k}, 0)::BIGINT AS ${k}`).join(', ')).join(',\n      ')}
    FROM universe u
    LEFT JOIN e ON ${key('e')}
    ${CGROUPS.map((_, i) => `LEFT JOIN c${i} ON ${key(`c${i}`)}`).join('\n    ')})
  SELECT *,
    kind IN ('S', 'X') AS no_spend,
    ${ratio('100 * (prom - det)', 'nps_n')} AS nps,
    CASE WHEN nps_n = 0 THEN NULL ELSE 100 * 1.96 * sqrt(
      (${f('prom')} / nps_n + ${f('det')} / nps_n
       - pow(${f('prom')} / nps_n - ${f('det')} / nps_n, 2)) / nps_n) END AS moe95,
    ${ratio('100 * csat_good', 'csat_n')} AS csat,
    ${ratio('csat_sum', 'csat_n')} AS csat_mean,
    ${ratio('ces_sum', 'ces_n')} AS ces,
    ${ratio('rev', 'orders * 100')} AS aov,
    ${ratio('buyer_orders', 'buyers')} AS purchase_frequency,
    ${ratio('repeaters', 'buyers')} AS repeat_purchase_rate,
    ${ratio('buyer_net', 'buyers * 100')} AS clv_historical,
    ${ratio('converted', 'lead_customers')} AS lead_conversion_rate,
    ${ratio('bounces', 'sessions')} AS bounce_rate,
    ${ratio('engaged', 'sessions')} AS engaged_session_rate,
    ${ratio('interactions', 'engaged_customers')} AS engagement_rate,
    ${ratio('opens', 'sent')} AS open_rate,
    ${ratio('clicks', 'sent')} AS click_rate,
    ${ratio('clicks', 'opens')} AS click_to_open_rate,
    ${ratio('spend', 'leads * 100')} AS cpl,
    ${ratio('spend', 'orders * 100')} AS cpa,
    ${ratio('spend', 'buyers * 100')} AS cac
  FROM base ORDER BY kind, seg, ch`);
lap('scopes and KPIs');

// ---- 6. JSON in the shape of `cxm report --format json`.
const num = (x) => (x === null || x === undefined ? null : Number(x));
const money = (cents) => Number(cents) / 100;
function kpis(r) {
  const k = {};
  const nospend = r.no_spend;
  k.nps = {
    value: num(r.nps), n: num(r.nps_n), moe95: num(r.moe95),
    promoters: num(r.prom), passives: num(r.pas), detractors: num(r.det),
  };
  k.csat = { value: num(r.csat), n: num(r.csat_n) };
  k.csat_mean = { value: num(r.csat_mean), n: num(r.csat_n) };
  k.ces = { value: num(r.ces), n: num(r.ces_n) };
  k.revenue = { value: money(r.rev), n: num(r.orders) };
  k.refunds = { value: money(r.ref), n: num(r.refunds_n) };
  k.net_revenue = { value: money(Number(r.rev) - Number(r.ref)),
                    n: num(r.orders) + num(r.refunds_n) };
  k.orders = { value: num(r.orders), n: num(r.orders) };
  k.buyers = { value: num(r.buyers), n: num(r.buyers) };
  k.aov = { value: num(r.aov), n: num(r.orders) };
  k.purchase_frequency = { value: num(r.purchase_frequency), n: num(r.buyers) };
  k.repeat_purchase_rate = { value: num(r.repeat_purchase_rate), n: num(r.buyers) };
  k.clv_historical = { value: num(r.clv_historical), n: num(r.buyers) };
  k.lead_conversion_rate = { value: num(r.lead_conversion_rate), n: num(r.lead_customers) };
  k.sessions = { value: num(r.sessions), n: num(r.sessions) };
  k.bounce_rate = { value: num(r.bounce_rate), n: num(r.sessions) };
  k.engaged_session_rate = { value: num(r.engaged_session_rate), n: num(r.sessions) };
  k.engagement_rate = { value: num(r.engagement_rate), n: num(r.engaged_customers) };
  k.open_rate = { value: num(r.open_rate), n: num(r.sent) };
  k.click_rate = { value: num(r.click_rate), n: num(r.sent) };
  k.click_to_open_rate = { value: num(r.click_to_open_rate), n: num(r.opens) };
  if (nospend) {
    for (const s of ['spend', 'cpl', 'cpa', 'cac']) k[s] = { value: null, n: 0 };
  } else {
    k.spend = { value: money(r.spend), n: num(r.spend_n) };
    k.cpl = { value: num(r.cpl), n: num(r.leads) };
    k.cpa = { value: num(r.cpa), n: num(r.orders) };
    k.cac = { value: num(r.cac), n: num(r.buyers) };
  }
  return k;
}

const report = { all: {}, segments: {}, channels: {}, segment_channels: {} };
for (const r of scopes) {
  const k = kpis(r);
  if (r.kind === 'A') report.all = k;
  else if (r.kind === 'S') report.segments[r.seg] = k;
  else if (r.kind === 'C') report.channels[r.ch] = k;
  else (report.segment_channels[r.seg] ??= {})[r.ch] = k;
}
process.stdout.write(JSON.stringify(report, null, 1) + '\n');
lap('json');
if (timing) {
  process.stderr.write(`duckdb: total ${((performance.now() - t0) / 1000).toFixed(3)} s, threads ${threads}\n`);
}
