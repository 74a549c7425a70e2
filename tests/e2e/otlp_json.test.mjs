// The guide's instruments through the JSON exporter (@opentelemetry/exporter-metrics-otlp-http),
// plain and gzip-compressed, plus raw posts of the SDK's own encodings to check the response
// mirrors the request's content type and that deflate is accepted.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { setup, queryVector, apiData, post, authHeaders } from './lib/server.mjs';
import { makeSdk, makeCollectingSdk, recordGuideInstruments, expectedBuckets, SCOPE_NAME, SCOPE_VERSION } from './lib/otel.mjs';
import { decodeExportResponse } from './lib/proto.mjs';

const SCOPE = { otel_scope_name: SCOPE_NAME, otel_scope_version: SCOPE_VERSION };

describe('OTLP JSON via @opentelemetry/exporter-metrics-otlp-http', () => {
  let env; let creds;
  before(async () => { env = await setup({ app: { tenant: 'json-tenant' } }); creds = env.creds.app; });
  after(async () => { await env?.teardown(); });

  const cases = [
    { name: 'uncompressed, canonical header names', compression: undefined, ns: 'shop', svc: 'cart', inst: 'cart-1', lower: false },
    { name: 'gzip, lower-cased header names (as the Python SDK sends them)', compression: 'gzip', ns: 'shop', svc: 'cart-gz', inst: 'cart-2', lower: true },
  ];
  for (const c of cases) {
    test(`guide instruments: ${c.name}`, async () => {
      const headers = c.lower
        ? { authorization: `Bearer ${creds.token}`, 'x-scope-orgid': creds.tenant }
        : authHeaders(creds);
      const sdk = makeSdk({
        server: env.server, creds, kind: 'json', compression: c.compression, headers,
        resource: { 'service.namespace': c.ns, 'service.name': c.svc, 'service.instance.id': c.inst },
      });
      try {
        const rec = recordGuideInstruments(sdk.meter);
        await sdk.flush();
        const target = { job: `${c.ns}/${c.svc}`, instance: c.inst };
        const sel = `{job="${c.ns}/${c.svc}"}`;

        const counter = await queryVector(env.server, creds, `http_requests_total${sel}`);
        assert.equal(counter.length, 1, JSON.stringify(counter));
        assert.deepEqual(counter[0].metric, { __name__: 'http_requests_total', ...target, method: 'GET', status: '200', ...SCOPE });
        assert.equal(counter[0].value[1], '1');

        const buckets = await queryVector(env.server, creds, `http_request_duration_seconds_bucket${sel}`);
        const got = Object.fromEntries(buckets.map((b) => [b.metric.le, Number(b.value[1])]));
        assert.deepEqual(got, expectedBuckets(rec.observations));
        for (const b of buckets) assert.equal(b.metric.route, '/api/v1/metrics');

        const sum = await queryVector(env.server, creds, `http_request_duration_seconds_sum${sel}`);
        assert.equal(sum.length, 1);
        assert.equal(Number(sum[0].value[1]), rec.sum);
        const count = await queryVector(env.server, creds, `http_request_duration_seconds_count${sel}`);
        assert.equal(count.length, 1);
        assert.equal(count[0].value[1], '3');

        const q = await queryVector(env.server, creds, `job_queue_depth${sel}`);
        assert.equal(q.length, 1);
        assert.deepEqual(q[0].metric, { __name__: 'job_queue_depth', ...target, ...SCOPE });
        assert.equal(q[0].value[1], '3');

        const ti = await queryVector(env.server, creds, `target_info${sel}`);
        assert.equal(ti.length, 1);
        assert.equal(ti[0].metric.instance, c.inst);
        assert.equal(ti[0].metric.telemetry_sdk_language, 'nodejs');
        assert.equal(ti[0].metric.service_name, undefined, 'service.name belongs in job, not in target_info');

        const md = await apiData(env.server, '/api/v1/metadata', creds);
        assert.equal(md.http_requests_total?.[0]?.type, 'counter');
        assert.equal(md.http_request_duration_seconds?.[0]?.type, 'histogram');
        assert.equal(md.http_request_duration_seconds?.[0]?.unit, 'seconds');
        assert.equal(md.job_queue_depth?.[0]?.type, 'gauge');
      } finally {
        await sdk.shutdown().catch(() => {});
      }
    });
  }

  test('raw SDK bodies: the response mirrors the request content type; deflate is accepted', async () => {
    const c = makeCollectingSdk({ resource: { 'service.name': 'raw-post' } });
    c.meter.createCounter('raw_posts_total', { description: 'raw' }).add(4, { via: 'raw' });
    const { proto, json } = await c.encode();
    await c.shutdown();

    const url = '/otlp/v1/metrics';
    const rj = await post(env.server, url, { headers: { ...authHeaders(creds), 'Content-Type': 'application/json' }, body: json });
    assert.equal(rj.status, 200, rj.text);
    assert.match(rj.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(decodeExportResponse(rj).partialSuccess?.rejectedDataPoints ?? 0, 0, rj.text);

    const rp = await post(env.server, url, { headers: { ...authHeaders(creds), 'Content-Type': 'application/x-protobuf' }, body: proto });
    assert.equal(rp.status, 200, rp.text);
    assert.match(rp.headers.get('content-type') ?? '', /^application\/x-protobuf/);
    assert.equal(decodeExportResponse(rp).partialSuccess?.rejectedDataPoints ?? 0, 0);

    const rd = await post(env.server, url, {
      headers: { ...authHeaders(creds), 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'deflate' },
      body: zlib.deflateSync(proto),
    });
    assert.equal(rd.status, 200, rd.text);

    const r = await queryVector(env.server, creds, 'raw_posts_total');
    assert.equal(r.length, 1);
    assert.equal(r[0].metric.via, 'raw');
    assert.equal(r[0].value[1], '4');
  });

  test('JSON decoding is lenient where OTLP says so', async () => {
    const now = Date.now();
    const send = (body, ct = 'application/json') => post(env.server, '/otlp/v1/metrics', { headers: { ...authHeaders(creds), 'Content-Type': ct }, body: JSON.stringify(body) });
    const gauge = (name, point) => ({ resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name, gauge: { dataPoints: [point] } }] }] }] });
    // Content-Type with parameters.
    let r = await send(gauge('e2e_json_charset', { timeUnixNano: String(now * 1e6), asDouble: 1 }), 'application/json; charset=utf-8');
    assert.equal(r.status, 200, r.text);
    // 64-bit integers as JSON numbers instead of strings.
    r = await send(gauge('e2e_json_numbers', { timeUnixNano: now * 1e6, asInt: 5 }));
    assert.equal(r.status, 200, r.text);
    // Unknown keys anywhere are ignored.
    r = await send({ future: 1, resourceMetrics: [{ x: { y: [1, null] }, scopeMetrics: [{ metrics: [{ name: 'e2e_json_unknown', z: null, gauge: { dataPoints: [{ timeUnixNano: String(now * 1e6), asDouble: 2, extra: 'x' }] } }] }] }] });
    assert.equal(r.status, 200, r.text);
    // An empty request is a success.
    r = await send({});
    assert.equal(r.status, 200, r.text);
    for (const [name, v] of [['e2e_json_charset', '1'], ['e2e_json_numbers', '5'], ['e2e_json_unknown', '2']]) {
      const q = await queryVector(env.server, creds, name);
      assert.equal(q[0]?.value[1], v, name);
    }
  });
});
