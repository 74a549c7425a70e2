// Differential test driver: builds a seeded dataset, pushes the identical remote-write requests
// to Prometheus (PROM_URL) and xScaler (XS_URL, XS_TOKEN, XS_TENANT), then runs every query in
// queries.mjs as instant queries at several times and as range queries with several steps
// against both, and compares result type, label sets, timestamps and values (relative
// tolerance 1e-9, NaN == NaN). Differences listed in known_differences.txt (2.42-vs-3.x
// semantics) are reported but not counted as failures. Exit code 1 on any other difference.
//
// Flags: --only REGEX  run only queries matching REGEX;  -v  print passing cases too.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildDataset, STEP_MS } from './dataset.mjs';
import { encodeWriteRequest, snappyLiteral } from '../lib/remote_write.mjs';
import { queries } from './queries.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const PROM = process.env.PROM_URL;
const XS = process.env.XS_URL;
const XS_HEADERS = { Authorization: `Bearer ${process.env.XS_TOKEN}`, 'X-Scope-OrgID': process.env.XS_TENANT };
if (!PROM || !XS) {
  console.error('diff.mjs: PROM_URL and XS_URL must be set (use run.sh)');
  process.exit(2);
}
const args = process.argv.slice(2);
const verbose = args.includes('-v');
const onlyIdx = args.indexOf('--only');
const only = onlyIdx >= 0 ? new RegExp(args[onlyIdx + 1]) : null;

const REL_TOL = 1e-9;
const MAX_SHOWN = 3;

// ---- data -------------------------------------------------------------------------------------

// The data ends 5 minutes ago on a grid of 15 s steps shifted 3 s from the epoch grid; every
// evaluation time below is shifted 10 s from the epoch grid, and subquery steps are multiples of
// 15 s, so no sample sits exactly on a range or lookback edge (Prometheus 2.42 windows are
// closed on the left, 3.x's open).
const nowMs = Date.now();
const endGrid = Math.floor((nowMs - 5 * 60_000) / STEP_MS) * STEP_MS;
const SPAN_MS = 2 * 3600_000;
const dataEnd = endGrid + 3000;
const dataStart = dataEnd - SPAN_MS;
const { series, steps } = buildDataset({ startMs: dataStart, stepMs: STEP_MS, span: SPAN_MS, seed: 20240601 });

async function push(url, headers, body, what) {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy',
      'X-Prometheus-Remote-Write-Version': '0.1.0', ...headers,
    },
    body,
  });
  if (res.status >= 300) throw new Error(`${what} remote write answered ${res.status}: ${(await res.text()).slice(0, 500)}`);
}

// Requests carry 10 minutes of every series, in time order, so Prometheus' head window (which
// only accepts samples within 1 h of its newest one) takes all of them.
async function load() {
  const chunkSteps = 40;
  let requests = 0; let samples = 0;
  for (let i = 0; i < steps; i += chunkSteps) {
    const part = [];
    for (const s of series) {
      const ss = s.samples.filter(([, t]) => t >= dataStart + i * STEP_MS && t < dataStart + (i + chunkSteps) * STEP_MS);
      if (ss.length) part.push({ labels: s.labels, samples: ss });
      samples += ss.length;
    }
    const body = snappyLiteral(encodeWriteRequest(part));
    await Promise.all([push(`${PROM}/api/v1/write`, {}, body, 'prometheus'), push(`${XS}/api/v1/write`, XS_HEADERS, body, 'xscaler')]);
    requests++;
  }
  console.log(`loaded ${series.length} series, ${samples} samples in ${requests} requests into both servers`);
}

// ---- querying ---------------------------------------------------------------------------------

async function query(base, headers, endpoint, params) {
  const body = new URLSearchParams(params).toString();
  const res = await fetch(`${base}/api/v1/${endpoint}`, {
    method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers }, body,
  });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { return { httpStatus: res.status, status: 'error', errorType: 'unparsable', error: text.slice(0, 300) }; }
  return { httpStatus: res.status, ...json };
}

