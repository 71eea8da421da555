#!/usr/bin/env python3
"""nas.py -- accelerator-aware NAS on accelsim's chips (docs/experiments/nas.md).

Usage: docs/experiments/nas.py ACCELSIM OUTDIR [--n N]

Reproduces, on trn1 and edge-npu, the shape of the accelerator-aware search results of
EfficientNet-EdgeTPU (Gupta & Akin 2020) around MobileNetV2 1.0 at 224x224:

  baseline  MobileNetV2 1.0 (every choice of models/nas/mbv2_*_space.yaml at its MobileNetV2 value)
  V1        best of a depth search       (models/nas/mbv2_depth_space.yaml)
  V2        best of a fused-block search (models/nas/mbv2_fused_space.yaml)
  V3        best of both                 (models/nas/mbv2_depth_fused_space.yaml)

Search: N candidates (default 150) drawn with `accelsim nas sample --seed 1` from each space,
plus the baseline (a point of every space); every candidate simulated in full on each chip
(`accelsim estimator dataset`: lower + engine, graph latency = the last op's end); the pick is
the lowest-latency candidate whose MACs are at least the baseline's (the accuracy proxy: the
space's `constraints: min_macs`, so every sampled candidate satisfies it).

Then the channel-alignment effect: the baseline with every channel count rounded up to a
multiple of the chip's parallelism factor PF (PF = PE columns: 128 on trn1, 16 on edge-npu),
and with one channel more than that (the worst case: a whole extra PE tile), latency per FLOP.

Only the standard library. Output: Markdown tables on stdout and in OUTDIR/results.md.
Deterministic (seeded sampling, deterministic simulator).
"""
import csv
import gzip
import math
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.normpath(os.path.join(HERE, "..", ".."))
CHIPS = [("trn1", 128), ("edge-npu", 16)]
SPACES = [("V1", "depth search", "mbv2_depth_space.yaml"),
          ("V2", "fused-block search", "mbv2_fused_space.yaml"),
          ("V3", "depth + fused search", "mbv2_depth_fused_space.yaml")]
# MobileNetV2 1.0 (Sandler et al. 2018, Table 2): t, c, n, s per stage
MBV2 = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
        (6, 160, 3, 2), (6, 320, 1, 1)]


def spec_text(name, channels, stem, head):
    """A space of one point: MobileNetV2 with the given channel counts."""
    lines = ["nas: 1", "name: %s" % name, "dtype: bf16", "batch: [1]", "resolution: [224]",
             "stem: {channels: [%d], kernel: 3, stride: 2}" % stem, "stages:"]
    for (t, _, n, s), c in zip(MBV2, channels):
        lines.append("  - {expansion: [%d], kernel: [3], channels: [%d], depth: [%d], stride: %d, "
                     "block: [mbconv]}" % (t, c, n, s))
    lines.append("head: {channels: [%d], classes: 1000}" % head)
    return "\n".join(lines) + "\n"


def run(cmd):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        sys.exit("nas.py: %s failed (%d): %s" % (" ".join(cmd), r.returncode, r.stderr.strip()))
    return r.stdout


def sample(accelsim, spec, n, outdir, seed=1):
    run([accelsim, "nas", "sample", spec, "-n", str(n), "-o", outdir, "--seed", str(seed)])
    with open(os.path.join(outdir, "index.csv")) as f:
        return list(csv.DictReader(f))


def latencies(accelsim, popdir, chip, work):
    """graph file name -> simulated latency (ns): the last op's end in the full simulation."""
    out = os.path.join(work, "%s_%s.csv.gz" % (os.path.basename(popdir), chip))
    run([accelsim, "estimator", "dataset", "--population", popdir, "--chip", chip, "-o", out])
    ends = {}
    with gzip.open(out, "rt") as f:
        for row in csv.DictReader(f):
            g = row["graph"]
            e = float(row["end_ns"]) if row["end_ns"] not in ("", "nan", "NaN") else 0.0
            ends[g] = max(ends.get(g, 0.0), e)
    return ends


def graph_name(popdir, idx_row):
    with open(os.path.join(popdir, idx_row["file"])) as f:
        for line in f:
            if line.startswith("name:"):
                return line.split(":", 1)[1].strip().strip('"')
    raise SystemExit("nas.py: no name in %s" % idx_row["file"])


def population(accelsim, spec, n, outdir, work):
    """sample and simulate on both chips: rows with macs, params, arch, lat[chip]"""
    idx = sample(accelsim, spec, n, outdir)
    lat = {chip: latencies(accelsim, outdir, chip, work) for chip, _ in CHIPS}
    rows = []
    for r in idx:
        g = graph_name(outdir, r)
        rows.append({"arch": r["arch"], "macs": int(r["macs"]), "params": int(r["params"]),
                     "hash": r["hash"], "dm": r["depth_multiplier"], "blocks": int(r["blocks"]),
                     "lat": {chip: lat[chip][g] for chip, _ in CHIPS}})
    return rows


