// The storage engine as an operator sees it, through the real binary: with a 1 h block range
// and a 500 ms compaction interval, six hours of remote-written samples are cut into blocks
// and compacted; queries return exactly what was pushed before and after that and after
// kill -9 + restart; `xscaler tsdb verify` and `tsdb dump` inspect the data dir offline; a
// per-tenant retention override in the runtime config takes effect without a restart; a block
// with one corrupt byte (index, then chunks) is quarantined while the rest is served; the admin
// flush endpoint needs a write token; bad storage flags stop the server; and the global size
// cap deletes the oldest blocks across tenants.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import {
  XSCALER_BIN, makeDataDir, removeDataDir, createToken, startServer, post, authHeaders, apiData,
  promTime, sleep,
} from './lib/server.mjs';
import { remoteWriteBody, REMOTE_WRITE_HEADERS } from './lib/proto.mjs';

const execFileAsync = promisify(execFile);
const HOUR = 3600_000;
const STEP = 30_000;
const SERIES = 4;
const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

// Runs an `xscaler` subcommand and returns { code, stdout, stderr } whatever the exit code.
async function cli(args) {
  try {
    const r = await execFileAsync(XSCALER_BIN, args, { timeout: 30000, maxBuffer: 64 << 20 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    if (e.code === undefined || typeof e.code === 'string') throw e;
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

// Every sample pushed, by series label s: [[tsMs, value], ...] in time order.
function makeData(t0, metric, hours = 6) {
  const data = new Map();
  for (let s = 0; s < SERIES; s++) {
    const samples = [];
    for (let t = t0, i = 0; t < t0 + hours * HOUR; t += STEP, i++) samples.push([t, s * 10000 + i * 0.25]);
    data.set(String(s), samples);
  }
  return {
    metric,
    data,
    body: remoteWriteBody([...data].map(([s, samples]) => ({
      labels: { __name__: metric, job: 'storage', s },
      samples: samples.map(([t, v]) => [v, t]),
    }))),
  };
}

async function push(server, creds, payload) {
  const r = await post(server, '/api/v1/push', {
    headers: { ...authHeaders(creds), ...REMOTE_WRITE_HEADERS }, body: payload.body,
  });
  assert.equal(r.status, 204, `push: ${r.status} ${r.text}`);
}

// All samples of `metric` over the last 7 hours, by series label s.
async function readAll(server, creds, metric, at) {
  const data = await apiData(server, '/api/v1/query', creds, { query: `${metric}[7h]`, time: promTime(at) });
  assert.equal(data.resultType, 'matrix');
  const out = new Map();
  for (const r of data.result) {
    out.set(r.metric.s, r.values.map(([t, v]) => [Math.round(t * 1000), Number(v)]));
  }
  return out;
}

async function assertExactly(server, creds, payload, at, when) {
  const got = await readAll(server, creds, payload.metric, at);
  assert.deepEqual([...got.keys()].sort(), [...payload.data.keys()].sort(), `${when}: series`);
  for (const [s, want] of payload.data) {
    const have = got.get(s);
    assert.equal(have.length, want.length, `${when}: series s=${s} has ${have.length} samples, pushed ${want.length}`);
    assert.deepEqual(have, want, `${when}: series s=${s} samples differ`);
  }
}

function blockDirs(tenantDir) {
  if (!fs.existsSync(tenantDir)) return [];
  return fs.readdirSync(tenantDir).filter((n) => ULID.test(n)).sort();
}

// meta.json of a block (Prometheus' layout), or null when compaction or retention removed the
// block since the directory was listed.
function readMeta(tenantDir, ulid) {
  try {
    return JSON.parse(fs.readFileSync(path.join(tenantDir, ulid, 'meta.json'), 'utf8'));
  } catch (e) {
    if (e.code === 'ENOENT') return null;
    throw e;
  }
}

function metas(dir) {
  return blockDirs(dir).map((u) => readMeta(dir, u)).filter(Boolean);
}

async function waitFor(what, fn, timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = await fn();
    if (last) return last;
    await sleep(100);
  }
  assert.fail(`timed out waiting for ${what}`);
}

async function tsdbStatus(server, creds) {
  return apiData(server, '/api/v1/status/tsdb', creds);
}

describe('storage: blocks, compaction, restart, verify, dump, retention overrides', () => {
  const dataDir = makeDataDir();
  const runtimeFile = path.join(dataDir, 'overrides.yaml');
  const args = ['--block-range', '1h', '--compaction-interval', '500ms', '--runtime-config', runtimeFile];
  const t0 = Math.floor((Date.now() - 6 * HOUR - 5 * 60_000) / STEP) * STEP;
  const main = makeData(t0, 'e2e_store');
  const other = makeData(t0, 'e2e_other');
  const tenantDir = path.join(dataDir, 'tenants', 'store');
  const otherDir = path.join(dataDir, 'tenants', 'keep');
  let server; let creds; let otherCreds;

  before(async () => {
    fs.writeFileSync(runtimeFile, 'overrides:\n');
    creds = await createToken(dataDir, 'store');
    otherCreds = await createToken(dataDir, 'keep');
    server = await startServer(dataDir, { extraArgs: args });
  });
  after(async () => { await server?.stop(); removeDataDir(dataDir); });

  test('pushed samples read back exactly before and after blocks are cut and compacted', async () => {
    await push(server, creds, main);
    await push(server, otherCreds, other);
    await assertExactly(server, creds, main, Date.now(), 'right after the push');

    // The head spans 6 h > 1.5 block ranges: the next rounds cut blocks and compact them.
    await waitFor('blocks on disk', () => blockDirs(tenantDir).length >= 2);
    const st = await waitFor('compaction counters', async () => {
      const s = await tsdbStatus(server, creds);
      return s.storage.blocks.length >= 2 && s.storage.compaction.headCuts >= 1 ? s : null;
    });
    assert.ok(st.storage.persistedUntil > t0, `persistedUntil ${st.storage.persistedUntil}`);
    assert.equal(st.storage.quarantinedBlocks, 0);
    const inBlocks = st.storage.blocks.reduce((n, b) => n + b.numSamples, 0);
    assert.ok(inBlocks > 0 && inBlocks <= SERIES * main.data.get('0').length, `${inBlocks} samples in blocks`);
    for (const b of st.storage.blocks) {
      assert.match(b.ulid, ULID);
      assert.ok(b.minTime < b.maxTime && b.sizeBytes > 0, JSON.stringify(b));
    }
    // Prometheus' shape for the head.
    assert.equal(typeof st.headStats.numSeries, 'number');
    assert.ok(Array.isArray(st.seriesCountByMetricName));
    // Larger blocks appear once enough 1 h blocks sit side by side.
    await waitFor('a compacted block (level >= 2)', () =>
      blockDirs(tenantDir).some((u) => readMeta(tenantDir, u)?.compaction?.level >= 2));
    await assertExactly(server, creds, main, Date.now(), 'after compaction');
    await assertExactly(server, otherCreds, other, Date.now(), 'other tenant after compaction');

    // Offline tools are safe next to the running server (which keeps compacting).
    const v = await cli(['tsdb', 'verify', dataDir]);
    assert.equal(v.code, 0, `verify next to the server:\n${v.stdout}\n${v.stderr}`);
    const d = await cli(['tsdb', 'dump', tenantDir, '--match', 'e2e_store{s="3"}']);
    assert.equal(d.code, 0, d.stderr);
    assert.equal(d.stdout.split('\n').filter(Boolean).length, main.data.get('3').length);
  });

  test('kill -9, offline verify and dump, restart: still exactly the pushed samples', async () => {
    await server.kill9();

    const v = await cli(['tsdb', 'verify', dataDir]);
    assert.equal(v.code, 0, `verify exit ${v.code}:\n${v.stdout}\n${v.stderr}`);
    assert.match(v.stdout, /^OK +block /m);
    assert.doesNotMatch(v.stdout, /CORRUPT/);
    const blocks = blockDirs(tenantDir);
    for (const u of blocks) assert.ok(v.stdout.includes(u), `verify lists block ${u}`);

    const before = fs.readdirSync(tenantDir).sort();
    const d = await cli(['tsdb', 'dump', tenantDir, '--match', 'e2e_store{s="1"}']);
    assert.equal(d.code, 0, d.stderr);
    const lines = d.stdout.split('\n').filter(Boolean);
    const want = main.data.get('1').map(([t, v]) => `{__name__="e2e_store", job="storage", s="1"} ${v} ${t}`);
    assert.deepEqual(lines, want);
    const some = await cli(['tsdb', 'dump', tenantDir, '--match', '{job="storage"}',
      '--min-time', String(t0 + HOUR), '--max-time', String(t0 + HOUR + 10 * STEP)]);
    assert.equal(some.stdout.split('\n').filter(Boolean).length, SERIES * 11, some.stdout);
    const bad = await cli(['tsdb', 'dump', tenantDir, '--match', 'e2e_store{']);
    assert.notEqual(bad.code, 0);
    assert.deepEqual(fs.readdirSync(tenantDir).sort(), before, 'verify/dump leave the dir as it was');

    server = await startServer(dataDir, { extraArgs: args });
    await assertExactly(server, creds, main, Date.now(), 'after kill -9 and restart');
    await assertExactly(server, otherCreds, other, Date.now(), 'other tenant after restart');
  });

  test('a retention override in the runtime config applies without a restart', async () => {
    const oldest = oldestOf;
    const newestMax = (dir) => Math.max(...metas(dir).map((m) => m.maxTime));
    const before = oldest(tenantDir);
    assert.ok(before < newestMax(tenantDir) - 2 * HOUR, 'some block lies beyond a 2h retention');
    const otherBefore = oldest(otherDir);

    // A broken file is reported and changes nothing.
    fs.writeFileSync(runtimeFile, 'overrides:\n  store:\n    retension: 2h\n');
    server.proc.kill('SIGHUP');
    await waitFor('the reload error in the log', () => /retension/.test(server.output));
    const st0 = await tsdbStatus(server, creds);
    assert.equal(st0.storage.retentionMs, 15 * 24 * HOUR);

    fs.writeFileSync(runtimeFile, 'overrides:\n  store:\n    retention: 2h\n');
    server.proc.kill('SIGHUP');
    await waitFor('retention 2h in the status', async () =>
      (await tsdbStatus(server, creds)).storage.retentionMs === 2 * HOUR);
    await waitFor('blocks beyond 2h of the newest block to disappear', () => {
      const ms = metas(tenantDir);
      if (ms.length === 0) return false;
      const max = Math.max(...ms.map((m) => m.maxTime));
      return ms.every((m) => m.maxTime > max - 2 * HOUR);
    });
    assert.ok(oldest(tenantDir) > before, 'the oldest block of the tenant is gone');
    assert.equal(server.running, true, 'no restart happened');
    // The other tenant keeps the default 15 d.
    assert.equal(oldest(otherDir), otherBefore);
    assert.equal((await tsdbStatus(server, otherCreds)).storage.retentionMs, 15 * 24 * HOUR);
    // Queries no longer see the dropped range, and still see the recent one.
    const got = await readAll(server, creds, main.metric, Date.now());
    for (const samples of got.values()) assert.ok(samples[0][0] >= oldest(tenantDir), 'no sample from deleted blocks');
    assert.deepEqual(got.get('2').at(-1), main.data.get('2').at(-1));
  });

  // Flips one byte in the middle of `file(blockDir)` of the tenant's oldest block, checks that
  // `tsdb verify` names it, restarts, and checks the quarantine and that the rest is served.
  async function corruptOneByte(dir, tenantCreds, payload, fileOf, fileRe) {
    await server.kill9();
    const blocks = blockDirs(dir);
    assert.ok(blocks.length >= 1, `blocks of ${dir}: ${blocks}`);
    const victim = blocks[0];
    const vmeta = readMeta(dir, victim);
    const floor = oldestOf(dir);  // everything from here on is served before the corruption
    const file = fileOf(path.join(dir, victim));
    const bytes = fs.readFileSync(file);
    bytes[Math.floor(bytes.length / 2)] ^= 0xff;
    fs.writeFileSync(file, bytes);

    const v = await cli(['tsdb', 'verify', dir]);
    assert.equal(v.code, 1, `verify must fail:\n${v.stdout}\n${v.stderr}`);
    assert.match(v.stdout, new RegExp(`CORRUPT +block .*${victim}: .*${fileRe} offset \\d+`));

    server = await startServer(dataDir, { extraArgs: args });
    await waitFor(`block ${victim} quarantined at start-up`,
      () => new RegExp(`block ${victim} .*quarantine`).test(server.output), 5000);
    assert.ok(fs.existsSync(path.join(dir, 'quarantine', victim)), 'block moved to quarantine/');
    assert.ok(!fs.existsSync(path.join(dir, victim)));
    const st = await tsdbStatus(server, tenantCreds);
    assert.equal(st.storage.quarantinedBlocks, 1);
    assert.ok(st.storage.quarantine[0].dir.includes(victim));
    assert.match(st.storage.quarantine[0].error, new RegExp(fileRe));
    assert.ok(!st.storage.blocks.some((b) => b.ulid === victim));
    // The rest is served: every sample outside the quarantined block's range.
    const kept = ([t]) => t >= floor && (t < vmeta.minTime || t >= vmeta.maxTime);
    const got = await readAll(server, tenantCreds, payload.metric, Date.now());
    for (const [s, want] of payload.data) {
      assert.deepEqual(got.get(s), want.filter(kept), `series ${s} without [${vmeta.minTime}, ${vmeta.maxTime})`);
    }
    const v2 = await cli(['tsdb', 'verify', dataDir]);
    assert.equal(v2.code, 1, 'the quarantined block still counts as corrupt');
    assert.match(v2.stdout, new RegExp(`CORRUPT +quarantined block .*${victim}`));
  }

  test('one corrupt byte in an index file: the block is quarantined, the rest is served', async () => {
    await corruptOneByte(tenantDir, creds, main, (b) => path.join(b, 'index'), 'index');
  });

  // Opening a block checks its index CRCs but not every chunk page; the start-up scrub does.
  test('one corrupt byte in a chunks file: the block is quarantined, the rest is served', async () => {
    await corruptOneByte(otherDir, otherCreds, other,
      (b) => path.join(b, 'chunks', fs.readdirSync(path.join(b, 'chunks')).sort()[0]), 'chunks/\\d+');
  });
});

function oldestOf(dir) {
  return Math.min(...metas(dir).map((m) => m.minTime));
}

describe('storage admin: flush endpoint and storage flags', () => {
  const dataDir = makeDataDir();
  let server;
  after(async () => { await server?.stop(); removeDataDir(dataDir); });

  test('POST /api/v1/admin/tsdb/flush cuts the head into blocks; it needs a write token', async () => {
    const rw = await createToken(dataDir, 'flushme');
    const ro = await createToken(dataDir, 'flushme', { read: true });
    server = await startServer(dataDir, { extraArgs: ['--compaction-interval', '1h'] });
    const tenantDir = path.join(dataDir, 'tenants', 'flushme');
    const now = Date.now();
    const payload = {
      metric: 'e2e_flush',
      data: new Map([['0', [[now - 60_000, 1], [now - 30_000, 2], [now - 1000, 3]]]]),
    };
    payload.body = remoteWriteBody([{ labels: { __name__: 'e2e_flush', s: '0' }, samples: payload.data.get('0').map(([t, v]) => [v, t]) }]);
    await push(server, rw, payload);
    assert.deepEqual(blockDirs(tenantDir), []);

    const denied = await post(server, '/api/v1/admin/tsdb/flush', { headers: authHeaders(ro) });
    assert.equal(denied.status, 403, denied.text);
    const r = await post(server, '/api/v1/admin/tsdb/flush', { headers: authHeaders(rw) });
    assert.equal(r.status, 200, r.text);
    assert.ok(JSON.parse(r.text).data.numBlocks >= 1, r.text);
    assert.ok(blockDirs(tenantDir).length >= 1, 'a block on disk');
    const st = await tsdbStatus(server, ro);
    assert.equal(st.storage.blocks.reduce((n, b) => n + b.numSamples, 0), 3);
    await assertExactly(server, ro, payload, now, 'after flush');

    const unknown = await createToken(dataDir, 'nobody-yet');
    await sleep(1500);  // the server re-reads the token file every second
    const none = await post(server, '/api/v1/admin/tsdb/flush', { headers: authHeaders(unknown) });
    assert.equal(none.status, 404, none.text);
  });

  test('bad storage flags and runtime config stop the server with a message naming them', async () => {
    const cases = [
      [['--retention', '15 days'], /retention/],
      [['--max-storage-bytes', '10XB'], /max_storage_bytes/],
      [['--block-range', '0s'], /block_range/],
      [['--runtime-config', path.join(dataDir, 'missing.yaml')], /missing\.yaml/],
    ];
    const badYaml = path.join(dataDir, 'bad.yaml');
    fs.writeFileSync(badYaml, 'overrides:\n  t1:\n    retention: forever\n');
    cases.push([['--runtime-config', badYaml], /t1.*retention/]);
    for (const [extra, want] of cases) {
      const r = await cli(['serve', '--data-dir', path.join(dataDir, 'x'), '--listen', '127.0.0.1:0', ...extra]);
      assert.notEqual(r.code, 0, `${extra.join(' ')} must fail`);
      assert.match(`${r.stdout}${r.stderr}`, want);
    }
  });
});

describe('storage: global size cap across tenants', () => {
  const dataDir = makeDataDir();
  let server;
  after(async () => { await server?.stop(); removeDataDir(dataDir); });

  const totalBytes = (st) => st.storage.blocks.reduce((n, b) => n + b.sizeBytes, 0);

  test('max_storage_bytes deletes the oldest blocks first, whichever tenant owns them', async () => {
    const oldCreds = await createToken(dataDir, 'old-data');
    const newCreds = await createToken(dataDir, 'new-data');
    const base = ['--block-range', '1h', '--compaction-interval', '200ms'];
    server = await startServer(dataDir, { extraArgs: base });
    const now = Date.now();
    // Time ranges apart (with a block range between them), so every block of the older tenant
    // ends before any block of the newer one.
    const t0 = Math.floor((now - 13 * HOUR) / STEP) * STEP;
    const oldData = makeData(t0, 'e2e_cap', 5);                     // [now-13h, now-8h)
    const newData = makeData(t0 + 7 * HOUR, 'e2e_cap', 6);          // [now-6h, now)
    await push(server, oldCreds, oldData);
    await push(server, newCreds, newData);
    for (const c of [oldCreds, newCreds]) {
      const r = await post(server, '/api/v1/admin/tsdb/flush', { headers: authHeaders(c) });
      assert.equal(r.status, 200, r.text);
    }
    // Let compaction settle so the block sizes stop changing.
    let last = '';
    await waitFor('compaction to settle', async () => {
      await sleep(600);
      const key = JSON.stringify([await tsdbStatus(server, oldCreds), await tsdbStatus(server, newCreds)]
        .map((s) => s.storage.blocks.map((b) => b.ulid)));
      const same = key === last;
      last = key;
      return same;
    });
    const oldSt = await tsdbStatus(server, oldCreds);
    const newSt = await tsdbStatus(server, newCreds);
    const oldBytes = totalBytes(oldSt); const newBytes = totalBytes(newSt);
    assert.ok(oldSt.storage.blocks.length >= 2, JSON.stringify(oldSt.storage.blocks));
    await server.stop();

    // Room for every block of the newer tenant and some of the older one.
    const cap = newBytes + Math.floor(oldBytes / 2);
    server = await startServer(dataDir, { extraArgs: [...base, '--max-storage-bytes', String(cap)] });
    const after = await waitFor('the blocks to fit under the cap', async () => {
      const o = await tsdbStatus(server, oldCreds);
      const n = await tsdbStatus(server, newCreds);
      return totalBytes(o) + totalBytes(n) <= cap ? [o, n] : null;
    });
    assert.equal(after[0].storage.maxStorageBytes, cap);
    assert.deepEqual(after[1].storage.blocks.map((b) => b.ulid), newSt.storage.blocks.map((b) => b.ulid),
      'the newer tenant keeps every block');
    assert.ok(after[0].storage.blocks.length < oldSt.storage.blocks.length, 'the older tenant lost blocks');
    assert.ok(after[0].storage.blocks.length > 0, 'only as many as needed');
    const oldestLeft = Math.min(...after[0].storage.blocks.map((b) => b.minTime));
    assert.ok(oldestLeft > Math.min(...oldSt.storage.blocks.map((b) => b.minTime)), 'its oldest went first');
    assert.match(server.output, /size cap: deleted block/);
  });
});
