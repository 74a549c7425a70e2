// DELTA temporality from the SDK (what OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=delta
// does): Prometheus and Mimir reject it by default, VictoriaMetrics drops it; xScaler converts it
// to cumulative per series, so the counter reads back as a running total.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setup, queryVector, apiGet, sleep, post, authHeaders } from './lib/server.mjs';
import { makeSdk, AggregationTemporalityPreference, otlpJson, nanos } from './lib/otel.mjs';
import { decodeExportResponse } from './lib/proto.mjs';

describe('DELTA temporality', () => {
  let env; let creds;
  before(async () => { env = await setup({ app: { tenant: 'delta' } }); creds = env.creds.app; });
  after(async () => { await env?.teardown(); });

  for (const kind of ['proto', 'json']) {
    test(`counter and histogram read back as cumulative totals (${kind})`, async () => {
      const svc = `delta-${kind}`;
      const sdk = makeSdk({
        server: env.server, creds, kind,
        temporalityPreference: AggregationTemporalityPreference.DELTA,
        resource: { 'service.name': svc },
      });
      try {
        const counter = sdk.meter.createCounter('http_requests_total', { unit: '1', description: 'Total HTTP requests' });
        const hist = sdk.meter.createHistogram('http_request_duration_seconds', { unit: 's', description: 'HTTP request duration' });
        const sel = `{job="${svc}", method="GET"}`;
        const totals = [];
        let total = 0; let count = 0; let sum = 0;
        for (const [inc, obs] of [[2, 0.1], [3, 6], [5, 20]]) {
          counter.add(inc, { method: 'GET' });
          hist.record(obs, { method: 'GET' });
          total += inc; count += 1; sum += obs;
          await sleep(5); // distinct export timestamps
          await sdk.flush();
          const r = await queryVector(env.server, creds, `http_requests_total${sel}`);
          assert.equal(r.length, 1, JSON.stringify(r));
          totals.push(r[0].value[1]);
        }
        assert.deepEqual(totals, ['2', '5', '10']);

        const c = await queryVector(env.server, creds, `http_request_duration_seconds_count${sel}`);
        assert.equal(c[0]?.value[1], '3');
        const s = await queryVector(env.server, creds, `http_request_duration_seconds_sum${sel}`);
        assert.equal(Number(s[0]?.value[1]), sum);
        const b = await queryVector(env.server, creds, `http_request_duration_seconds_bucket${sel}`);
        const got = Object.fromEntries(b.map((x) => [x.metric.le, x.value[1]]));
        assert.equal(got['5'], '1');
        assert.equal(got['10'], '2');
        assert.equal(got['25'], '3');
        assert.equal(got['+Inf'], '3');

        // A flush with no new recordings adds nothing.
        await sleep(5);
        await sdk.provider.forceFlush();
        const r = await queryVector(env.server, creds, `http_requests_total${sel}`);
        assert.equal(r[0].value[1], '10');

        const md = await apiGet(env.server, '/api/v1/metadata', creds, { metric: 'http_requests_total' });
        assert.equal(md.json?.data?.http_requests_total?.[0]?.type, 'counter', md.text);
      } finally {
        await sdk.shutdown().catch(() => {});
      }
    });
  }

  test('a retried delta request (same window) is not counted twice', async () => {
    const t = Date.now() - 10_000;
    const delta = (v, st, et) => otlpJson({ 'service.name': 'retry' }, [{
      name: 'e2e_retry_total',
      sum: { aggregationTemporality: 1, isMonotonic: true, dataPoints: [{ startTimeUnixNano: nanos(st), timeUnixNano: nanos(et), asInt: String(v) }] },
    }]);
    const headers = { ...authHeaders(creds), 'Content-Type': 'application/json' };
    // The client never saw the ack of the second request and sends it again (OTLP allows this).
    for (const [v, st, et] of [[2, t, t + 1000], [3, t + 1000, t + 2000], [3, t + 1000, t + 2000], [5, t + 2000, t + 3000]]) {
      const r = await post(env.server, '/otlp/v1/metrics', { headers, body: delta(v, st, et) });
      assert.equal(r.status, 200, r.text);
      assert.equal(decodeExportResponse(r).partialSuccess?.rejectedDataPoints ?? 0, 0, r.text);
    }
    const r = await queryVector(env.server, creds, 'e2e_retry_total');
    assert.equal(r.length, 1);
    assert.equal(r[0].value[1], '10');
  });
});
