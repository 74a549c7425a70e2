// Starts and stops the real `xscaler` binary for end-to-end tests, creates tokens with its CLI,
// and wraps the HTTP calls a customer makes (push, query, series, labels, metadata).
//
// Every server and temp dir made here is registered and torn down on process exit, so a failing
// or interrupted test file leaves no process and no data dir behind.
import { spawn, execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const XSCALER_BIN = process.env.XSCALER_BIN || path.join(REPO_ROOT, 'build/src/server/xscaler');

const liveServers = new Set();
const tempDirs = new Set();

function cleanupSync() {
  for (const s of liveServers) {
    try { s.proc.kill('SIGKILL'); } catch { /* already gone */ }
  }
  liveServers.clear();
  for (const d of tempDirs) {
    try { fs.rmSync(d, { recursive: true, force: true }); } catch { /* best effort */ }
  }
  tempDirs.clear();
}
process.on('exit', cleanupSync);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => { cleanupSync(); process.exit(128 + (sig === 'SIGINT' ? 2 : 15)); });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A port that was free a moment ago (the kernel hands out a fresh ephemeral port for port 0).
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export function makeDataDir(prefix = 'xscaler-e2e-') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

export function removeDataDir(dir) {
  fs.rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

export function binaryExists() {
  try {
    fs.accessSync(XSCALER_BIN, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export async function runCli(args) {
  try {
    return await execFileAsync(XSCALER_BIN, args, { timeout: 20000 });
  } catch (e) {
    throw new Error(`xscaler ${args.join(' ')} failed (exit ${e.code}):\nstdout: ${e.stdout}\nstderr: ${e.stderr}`);
  }
}

// `xscaler token create`: the token is the last non-empty stdout line; the id is the word after
// "token" on an earlier line ("created token <id> for tenant ..."), else looked up with `list`.
export async function createToken(dataDir, tenant, { read = false, write = false } = {}) {
  const args = ['token', 'create', '--data-dir', dataDir, '--tenant', tenant];
  if (read) args.push('--read');
  if (write) args.push('--write');
  const { stdout } = await runCli(args);
  const lines = stdout.split('\n').map((l) => l.trim()).filter(Boolean);
  if (lines.length === 0) throw new Error(`token create printed nothing for tenant ${tenant}`);
  const token = lines[lines.length - 1];
  let id = null;
  for (const l of lines.slice(0, -1)) {
    const m = /\btoken\s+([A-Za-z0-9_.:-]+)/i.exec(l) || /\bid\b\s*[:=]?\s*([A-Za-z0-9_.:-]+)/i.exec(l);
    if (m) { id = m[1]; break; }
  }
  return { token, id, tenant, stdout };
}

export async function listTokens(dataDir) {
  const { stdout } = await runCli(['token', 'list', '--data-dir', dataDir]);
  return stdout;
}

export async function revokeToken(dataDir, id) {
  const { stdout } = await runCli(['token', 'revoke', '--data-dir', dataDir, id]);
  return stdout;
}

// One running `xscaler serve`. `stop()` is SIGTERM then SIGKILL after a grace period;
// `kill9()` is the crash.
export class Server {
  constructor(dataDir, port, proc) {
    this.dataDir = dataDir;
    this.port = port;
    this.url = `http://127.0.0.1:${port}`;
    this.proc = proc;
    this.output = '';
    this.exited = new Promise((resolve) => proc.on('exit', (code, signal) => {
      liveServers.delete(this);
      this.exitCode = code;
      this.exitSignal = signal;
      resolve({ code, signal });
    }));
    const keep = (chunk) => {
      this.output += chunk.toString();
      if (this.output.length > 200000) this.output = this.output.slice(-100000);
    };
    proc.stdout.on('data', keep);
    proc.stderr.on('data', keep);
  }

  get running() { return this.exitCode === undefined && this.exitSignal === undefined; }

  async kill9() {
    if (this.running) this.proc.kill('SIGKILL');
    await this.exited;
  }

  async stop() {
    if (!this.running) return;
    this.proc.kill('SIGTERM');
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(t);
  }

  logTail(n = 3000) { return this.output.slice(-n); }
}

// Starts `xscaler serve` on a free loopback port and waits until GET /ready answers 200.
export async function startServer(dataDir, { extraArgs = [], readyTimeoutMs = 30000 } = {}) {
  let lastErr;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    try {
      return await startServerWithArgs(
        ['serve', '--data-dir', dataDir, '--listen', `127.0.0.1:${port}`, ...extraArgs],
        { port, dataDir, readyTimeoutMs });
    } catch (e) {
      lastErr = e;
      // Another process may have taken the port between probe and bind: try a new one.
      if (!/address already in use|bind/i.test(e.message)) break;
    }
  }
  throw lastErr;
}

// Runs the binary with exactly `args` (which must make it listen on 127.0.0.1:port) and waits
// for /ready; on failure the process is killed and the error carries its output.
export async function startServerWithArgs(args, { port, dataDir, readyTimeoutMs = 30000 }) {
  if (!binaryExists()) throw new Error(`xscaler binary not found at ${XSCALER_BIN} (set XSCALER_BIN)`);
  const proc = spawn(XSCALER_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const server = new Server(dataDir, port, proc);
  liveServers.add(server);
  try {
    await waitReady(server, readyTimeoutMs);
    return server;
  } catch (e) {
    await server.kill9();
    throw e;
  }
}

export async function waitReady(server, timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (!server.running) {
      throw new Error(`xscaler exited (code ${server.exitCode}, signal ${server.exitSignal}) before /ready:\n${server.logTail()}`);
    }
    try {
      const res = await fetch(`${server.url}/ready`, { signal: AbortSignal.timeout(2000) });
      last = `HTTP ${res.status}`;
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch (e) {
      last = e.message;
    }
    await sleep(50);
  }
  throw new Error(`xscaler not ready within ${timeoutMs} ms (last: ${last}):\n${server.logTail()}`);
}

export function authHeaders(creds) {
  return { Authorization: `Bearer ${creds.token}`, 'X-Scope-OrgID': creds.tenant };
}

// GET a Prometheus API path with the tenant's credentials; returns { status, headers, text, json }.
export async function apiGet(server, apiPath, creds, params = {}) {
  const url = new URL(server.url + apiPath);
  for (const [k, v] of Object.entries(params)) {
    if (Array.isArray(v)) for (const x of v) url.searchParams.append(k, x);
    else if (v !== undefined) url.searchParams.set(k, String(v));
  }
  const res = await fetch(url, { headers: creds ? authHeaders(creds) : {} });
  const body = Buffer.from(await res.arrayBuffer());
  const text = body.toString('utf8');
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, headers: res.headers, body, text, json };
}

// Runs an API call that must succeed and returns `data` from the Prometheus envelope.
export async function apiData(server, apiPath, creds, params = {}) {
  const r = await apiGet(server, apiPath, creds, params);
  if (r.status !== 200 || !r.json || r.json.status !== 'success') {
    throw new Error(`GET ${apiPath} ${JSON.stringify(params)} → HTTP ${r.status}: ${r.text.slice(0, 2000)}`);
  }
  return r.json.data;
}

// Instant query; returns the vector result (array of { metric, value: [t, "v"] }).
export async function queryVector(server, creds, query, { time, prefix = '' } = {}) {
  const data = await apiData(server, `${prefix}/api/v1/query`, creds, { query, time });
  if (data.resultType !== 'vector') throw new Error(`query ${query}: resultType ${data.resultType}, want vector`);
  return data.result;
}

// Sorts an instant vector by its label set so comparisons do not depend on result order.
export function sortByLabels(result) {
  const key = (m) => JSON.stringify(Object.keys(m).sort().map((k) => [k, m[k]]));
  return [...result].sort((a, b) => (key(a.metric) < key(b.metric) ? -1 : key(a.metric) > key(b.metric) ? 1 : 0));
}

export async function post(server, urlPath, { headers = {}, body }) {
  const res = await fetch(server.url + urlPath, { method: 'POST', headers, body });
  const buf = Buffer.from(await res.arrayBuffer());
  return { status: res.status, headers: res.headers, body: buf, text: buf.toString('utf8') };
}

// A fresh data dir with tokens made before the server starts, plus a running server on it.
// Returns { server, dataDir, creds: { [name]: { token, tenant, id } } }.
// `beforeStart(dataDir, creds)` runs after the tokens exist and before the server starts.
export async function setup(tokenSpecs, serverOpts = {}, beforeStart) {
  const dataDir = makeDataDir();
  const creds = {};
  for (const [name, spec] of Object.entries(tokenSpecs)) {
    creds[name] = await createToken(dataDir, spec.tenant, spec);
  }
  if (beforeStart) await beforeStart(dataDir, creds);
  const server = await startServer(dataDir, serverOpts);
  return {
    server, dataDir, creds,
    async teardown() {
      await server.stop();
      removeDataDir(dataDir);
    },
  };
}

// The human-readable text of an error response, whatever its form: google.rpc.Status (JSON or
// protobuf), the Prometheus error envelope, or plain text.
export async function errorText(res) {
  const ct = res.headers.get('content-type') ?? '';
  if (/json/i.test(ct)) {
    try {
      const j = JSON.parse(res.text);
      return [j.message, j.error, j.errorType].filter(Boolean).join(' ') || res.text;
    } catch { return res.text; }
  }
  if (/protobuf/i.test(ct)) {
    const { decodeStatusProto } = await import('./proto.mjs');
    try { return decodeStatusProto(res.body).message; } catch { return res.text; }
  }
  return res.text;
}

// Seconds as Prometheus' `time` parameter wants them, from a millisecond timestamp.
export const promTime = (ms) => (ms / 1000).toFixed(3);

// A request through node:http, which sends header names with exactly the case given (fetch
// lower-cases them). Returns the same shape as post().
export function rawRequest(server, method, urlPath, headers = {}, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(`${server.url}${urlPath}`, { method, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const buf = Buffer.concat(chunks);
        resolve({ status: res.statusCode, headers: new Headers(res.headers), body: buf, text: buf.toString('utf8') });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body !== undefined) req.end(body); else req.end();
  });
}
