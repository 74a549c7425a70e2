// Disk full, for real: the data dir sits on a small (16 MiB) tmpfs (needs root to mount; skipped
// otherwise). A filler file takes the free space; pushes then answer 503 with Retry-After and a
// message saying the disk is full; once the filler is gone, pushes succeed again without a
// restart, every acknowledged sample is there, and the data dir verifies clean.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import {
  XSCALER_BIN, makeDataDir, removeDataDir, createToken, startServer, post, authHeaders,
  queryVector, promTime,
} from './lib/server.mjs';
import { remoteWriteBody, REMOTE_WRITE_HEADERS } from './lib/proto.mjs';

const execFileAsync = promisify(execFile);

function tryMount(dir) {
  try {
    // Room for the WAL's few MiB of zeros written ahead, and for the filler to free.
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('disk full', () => {
  const root = makeDataDir();
  const mnt = path.join(root, 'small');
  fs.mkdirSync(mnt);
  const mounted = tryMount(mnt);
  const dataDir = path.join(mnt, 'data');
  const filler = path.join(mnt, 'filler');
  let server;
  after(async () => {
    await server?.stop();
    if (mounted) {
      try { execFileSync('umount', [mnt]); } catch { /* best effort */ }
    }
    removeDataDir(root);
  });

  test('503 "disk is full" with Retry-After, then recovery without a restart', { skip: !mounted && 'cannot mount a tmpfs (needs root)' }, async () => {
    const creds = await createToken(dataDir, 'df');
    server = await startServer(dataDir);
    const t0 = Date.now() - 60_000;
    // Each push also carries ~25 KB of incompressible ballast series (the WAL compresses its
    // frames and keeps a few MiB of zeros written ahead of its position to make syncs cheap,
    // so small or repetitive pushes could go on fitting into space it reserved before the
    // disk filled up).
    const ballast = () => Array.from({ length: 64 }, (_, j) => ({
      labels: { __name__: 'df_ballast', j: String(j), pad: crypto.randomBytes(192).toString('hex') },
      samples: [[1, t0]],
    }));
    const send = (i) => post(server, '/api/v1/push', {
      headers: { ...authHeaders(creds), ...REMOTE_WRITE_HEADERS },
      body: remoteWriteBody([{ labels: { __name__: 'df_test', i: String(i), pad: 'x'.repeat(300) }, samples: [[i, t0 + i]] }, ...ballast()]),
    });
    const acked = [];
    let r = await send(0);
    assert.equal(r.status, 204, r.text);
    acked.push(0);

    const fd = fs.openSync(filler, 'w');
    try { fs.writeSync(fd, Buffer.alloc(32 << 20)); } catch (e) { assert.equal(e.code, 'ENOSPC'); }
    fs.closeSync(fd);
    let full = null;
    for (let i = 1; i < 500 && !full; i++) {
      r = await send(i);
      if (r.status === 204) acked.push(i); else full = r;
    }
    assert.ok(full, 'a push failed once the disk was full');
    assert.equal(full.status, 503, full.text);
    assert.equal(full.headers.get('retry-after'), '5');
    assert.match(full.text, /disk is full/);
    assert.match(full.text, /No space left on device/);
    // Still full: still 503, nothing acknowledged.
    assert.equal((await send(1000)).status, 503);

    fs.unlinkSync(filler);
    for (let i = 2000; i < 2010; i++) {
      r = await send(i);
      assert.equal(r.status, 204, `after space returned: ${r.status} ${r.text}`);
      acked.push(i);
    }
    const at = promTime(t0 + 3000);
    const got = new Map((await queryVector(server, creds, 'df_test', { time: at })).map((s) => [Number(s.metric.i), s.value[1]]));
    for (const i of acked) assert.equal(got.get(i), String(i), `acknowledged sample ${i}`);
    assert.ok(!got.has(1000), 'the refused sample was not stored');

    await server.stop();
    server = await startServer(dataDir);
    const again = new Map((await queryVector(server, creds, 'df_test', { time: at })).map((s) => [Number(s.metric.i), s.value[1]]));
    for (const i of acked) assert.equal(again.get(i), String(i), `acknowledged sample ${i} after restart`);
    await server.stop();
    const v = await execFileAsync(XSCALER_BIN, ['tsdb', 'verify', dataDir]).catch((e) => e);
    assert.ok(!v.code, `verify after disk full:\n${v.stdout}`);
  });
});
