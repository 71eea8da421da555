#!/usr/bin/env python3
"""check_trace.py TRACE.json[.gz] SUMMARY.json SBUF_CAP PSUM_CAP HBM_GBPS -- validate a trace.

Used by tests/test_traces.c. Parses with Python's json module in strict mode (no NaN/Infinity),
then checks the documented structure (docs/traces.md). Prints OK, or the first problem (exit 1).
"""
import gzip, json, sys

def bad_const(x):
    raise ValueError("non-standard JSON constant " + x)

path, summ_path = sys.argv[1], sys.argv[2]
sbuf_cap, psum_cap, hbm_gbps = int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
opener = gzip.open if path.endswith(".gz") else open
with opener(path, "rt") as f:
    doc = json.load(f, parse_constant=bad_const)
with open(summ_path) as f:
    summ = json.load(f)

def fail(msg):
    print(msg)
    sys.exit(1)

ev = doc["traceEvents"]
tick_hz = doc["otherData"]["tick_hz"]
T = tick_hz // 1000000                      # ticks per µs
def ticks(us):
    t = us * T
    r = round(t)
    if abs(t - r) > 0.25:                   # a stamp is within a quarter tick of its tick
        fail("time stamp %r is not on the tick grid (%r ticks)" % (us, t))
    return r

procs = {e["pid"]: e["args"]["name"] for e in ev if e["ph"] == "M" and e["name"] == "process_name"}
threads = {(e["pid"], e["tid"]): e["args"]["name"] for e in ev if e["ph"] == "M" and e["name"] == "thread_name"}
if 0 not in procs or not procs[0].startswith("core 0"):
    fail("no process for core 0: %r" % procs)
if len(procs) != summ["cores"]:
    fail("%d processes for %d cores" % (len(procs), summ["cores"]))
names = set(threads.values())
for need in ("pe", "act", "vec", "q0", "ops 0"):
    if need not in names:
        fail("missing track %s (have %s)" % (need, sorted(names)))

level = doc["otherData"]["trace_level"]
spans, insts = {}, []
for e in ev:
    if e["ph"] == "X":
        if (e["pid"], e["tid"]) not in threads:
            fail("X event on an unnamed track: %r" % e)
        s, d = ticks(e["ts"]), ticks(e["dur"])
        if e.get("cat") == "op":
            spans[e["args"]["op_index"]] = (s, s + d)
        else:
            insts.append((e, s, s + d))
if level == "inst" and len(insts) != summ["instructions"]:
    fail("%d instruction events, summary says %d" % (len(insts), summ["instructions"]))
if level == "op" and insts:
    fail("instruction events at trace level op")
end = summ["latency_ticks"]
flops = 0
for e, s, t in insts:
    a = e["args"]
    for k in ("opcode", "engine", "dtype", "energy_pj"):
        if k not in a:
            fail("instruction event without %s: %r" % (k, e))
    flops += a.get("flops", 0)
    if "op_index" in a:
        sp = spans.get(a["op_index"])
        if sp is None:
            fail("no span for op %r" % a["op_index"])
        if not (sp[0] <= s and t <= sp[1]):
            fail("instruction %r [%d, %d] outside its op's span %r" % (a["instruction"], s, t, sp))
    if t > end:
        fail("instruction ends after the run")
if level == "inst" and flops != summ["executed_flops"]:
    fail("FLOPs of the events %d != summary %d" % (flops, summ["executed_flops"]))
# op lanes: spans on one track never overlap
by_track = {}
for e in ev:
    if e["ph"] == "X" and e.get("cat") == "op":
        by_track.setdefault(e["tid"], []).append((ticks(e["ts"]), ticks(e["ts"]) + ticks(e["dur"])))
for tid, l in by_track.items():
    l.sort()
    for (a0, a1), (b0, b1) in zip(l, l[1:]):
        if b0 < a1:
            fail("op spans overlap on track %d" % tid)
caps = {"sbuf_bytes": sbuf_cap, "psum_bytes": psum_cap, "hbm_bandwidth_gb_per_s": hbm_gbps * (1 + 1e-9)}
seen = set()
for e in ev:
    if e["ph"] == "C":
        n = e["name"]
        v = e["args"][n]
        seen.add(n)
        if v < 0:
            fail("negative counter %s" % n)
        if n in caps and v > caps[n]:
            fail("counter %s = %r exceeds the capacity %r" % (n, v, caps[n]))
for need in ("sbuf_bytes", "psum_bytes", "hbm_bandwidth_gb_per_s", "power_w", "hbm_footprint_bytes"):
    if need not in seen:
        fail("missing counter " + need)
print("OK %d events" % len(ev))
