// `xscaler serve --config FILE`: YAML keys are the flags' names, a flag given on the command line
// wins over the file, and mistakes in the file stop the server with a message naming them.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import {
  XSCALER_BIN, makeDataDir, removeDataDir, freePort, startServerWithArgs, post, sleep,
} from './lib/server.mjs';
import { gaugeRequestJson } from './lib/otel.mjs';

const execFileAsync = promisify(execFile);

// Runs the binary expecting it to exit on its own with a failure; returns its output.
async function expectExitFailure(args) {
  try {
    const r = await execFileAsync(XSCALER_BIN, args, { timeout: 10000 });
    assert.fail(`xscaler ${args.join(' ')} should have failed, printed:\n${r.stdout}${r.stderr}`);
  } catch (e) {
    if (e.code === 'ERR_ASSERTION') throw e;
    assert.ok(!e.killed, `xscaler ${args.join(' ')} did not exit on its own`);
    assert.notEqual(e.code, 0);
    return `${e.stdout}${e.stderr}`;
  }
}

describe('serve --config', () => {
  const dir = makeDataDir();
  const dataDir = path.join(dir, 'data');
  let server;
  after(async () => { await server?.stop(); removeDataDir(dir); });

  test('YAML keys apply; a command-line flag wins over the file', async () => {
    const port = await freePort();
    const file = path.join(dir, 'xscaler.yaml');
    fs.writeFileSync(file, [
      `data_dir: ${dataDir}`,
      `listen: 127.0.0.1:${port}`,
      'max_request_bytes: 2000',
      'default_tenant: from-config',
      'log_level: warn',
      '',
    ].join('\n'));
    server = await startServerWithArgs(['serve', '--config', file], { port, dataDir });
    for (let i = 0; i < 40 && !/XSCALER_TENANT_ID=/.test(server.output); i++) await sleep(50);
    const tenant = /^export\s+XSCALER_TENANT_ID=(\S+)/m.exec(server.output)?.[1];
    const token = /^export\s+XSCALER_TOKEN=(\S+)/m.exec(server.output)?.[1];
    assert.equal(tenant, 'from-config', server.output);
    assert.ok(token, server.output);
    assert.ok(fs.existsSync(dataDir), 'data_dir from the file is used');

    const headers = { Authorization: `Bearer ${token}`, 'X-Scope-OrgID': tenant, 'Content-Type': 'application/json' };
    const pts = Array.from({ length: 40 }, (_, i) => ({ value: i, timeMs: Date.now() - 1000 + i, attrs: { i: String(i) } }));
    const big = gaugeRequestJson('cfg_gauge', pts);
    assert.ok(big.length > 2000 && big.length < 100_000);
    const small = gaugeRequestJson('cfg_gauge', pts.slice(0, 1));
    assert.ok(small.length < 2000);

    let r = await post(server, '/otlp/v1/metrics', { headers, body: big });
    assert.equal(r.status, 413, `max_request_bytes: 2000 from the file: ${r.status} ${r.text.slice(0, 200)}`);
    r = await post(server, '/otlp/v1/metrics', { headers, body: small });
    assert.equal(r.status, 200, r.text);
    await server.stop();

    const port2 = await freePort();
    server = await startServerWithArgs(
      ['serve', '--config', file, '--listen', `127.0.0.1:${port2}`, '--max-request-bytes', '100000'],
      { port: port2, dataDir });
    r = await post(server, '/otlp/v1/metrics', { headers, body: big });
    assert.equal(r.status, 200, `--max-request-bytes overrides the file: ${r.status} ${r.text.slice(0, 200)}`);
  });

  test('an unknown key or a bad listen address stops the server with a message naming it', async () => {
    const bad = path.join(dir, 'bad.yaml');
    fs.writeFileSync(bad, `data_dir: ${path.join(dir, 'data-bad')}\nlisten: 127.0.0.1:0\nmax_requst_bytes: 10\n`);
    const out = await expectExitFailure(['serve', '--config', bad]);
    assert.match(out, /max_requst_bytes/);

    const out2 = await expectExitFailure(['serve', '--data-dir', path.join(dir, 'data-bad2'), '--listen', 'localhost']);
    assert.match(out2, /localhost/);
    assert.match(out2, /HOST:PORT|port/i);
  });
});
