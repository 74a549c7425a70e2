// The seeded dataset both servers receive: ~130 series over 2 h at a 15 s step.
//   http_requests_total{job,instance,method,status}  counters, a few with resets
//   node_memory_bytes{job,instance}                  large gauges
//   temperature_celsius{job,instance,zone}           gauges crossing zero (2-decimal values)
//   queue_depth{job,instance}                        gauges; some start late, end early or gap
//   request_duration_seconds_{bucket,sum,count}      classic histograms (le buckets)
//   jobs_processed_total{job,instance}             counters starting near zero inside the data
//   up{job,instance}, build_info{job,instance,version}
// No staleness markers and no NaN values.
export const STEP_MS = 15_000;

function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const round2 = (x) => Math.round(x * 100) / 100;
export const BUCKETS = ['0.05', '0.1', '0.25', '0.5', '1', '2.5', '+Inf'];

export function buildDataset({ startMs, stepMs, span, seed }) {
  const rnd = mulberry32(seed);
  const steps = Math.floor(span / stepMs) + 1;
  const ts = (i) => startMs + i * stepMs;
  const series = [];
  const add = (labels, fn, { from = 0, to = steps, gap = null } = {}) => {
    const samples = [];
    for (let i = 0; i < steps; i++) {
      const v = fn(i);
      if (i < from || i >= to) continue;
      if (gap && i >= gap[0] && i < gap[1]) continue;
      samples.push([v, ts(i)]);
    }
    series.push({ labels, samples });
  };
  const jobs = { api: 3, worker: 3, db: 2 };
  const instances = [];
  for (const [job, n] of Object.entries(jobs)) {
    for (let k = 0; k < n; k++) instances.push({ job, instance: `10.0.${Object.keys(jobs).indexOf(job)}.${k + 1}:9100` });
  }

  // Counters.
  let counterNo = 0;
  for (const inst of instances) {
    if (inst.job === 'db') continue;
    for (const method of ['GET', 'POST']) {
      for (const status of ['200', '500']) {
        const base = status === '200' ? (method === 'GET' ? 20 : 6) : 0.7;
        const resetAt = counterNo % 5 === 2 ? Math.floor(steps * (0.3 + 0.4 * rnd())) : -1;
        const resetAt2 = counterNo % 7 === 3 ? Math.floor(steps * 0.8) : -1;
        counterNo++;
        let v = Math.floor(rnd() * 1000);
        const vals = [];
        for (let i = 0; i < steps; i++) {
          if (i === resetAt || i === resetAt2) v = Math.floor(rnd() * 3);
          else v += Math.floor(rnd() * base * 2);
          vals.push(v);
        }
        add({ __name__: 'http_requests_total', ...inst, method, status }, (i) => vals[i]);
      }
    }
  }

  // Gauges.
  for (const inst of instances) {
    let m = 1e9 + Math.floor(rnd() * 1e9);
    const mem = [];
    for (let i = 0; i < steps; i++) { m += Math.floor((rnd() - 0.48) * 5e6); mem.push(m); }
    add({ __name__: 'node_memory_bytes', ...inst }, (i) => mem[i]);
    for (const zone of ['inlet', 'outlet']) {
      const phase = rnd() * 6; const amp = 5 + rnd() * 10; const off = zone === 'inlet' ? -2 : 3;
      add({ __name__: 'temperature_celsius', ...inst, zone }, (i) => round2(off + amp * Math.sin(phase + i / 40) + (rnd() - 0.5)));
    }
  }
  instances.forEach((inst, k) => {
    let q = Math.floor(rnd() * 50);
    const vals = [];
    for (let i = 0; i < steps; i++) { q = Math.max(0, q + Math.floor((rnd() - 0.5) * 10)); vals.push(q); }
    const opts = {};
    if (k === 1) opts.gap = [Math.floor(steps * 0.4), Math.floor(steps * 0.4) + 48]; // 12 min gap
    if (k === 4) opts.from = Math.floor(steps / 4); // starts 30 min late
    if (k === 6) opts.to = Math.floor(steps * 0.83); // ends ~20 min early
    add({ __name__: 'queue_depth', ...inst }, (i) => vals[i], opts);
  });

  // Classic histograms (no resets, so bucket rates stay monotonic).
  const bounds = BUCKETS.map(Number);
  for (const inst of instances) {
    if (inst.job === 'db') continue;
    const counts = new Array(bounds.length).fill(0);
    let sum = 0; let count = 0;
    const hist = []; const sums = []; const cnts = [];
    const scale = inst.job === 'api' ? 0.2 : 0.8;
    for (let i = 0; i < steps; i++) {
      // A process that has been up a while: the first step carries ~1000 observations, so the
      // counter's zero point lies far before the data and rate() never clamps to it.
      const n = i === 0 ? 1000 : Math.floor(rnd() * 20);
      for (let k = 0; k < n; k++) {
        const obs = -Math.log(1 - rnd()) * scale;
        sum += obs; count++;
        for (let b = 0; b < bounds.length; b++) if (obs <= bounds[b]) counts[b]++;
      }
      hist.push([...counts]); sums.push(round2(sum)); cnts.push(count);
    }
    BUCKETS.forEach((le, b) => add({ __name__: 'request_duration_seconds_bucket', ...inst, le }, (i) => hist[i][b]));
    add({ __name__: 'request_duration_seconds_sum', ...inst }, (i) => sums[i]);
    add({ __name__: 'request_duration_seconds_count', ...inst }, (i) => cnts[i]);
  }

  // Counters that start at (or near) zero inside the data: rate() extrapolates towards their zero
  // point, which Prometheus 3.x limits to half a sample interval and 2.42 does not.
  instances.slice(0, 3).forEach((inst, k) => {
    let v = k;
    const vals = [];
    for (let i = 0; i < steps; i++) { v += 1 + Math.floor(rnd() * 4); vals.push(v); }
    const from = k === 2 ? Math.floor(steps / 3) : 0;
    add({ __name__: 'jobs_processed_total', ...inst }, (i) => vals[i] - (from ? vals[from] - 1 : 0), { from });
  });

  instances.forEach((inst, k) => {
    add({ __name__: 'up', ...inst }, (i) => (k === 2 && i > steps * 0.5 && i < steps * 0.6 ? 0 : 1));
    add({ __name__: 'build_info', ...inst, version: k % 3 === 0 ? '1.2.0' : '1.3.1' }, () => 1);
  });
  return { series, steps };
}
