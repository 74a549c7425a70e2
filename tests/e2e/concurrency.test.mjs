// Several tenants export and query at the same time, as a busy installation would: every
// export succeeds, every read during ingestion succeeds and sees only its tenant, and the final
// totals are exact.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setup, queryVector, apiData, sleep } from './lib/server.mjs';
import { makeSdk, AggregationTemporalityPreference } from './lib/otel.mjs';

const TENANTS = ['c1', 'c2', 'c3', 'c4'];
const ROUNDS = 15;

describe('concurrent tenants', () => {
  let env;
  before(async () => { env = await setup(Object.fromEntries(TENANTS.map((t) => [t, { tenant: t }]))); });
  after(async () => { await env?.teardown(); });

  test('parallel exporters and readers', async () => {
    let stop = false;
    const readerErrors = [];
    const readers = TENANTS.map(async (t) => {
      while (!stop) {
        try {
          const r = await queryVector(env.server, env.creds[t], 'conc_ops_total');
          for (const s of r) if (s.metric.tenant_attr !== t) readerErrors.push(`${t} saw ${JSON.stringify(s.metric)}`);
          await apiData(env.server, '/api/v1/series', env.creds[t], { 'match[]': '{__name__=~"conc_.*"}' });
        } catch (e) {
          readerErrors.push(`${t}: ${e.message}`);
        }
        await sleep(2);
      }
    });

    const writers = TENANTS.map(async (t, k) => {
      // Half the tenants export DELTA, half CUMULATIVE.
      const sdk = makeSdk({
        server: env.server, creds: env.creds[t], kind: k % 2 ? 'json' : 'proto',
        temporalityPreference: k % 2 ? AggregationTemporalityPreference.DELTA : AggregationTemporalityPreference.CUMULATIVE,
        resource: { 'service.name': `svc-${t}` },
      });
      const ops = sdk.meter.createCounter('conc_ops_total', { description: 'ops' });
      const lat = sdk.meter.createHistogram('conc_latency_seconds', { unit: 's', description: 'lat' });
      let total = 0;
      for (let round = 1; round <= ROUNDS; round++) {
        for (let w = 0; w < 10; w++) ops.add(round, { tenant_attr: t, worker: String(w) });
        lat.record(round / 100, { tenant_attr: t });
        total += round;
        await sleep(2);
        await sdk.flush();
      }
      await sdk.shutdown();
      return total;
    });
    const totals = await Promise.all(writers);
    stop = true;
    await Promise.all(readers);
    assert.deepEqual(readerErrors, []);

    for (const [k, t] of TENANTS.entries()) {
      const r = await queryVector(env.server, env.creds[t], 'conc_ops_total');
      assert.equal(r.length, 10, `${t}: ${JSON.stringify(r)}`);
      for (const s of r) {
        assert.equal(s.metric.job, `svc-${t}`);
        assert.equal(s.value[1], String(totals[k]), `${t} worker ${s.metric.worker}`);
      }
      const c = await queryVector(env.server, env.creds[t], 'conc_latency_seconds_count');
      assert.equal(c[0]?.value[1], String(ROUNDS), t);
    }
  });
});
