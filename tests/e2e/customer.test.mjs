// The first-run experience: `xscaler serve` on an empty data dir prints ready-to-paste
// credentials once; the guide's code, fed those credentials "from the environment", works; the
// ingestion status endpoint answers "why are my metrics not appearing"; a restart keeps
// tokens and data and prints no new secret.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { makeDataDir, removeDataDir, startServer, apiGet, queryVector, sleep } from './lib/server.mjs';
import { makeSdk, recordGuideInstruments } from './lib/otel.mjs';

// Every object in a JSON tree.
function* objects(tree) {
  if (tree && typeof tree === 'object') {
    yield tree;
    for (const v of Object.values(tree)) yield* objects(v);
  }
}

describe('first start and the guide, end to end', () => {
  const dataDir = makeDataDir();
  let server; let env;

  before(async () => {
    server = await startServer(dataDir, { extraArgs: ['--default-tenant', 'demo'] });
    // The credentials are printed before /ready; allow the pipe a moment.
    for (let i = 0; i < 40 && !/XSCALER_TENANT_ID=/.test(server.output); i++) await sleep(50);
    env = {};
    for (const m of server.output.matchAll(/^export\s+(XSCALER_TOKEN|XSCALER_TENANT_ID)=(\S+)\s*$/gm)) env[m[1]] = m[2];
  });
  after(async () => { await server?.stop(); removeDataDir(dataDir); });

  test('first start prints ready-to-paste export lines for tenant demo', () => {
    assert.ok(env.XSCALER_TOKEN, `no "export XSCALER_TOKEN=..." line in:\n${server.output}`);
    assert.equal(env.XSCALER_TENANT_ID, 'demo');
  });

  test('probes and build info', async () => {
    for (const p of ['/ready', '/-/healthy']) {
      const r = await fetch(server.url + p);
      assert.equal(r.status, 200, p);
    }
    const bi = await apiGet(server, '/api/v1/status/buildinfo', null);
    assert.equal(bi.status, 200, bi.text);
    assert.equal(bi.json.status, 'success');
    assert.match(bi.json.data.version, /^\d+\.\d+\.\d+/);
  });

  test('the guide with credentials from the environment; ingestion status before and after', async () => {
    const creds = { token: env.XSCALER_TOKEN, tenant: env.XSCALER_TENANT_ID };
    const beforePush = await apiGet(server, '/api/v1/ingestion/errors', creds);
    assert.equal(beforePush.status, 200, beforePush.text);
    assert.match(beforePush.text, /\/otlp\/v1\/metrics/, 'with no push yet, the answer should point at the endpoint path');

    const sdk = makeSdk({
      server, kind: 'proto', resource: { 'service.name': 'guide-app' },
      headers: { Authorization: `Bearer ${creds.token}`, 'X-Scope-OrgID': creds.tenant },
    });
    recordGuideInstruments(sdk.meter);
    await sdk.flush();
    await sdk.shutdown();

    const q = await queryVector(server, creds, 'job_queue_depth{job="guide-app"}');
    assert.equal(q[0]?.value[1], '3');

    const afterPush = await apiGet(server, '/api/v1/ingestion/errors', creds);
    assert.equal(afterPush.status, 200, afterPush.text);
    const last = [...objects(afterPush.json)].find((o) => Object.keys(o).some((k) => /accepted/i.test(k)) && /otlp/i.test(JSON.stringify(o)));
    assert.ok(last, `the last push should be reported with its accepted count: ${afterPush.text.slice(0, 1000)}`);
    const acceptedKey = Object.keys(last).find((k) => /accepted/i.test(k));
    assert.ok(Number(last[acceptedKey]) > 0, JSON.stringify(last));
  });

  test('a restart keeps tokens and data and prints no new token', async () => {
    const creds = { token: env.XSCALER_TOKEN, tenant: env.XSCALER_TENANT_ID };
    const old = server;
    await old.stop();
    assert.equal(old.exitSignal, null, `SIGTERM should end the server cleanly, not kill it:\n${old.logTail()}`);
    assert.equal(old.exitCode, 0, old.logTail());
    server = await startServer(dataDir, { extraArgs: ['--default-tenant', 'demo'] });
    await sleep(100);
    assert.doesNotMatch(server.output, /XSCALER_TOKEN=/, 'the secret is shown only on the first start');
    const q = await queryVector(server, creds, 'http_requests_total{job="guide-app"}');
    assert.equal(q.length, 1);
    assert.equal(q[0].value[1], '1');
  });
});