def main():
    args = sys.argv[1:]
    n = 150
    if "--n" in args:
        i = args.index("--n")
        n = int(args[i + 1])
        del args[i:i + 2]
    if len(args) != 2:
        sys.exit("usage: nas.py ACCELSIM OUTDIR [--n N]")
    accelsim, outdir = os.path.abspath(args[0]), args[1]
    if os.path.exists(outdir):
        shutil.rmtree(outdir)
    os.makedirs(outdir)
    work = os.path.join(outdir, "work")
    os.makedirs(work)
    out = []

    def say(s=""):
        out.append(s)
        print(s, flush=True)

    # baseline
    specs = os.path.join(outdir, "specs")
    os.makedirs(specs)

    def point(name, channels, stem, head):
        path = os.path.join(specs, name + ".yaml")
        with open(path, "w") as f:
            f.write(spec_text(name, channels, stem, head))
        return population(accelsim, path, 1, os.path.join(outdir, name), work)[0]

    base = point("baseline", [c for _, c, _, _ in MBV2], 32, 1280)
    say("## Search results (N = %d candidates per space, seed 1, + the baseline)" % n)
    say()
    say("Constraint (accuracy proxy): MACs >= the baseline's (%.1f M)." % (base["macs"] / 1e6))
    say()
    best = {}
    for key, what, fname in SPACES:
        rows = population(accelsim, os.path.join(TOP, "models", "nas", fname), n,
                          os.path.join(outdir, key), work)
        rows.append(base)
        for chip, _ in CHIPS:
            ok = [r for r in rows if r["macs"] >= base["macs"]]
            best[(key, chip)] = min(ok, key=lambda r: (r["lat"][chip], r["hash"]))
    for chip, pf in CHIPS:
        say("### %s" % chip)
        say()
        say("| variant | search | MACs (M) | FLOPs (G) | params (M) | blocks | latency (us) | "
            "latency reduction % | architecture |")
        say("|---|---|---|---|---|---|---|---|---|")
        b = base["lat"][chip]
        say("| baseline | MobileNetV2 1.0, 224 | %.1f | %.3f | %.2f | %d | %.1f | 0.0 | `%s` |"
            % (base["macs"] / 1e6, 2 * base["macs"] / 1e9, base["params"] / 1e6, base["blocks"],
               b / 1e3, base["arch"]))
        for key, what, _ in SPACES:
            r = best[(key, chip)]
            arch = r["arch"] + ("" if r["dm"] in ("1", "") else " (depth x%s)" % r["dm"])
            say("| %s | %s | %.1f | %.3f | %.2f | %d | %.1f | %.1f | `%s` |"
                % (key, what, r["macs"] / 1e6, 2 * r["macs"] / 1e9, r["params"] / 1e6, r["blocks"],
                   r["lat"][chip] / 1e3, 100 * (1 - r["lat"][chip] / b), arch))
        say()
        # the same picks on the other chip: is the best network portable?
        other = [c for c, _ in CHIPS if c != chip][0]
        say("The %s picks run on %s (latency change vs the baseline there): %s." % (chip, other, ", ".join(
            "%s %.1f us (%+.1f %%)" % (key, best[(key, chip)]["lat"][other] / 1e3,
                                      -100 * (1 - best[(key, chip)]["lat"][other] / base["lat"][other]))
            for key, _, _ in SPACES)))
        say()

    say("## Channel alignment (MobileNetV2 1.0 at 224, channel counts changed, everything else equal)")
    say()
    say("| chip | PF | channels | stem, stage outputs, head | MACs (M) | latency (us) | "
        "ns per MFLOP |")
    say("|---|---|---|---|---|---|---|")
    for chip, pf in CHIPS:
        chs = [c for _, c, _, _ in MBV2]
        variants = [
            ("MobileNetV2 counts", chs, 32, 1280),
            ("rounded up to PF", [pf * math.ceil(c / pf) for c in chs], pf * math.ceil(32 / pf),
             pf * math.ceil(1280 / pf)),
            ("rounded up to PF, + 1", [pf * math.ceil(c / pf) + 1 for c in chs],
             pf * math.ceil(32 / pf) + 1, pf * math.ceil(1280 / pf) + 1),
        ]
        for label, cs, stem, head in variants:
            name = "align_%s_%d" % (chip.replace("-", "_"), variants.index((label, cs, stem, head)))
            r = point(name, cs, stem, head)
            lat = r["lat"][chip]
            say("| %s | %d | %s | %d / %s / %d | %.1f | %.1f | %.2f |"
                % (chip, pf, label, stem, " ".join(str(c) for c in cs), head, r["macs"] / 1e6,
                   lat / 1e3, lat / (2 * r["macs"] / 1e6)))
    say()
    with open(os.path.join(outdir, "results.md"), "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
