// The customer guide, followed to the letter with the official JS SDK over OTLP/HTTP protobuf:
// every series the three instruments produce must read back with exact names, labels and values.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setup, queryVector, apiData, apiGet, sortByLabels, sleep, promTime, authHeaders } from './lib/server.mjs';
import { makeSdk, recordGuideInstruments, expectedBuckets, SCOPE_NAME, SCOPE_VERSION } from './lib/otel.mjs';

const SERVICE = 'checkout';
const INSTANCE = 'checkout-7f9c';
const SCOPE = { otel_scope_name: SCOPE_NAME, otel_scope_version: SCOPE_VERSION };
const TARGET = { job: SERVICE, instance: INSTANCE };

describe('OTLP protobuf via @opentelemetry/exporter-metrics-otlp-proto', () => {
  let env; let sdk; let rec; let creds;
  let tBeforeFlushMs;

  before(async () => {
    env = await setup({ app: { tenant: 'acme' } });
    creds = env.creds.app;
    sdk = makeSdk({
      server: env.server, creds, kind: 'proto',
      resource: { 'service.name': SERVICE, 'service.instance.id': INSTANCE, 'deployment.environment': 'e2e' },
    });
    rec = recordGuideInstruments(sdk.meter);
    // The start time of the cumulative streams is the first record; a moment later, before the
    // first export, only the synthesized zero sample at that start time may be visible.
    await sleep(30);
    tBeforeFlushMs = Date.now();
    await sleep(30);
    await sdk.flush();
  });

  after(async () => {
    await sdk?.shutdown().catch(() => {});
    await env?.teardown();
  });

  test('counter http_requests_total reads back with exact labels and value', async () => {
    const r = await queryVector(env.server, creds, 'http_requests_total');
    assert.equal(r.length, 1, JSON.stringify(r));
    assert.deepEqual(r[0].metric, {
      __name__: 'http_requests_total', ...TARGET, method: 'GET', status: '200', ...SCOPE,
    });
    assert.equal(r[0].value[1], '1');
  });

  test('histogram buckets (incl. +Inf), _sum and _count', async () => {
    const buckets = await queryVector(env.server, creds, 'http_request_duration_seconds_bucket');
    const want = expectedBuckets(rec.observations);
    assert.equal(buckets.length, Object.keys(want).length, JSON.stringify(buckets.map((b) => b.metric.le)));
    const got = {};
    for (const b of buckets) {
      const { le, ...rest } = b.metric;
      assert.deepEqual(rest, {
        __name__: 'http_request_duration_seconds_bucket', ...TARGET, route: '/api/v1/metrics', ...SCOPE,
      });
      got[le] = Number(b.value[1]);
    }
    assert.deepEqual(got, want);

    const sum = await queryVector(env.server, creds, 'http_request_duration_seconds_sum');
    assert.equal(sum.length, 1);
    assert.deepEqual(sum[0].metric, { __name__: 'http_request_duration_seconds_sum', ...TARGET, route: '/api/v1/metrics', ...SCOPE });
    assert.equal(Number(sum[0].value[1]), rec.sum);

    const count = await queryVector(env.server, creds, 'http_request_duration_seconds_count');
    assert.equal(count.length, 1);
    assert.deepEqual(count[0].metric, { __name__: 'http_request_duration_seconds_count', ...TARGET, route: '/api/v1/metrics', ...SCOPE });
    assert.equal(count[0].value[1], String(rec.observations.length));
  });

  test('up-down counter job_queue_depth is a gauge with value 3', async () => {
    const r = await queryVector(env.server, creds, 'job_queue_depth');
    assert.equal(r.length, 1);
    assert.deepEqual(r[0].metric, { __name__: 'job_queue_depth', ...TARGET, ...SCOPE });
    assert.equal(r[0].value[1], '3');
  });

  test('target_info carries the remaining resource attributes', async () => {
    const r = await queryVector(env.server, creds, 'target_info');
    assert.equal(r.length, 1, JSON.stringify(r));
    const m = r[0].metric;
    assert.equal(r[0].value[1], '1');
    assert.equal(m.telemetry_sdk_language, 'nodejs');
    assert.equal(m.telemetry_sdk_name, 'opentelemetry');
    assert.match(m.telemetry_sdk_version ?? '', /^\d+\.\d+\.\d+/);
    assert.deepEqual(m, {
      __name__: 'target_info', ...TARGET,
      deployment_environment: 'e2e',
      telemetry_sdk_language: 'nodejs',
      telemetry_sdk_name: 'opentelemetry',
      telemetry_sdk_version: m.telemetry_sdk_version,
    });
  });

  test('metadata has type, help and unit for each family', async () => {
    const md = await apiData(env.server, '/api/v1/metadata', creds);
    assert.deepEqual(md.http_requests_total, [{ type: 'counter', help: 'Total HTTP requests', unit: '' }]);
    assert.deepEqual(md.http_request_duration_seconds, [{ type: 'histogram', help: 'HTTP request duration', unit: 'seconds' }]);
    assert.deepEqual(md.job_queue_depth, [{ type: 'gauge', help: 'Number of pending jobs in queue', unit: '' }]);
    const one = await apiData(env.server, '/api/v1/metadata', creds, { metric: 'job_queue_depth' });
    assert.deepEqual(Object.keys(one), ['job_queue_depth']);
    const limited = await apiData(env.server, '/api/v1/metadata', creds, { limit: 1 });
    assert.equal(Object.keys(limited).length, 1, JSON.stringify(limited));
  });

  test('the same data under /prometheus/api/v1 and by form POST', async () => {
    const r = await queryVector(env.server, creds, 'job_queue_depth', { prefix: '/prometheus' });
    assert.equal(r.length, 1);
    assert.equal(r[0].value[1], '3');

    const res = await fetch(`${env.server.url}/prometheus/api/v1/query`, {
      method: 'POST',
      headers: { ...authHeaders(creds), 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ query: 'http_requests_total{method="GET"}' }).toString(),
    });
    const body = await res.json();
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.status, 'success');
    assert.equal(body.data.resultType, 'vector');
    assert.equal(body.data.result.length, 1);
    assert.equal(body.data.result[0].value[1], '1');

    const series = await apiData(env.server, '/prometheus/api/v1/series', creds, { 'match[]': 'job_queue_depth' });
    assert.deepEqual(series, [{ __name__: 'job_queue_depth', ...TARGET, ...SCOPE }]);
  });

  test('selectors with all four matcher types', async () => {
    const eq = await queryVector(env.server, creds, 'http_request_duration_seconds_bucket{le="+Inf"}');
    assert.equal(eq.length, 1);
    assert.equal(eq[0].value[1], '3');
    const ne = await queryVector(env.server, creds, 'http_request_duration_seconds_bucket{le!="+Inf"}');
    assert.equal(ne.length, Object.keys(expectedBuckets(rec.observations)).length - 1);
    assert.ok(ne.every((s) => s.metric.le !== '+Inf'));
    const re = await queryVector(env.server, creds, '{__name__=~"http_request_duration_seconds_(sum|count)"}');
    assert.deepEqual(re.map((s) => s.metric.__name__).sort(), ['http_request_duration_seconds_count', 'http_request_duration_seconds_sum']);
    const nre = await queryVector(env.server, creds, `{job="${SERVICE}", __name__!~"http_.*|target_info"}`);
    assert.deepEqual(nre.map((s) => s.metric.__name__), ['job_queue_depth']);
    // Regexes are fully anchored, and RE2 flags work.
    assert.deepEqual(await queryVector(env.server, creds, '{__name__=~"job_queue"}'), []);
    assert.equal((await queryVector(env.server, creds, `job_queue_depth{job=~"(?i)${SERVICE.toUpperCase()}"}`)).length, 1);
    // A selector that could match every series is refused, as in Prometheus.
    for (const q of ['{__name__=~".*"}', '{job=""}']) {
      const r = await apiGet(env.server, '/api/v1/query', creds, { query: q });
      assert.equal(r.status, 400, `${q}: ${r.text}`);
      assert.equal(r.json?.errorType, 'bad_data');
    }
  });

  test('a new cumulative series gets a zero sample at its start time', async () => {
    const r = await queryVector(env.server, creds, 'http_requests_total', { time: promTime(tBeforeFlushMs) });
    assert.equal(r.length, 1, `want the synthesized zero sample at the start time, got ${JSON.stringify(r)}`);
    assert.equal(r[0].value[1], '0');
  });

  test('later exports update the cumulative values', async () => {
    rec.requests.add(2, { method: 'GET', status: '200' });
    rec.requests.add(1, { method: 'POST', status: '500' });
    rec.queue.add(4);
    await sleep(5);
    await sdk.flush();
    const r = sortByLabels(await queryVector(env.server, creds, 'http_requests_total'));
    assert.deepEqual(r.map((s) => [s.metric.method, s.metric.status, s.value[1]]), [['GET', '200', '3'], ['POST', '500', '1']]);
    const q = await queryVector(env.server, creds, 'job_queue_depth');
    assert.equal(q[0].value[1], '7');
    const unknown = await apiGet(env.server, '/api/v1/query', creds, { query: 'no_such_metric' });
    assert.equal(unknown.status, 200);
    assert.deepEqual(unknown.json.data, { resultType: 'vector', result: [] });
  });

  test('bad read requests answer in the Prometheus error envelope', async () => {
    const cases = [
      ['/api/v1/query', { query: 'http_requests_total{' }],
      ['/api/v1/query', {}],
      ['/api/v1/query', { query: 'job_queue_depth', time: 'yesterday' }],
      ['/api/v1/series', {}],
    ];
    for (const [path, params] of cases) {
      const r = await apiGet(env.server, path, creds, params);
      assert.equal(r.status, 400, `${path} ${JSON.stringify(params)}: ${r.text}`);
      assert.equal(r.json?.status, 'error', r.text);
      assert.equal(r.json?.errorType, 'bad_data', r.text);
      assert.ok(typeof r.json?.error === 'string' && r.json.error.length > 0, r.text);
    }
  });

  test('time accepts RFC 3339 as well as unix seconds', async () => {
    const iso = new Date().toISOString();
    const r = await queryVector(env.server, creds, 'job_queue_depth', { time: iso });
    assert.equal(r.length, 1);
    assert.equal(r[0].value[0], Date.parse(iso) / 1000);
  });

  test('a thousand series in one export all read back', async () => {
    const wide = sdk.meter.createCounter('e2e_wide_total', { description: 'many series' });
    for (let i = 0; i < 1000; i++) wide.add(i + 1, { shard: String(i).padStart(4, '0') });
    await sdk.flush();
    const series = await apiData(env.server, '/api/v1/series', creds, { 'match[]': 'e2e_wide_total' });
    assert.equal(series.length, 1000);
    const r = await queryVector(env.server, creds, 'e2e_wide_total');
    assert.equal(r.length, 1000);
    for (const s of r) assert.equal(Number(s.value[1]), Number(s.metric.shard) + 1, JSON.stringify(s));
    const vals = await apiData(env.server, '/api/v1/label/shard/values', creds);
    assert.equal(vals.length, 1000);
    assert.deepEqual(vals, [...vals].sort(), 'label values are sorted');
  });

  test('the SDK flow above caused no rejection at all', async () => {
    // The SDK only logs partial successes, so look where the server records them.
    const r = await apiGet(env.server, '/api/v1/ingestion/errors', creds);
    assert.equal(r.status, 200, r.text);
    const stack = [r.json];
    while (stack.length) {
      const o = stack.pop();
      if (o && typeof o === 'object') {
        assert.ok(!('reason' in o), `unexpected rejection: ${JSON.stringify(o)}`);
        stack.push(...Object.values(o));
      }
    }
    assert.match(r.text, /OTel-OTLP-Exporter-JavaScript|otlp/i);
  });
});
