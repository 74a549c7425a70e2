// Two tenants push the same metric name with different values, labels and HELP text; each must
// see only its own data through every read endpoint, and neither token opens the other tenant.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setup, queryVector, apiData, apiGet } from './lib/server.mjs';
import { makeSdk } from './lib/otel.mjs';

const A = { tenant: 'alpha', svc: 'alpha-svc', shop: 'a-only', value: 7, help: 'Orders seen by alpha', only: 'alpha_only_gauge' };
const B = { tenant: 'beta', svc: 'beta-svc', shop: 'b-only', value: 11, help: 'Orders seen by beta', only: 'beta_only_gauge' };

describe('tenant isolation', () => {
  let env;

  before(async () => {
    env = await setup({ alpha: { tenant: A.tenant }, beta: { tenant: B.tenant } });
    for (const t of [A, B]) {
      const sdk = makeSdk({ server: env.server, creds: env.creds[t.tenant], kind: 'proto', resource: { 'service.name': t.svc } });
      sdk.meter.createCounter('orders_total', { description: t.help }).add(t.value, { shop: t.shop });
      sdk.meter.createUpDownCounter(t.only, { description: `${t.tenant} only` }).add(1);
      await sdk.flush();
      await sdk.shutdown();
    }
  });
  after(async () => { await env?.teardown(); });

  for (const [me, them] of [[A, B], [B, A]]) {
    test(`${me.tenant} reads only its own data`, async () => {
      const creds = env.creds[me.tenant];
      const q = await queryVector(env.server, creds, 'orders_total');
      assert.equal(q.length, 1, JSON.stringify(q));
      assert.equal(q[0].metric.job, me.svc);
      assert.equal(q[0].metric.shop, me.shop);
      assert.equal(q[0].value[1], String(me.value));

      const all = await queryVector(env.server, creds, '{__name__=~".+"}');
      assert.ok(all.length > 0);
      for (const s of all) assert.notEqual(s.metric.job, them.svc, `saw ${JSON.stringify(s.metric)}`);

      const series = await apiData(env.server, '/api/v1/series', creds, { 'match[]': ['orders_total', `{__name__="${them.only}"}`] });
      assert.equal(series.length, 1, JSON.stringify(series));
      assert.equal(series[0].shop, me.shop);

      const labels = await apiData(env.server, '/api/v1/labels', creds);
      assert.ok(labels.includes('shop') && labels.includes('job') && labels.includes('__name__'), JSON.stringify(labels));

      assert.deepEqual(await apiData(env.server, '/api/v1/label/shop/values', creds), [me.shop]);
      const jobs = await apiData(env.server, '/api/v1/label/job/values', creds);
      assert.deepEqual(jobs, [me.svc]);
      const names = await apiData(env.server, '/api/v1/label/__name__/values', creds);
      assert.ok(names.includes(me.only) && names.includes('orders_total'), JSON.stringify(names));
      assert.ok(!names.includes(them.only), `${me.tenant} sees ${them.only}: ${JSON.stringify(names)}`);
      const matched = await apiData(env.server, '/api/v1/label/shop/values', creds, { 'match[]': 'orders_total' });
      assert.deepEqual(matched, [me.shop]);

      const md = await apiData(env.server, '/api/v1/metadata', creds);
      assert.deepEqual(md.orders_total, [{ type: 'counter', help: me.help, unit: '' }]);
      assert.equal(md[them.only], undefined);
      assert.ok(md[me.only]);

      // Grafana sends series and labels as form POSTs.
      for (const p of ['/prometheus/api/v1/series', '/prometheus/api/v1/labels']) {
        const form = new URLSearchParams();
        form.append('match[]', 'orders_total');
        const res = await fetch(env.server.url + p, {
          method: 'POST',
          headers: { Authorization: `Bearer ${creds.token}`, 'X-Scope-OrgID': creds.tenant, 'Content-Type': 'application/x-www-form-urlencoded' },
          body: form.toString(),
        });
        const j = await res.json();
        assert.equal(res.status, 200, `${p}: ${JSON.stringify(j)}`);
        if (p.endsWith('series')) assert.deepEqual(j.data.map((x) => x.shop), [me.shop]);
        else assert.deepEqual(j.data, ['__name__', 'job', 'otel_scope_name', 'otel_scope_version', 'shop']);
      }

      const pq = await queryVector(env.server, creds, 'orders_total', { prefix: '/prometheus' });
      assert.equal(pq.length, 1);
      assert.equal(pq[0].value[1], String(me.value));
    });

    test(`${me.tenant}'s token cannot read ${them.tenant} (403)`, async () => {
      const creds = { token: env.creds[me.tenant].token, tenant: them.tenant };
      for (const path of ['/api/v1/query', '/api/v1/series', '/api/v1/labels', '/api/v1/label/shop/values', '/api/v1/metadata', '/prometheus/api/v1/query']) {
        const r = await apiGet(env.server, path, creds, { query: 'orders_total', 'match[]': 'orders_total' });
        assert.equal(r.status, 403, `${path}: ${r.status} ${r.text.slice(0, 300)}`);
        assert.ok(!r.text.includes(them.shop), `${path} leaked data: ${r.text.slice(0, 300)}`);
      }
    });
  }

  test('a tenant with no data sees nothing at all', async () => {
    // Tokens can be created while the server runs; it picks them up within seconds.
    const { createToken, sleep } = await import('./lib/server.mjs');
    const gamma = await createToken(env.dataDir, 'gamma');
    let r;
    for (let i = 0; i < 50; i++) {
      r = await apiGet(env.server, '/api/v1/query', gamma, { query: '{__name__=~".+"}' });
      if (r.status === 200) break;
      await sleep(100);
    }
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.data.result, []);
    assert.deepEqual(await apiData(env.server, '/api/v1/series', gamma, { 'match[]': '{__name__=~".+"}' }), []);
    assert.deepEqual(await apiData(env.server, '/api/v1/label/__name__/values', gamma), []);
    assert.deepEqual(await apiData(env.server, '/api/v1/metadata', gamma), {});
  });
});
