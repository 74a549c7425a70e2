// Durability: concurrent OTLP and remote-write pushes, `kill -9` in the middle of the stream,
// restart on the same data dir, and every acknowledged sample must be there. Each request writes
// its own series (label req="<i>", value i, timestamp t0+i), so presence is exact per request.
// Several rounds, so later crashes also hit a WAL that was itself replayed after a crash.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  makeDataDir, removeDataDir, createToken, startServer, post, authHeaders, queryVector, promTime,
} from './lib/server.mjs';
import { gaugeRequestJson } from './lib/otel.mjs';
import { remoteWriteBody, REMOTE_WRITE_HEADERS } from './lib/proto.mjs';

const ROUNDS = 3;
const PER_ROUND = 600;    // requests we are willing to send in one round
const KILL_AFTER = 150;   // acknowledged requests in a round before its kill
const IN_FLIGHT = 8;

// Runs ROUNDS rounds of: concurrent pushes (each request its own series `<prefix>_rw` or
// `<prefix>_otlp` {req="<i>"}, value i, at t0 + i * stepMs), kill -9 after KILL_AFTER
// acknowledgements, restart, and checks that every acknowledged sample is there at its exact
// timestamp. With `cutting`, the server cuts blocks and compacts while it is pushed to, so a
// sample whose range was already cut is rejected as too old: that is an answer (not an
// acknowledgement) and is allowed; anything else rejected before the kill fails the test.
async function crashRounds(t, { dataDir, tenant, prefix, extraArgs = [], stepMs = 1, cutting = false }) {
  const creds = await createToken(dataDir, tenant);
  let server = await startServer(dataDir, { extraArgs });
  const t0 = Date.now() - 120_000;
  const acked = new Set();
  const rwName = `${prefix}_rw`; const otlpName = `${prefix}_otlp`;
  const tooOld = /older than the head's minimum time/;

  const sendOne = (i) => {
    if (i % 2 === 0) {
      return post(server, '/api/v1/push', {
        headers: { ...authHeaders(creds), ...REMOTE_WRITE_HEADERS },
        body: remoteWriteBody([{ labels: { __name__: rwName, job: 'crash', req: String(i) }, samples: [[i, t0 + i * stepMs]] }]),
      });
    }
    return post(server, '/otlp/v1/metrics', {
      headers: { ...authHeaders(creds), 'Content-Type': 'application/json' },
      body: gaugeRequestJson(otlpName, [{ value: i, timeMs: t0 + i * stepMs, attrs: { req: String(i) } }], { 'service.name': 'crash' }),
    });
  };

  let tooOldCount = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const base = round * PER_ROUND;
    const rejected = [];
    let next = base; let killed = null; let failures = 0; let roundAcks = 0;
    const victim = server;
    const reject = (i, text) => {
      if (cutting && tooOld.test(text)) tooOldCount++;
      else rejected.push([i, text]);
    };
    // Workers keep sending after the kill is issued, so requests are in flight while the
    // process dies; a worker stops at its first failed request after the kill.
    const worker = async () => {
      while (next < base + PER_ROUND) {
        const i = next++;
        try {
          const r = await sendOne(i);
          if (r.status >= 200 && r.status < 300) {
            // A partial success would mean the sample was not stored.
            if (i % 2 === 1 && r.body.length > 0) {
              const j = JSON.parse(r.text);
              if (j.partialSuccess && Number(j.partialSuccess.rejectedDataPoints ?? 0) > 0) { reject(i, r.text); continue; }
            }
            acked.add(i);
            roundAcks++;
            if (roundAcks === KILL_AFTER && !killed) killed = victim.kill9();
          } else if (!killed) {
            reject(i, `${r.status} ${r.text}`);
          } else {
            return;
          }
        } catch {
          failures++; // reset or refused by the dying server: not acknowledged, so no promise made
          if (killed) return;
        }
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    assert.deepEqual(rejected, [], `round ${round}: no request may be rejected before the crash`);
    assert.ok(killed, `round ${round}: the server was never killed (${roundAcks} acks)`);
    await killed;
    assert.equal(victim.exitSignal, 'SIGKILL');

    server = await startServer(dataDir, { extraArgs });

    const at = promTime(t0 + (base + PER_ROUND + 1) * stepMs);
    const rw = await queryVector(server, creds, rwName, { time: at });
    const otlp = await queryVector(server, creds, otlpName, { time: at });
    const found = new Map();
    for (const s of [...rw, ...otlp]) found.set(Number(s.metric.req), s.value[1]);
    t.diagnostic(`round ${round}: ${roundAcks} acked, ${failures} failed in flight at the kill, ${found.size} series after restart, ${tooOldCount} too old so far`);
    const missing = [...acked].filter((i) => found.get(i) !== String(i)).sort((a, b) => a - b);
    assert.deepEqual(missing, [], `round ${round}: acknowledged but lost after kill -9 (${acked.size} acked in all, ${found.size} found)`);

    // Exact timestamps: present at its own time, absent one millisecond earlier.
    for (const i of [...acked].filter((x) => x >= base && x % 7 === 0)) {
      const sel = `${i % 2 === 0 ? rwName : otlpName}{req="${i}"}`;
      const atT = await queryVector(server, creds, sel, { time: promTime(t0 + i * stepMs) });
      assert.equal(atT.length, 1, `${sel} at its own time`);
      assert.equal(atT[0].value[1], String(i));
      assert.deepEqual(await queryVector(server, creds, sel, { time: promTime(t0 + i * stepMs - 1) }), [], `${sel} before its time`);
    }
  }
  if (cutting) assert.ok(tooOldCount < acked.size / 4, `too many samples rejected as too old: ${tooOldCount} of ${acked.size}`);
  return { server, creds, acked };
}

describe('kill -9 during ingestion', () => {
  const dataDir = makeDataDir();
  let server;
  after(async () => { await server?.stop(); removeDataDir(dataDir); });

  test('every acknowledged sample survives a crash and restart', async (t) => {
    let creds;
    ({ server, creds } = await crashRounds(t, { dataDir, tenant: 'crash', prefix: 'crash' }));
    // The restarted server keeps accepting appends to replayed series.
    const later = await post(server, '/api/v1/push', {
      headers: { ...authHeaders(creds), ...REMOTE_WRITE_HEADERS },
      body: remoteWriteBody([{ labels: { __name__: 'crash_rw', job: 'crash', req: '0' }, samples: [[1000, Date.now()]] }]),
    });
    assert.ok(later.status >= 200 && later.status < 300, `${later.status} ${later.text}`);
    const now0 = await queryVector(server, creds, 'crash_rw{req="0"}');
    assert.equal(now0[0].value[1], '1000');
  });
});

describe('kill -9 while the head is cut into blocks and compacted', () => {
  const dataDir = makeDataDir();
  let server;
  after(async () => { await server?.stop(); removeDataDir(dataDir); });

  // A 2 s block range and 100 ms between samples: every round spans 60 s of sample time, so
  // blocks are cut, the WAL checkpointed and blocks merged all through the pushes and kills.
  test('every acknowledged sample survives, in blocks or in the WAL', async (t) => {
    ({ server } = await crashRounds(t, {
      dataDir, tenant: 'crashblk', prefix: 'crash_blk', stepMs: 100, cutting: true,
      extraArgs: ['--block-range', '2s', '--compaction-interval', '1s'],
    }));
    const tenantDir = path.join(dataDir, 'tenants', 'crashblk');
    const blocks = fs.readdirSync(tenantDir).filter((n) => fs.existsSync(path.join(tenantDir, n, 'meta.json')));
    t.diagnostic(`${blocks.length} blocks at the end`);
    assert.ok(blocks.length > 0, 'blocks were cut during the test');
    const levels = blocks.map((b) => JSON.parse(fs.readFileSync(path.join(tenantDir, b, 'meta.json'))).compaction.level);
    assert.ok(Math.max(...levels) > 1, `some blocks were compacted (levels ${levels})`);
  });
});

describe('kill -9 during large batches', () => {
  const dataDir = makeDataDir();
  let server;
  after(async () => { await server?.stop(); removeDataDir(dataDir); });

  test('every sample of every acknowledged 1000-sample request survives', async (t) => {
    const SERIES = 100; const SAMPLES = 10; const KILL = 30;
    const creds = await createToken(dataDir, 'bulk');
    server = await startServer(dataDir);
    const t0 = Date.now() - 120_000;
    const body = (b) => remoteWriteBody(Array.from({ length: SERIES }, (_, s) => ({
      labels: { __name__: 'crash_bulk', b: String(b), s: String(s), pad: 'x'.repeat(40) },
      samples: Array.from({ length: SAMPLES }, (_, j) => [b * 1000 + s * 10 + j, t0 + j * 1000]),
    })));
    const acked = new Set();
    let next = 0; let killed = null; let failures = 0;
    const victim = server;
    const worker = async () => {
      while (next < 400) {
        const b = next++;
        try {
          const r = await post(server, '/api/v1/push', { headers: { ...authHeaders(creds), ...REMOTE_WRITE_HEADERS }, body: body(b) });
          if (r.status >= 200 && r.status < 300) {
            acked.add(b);
            if (acked.size === KILL && !killed) killed = victim.kill9();
          } else {
            assert.ok(killed, `rejected before the crash: ${r.status} ${r.text}`);
            return;
          }
        } catch {
          failures++;
          if (killed) return;
        }
      }
    };
    await Promise.all(Array.from({ length: 4 }, worker));
    assert.ok(killed);
    await killed;
    server = await startServer(dataDir);
    t.diagnostic(`${acked.size} batches acked, ${failures} failed in flight`);
    for (const b of acked) {
      for (const j of [0, SAMPLES - 1]) {
        const r = await queryVector(server, creds, `crash_bulk{b="${b}"}`, { time: promTime(t0 + j * 1000) });
        assert.equal(r.length, SERIES, `batch ${b} sample ${j}: ${r.length} series`);
        for (const x of r) assert.equal(x.value[1], String(b * 1000 + Number(x.metric.s) * 10 + j));
      }
    }
  });
});
