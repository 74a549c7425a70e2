// The OpenTelemetry JS SDK set up the way the customer guide does it (MeterProvider +
// PeriodicExportingMetricReader + OTLPMetricExporter with the two headers), with an exporter
// wrapper that records every export result so a test can tell a rejected export from a silent one.
import { MeterProvider, PeriodicExportingMetricReader, InMemoryMetricExporter, AggregationTemporality } from '@opentelemetry/sdk-metrics';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { OTLPMetricExporter as ProtoExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPMetricExporter as JsonExporter, AggregationTemporalityPreference } from '@opentelemetry/exporter-metrics-otlp-http';
import { ProtobufMetricsSerializer, JsonMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { authHeaders } from './server.mjs';

export { AggregationTemporalityPreference, AggregationTemporality };

export const SCOPE_NAME = 'my-service';
export const SCOPE_VERSION = '1.0.0';

// Delegates to the real exporter and remembers each ExportResult ({ code, error }).
class RecordingExporter {
  constructor(inner) {
    this.inner = inner;
    this.results = [];
  }
  export(metrics, done) {
    this.inner.export(metrics, (result) => {
      this.results.push(result);
      done(result);
    });
  }
  forceFlush() { return this.inner.forceFlush(); }
  shutdown() { return this.inner.shutdown(); }
  selectAggregationTemporality(t) { return this.inner.selectAggregationTemporality(t); }
  selectAggregation(t) { return this.inner.selectAggregation(t); }
}

// kind: 'proto' (application/x-protobuf) or 'json' (application/json).
export function makeSdk({ server, creds, kind = 'proto', compression, temporalityPreference,
  resource = {}, views, headers, urlPath = '/otlp/v1/metrics' }) {
  const opts = {
    url: `${server.url}${urlPath}`,
    headers: headers ?? authHeaders(creds),
    timeoutMillis: 10000,
  };
  if (compression) opts.compression = compression;
  if (temporalityPreference !== undefined) opts.temporalityPreference = temporalityPreference;
  const inner = kind === 'proto' ? new ProtoExporter(opts) : new JsonExporter(opts);
  const exporter = new RecordingExporter(inner);
  // Exports happen only on flush: the interval is far longer than any test.
  const reader = new PeriodicExportingMetricReader({
    exporter, exportIntervalMillis: 3_600_000, exportTimeoutMillis: 15000,
  });
  const provider = new MeterProvider({
    resource: defaultResource().merge(resourceFromAttributes(resource)),
    readers: [reader],
    views,
  });
  return {
    provider,
    exporter,
    meter: provider.getMeter(SCOPE_NAME, SCOPE_VERSION),
    // Exports now and fails unless every export of this flush succeeded.
    async flush() {
      const before = exporter.results.length;
      await provider.forceFlush();
      const results = exporter.results.slice(before);
      if (results.length === 0) throw new Error('forceFlush exported nothing');
      for (const r of results) {
        if (r.code !== 0) throw new Error(`OTLP export failed: ${r.error?.message ?? JSON.stringify(r)}`);
      }
      return results;
    },
    shutdown: () => provider.shutdown(),
  };
}

// The guide's three instruments, recorded the guide's way (plus two more latencies so bucket
// counts differ between buckets). Returns the values the server must give back.
export function recordGuideInstruments(meter) {
  const requests = meter.createCounter('http_requests_total', { unit: '1', description: 'Total HTTP requests' });
  const latency = meter.createHistogram('http_request_duration_seconds', { unit: 's', description: 'HTTP request duration' });
  const queue = meter.createUpDownCounter('job_queue_depth', { unit: '1', description: 'Number of pending jobs in queue' });
  requests.add(1, { method: 'GET', status: '200' });
  const observations = [0.042, 0.3, 7];
  for (const v of observations) latency.record(v, { route: '/api/v1/metrics' });
  queue.add(5);
  queue.add(-2);
  let sum = 0;
  for (const v of observations) sum += v;
  return { requests, latency, queue, observations, sum };
}

// The SDK's default explicit bucket boundaries, and the cumulative counts the three
// observations above must produce per `le`.
export const DEFAULT_BOUNDS = [0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000];
export function expectedBuckets(observations, bounds = DEFAULT_BOUNDS) {
  const out = {};
  for (const b of bounds) out[String(b)] = observations.filter((v) => v <= b).length;
  out['+Inf'] = observations.length;
  return out;
}

// Collects what the SDK would export without sending it, so a test can post the exact SDK body
// with fetch and look at the HTTP response itself.
export function makeCollectingSdk({ resource = {}, views, temporality = AggregationTemporality.CUMULATIVE } = {}) {
  const exporter = new InMemoryMetricExporter(temporality);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000, exportTimeoutMillis: 15000 });
  const provider = new MeterProvider({
    resource: defaultResource().merge(resourceFromAttributes(resource)),
    readers: [reader],
    views,
  });
  return {
    provider,
    meter: provider.getMeter(SCOPE_NAME, SCOPE_VERSION),
    // Returns the protobuf and JSON encodings of everything recorded so far.
    async encode() {
      exporter.reset();
      await provider.forceFlush();
      const rms = exporter.getMetrics();
      if (rms.length === 0) throw new Error('nothing collected');
      const rm = rms[rms.length - 1];
      return { proto: Buffer.from(ProtobufMetricsSerializer.serializeRequest(rm)), json: Buffer.from(JsonMetricsSerializer.serializeRequest(rm)) };
    },
    shutdown: () => provider.shutdown(),
  };
}

// A hand-written OTLP/JSON ExportMetricsServiceRequest with one gauge metric.
// points: [{ value, timeMs, attrs: { k: 'v' } }]; resource: { 'service.name': ... }.
export function gaugeRequestJson(name, points, resource = { 'service.name': 'e2e' }, { description = '', unit = '' } = {}) {
  const kv = (o) => Object.entries(o).map(([key, v]) => ({ key, value: { stringValue: String(v) } }));
  return JSON.stringify({
    resourceMetrics: [{
      resource: { attributes: kv(resource) },
      scopeMetrics: [{
        scope: { name: SCOPE_NAME, version: SCOPE_VERSION },
        metrics: [{
          name, description, unit,
          gauge: {
            dataPoints: points.map((p) => ({
              attributes: kv(p.attrs ?? {}),
              timeUnixNano: (BigInt(Math.round(p.timeMs)) * 1000000n).toString(),
              asDouble: p.value,
            })),
          },
        }],
      }],
    }],
  });
}

// OTLP/JSON attribute list from a plain object (strings, numbers as doubles or ints, booleans).
export function kvList(o) {
  return Object.entries(o).map(([key, v]) => {
    if (typeof v === 'boolean') return { key, value: { boolValue: v } };
    if (typeof v === 'bigint') return { key, value: { intValue: v.toString() } };
    if (typeof v === 'number') return { key, value: Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v } };
    return { key, value: { stringValue: String(v) } };
  });
}

// A hand-written ExportMetricsServiceRequest (JSON) with raw OTLP metric objects.
export function otlpJson(resource, metrics, scope = { name: SCOPE_NAME, version: SCOPE_VERSION }) {
  return JSON.stringify({
    resourceMetrics: [{ resource: { attributes: kvList(resource) }, scopeMetrics: [{ scope, metrics }] }],
  });
}

export const nanos = (ms) => (BigInt(Math.round(ms)) * 1000000n).toString();
