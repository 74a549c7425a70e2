// Bad requests must fail with the right status and a google.rpc.Status body in the request's
// content type; one bad point must not fail the batch; every rejection must be findable through
// /api/v1/ingestion/errors.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { AggregationType } from '@opentelemetry/sdk-metrics';
import { setup, post, authHeaders, errorText, queryVector, apiGet, apiData, waitReady } from './lib/server.mjs';
import { gaugeRequestJson, makeCollectingSdk, otlpJson, nanos } from './lib/otel.mjs';
import { decodeStatusProto, decodeExportResponse } from './lib/proto.mjs';

const OTLP = '/otlp/v1/metrics';

// Finds an object anywhere in `tree` with one string value naming `metric` and one matching
// `reason` (the entry shape of /api/v1/ingestion/errors is the server's choice).
function findEntry(tree, metric, reason) {
  const stack = [tree];
  while (stack.length) {
    const o = stack.pop();
    if (o && typeof o === 'object') {
      const strings = Object.values(o).filter((v) => typeof v === 'string');
      if (strings.some((s) => s.includes(metric)) && strings.some((s) => reason.test(s))) return o;
      stack.push(...Object.values(o));
    }
  }
  return null;
}

describe('ingest errors', () => {
  let env; let creds; let small;
  const LIMIT = 100_000;

  before(async () => {
    env = await setup({ app: { tenant: 'errs' }, other: { tenant: 'errs-other' } });
    creds = env.creds.app;
    // A second server on the same data dir is not allowed; give it its own, with a small limit.
    small = await setup({ app: { tenant: 'errs' } }, { extraArgs: ['--max-request-bytes', String(LIMIT)] });
  });
  after(async () => { await small?.teardown(); await env?.teardown(); });

  const hdr = (ct, extra = {}) => ({ ...authHeaders(creds), 'Content-Type': ct, ...extra });

  test('415 for an unsupported Content-Type, naming what is supported', async () => {
    const r = await post(env.server, OTLP, { headers: hdr('text/plain'), body: 'http_requests_total 1' });
    assert.equal(r.status, 415, r.text);
    assert.match(await errorText(r), /application\/x-protobuf/);
    assert.match(await errorText(r), /application\/json/);
  });

  test('415 for an unsupported Content-Encoding, naming it', async () => {
    const body = gaugeRequestJson('enc_probe', [{ value: 1, timeMs: Date.now() }]);
    const r = await post(env.server, OTLP, { headers: hdr('application/json', { 'Content-Encoding': 'br' }), body });
    assert.equal(r.status, 415, r.text);
    assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
    const st = JSON.parse(r.text);
    assert.match(st.message, /br/);
    assert.match(st.message, /gzip/);
  });

  test('413 for a 65 MiB gzip bomb against the default 64 MiB limit; the server survives', async () => {
    const bomb = zlib.gzipSync(Buffer.alloc(65 << 20), { level: 9 });
    assert.ok(bomb.length < 1 << 20, `bomb is ${bomb.length} bytes compressed`);
    const r = await post(env.server, OTLP, { headers: hdr('application/x-protobuf', { 'Content-Encoding': 'gzip' }), body: bomb });
    assert.equal(r.status, 413, r.text.slice(0, 300));
    assert.match(r.headers.get('content-type') ?? '', /^application\/x-protobuf/);
    const st = decodeStatusProto(r.body);
    assert.match(st.message, /67108864|64 ?MiB|limit/i);
    await waitReady(env.server, 5000);
  });

  test('413 above --max-request-bytes (plain and gzip), accepted just below', async () => {
    const t0 = Date.now() - 60000;
    const pts = Array.from({ length: 2000 }, (_, i) => ({ value: i, timeMs: t0 + i, attrs: { i: String(i).padStart(6, '0') } }));
    const big = gaugeRequestJson('big_gauge', pts);
    assert.ok(big.length > LIMIT && zlib.gzipSync(big).length < LIMIT);
    const sh = { ...authHeaders(small.creds.app), 'Content-Type': 'application/json' };
    const r1 = await post(small.server, OTLP, { headers: sh, body: big });
    assert.equal(r1.status, 413, r1.text.slice(0, 300));
    assert.ok(JSON.parse(r1.text).message, 'JSON Status body');
    const r2 = await post(small.server, OTLP, { headers: { ...sh, 'Content-Encoding': 'gzip' }, body: zlib.gzipSync(big) });
    assert.equal(r2.status, 413, `limit applies after decompression: ${r2.text.slice(0, 300)}`);
    const ok = gaugeRequestJson('big_gauge', pts.slice(0, 10));
    const r3 = await post(small.server, OTLP, { headers: sh, body: ok });
    assert.equal(r3.status, 200, r3.text);
  });

  test('corrupt compressed bodies → 400 naming the encoding; a deflate bomb → 413', async () => {
    const body = Buffer.from(gaugeRequestJson('enc_corrupt', [{ value: 1, timeMs: Date.now() }]));
    for (const [what, enc, data] of [
      ['not gzip', 'gzip', Buffer.from('not gzip data at all')],
      ['truncated gzip', 'gzip', zlib.gzipSync(body).subarray(0, 20)],
      ['not deflate', 'deflate', Buffer.from('not deflate either')],
    ]) {
      const r = await post(env.server, OTLP, { headers: hdr('application/json', { 'Content-Encoding': enc }), body: data });
      assert.equal(r.status, 400, `${what}: ${r.status} ${r.text}`);
      assert.match(JSON.parse(r.text).message, new RegExp(enc, 'i'), `${what}: ${r.text}`);
    }
    const bomb = zlib.deflateSync(Buffer.alloc(65 << 20));
    const r = await post(env.server, OTLP, { headers: hdr('application/x-protobuf', { 'Content-Encoding': 'deflate' }), body: bomb });
    assert.equal(r.status, 413, r.text.slice(0, 300));
    await waitReady(env.server, 5000);
  });

  test('GET on the ingest path → 405 saying to POST', async () => {
    const res = await fetch(env.server.url + OTLP, { headers: authHeaders(creds) });
    const text = await res.text();
    assert.equal(res.status, 405, text);
    assert.match(text, /POST/);
  });

  test('undecodable protobuf → 400 with a protobuf google.rpc.Status', async () => {
    // field 1 (resource_metrics), length 2^35: far past the end of the body.
    const body = Buffer.from([0x0a, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0x01, 0x02]);
    const r = await post(env.server, OTLP, { headers: hdr('application/x-protobuf'), body });
    assert.equal(r.status, 400, r.text);
    assert.match(r.headers.get('content-type') ?? '', /^application\/x-protobuf/);
    const st = decodeStatusProto(r.body);
    assert.ok(st.message.length > 10, `Status.message should explain: ${JSON.stringify(st)}`);
  });

  test('undecodable JSON → 400 with a JSON google.rpc.Status', async () => {
    for (const body of ['{"resourceMetrics": [', '{"resourceMetrics": 5}', 'not json']) {
      const r = await post(env.server, OTLP, { headers: hdr('application/json'), body });
      assert.equal(r.status, 400, `${body}: ${r.text}`);
      assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
      assert.ok(JSON.parse(r.text).message, `${body}: ${r.text}`);
    }
  });

  test('an out-of-order point is rejected alone: 200 + partialSuccess, the rest stored, listed in ingestion/errors', async () => {
    const now = Date.now();
    const first = await post(env.server, OTLP, {
      headers: hdr('application/json'),
      body: gaugeRequestJson('e2e_ooo_gauge', [{ value: 10, timeMs: now, attrs: { k: 'v' } }]),
    });
    assert.equal(first.status, 200, first.text);
    const r = await post(env.server, OTLP, {
      headers: hdr('application/json'),
      body: gaugeRequestJson('e2e_ooo_gauge', [
        { value: 9, timeMs: now - 60000, attrs: { k: 'v' } }, // older than the series' latest
        { value: 42, timeMs: now, attrs: { k: 'fresh' } },
      ]),
    });
    assert.equal(r.status, 200, r.text);
    assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
    const resp = decodeExportResponse(r);
    assert.equal(resp.partialSuccess?.rejectedDataPoints, 1, r.text);
    assert.match(resp.partialSuccess.errorMessage, /e2e_ooo_gauge/);
    assert.match(resp.partialSuccess.errorMessage, /out[- _]of[- _]order|older/i);

    const fresh = await queryVector(env.server, creds, 'e2e_ooo_gauge{k="fresh"}');
    assert.equal(fresh.length, 1);
    assert.equal(fresh[0].value[1], '42');
    const old = await queryVector(env.server, creds, 'e2e_ooo_gauge{k="v"}');
    assert.equal(old[0].value[1], '10', 'the rejected point must not overwrite the stored one');

    const errs = await apiGet(env.server, '/api/v1/ingestion/errors', creds);
    assert.equal(errs.status, 200, errs.text);
    assert.ok(findEntry(errs.json, 'e2e_ooo_gauge', /out[- _]of[- _]order|older/i),
      `ingestion/errors should list e2e_ooo_gauge with its reason: ${errs.text.slice(0, 2000)}`);
  });

  test('a conflicting duplicate is rejected, an identical duplicate accepted', async () => {
    const t = Date.now() - 1000;
    const send = (v) => post(env.server, OTLP, { headers: hdr('application/json'), body: gaugeRequestJson('e2e_dup_gauge', [{ value: v, timeMs: t }]) });
    assert.equal((await send(5)).status, 200);
    const same = await send(5);
    assert.equal(same.status, 200);
    assert.equal(decodeExportResponse(same).partialSuccess?.rejectedDataPoints ?? 0, 0, same.text);
    const conflict = await send(6);
    assert.equal(conflict.status, 200, conflict.text);
    const ps = decodeExportResponse(conflict).partialSuccess;
    assert.equal(ps?.rejectedDataPoints, 1, conflict.text);
    assert.match(ps.errorMessage, /e2e_dup_gauge/);
    const v = await queryVector(env.server, creds, 'e2e_dup_gauge');
    assert.equal(v[0].value[1], '5');
  });

  test('an SDK exponential histogram is never silently dropped', async (t) => {
    const sdk = makeCollectingSdk({
      resource: { 'service.name': 'exp' },
      views: [{ instrumentName: 'e2e_exp_latency', aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM } }],
    });
    const h = sdk.meter.createHistogram('e2e_exp_latency', { description: 'exp histogram' });
    for (const v of [0.5, 1, 2, 4, 8]) h.record(v);
    sdk.meter.createCounter('e2e_exp_companion_total').add(1);
    const { proto } = await sdk.encode();
    await sdk.shutdown();
    const r = await post(env.server, OTLP, { headers: hdr('application/x-protobuf'), body: proto });
    assert.equal(r.status, 200, r.text);
    const resp = decodeExportResponse(r);
    t.diagnostic(`response: ${JSON.stringify(resp)}`);
    const companion = await queryVector(env.server, creds, 'e2e_exp_companion_total');
    assert.equal(companion.length, 1, 'the valid metric in the same request is stored');
    if ((resp.partialSuccess?.rejectedDataPoints ?? 0) > 0) {
      assert.equal(resp.partialSuccess.rejectedDataPoints, 1);
      assert.match(resp.partialSuccess.errorMessage, /e2e_exp_latency/);
      assert.match(resp.partialSuccess.errorMessage, /exponential/i);
      const errs = await apiData(env.server, '/api/v1/ingestion/errors', creds).catch(async () => (await apiGet(env.server, '/api/v1/ingestion/errors', creds)).json);
      assert.ok(findEntry(errs, 'e2e_exp_latency', /exponential/i), `ingestion/errors: ${JSON.stringify(errs).slice(0, 2000)}`);
    } else {
      const series = await apiData(env.server, '/api/v1/series', creds, { 'match[]': '{__name__=~"e2e_exp_latency.*"}' });
      assert.ok(series.length > 0, 'accepted without a partial success, so it must be queryable');
    }
  });

  test('invalid points are rejected one by one with a reason, valid ones in the same request kept', async () => {
    const now = Date.now();
    const bad = [
      ['e2e_bad_hist', /bucket/i, { histogram: { aggregationTemporality: 2, dataPoints: [{ timeUnixNano: nanos(now), count: '3', sum: 1, bucketCounts: ['1', '2'], explicitBounds: [1, 2, 3] }] } }],
      ['e2e_bad_time', /time|timestamp/i, { gauge: { dataPoints: [{ timeUnixNano: '0', asDouble: 1 }] } }],
      ['e2e_bad_novalue', /value/i, { gauge: { dataPoints: [{ timeUnixNano: nanos(now) }] } }],
    ];
    const body = otlpJson({ 'service.name': 'validation' }, [
      ...bad.map(([name, , data]) => ({ name, ...data })),
      { name: 'e2e_good_gauge', gauge: { dataPoints: [{ timeUnixNano: nanos(now), asDouble: 8 }] } },
    ]);
    const r = await post(env.server, OTLP, { headers: hdr('application/json'), body });
    assert.equal(r.status, 200, r.text);
    const ps = decodeExportResponse(r).partialSuccess;
    assert.equal(ps?.rejectedDataPoints, bad.length, r.text);
    for (const [name] of bad) assert.match(ps.errorMessage, new RegExp(name));
    const good = await queryVector(env.server, creds, 'e2e_good_gauge');
    assert.equal(good[0]?.value[1], '8');
    const errs = await apiGet(env.server, '/api/v1/ingestion/errors', creds);
    for (const [name, reason] of bad) {
      assert.ok(findEntry(errs.json, name, reason), `ingestion/errors should list ${name}: ${errs.text.slice(0, 1500)}`);
      assert.deepEqual(await queryVector(env.server, creds, `{__name__=~"${name}.*"}`), []);
    }
  });

  // Prometheus (out of bounds) and Mimir (creation_grace_period 10m) refuse points more than
  // 10 minutes ahead; so do we, so one bad clock cannot block a series for an hour.
  test('a point far in the future is refused with a reason and does not block its series',
    async () => {
      const now = Date.now();
      const g = (v, t) => gaugeRequestJson('e2e_future_gauge', [{ value: v, timeMs: t }]);
      const r1 = await post(env.server, OTLP, { headers: hdr('application/json'), body: g(1, now + 3_600_000) });
      assert.equal(r1.status, 200, r1.text);
      const ps = decodeExportResponse(r1).partialSuccess;
      assert.equal(ps?.rejectedDataPoints, 1, `a sample 1 h ahead should be rejected: ${r1.text}`);
      assert.match(ps.errorMessage, /e2e_future_gauge/);
      assert.match(ps.errorMessage, /future/i);
      const r2 = await post(env.server, OTLP, { headers: hdr('application/json'), body: g(2, now) });
      assert.equal(decodeExportResponse(r2).partialSuccess?.rejectedDataPoints ?? 0, 0, r2.text);
      assert.equal((await queryVector(env.server, creds, 'e2e_future_gauge'))[0]?.value[1], '2');
    });

  test('ingestion/errors is tenant-scoped and needs credentials', async () => {
    const r = await apiGet(env.server, '/api/v1/ingestion/errors', null);
    assert.equal(r.status, 401);
    const mine = await apiGet(env.server, '/api/v1/ingestion/errors', creds);
    assert.ok(mine.text.includes('e2e_ooo_gauge'));
    const other = await apiGet(env.server, '/api/v1/ingestion/errors', env.creds.other);
    assert.equal(other.status, 200, other.text);
    assert.ok(!other.text.includes('e2e_ooo_gauge'), `another tenant must not see these rejections: ${other.text.slice(0, 500)}`);
  });
});
