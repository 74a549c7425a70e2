// Authentication and tenancy at the HTTP edge: every way a customer gets the two headers wrong
// must produce the right status AND a body that tells them how to fix it.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  setup, createToken, revokeToken, listTokens, rawRequest, errorText, queryVector, sleep,
} from './lib/server.mjs';
import { gaugeRequestJson } from './lib/otel.mjs';
import { remoteWriteBody, REMOTE_WRITE_HEADERS } from './lib/proto.mjs';

const TENANT = 'team-a';
const OTHER = 'team-b';

describe('authentication, permissions and X-Scope-OrgID', () => {
  let env; let c;

  before(async () => {
    env = await setup({
      rw: { tenant: TENANT },
      ro: { tenant: TENANT, read: true },
      wo: { tenant: TENANT, write: true },
      other: { tenant: OTHER },
      revokedEarly: { tenant: TENANT },
      revokedLive: { tenant: TENANT },
    }, {}, async (dataDir, creds) => {
      // Revoked before the server even starts: must never work.
      assert.ok(creds.revokedEarly.id, `could not find the token id in \`token create\` output:\n${creds.revokedEarly.stdout}`);
      await revokeToken(dataDir, creds.revokedEarly.id);
    });
    c = env.creds;
  });

  after(async () => { await env?.teardown(); });

  // One request per surface: OTLP write, remote-write write, and a read.
  const ops = {
    otlp: (headers) => rawRequest(env.server, 'POST', '/otlp/v1/metrics',
      { 'Content-Type': 'application/json', ...headers },
      gaugeRequestJson('auth_probe', [{ value: 1, timeMs: Date.now() }])),
    push: (headers) => rawRequest(env.server, 'POST', '/api/v1/push',
      { ...REMOTE_WRITE_HEADERS, ...headers },
      remoteWriteBody([{ labels: { __name__: 'auth_probe_rw', job: 'auth' }, samples: [[1, Date.now()]] }])),
    query: (headers) => rawRequest(env.server, 'GET', '/api/v1/query?query=auth_probe', headers),
  };
  const bearer = (tok) => ({ Authorization: `Bearer ${tok}`, 'X-Scope-OrgID': TENANT });

  async function expectError(res, status, pattern, what) {
    const msg = await errorText(res);
    assert.equal(res.status, status, `${what}: want HTTP ${status}, got ${res.status}: ${res.text.slice(0, 500)}`);
    assert.match(msg, pattern, `${what}: body should say what to do, got: ${res.text.slice(0, 500)}`);
  }

  test('valid credentials work on every surface, whatever the header-name case', async () => {
    for (const [name, op] of Object.entries(ops)) {
      const r1 = await op(bearer(c.rw.token));
      assert.ok(r1.status >= 200 && r1.status < 300, `${name}: ${r1.status} ${r1.text}`);
      const r2 = await op({ authorization: `Bearer ${c.rw.token}`, 'x-scope-orgid': TENANT });
      assert.ok(r2.status >= 200 && r2.status < 300, `${name} lower-case names: ${r2.status} ${r2.text}`);
      const r3 = await op({ AUTHORIZATION: `Bearer ${c.rw.token}`, 'X-SCOPE-ORGID': TENANT });
      assert.ok(r3.status >= 200 && r3.status < 300, `${name} upper-case names: ${r3.status} ${r3.text}`);
    }
  });

  test('OTLP JSON errors come back as a JSON google.rpc.Status', async () => {
    const r = await ops.otlp({ 'X-Scope-OrgID': TENANT });
    assert.equal(r.status, 401);
    assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
    const st = JSON.parse(r.text);
    assert.equal(typeof st.message, 'string');
    assert.match(st.message, /Bearer <token>/);
  });

  const unauthenticated = [
    ['missing Authorization', () => ({ 'X-Scope-OrgID': TENANT })],
    ['lower-case scheme "bearer x"', () => ({ Authorization: `bearer ${c.rw.token}`, 'X-Scope-OrgID': TENANT })],
    ['no space "Bearerx"', () => ({ Authorization: `Bearer${c.rw.token}`, 'X-Scope-OrgID': TENANT })],
    ['two spaces', () => ({ Authorization: `Bearer  ${c.rw.token}`, 'X-Scope-OrgID': TENANT })],
    ['Basic scheme', () => ({ Authorization: `Basic ${Buffer.from(`${TENANT}:${c.rw.token}`).toString('base64')}`, 'X-Scope-OrgID': TENANT })],
    ['empty Bearer', () => ({ Authorization: 'Bearer ', 'X-Scope-OrgID': TENANT })],
  ];
  for (const [what, headers] of unauthenticated) {
    test(`401 with the expected form in the body: ${what}`, async () => {
      for (const [name, op] of Object.entries(ops)) {
        await expectError(await op(headers()), 401, /Bearer <token>/, `${what} on ${name}`);
      }
    });
  }

  test('401 for an unknown token and for one revoked before start', async () => {
    for (const [name, op] of Object.entries(ops)) {
      await expectError(await op(bearer('xs_this_token_does_not_exist_0123456789')), 401, /token/i, `unknown token on ${name}`);
      await expectError(await op(bearer(c.revokedEarly.token)), 401, /token/i, `token revoked before start on ${name}`);
    }
  });

  test('403 for a valid token used on another tenant', async () => {
    for (const [name, op] of Object.entries(ops)) {
      const r = await op({ Authorization: `Bearer ${c.rw.token}`, 'X-Scope-OrgID': OTHER });
      await expectError(r, 403, new RegExp(OTHER), `team-a token on team-b, ${name}`);
    }
    // and the other way round
    const r = await ops.query({ Authorization: `Bearer ${c.other.token}`, 'X-Scope-OrgID': TENANT });
    await expectError(r, 403, new RegExp(TENANT), 'team-b token on team-a');
  });

  test('403 without the needed permission; 2xx with it', async () => {
    await expectError(await ops.otlp(bearer(c.ro.token)), 403, /write/i, 'read-only token writing OTLP');
    await expectError(await ops.push(bearer(c.ro.token)), 403, /write/i, 'read-only token remote-writing');
    await expectError(await ops.query(bearer(c.wo.token)), 403, /read/i, 'write-only token querying');
    const q = await ops.query(bearer(c.ro.token));
    assert.equal(q.status, 200, q.text);
    const w = await ops.otlp(bearer(c.wo.token));
    assert.equal(w.status, 200, w.text);
  });

  const badOrg = [
    ['missing', { }],
    ['empty', { 'X-Scope-OrgID': '' }],
    ['misspelled X-Scope-Org-ID', { 'X-Scope-Org-ID': TENANT }],
    ['misspelled X-Scope-OrgIDs', { 'X-Scope-OrgIDs': TENANT }],
    ['invalid ".."', { 'X-Scope-OrgID': '..' }],
    ['invalid "."', { 'X-Scope-OrgID': '.' }],
    ['invalid "a/b"', { 'X-Scope-OrgID': 'a/b' }],
    ['invalid 151 bytes', { 'X-Scope-OrgID': 'a'.repeat(151) }],
  ];
  for (const [what, hdr] of badOrg) {
    test(`400 naming X-Scope-OrgID: ${what}`, async () => {
      for (const [name, op] of Object.entries(ops)) {
        const r = await op({ Authorization: `Bearer ${c.rw.token}`, ...hdr });
        await expectError(r, 400, /X-Scope-OrgID/, `${what} on ${name}`);
      }
    });
  }

  test('a 150-byte tenant ID with every allowed punctuation character is valid', async () => {
    const tenant = `t!-_.*'()${'x'.repeat(141)}`;
    assert.equal(Buffer.byteLength(tenant), 150);
    const tok = await createToken(env.dataDir, tenant);
    // The running server picks the new token up within seconds, like a revocation.
    const h = { Authorization: `Bearer ${tok.token}`, 'X-Scope-OrgID': tenant };
    let r;
    for (let i = 0; i < 50; i++) {
      r = await ops.otlp(h);
      if (r.status === 200) break;
      await sleep(100);
    }
    assert.equal(r.status, 200, r.text);
    const q = await ops.query(h);
    assert.equal(q.status, 200, q.text);
  });

  test('a token revoked with the CLI while the server runs stops working within 5 s', async () => {
    const live = c.revokedLive;
    assert.equal((await ops.otlp(bearer(live.token))).status, 200);
    assert.ok(live.id, `no token id in create output:\n${live.stdout}`);
    assert.ok((await listTokens(env.dataDir)).includes(live.id), 'token list shows the id');
    await revokeToken(env.dataDir, live.id);
    const deadline = Date.now() + 5000;
    let last;
    while (Date.now() < deadline) {
      last = await ops.otlp(bearer(live.token));
      if (last.status === 401) break;
      await sleep(100);
    }
    await expectError(last, 401, /revoked|token/i, 'revoked token');
    // Revocation is per token: the others still work.
    assert.equal((await ops.otlp(bearer(c.rw.token))).status, 200);
    const listing = await listTokens(env.dataDir);
    assert.match(listing.split('\n').find((l) => l.includes(live.id)) ?? '', /revoked/);
    assert.ok(!listing.includes(live.token), 'token list must never print secrets');
  });

  test('no request without credentials can read data', async () => {
    const ok = await queryVector(env.server, c.rw, 'auth_probe');
    assert.ok(ok.length >= 1, 'the probe written above is readable with credentials');
    const r = await rawRequest(env.server, 'GET', '/api/v1/series?match[]=auth_probe', {});
    assert.equal(r.status, 401);
    assert.doesNotMatch(r.text, /auth_probe"/);
  });
});
