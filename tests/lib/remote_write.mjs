// Prometheus remote-write 1.0 requests encoded by hand (protobuf), independent of the server's
// own codec, so an encoding bug on either side shows up as a failure rather than agreement; and
// a snappy block encoder that emits only literal elements: valid snappy that any decoder
// accepts, with no npm dependency. Shared by tests/e2e and tests/differential.

export class Writer {
  constructor() { this.parts = []; }
  varint(n) {
    let v = BigInt.asUintN(64, BigInt(n));
    const bytes = [];
    while (v >= 0x80n) { bytes.push(Number((v & 0x7fn) | 0x80n)); v >>= 7n; }
    bytes.push(Number(v));
    this.parts.push(Buffer.from(bytes));
    return this;
  }
  tag(field, wire) { return this.varint((field << 3) | wire); }
  bytes(field, buf) { this.tag(field, 2).varint(buf.length); this.parts.push(Buffer.from(buf)); return this; }
  string(field, s) { return this.bytes(field, Buffer.from(s, 'utf8')); }
  double(field, v) { const b = Buffer.alloc(8); b.writeDoubleLE(v); this.tag(field, 1); this.parts.push(b); return this; }
  int64(field, v) { return this.tag(field, 0).varint(v); }
  finish() { return Buffer.concat(this.parts); }
}

// series: [{ labels: { __name__: 'x', ... }, samples: [[value, timestampMs], ...] }]
// metadata: [{ type: 'counter'|'gauge'|..., family, help, unit }]
export function encodeWriteRequest(series, metadata = []) {
  const w = new Writer();
  for (const s of series) {
    const ts = new Writer();
    // Remote write requires labels sorted by name.
    for (const name of Object.keys(s.labels).sort()) {
      ts.bytes(1, new Writer().string(1, name).string(2, s.labels[name]).finish());
    }
    for (const [value, tms] of s.samples) {
      ts.bytes(2, new Writer().double(1, value).int64(2, tms).finish());
    }
    w.bytes(1, ts.finish());
  }
  const types = { unknown: 0, counter: 1, gauge: 2, histogram: 3, gaugehistogram: 4, summary: 5, info: 6, stateset: 7 };
  for (const m of metadata) {
    const mw = new Writer().int64(1, types[m.type] ?? 0).string(2, m.family);
    if (m.help) mw.string(4, m.help);
    if (m.unit) mw.string(5, m.unit);
    w.bytes(3, mw.finish());
  }
  return w.finish();
}

// Snappy block format: varint(uncompressed length), then elements. A literal of length L uses
// tag byte 61<<2 followed by L-1 as 2 little-endian bytes (L <= 65536).
export function snappyLiteral(buf) {
  const parts = [];
  let n = buf.length;
  const len = [];
  do { let b = n & 0x7f; n >>>= 7; if (n) b |= 0x80; len.push(b); } while (n);
  parts.push(Buffer.from(len));
  for (let off = 0; off < buf.length; off += 65536) {
    const chunk = buf.subarray(off, Math.min(off + 65536, buf.length));
    const l = chunk.length - 1;
    parts.push(Buffer.from([61 << 2, l & 0xff, (l >> 8) & 0xff]), chunk);
  }
  return Buffer.concat(parts);
}
