#!/usr/bin/env python3
"""Prints compare.sh's Markdown table from a results dir: table.py DIR SYSTEM...

Absolute figures per system, then ratios other/xscaler (or other/first system when xscaler did
not run). Reads DIR/workload.json, DIR/SYSTEM.metrics.json and DIR/parse-only-*.json.
"""
import json
import os
import statistics
import sys


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def fmt(v):
    if v is None:
        return "–"
    if isinstance(v, str):
        return v
    a = abs(v)
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 100:
        return f"{v:.0f}"
    if a >= 10:
        return f"{v:.1f}"
    if a >= 1:
        return f"{v:.2f}"
    return f"{v:.3g}"


def ratio(v, ref):
    if not isinstance(v, (int, float)) or not isinstance(ref, (int, float)) or not ref:
        return "–"
    return f"{v / ref:.2f}×"


def main():
    out, systems = sys.argv[1], sys.argv[2:]
    wl = load(os.path.join(out, "workload.json")) or {}
    series = wl.get("series", 0)
    m = {s: load(os.path.join(out, f"{s}.metrics.json")) or {"ran": False, "note": "no result"}
         for s in systems}
    ran = [s for s in systems if m[s].get("ran")]
    ref = next((s for s in ("xscaler", "xscaler-otlp") if s in ran), ran[0] if ran else None)
    others = [s for s in ran if s != ref]

    print()
    print(f"- workload: {series:,} active series ({wl.get('targets', 0)} targets, 7–10 labels with __name__; "
          f"counters, gauges, 12-bucket histograms) × {wl.get('samples_per_series')} samples "
          f"at {wl.get('interval_ms', 0) / 1000:g} s = {wl.get('samples_total', 0):,} samples; "
          f"batch {wl.get('batch')} samples/request, {wl.get('concurrency')} sender connections, "
          f"seed {wl.get('seed')}; remote write {wl.get('bytes', 0) / max(1, wl.get('samples_total', 1)):.1f} "
          f"bytes/sample on the wire")
    for s in systems:
        if m[s].get("ran"):
            print(f"- {s}: {m[s].get('version', '')} ({m[s].get('protocol')})")
        else:
            print(f"- {s}: {m[s].get('note', 'not run')}")
    print()

    rows = []

    def row(label, fn, lower_better=None):
        vals = {}
        for s in ran:
            try:
                vals[s] = fn(m[s])
            except (KeyError, TypeError, ZeroDivisionError, ValueError):
                vals[s] = None
        rows.append((label, vals, lower_better))

    def accepted(x):
        return x["push"]["samples_accepted"]

    row("ingest, samples/s", lambda x: x["push"]["samples_per_second"], False)
    row("samples accepted / sent",
        lambda x: f"{x['push']['samples_accepted']:,} / {x['push']['samples_sent']:,}")
    def failures(x):
        parts = [f"{k}: {v}" for k, v in x["push"]["errors_by_status"].items()]
        if x["push"].get("requests_not_sent"):
            parts.append(f"not sent (server gone): {x['push']['requests_not_sent']}")
        return ", ".join(parts) or "0"

    row("failed requests (by status)", failures)
    row("load generator CPU-s during the push (same machine)",
        lambda x: x["push"]["loadgen_cpu_seconds"], None)
    row("server CPU-s per 1M samples (ingest)",
        lambda x: x["cpu_ingest_s"] / accepted(x) * 1e6, True)
    row("server CPU-s per 1M samples (ingest + flush)",
        lambda x: (x["cpu_ingest_s"] + x["cpu_flush_s"]) / accepted(x) * 1e6, True)
    row("peak RSS (VmHWM), MiB", lambda x: x["peak_rss_bytes"] / 2**20, True)
    row("bytes per active series (peak RSS ÷ series)", lambda x: x["peak_rss_bytes"] / series, True)
    row("RSS growth per series ((RSS after − idle) ÷ series)",
        lambda x: (x["rss_after_bytes"] - x["rss_idle_bytes"]) / series, True)
    row("disk bytes per sample (after flush)", lambda x: x["disk"]["disk_bytes"] / accepted(x), True)

    qnames = []
    for s in ran:
        for q in m[s].get("queries") or []:
            if q["name"] not in qnames:
                qnames.append(q["name"])

    def query(x, name):
        for q in x.get("queries") or []:
            if q["name"] == name:
                return q
        return None

    for name in qnames:
        def median(x, name=name):
            q = query(x, name)
            return q["median_ms"] if q and q.get("ok") else None

        vals = {}
        for s in ran:
            q = query(m[s], name)
            if q is None:
                vals[s] = None
            elif q.get("ok"):
                vals[s] = (q["median_ms"], q["p99_ms"], q.get("result_size"))
            else:
                vals[s] = f"FAILED ({q.get('status')})"
        rows.append((f"query {name}: median / p99 ms [results]", vals, "query"))

    # Aggregates only over the queries every system answered, so that a system that fails the
    # expensive queries does not look faster.
    common = [n for n in qnames
              if all((query(m[s], n) or {}).get("ok") for s in ran)]

    def dash(x, key, agg):
        got = [query(x, n)[key] for n in common]
        return agg(got) if got else None

    row(f"dashboard: median of query medians, ms ({len(common)} queries all answered)",
        lambda x: dash(x, "median_ms", statistics.median), True)
    row(f"dashboard: worst query p99, ms (same {len(common)})", lambda x: dash(x, "p99_ms", max), True)
    row("queries answered", lambda x: f"{sum(1 for q in x.get('queries') or [] if q.get('ok'))}"
                                      f"/{len(x.get('queries') or [])}")

    header = ["figure"] + ran + [f"{o} / {ref}" for o in others]
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|")
    for label, vals, kind in rows:
        cells = [label]
        for s in ran:
            v = vals.get(s)
            if kind == "query" and isinstance(v, tuple):
                cells.append(f"{fmt(v[0])} / {fmt(v[1])} [{v[2]}]")
            else:
                cells.append(fmt(v))
        for o in others:
            a, b = vals.get(o), vals.get(ref)
            if kind == "query":
                a = a[0] if isinstance(a, tuple) else None
                b = b[0] if isinstance(b, tuple) else None
            cells.append(ratio(a, b) if kind is not None else "–")
        print("| " + " | ".join(cells) + " |")

    print()
    for proto, sysname in (("remote-write", "xscaler"), ("otlp", "xscaler-otlp")):
        p = load(os.path.join(out, f"parse-only-{proto}.json"))
        if not p:
            continue
        cpu_per_m = p["ns_per_sample"] / 1e3  # CPU-s per 1M samples on one thread
        line = (f"- physical limit, {proto}: xscaler's own decoders alone (one thread, no storage"
                f"{', series caches warm' if p.get('uncached_samples_per_second') else ''}) "
                f"{fmt(p['samples_per_second'])} samples/s = {fmt(cpu_per_m)} CPU-s per 1M samples")
        if p.get("uncached_samples_per_second"):
            line += f" (every label set decoded: {fmt(p['uncached_samples_per_second'])} samples/s)"
        if p.get("decode_only_samples_per_second"):
            line += f" (protobuf decode without translation: {fmt(p['decode_only_samples_per_second'])} samples/s)"
        x = m.get(sysname)
        if x and x.get("ran") and x["push"]["samples_accepted"]:
            whole = x["cpu_ingest_s"] / x["push"]["samples_accepted"] * 1e6
            line += f"; the whole ingest path of `{sysname}` costs {whole / cpu_per_m:.1f}× that in CPU"
        if p.get("failed_requests"):
            line += f" — {p['failed_requests']} bodies failed to decode: {p.get('first_error', '')}"
        print(line)
    print("- ratios are other ÷ " + (ref or "–") + "; CPU, memory, disk and latency: lower is better; "
          "samples/s: higher is better. [results] = series (or names) in the answer, which must "
          "agree between systems.")


if __name__ == "__main__":
    main()
