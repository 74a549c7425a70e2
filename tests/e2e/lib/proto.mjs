// Just enough protobuf, written by hand, to send Prometheus remote-write 1.0 requests and to
// read google.rpc.Status / ExportMetricsServiceResponse bodies — independent of the server's
// own codec, so an encoding bug on either side shows up as a failure rather than agreement.
import snappy from 'snappyjs';
import { encodeWriteRequest } from '../../lib/remote_write.mjs';

export { encodeWriteRequest };

export function snappyBlock(buf) {
  return Buffer.from(snappy.compress(new Uint8Array(buf)));
}

export function remoteWriteBody(series, metadata) {
  return snappyBlock(encodeWriteRequest(series, metadata));
}

export const REMOTE_WRITE_HEADERS = {
  'Content-Type': 'application/x-protobuf',
  'Content-Encoding': 'snappy',
  'X-Prometheus-Remote-Write-Version': '0.1.0',
};

// Generic decoder: [{ field, wire, value }] where LEN values are Buffers and varints BigInts.
export function decodeFields(buf) {
  const out = [];
  let i = 0;
  const varint = () => {
    let v = 0n; let shift = 0n;
    for (;;) {
      if (i >= buf.length) throw new Error('truncated varint');
      const b = buf[i++];
      v |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
      shift += 7n;
      if (shift > 63n) throw new Error('varint too long');
    }
  };
  while (i < buf.length) {
    const key = Number(varint());
    const field = key >>> 3; const wire = key & 7;
    let value;
    if (wire === 0) value = varint();
    else if (wire === 1) { if (i + 8 > buf.length) throw new Error('truncated i64'); value = buf.subarray(i, i + 8); i += 8; }
    else if (wire === 2) {
      const len = Number(varint());
      if (i + len > buf.length) throw new Error('truncated bytes');
      value = buf.subarray(i, i + len); i += len;
    } else if (wire === 5) { if (i + 4 > buf.length) throw new Error('truncated i32'); value = buf.subarray(i, i + 4); i += 4; }
    else throw new Error(`unsupported wire type ${wire}`);
    out.push({ field, wire, value });
  }
  return out;
}

// google.rpc.Status from a protobuf body: { code, message, details: [{ typeUrl, value }] }.
export function decodeStatusProto(buf) {
  const st = { code: 0, message: '', details: [] };
  for (const f of decodeFields(buf)) {
    if (f.field === 1 && f.wire === 0) st.code = Number(f.value);
    else if (f.field === 2 && f.wire === 2) st.message = f.value.toString('utf8');
    else if (f.field === 3 && f.wire === 2) {
      const d = { typeUrl: '', value: Buffer.alloc(0) };
      for (const g of decodeFields(f.value)) {
        if (g.field === 1) d.typeUrl = g.value.toString('utf8');
        if (g.field === 2) d.value = g.value;
      }
      st.details.push(d);
    } else throw new Error(`unexpected field ${f.field} (wire ${f.wire}) in google.rpc.Status`);
  }
  return st;
}

// ExportMetricsServiceResponse: { partialSuccess?: { rejectedDataPoints, errorMessage } }.
export function decodeExportResponseProto(buf) {
  const out = {};
  for (const f of decodeFields(buf)) {
    if (f.field === 1 && f.wire === 2) {
      const ps = { rejectedDataPoints: 0, errorMessage: '' };
      for (const g of decodeFields(f.value)) {
        if (g.field === 1 && g.wire === 0) ps.rejectedDataPoints = Number(g.value);
        if (g.field === 2 && g.wire === 2) ps.errorMessage = g.value.toString('utf8');
      }
      out.partialSuccess = ps;
    }
  }
  return out;
}

// Reads an OTLP error body the way a client would: JSON if the response says JSON, else protobuf.
export function decodeStatus(res) {
  const ct = res.headers.get('content-type') ?? '';
  if (/json/i.test(ct)) return JSON.parse(res.text);
  if (/protobuf/i.test(ct)) return decodeStatusProto(res.body);
  throw new Error(`error body has Content-Type "${ct}", want application/x-protobuf or application/json: ${res.text.slice(0, 300)}`);
}

export function decodeExportResponse(res) {
  const ct = res.headers.get('content-type') ?? '';
  if (/json/i.test(ct)) {
    const j = res.body.length ? JSON.parse(res.text) : {};
    if (j.partialSuccess && j.partialSuccess.rejectedDataPoints !== undefined) {
      // int64 may arrive as a decimal string in proto3 JSON.
      j.partialSuccess.rejectedDataPoints = Number(j.partialSuccess.rejectedDataPoints);
    }
    return j;
  }
  if (/protobuf/i.test(ct)) return decodeExportResponseProto(res.body);
  throw new Error(`OTLP response has Content-Type "${ct}": ${res.text.slice(0, 300)}`);
}
