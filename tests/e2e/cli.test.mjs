// `xscaler token create|list|revoke` as an operator uses them: the secret is shown once and
// stored only as a hash, permissions are listed, and mistakes are refused with a reason.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { XSCALER_BIN, makeDataDir, removeDataDir, createToken, listTokens, revokeToken } from './lib/server.mjs';

const execFileAsync = promisify(execFile);

async function cliFails(args) {
  try {
    const r = await execFileAsync(XSCALER_BIN, args, { timeout: 10000 });
    assert.fail(`xscaler ${args.join(' ')} should fail; printed:\n${r.stdout}${r.stderr}`);
  } catch (e) {
    if (e.code === 'ERR_ASSERTION') throw e;
    assert.notEqual(e.code, 0);
    return `${e.stdout}${e.stderr}`;
  }
}

function filesUnder(dir) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p)); else out.push(p);
  }
  return out;
}

describe('token CLI', () => {
  const dataDir = makeDataDir();
  after(() => removeDataDir(dataDir));

  test('create, list and revoke', async () => {
    const rw = await createToken(dataDir, 'ops');
    const ro = await createToken(dataDir, 'ops', { read: true });
    const wo = await createToken(dataDir, 'ops', { write: true });
    assert.notEqual(rw.token, ro.token);
    assert.ok(rw.token.length >= 24, 'a token long enough to be unguessable');
    for (const t of [rw, ro, wo]) assert.ok(t.id, t.stdout);

    const listing = await listTokens(dataDir);
    const line = (id) => listing.split('\n').find((l) => l.includes(id)) ?? '';
    assert.match(line(rw.id), /read/);
    assert.match(line(rw.id), /write/);
    assert.match(line(ro.id), /read/);
    assert.doesNotMatch(line(ro.id), /write/);
    assert.match(line(wo.id), /write/);
    assert.doesNotMatch(line(wo.id), /read/);
    for (const t of [rw, ro, wo]) {
      assert.match(line(t.id), /ops/);
      assert.ok(!listing.includes(t.token), 'list never prints a secret');
    }

    // Stored only as hashes: the secret appears in no file of the data dir.
    for (const f of filesUnder(dataDir)) {
      const text = fs.readFileSync(f);
      for (const t of [rw, ro, wo]) assert.ok(!text.includes(t.token), `${f} contains a token secret`);
    }

    await revokeToken(dataDir, ro.id);
    const listed = await listTokens(dataDir);
    assert.match(listed.split('\n').find((l) => l.includes(ro.id)) ?? '', /revoked/);
    assert.doesNotMatch(listed.split('\n').find((l) => l.includes(rw.id)) ?? '', /revoked/);
  });

  test('invalid tenant IDs and unknown ids are refused with a reason', async () => {
    for (const [tenant, why] of [['..', /\.\./], ['a/b', /\//], ['a'.repeat(151), /150/], ['', /empty|tenant/i]]) {
      const out = await cliFails(['token', 'create', '--data-dir', dataDir, '--tenant', tenant]);
      assert.match(out, why, `tenant ${JSON.stringify(tenant.slice(0, 20))}: ${out}`);
    }
    const out = await cliFails(['token', 'revoke', '--data-dir', dataDir, 'tok_does_not_exist']);
    assert.match(out, /tok_does_not_exist/);
    assert.match(out, /list/, 'points at `token list` to find ids');
  });
});