function parseVal(s) {
  if (s === 'NaN') return NaN;
  if (s === '+Inf' || s === 'Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  return Number(s);
}

function valuesEqual(a, b) {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  if (a === b) return true;
  if (!Number.isFinite(a) || !Number.isFinite(b)) return false;
  return Math.abs(a - b) <= REL_TOL * Math.max(Math.abs(a), Math.abs(b));
}

const labelKey = (m) => JSON.stringify(Object.keys(m).sort().map((k) => [k, m[k]]));
const fmtLabels = (m) => {
  const name = m.__name__ ?? '';
  const rest = Object.keys(m).filter((k) => k !== '__name__').sort().map((k) => `${k}=${JSON.stringify(m[k])}`);
  return `${name}{${rest.join(', ')}}`;
};
const fmtPoint = ([t, v]) => `${v}@${t}`;

// Returns a list of human-readable difference lines (empty when equal).
function compare(p, x, { ordered }) {
  const diffs = [];
  if (p.status !== x.status) {
    diffs.push(`status: prometheus ${p.status}${p.error ? ` (${p.errorType}: ${p.error})` : ''}, xscaler ${x.status}${x.error ? ` (${x.errorType}: ${x.error})` : ''}`);
    return diffs;
  }
  if (p.status !== 'success') {
    if (p.errorType !== x.errorType || p.httpStatus !== x.httpStatus) {
      diffs.push(`error: prometheus ${p.httpStatus} ${p.errorType} (${p.error}), xscaler ${x.httpStatus} ${x.errorType} (${x.error})`);
    }
    return diffs;
  }
  const pd = p.data; const xd = x.data;
  if (pd.resultType !== xd?.resultType) {
    diffs.push(`resultType: prometheus ${pd.resultType}, xscaler ${xd?.resultType}`);
    return diffs;
  }
  if (pd.resultType === 'scalar' || pd.resultType === 'string') {
    const [pt, pv] = pd.result; const [xt, xv] = xd.result;
    const pn = parseVal(pv); const xn = parseVal(xv);
    const eq = pd.resultType === 'string' || pn === xn ? pv === xv : valuesEqual(pn, xn);
    if (pt !== xt || !eq) diffs.push(`${pd.resultType}: prometheus ${fmtPoint(pd.result)}, xscaler ${fmtPoint(xd.result)}`);
    return diffs;
  }
  const pr = pd.result; const xr = xd.result;
  const pk = pr.map((s) => labelKey(s.metric)); const xk = xr.map((s) => labelKey(s.metric));
  const xmap = new Map(xr.map((s, i) => [xk[i], s]));
  const pmap = new Map(pr.map((s, i) => [pk[i], s]));
  const missing = pr.filter((s, i) => !xmap.has(pk[i]));
  const extra = xr.filter((s, i) => !pmap.has(xk[i]));
  if (pr.length !== xr.length) diffs.push(`series count: prometheus ${pr.length}, xscaler ${xr.length}`);
  if (xmap.size !== xr.length) diffs.push('xscaler returned duplicate label sets');
  for (const s of missing.slice(0, MAX_SHOWN)) diffs.push(`only in prometheus: ${fmtLabels(s.metric)} ${s.value ? fmtPoint(s.value) : `${s.values.length} points`}`);
  if (missing.length > MAX_SHOWN) diffs.push(`… ${missing.length - MAX_SHOWN} more only in prometheus`);
  for (const s of extra.slice(0, MAX_SHOWN)) diffs.push(`only in xscaler: ${fmtLabels(s.metric)} ${s.value ? fmtPoint(s.value) : `${s.values.length} points`}`);
  if (extra.length > MAX_SHOWN) diffs.push(`… ${extra.length - MAX_SHOWN} more only in xscaler`);
  if (ordered && missing.length === 0 && extra.length === 0 && pk.join('\n') !== xk.join('\n')) {
    diffs.push(`order: prometheus [${pr.slice(0, 4).map((s) => fmtLabels(s.metric)).join(' ')} …], xscaler [${xr.slice(0, 4).map((s) => fmtLabels(s.metric)).join(' ')} …]`);
  }
  let shown = 0; let differing = 0;
  for (const s of pr) {
    const o = xmap.get(labelKey(s.metric));
    if (!o) continue;
    const pp = s.value ? [s.value] : s.values; const xp = o.value ? [o.value] : (o.values ?? []);
    const bad = [];
    const n = Math.max(pp.length, xp.length);
    for (let i = 0, j = 0; i < pp.length || j < xp.length;) {
      const a = pp[i]; const b = xp[j];
      if (a && b && a[0] === b[0]) {
        const av = parseVal(a[1]); const bv = parseVal(b[1]);
        if (!valuesEqual(av, bv)) bad.push(`t=${a[0]} prometheus ${a[1]} xscaler ${b[1]}`);
        // Same number, different spelling: Grafana shows the string, so it must match too.
        else if (av === bv && a[1] !== b[1]) bad.push(`t=${a[0]} format: prometheus "${a[1]}" xscaler "${b[1]}"`);
        i++; j++;
      } else if (b === undefined || (a && a[0] < b[0])) {
        bad.push(`t=${a[0]} only prometheus ${a[1]}`); i++;
      } else {
        bad.push(`t=${b[0]} only xscaler ${b[1]}`); j++;
      }
    }
    if (bad.length) {
      differing++;
      if (shown < MAX_SHOWN) {
        shown++;
        diffs.push(`${fmtLabels(s.metric)}: ${bad.length}/${n} points differ: ${bad.slice(0, 3).join('; ')}${bad.length > 3 ? ' …' : ''}`);
      }
    }
  }
  if (differing > shown) diffs.push(`… ${differing - shown} more series with differing values`);
  return diffs;
}

// ---- cases ------------------------------------------------------------------------------------

const sec = (ms) => (ms / 1000).toString();
// Evaluation instants: 10 s past a data step boundary (data is at +3 s).
const evalAt = (msBeforeEnd) => endGrid - msBeforeEnd + 10_000;
const ctx = {
  // Absolute times usable in @ modifiers (seconds).
  at1: sec(evalAt(45 * 60_000)),
  at2: sec(evalAt(90 * 60_000)),
};
const instantTimes = [
  ['end', evalAt(0)],
  ['end-17m', evalAt(17 * 60_000)],
  ['end-61m', evalAt(61 * 60_000)],
  ['start+6m', evalAt(SPAN_MS - 6 * 60_000)],
  // Fractional seconds and RFC 3339 spellings of the time parameter.
  ['end-29m+0.25s', evalAt(29 * 60_000) + 250, (t) => (t / 1000).toFixed(3)],
  ['end-33m(rfc3339)', evalAt(33 * 60_000), (t) => new Date(t).toISOString()],
];
const rangeConfigs = [
  { name: 'all/60s', start: evalAt(SPAN_MS - 60_000), end: evalAt(0) + 60 * 5_000, step: 60 },
  { name: 'last40m/15s', start: evalAt(40 * 60_000), end: evalAt(0), step: 15 },
  { name: 'all/300s', start: evalAt(SPAN_MS + 10 * 60_000), end: evalAt(0) + 600_000, step: 300 },
  { name: 'all/45s', start: evalAt(SPAN_MS - 5 * 60_000), end: evalAt(0), step: 45 },
  { name: 'last70m/2m(duration)', start: evalAt(70 * 60_000), end: evalAt(1 * 60_000), step: '2m' },
];

function loadKnown() {
  const file = path.join(here, 'known_differences.txt');
  const known = new Map();
  if (!fs.existsSync(file)) return known;
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim() || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' # ');
    if (i < 0) throw new Error(`known_differences.txt: line lacks " # reason": ${line}`);
    known.set(line.slice(0, i).trim(), line.slice(i + 3).trim());
  }
  return known;
}

