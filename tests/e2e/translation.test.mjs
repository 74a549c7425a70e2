// OTLP → Prometheus translation as the OpenTelemetry compatibility spec and Prometheus'
// default strategy (UnderscoreEscapingWithSuffixes) define it, for the metric shapes the JS SDK
// does not produce on its own: dotted names, units, `_total`/`_ratio`, attribute-name escaping,
// non-string attributes, summaries, non-monotonic sums and "no recorded value" staleness.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setup, post, authHeaders, queryVector, apiData, promTime } from './lib/server.mjs';
import { otlpJson, kvList, nanos, SCOPE_NAME, SCOPE_VERSION } from './lib/otel.mjs';
import { decodeExportResponse } from './lib/proto.mjs';

const SCOPE = { otel_scope_name: SCOPE_NAME, otel_scope_version: SCOPE_VERSION };
const JOB = { job: 'translate' };

describe('OTLP to Prometheus translation', () => {
  let env; let creds;
  const t1 = Date.now() - 20_000;
  const t2 = t1 + 5_000;

  before(async () => {
    env = await setup({ app: { tenant: 'translate' } });
    creds = env.creds.app;
    const point = (extra) => ({ timeUnixNano: nanos(t1), ...extra });
    const body = otlpJson({ 'service.name': 'translate' }, [
      {
        name: 'http.server.requests', unit: '{request}', description: 'requests',
        sum: {
          aggregationTemporality: 2, isMonotonic: true,
          dataPoints: [point({ asInt: '12', attributes: kvList({ 'http.method': 'GET', '2xx': 'yes', _private: 'p', retries: 3, cached: true, ratio: 1.5 }) })],
        },
      },
      { name: 'system.memory.usage', unit: 'By', description: 'memory', gauge: { dataPoints: [point({ asInt: '1048576' })] } },
      { name: 'cpu.utilization', unit: '1', description: 'cpu', gauge: { dataPoints: [point({ asDouble: 0.25 })] } },
      {
        name: 'rpc.duration', unit: 'ms', description: 'rpc latency',
        histogram: {
          aggregationTemporality: 2,
          dataPoints: [point({ count: '6', sum: 20, bucketCounts: ['1', '2', '3'], explicitBounds: [1, 2.5] })],
        },
      },
      {
        name: 'gc.pause', unit: 's', description: 'gc pauses',
        summary: {
          dataPoints: [point({ count: '4', sum: 0.5, quantileValues: [{ quantile: 0.5, value: 0.1 }, { quantile: 0.99, value: 0.3 }] })],
        },
      },
      { name: 'queue.size', unit: '', description: 'queue', sum: { aggregationTemporality: 2, isMonotonic: false, dataPoints: [point({ asInt: '-4' })] } },
      { name: 'e2e.stale', unit: '', description: 'goes stale', gauge: { dataPoints: [point({ asDouble: 1 })] } },
    ]);
    const r = await post(env.server, '/otlp/v1/metrics', { headers: { ...authHeaders(creds), 'Content-Type': 'application/json' }, body });
    assert.equal(r.status, 200, r.text);
    assert.equal(decodeExportResponse(r).partialSuccess?.rejectedDataPoints ?? 0, 0, r.text);
    // The stale gauge then reports "no recorded value" (flags bit 0).
    const stale = otlpJson({ 'service.name': 'translate' }, [
      { name: 'e2e.stale', unit: '', gauge: { dataPoints: [{ timeUnixNano: nanos(t2), flags: 1 }] } },
    ]);
    const r2 = await post(env.server, '/otlp/v1/metrics', { headers: { ...authHeaders(creds), 'Content-Type': 'application/json' }, body: stale });
    assert.equal(r2.status, 200, r2.text);
    assert.equal(decodeExportResponse(r2).partialSuccess?.rejectedDataPoints ?? 0, 0, r2.text);
  });
  after(async () => { await env?.teardown(); });

  const at = () => promTime(t1);

  test('monotonic sum: dots escaped, {annotation} unit dropped, _total added; attribute names and values', async () => {
    const r = await queryVector(env.server, creds, 'http_server_requests_total', { time: at() });
    assert.equal(r.length, 1);
    assert.deepEqual(r[0].metric, {
      __name__: 'http_server_requests_total', ...JOB, ...SCOPE,
      http_method: 'GET', key_2xx: 'yes', key_private: 'p', retries: '3', cached: 'true', ratio: '1.5',
    });
    assert.equal(r[0].value[1], '12');
  });

  test('gauge units: By → _bytes, 1 → _ratio', async () => {
    const mem = await queryVector(env.server, creds, 'system_memory_usage_bytes', { time: at() });
    assert.equal(mem[0]?.value[1], '1048576');
    const cpu = await queryVector(env.server, creds, 'cpu_utilization_ratio', { time: at() });
    assert.equal(cpu[0]?.value[1], '0.25');
  });

  test('histogram with explicit bounds: ms → _milliseconds, cumulative le buckets', async () => {
    const b = await queryVector(env.server, creds, 'rpc_duration_milliseconds_bucket', { time: at() });
    assert.deepEqual(Object.fromEntries(b.map((s) => [s.metric.le, s.value[1]])), { 1: '1', 2.5: '3', '+Inf': '6' });
    assert.equal((await queryVector(env.server, creds, 'rpc_duration_milliseconds_count', { time: at() }))[0]?.value[1], '6');
    assert.equal((await queryVector(env.server, creds, 'rpc_duration_milliseconds_sum', { time: at() }))[0]?.value[1], '20');
  });

  test('summary: quantile series plus _sum and _count', async () => {
    const q = await queryVector(env.server, creds, 'gc_pause_seconds', { time: at() });
    assert.deepEqual(Object.fromEntries(q.map((s) => [s.metric.quantile, s.value[1]])), { 0.5: '0.1', 0.99: '0.3' });
    assert.equal((await queryVector(env.server, creds, 'gc_pause_seconds_count', { time: at() }))[0]?.value[1], '4');
    assert.equal((await queryVector(env.server, creds, 'gc_pause_seconds_sum', { time: at() }))[0]?.value[1], '0.5');
  });

  test('non-monotonic sum is a gauge; metadata types and units', async () => {
    assert.equal((await queryVector(env.server, creds, 'queue_size', { time: at() }))[0]?.value[1], '-4');
    const md = await apiData(env.server, '/api/v1/metadata', creds);
    const type = (n) => md[n]?.[0]?.type;
    assert.equal(type('http_server_requests_total'), 'counter');
    assert.equal(type('system_memory_usage_bytes'), 'gauge');
    assert.equal(md.system_memory_usage_bytes?.[0]?.unit, 'bytes');
    assert.equal(type('rpc_duration_milliseconds'), 'histogram');
    assert.equal(md.rpc_duration_milliseconds?.[0]?.unit, 'milliseconds');
    assert.equal(type('gc_pause_seconds'), 'summary');
    assert.equal(type('queue_size'), 'gauge');
    assert.equal(md.rpc_duration_milliseconds?.[0]?.help, 'rpc latency');
  });

  test('"no recorded value" ends the series like a staleness marker', async () => {
    const before = await queryVector(env.server, creds, 'e2e_stale', { time: promTime(t2 - 1000) });
    assert.equal(before[0]?.value[1], '1');
    assert.deepEqual(await queryVector(env.server, creds, 'e2e_stale', { time: promTime(t2 + 1000) }), []);
  });
});
