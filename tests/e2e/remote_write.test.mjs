// A Prometheus remote-write 1.0 sender (WriteRequest protobuf, snappy block compression), as
// Prometheus, vmagent or the Grafana Agent would send, and its samples read back exactly.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setup, queryVector, apiData, post, authHeaders, errorText, promTime } from './lib/server.mjs';
import { remoteWriteBody, encodeWriteRequest, snappyBlock, REMOTE_WRITE_HEADERS } from './lib/proto.mjs';

describe('Prometheus remote write', () => {
  let env; let creds;
  const t0 = Date.now() - 30_000;

  before(async () => { env = await setup({ agent: { tenant: 'rw-tenant' } }); creds = env.creds.agent; });
  after(async () => { await env?.teardown(); });

  const send = (path, body, extra = {}) => post(env.server, path, { headers: { ...authHeaders(creds), ...REMOTE_WRITE_HEADERS, ...extra }, body });

  test('POST /api/v1/push: every sample reads back at its own time', async () => {
    const labels = { __name__: 'rw_requests_total', job: 'node', instance: 'host-1:9100', code: '200' };
    const samples = [[1, t0], [2, t0 + 1000], [5, t0 + 2000]];
    const other = { __name__: 'rw_requests_total', job: 'node', instance: 'host-2:9100', code: '500' };
    const r = await send('/api/v1/push', remoteWriteBody([
      { labels, samples },
      { labels: other, samples: [[0.1, t0], [-2.5, t0 + 2000]] },
    ]));
    assert.ok(r.status === 200 || r.status === 204, `${r.status} ${r.text}`);

    for (const [v, t] of samples) {
      const res = await queryVector(env.server, creds, 'rw_requests_total{code="200"}', { time: promTime(t) });
      assert.equal(res.length, 1, `at ${t}: ${JSON.stringify(res)}`);
      assert.deepEqual(res[0].metric, labels);
      assert.equal(res[0].value[1], String(v));
      assert.equal(res[0].value[0], t / 1000);
    }
    // before the first sample: nothing
    assert.deepEqual(await queryVector(env.server, creds, 'rw_requests_total', { time: promTime(t0 - 1) }), []);

    const both = await queryVector(env.server, creds, 'rw_requests_total', { time: promTime(t0 + 2000) });
    const byCode = Object.fromEntries(both.map((s) => [s.metric.code, s.value[1]]));
    assert.deepEqual(byCode, { 200: '5', 500: '-2.5' });
    const mid = await queryVector(env.server, creds, 'rw_requests_total{code="500"}', { time: promTime(t0 + 1000) });
    assert.equal(mid[0].value[1], '0.1');

    const series = await apiData(env.server, '/prometheus/api/v1/series', creds, { 'match[]': 'rw_requests_total', start: promTime(t0 - 1000), end: promTime(t0 + 5000) });
    assert.equal(series.length, 2);
    assert.deepEqual(await apiData(env.server, '/api/v1/label/instance/values', creds), ['host-1:9100', 'host-2:9100']);
  });

  test('POST /api/v1/write is the same endpoint; special float values survive', async () => {
    const labels = { __name__: 'rw_alias_gauge', job: 'alias' };
    const r = await send('/api/v1/write', remoteWriteBody([{ labels, samples: [[Infinity, t0], [42.125, t0 + 10]] }]));
    assert.ok(r.status === 200 || r.status === 204, `${r.status} ${r.text}`);
    const inf = await queryVector(env.server, creds, 'rw_alias_gauge', { time: promTime(t0) });
    assert.equal(inf[0].value[1], '+Inf');
    const v = await queryVector(env.server, creds, 'rw_alias_gauge', { time: promTime(t0 + 10) });
    assert.deepEqual(v[0].metric, labels);
    assert.equal(v[0].value[1], '42.125');
  });

  test('remote-write metadata is served by /api/v1/metadata', async () => {
    const r = await send('/api/v1/push', remoteWriteBody(
      [{ labels: { __name__: 'rw_meta_bytes', job: 'm' }, samples: [[1, t0]] }],
      [{ type: 'gauge', family: 'rw_meta_bytes', help: 'Bytes in use', unit: 'bytes' }],
    ));
    assert.ok(r.status === 200 || r.status === 204, `${r.status} ${r.text}`);
    const md = await apiData(env.server, '/api/v1/metadata', creds, { metric: 'rw_meta_bytes' });
    assert.deepEqual(md, { rw_meta_bytes: [{ type: 'gauge', help: 'Bytes in use', unit: 'bytes' }] });
  });

  test('malformed snappy → 400 naming snappy', async () => {
    const good = snappyBlock(encodeWriteRequest([{ labels: { __name__: 'rw_bad', job: 'x' }, samples: [[1, t0]] }]));
    const truncated = good.subarray(0, good.length - 5);
    for (const [what, body] of [['garbage', Buffer.from('this is not snappy at all, just text')], ['truncated', truncated]]) {
      const r = await send('/api/v1/push', body);
      assert.equal(r.status, 400, `${what}: ${r.status} ${r.text}`);
      assert.match(await errorText(r), /snappy/i, `${what}: ${r.text}`);
    }
    assert.deepEqual(await queryVector(env.server, creds, 'rw_bad', { time: promTime(t0) }), []);
  });

  test('valid snappy around an invalid protobuf → 400', async () => {
    const r = await send('/api/v1/push', snappyBlock(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01])));
    assert.equal(r.status, 400, r.text);
    assert.ok((await errorText(r)).length > 10, r.text);
  });

  test('label values with quotes, backslashes, newlines and UTF-8 round-trip; NaN samples', async () => {
    const labels = { __name__: 'rw_escaping', v: 'a"b\\c ü\n' };
    const r = await send('/api/v1/push', remoteWriteBody([{ labels, samples: [[NaN, t0]] }]));
    assert.ok(r.status === 200 || r.status === 204, `${r.status} ${r.text}`);
    const q = await queryVector(env.server, creds, 'rw_escaping{v="a\\"b\\\\c ü\\n"}', { time: promTime(t0) });
    assert.equal(q.length, 1);
    assert.deepEqual(q[0].metric, labels);
    assert.equal(q[0].value[1], 'NaN');
  });

  test('Content-Type names the message: 1.0 accepted, 2.0 refused with 415', async () => {
    const v1 = await send('/api/v1/push', remoteWriteBody([{ labels: { __name__: 'rw_ct_v1' }, samples: [[1, t0]] }]),
      { 'Content-Type': 'application/x-protobuf;proto=prometheus.WriteRequest' });
    assert.ok(v1.status === 200 || v1.status === 204, `${v1.status} ${v1.text}`);
    const v2 = await send('/api/v1/push', remoteWriteBody([{ labels: { __name__: 'rw_ct_v2' }, samples: [[1, t0]] }]),
      { 'Content-Type': 'application/x-protobuf;proto=io.prometheus.write.v2.Request' });
    assert.equal(v2.status, 415, v2.text);
    assert.match(await errorText(v2), /2\.0|v2/);
    assert.equal((await queryVector(env.server, creds, 'rw_ct_v1', { time: promTime(t0) })).length, 1);
  });
});