async function runPool(items, n, fn) {
  const out = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < items.length) { const i = next++; out[i] = await fn(items[i]); }
  }));
  return out;
}

async function main() {
  const t0 = Date.now();
  await load();
  // Both servers are read straight after the last write; no settle time is needed for
  // Prometheus' head, but give xScaler's write path a moment if it is asynchronous.
  const known = loadKnown();
  const cases = [];
  for (const q of queries) {
    const expr = typeof q.expr === 'function' ? q.expr(ctx) : q.expr;
    // xsExpr: the 3.x spelling of a query whose 2.42 spelling was renamed.
    const xsExpr = q.xsExpr ?? expr;
    if (only && !only.test(expr)) continue;
    // Instant vectors have a defined order only under sort/sort_desc; matrices are always sorted
    // by label set.
    const ordered = /^\s*sort(_desc)?\(/.test(expr);
    if (!q.rangeOnly) {
      for (const [name, t, fmt = sec] of instantTimes) cases.push({ expr, xsExpr, ordered, mode: `instant@${name}`, endpoint: 'query', params: { time: fmt(t) } });
    }
    if (!q.instantOnly) {
      for (const r of rangeConfigs) cases.push({ expr, xsExpr, ordered: true, mode: `range ${r.name}`, endpoint: 'query_range', params: { start: sec(r.start), end: sec(r.end), step: String(r.step) } });
    }
  }
  const results = await runPool(cases, 4, async (c) => {
    const [p, x] = await Promise.all([
      query(PROM, {}, c.endpoint, { query: c.expr, ...c.params }),
      query(XS, XS_HEADERS, c.endpoint, { query: c.xsExpr, ...c.params }),
    ]);
    return { c, p, x, diffs: compare(p, x, c) };
  });
  let passed = 0; let failed = 0; let explained = 0;
  const failedExprs = new Set(); const explainedExprs = new Set(); const usedKnown = new Set();
  let prevExpr = null;
  const bothErr = new Map(); const empty = new Set(); const nonEmpty = new Set();
  const msgNotes = new Map();
  for (const { c, p, x } of results) {
    if (p.status === 'error') bothErr.set(c.expr, `${p.errorType}: ${p.error}`);
    if (p.status === 'error' && x.status === 'error' && p.error !== x.error) msgNotes.set(c.expr, [p.error, x.error]);
    else if (Array.isArray(p.data?.result) && p.data.result.length === 0) empty.add(c.expr);
    else nonEmpty.add(c.expr);
  }
  for (const { c, p, diffs } of results) {
    if (p.status !== 'success' && !(p.errorType)) diffs.push('prometheus gave no answer');
    if (diffs.length === 0) {
      passed++;
      if (verbose) console.log(`PASS ${c.mode}: ${c.expr}`);
      continue;
    }
    const reason = known.get(c.expr);
    if (reason !== undefined) {
      explained++; explainedExprs.add(c.expr); usedKnown.add(c.expr);
      if (verbose) console.log(`KNOWN ${c.mode}: ${c.expr} (${reason})`);
      continue;
    }
    failed++; failedExprs.add(c.expr);
    if (prevExpr !== c.expr) console.log(`\nFAIL ${c.expr}${c.xsExpr !== c.expr ? `  (xscaler: ${c.xsExpr})` : ''}`);
    prevExpr = c.expr;
    console.log(`  [${c.mode}]`);
    for (const d of diffs) console.log(`    ${d}`);
  }
  for (const k of known.keys()) {
    if (!usedKnown.has(k) && queries.some((q) => (typeof q.expr === 'function' ? q.expr(ctx) : q.expr) === k) && !only) {
      console.log(`note: known difference no longer differs (remove it from known_differences.txt): ${k}`);
    }
  }
  // So that a typo cannot turn a query into a trivially agreeing error or empty answer unnoticed.
  console.log(`\nqueries Prometheus rejects (errors compared by type and HTTP status): ${bothErr.size}`);
  for (const [e, m] of bothErr) console.log(`  ${e}  ->  ${m.slice(0, 120)}`);
  // Error texts are informational only: 3.x reworded several of 2.42's messages.
  if (msgNotes.size) console.log(`error messages that differ in wording (informational): ${msgNotes.size}`);
  for (const [e, [pm, xm]] of msgNotes) console.log(`  ${e}\n    prometheus: ${pm.slice(0, 160)}\n    xscaler:    ${xm.slice(0, 160)}`);
  const alwaysEmpty = [...empty].filter((e) => !nonEmpty.has(e) && !bothErr.has(e));
  console.log(`queries with an empty result at every evaluation: ${alwaysEmpty.length}`);
  for (const e of alwaysEmpty) console.log(`  ${e}`);
  console.log(`\n${queries.length} queries, ${cases.length} cases; ${failedExprs.size} queries with unexplained differences, ${explainedExprs.size} known 2.42-vs-3.x differences (${explained} cases); ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

main().catch((e) => { console.error(e.stack || String(e)); process.exit(2); });
