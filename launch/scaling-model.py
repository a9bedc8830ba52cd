#!/usr/bin/env python3
"""A communication model of dmlp's data-parallel step, from 1 to 1024 ranks.

    python3 launch/scaling-model.py fit ALLREDUCE_P2.csv [SWEEP.csv]      # α, β, γ of this machine
    python3 launch/scaling-model.py predict ALLREDUCE_P2.csv SWEEP.csv [--layers 784,1024,1024,10]
            [--per-rank 128] [--bucket-mb 1] [--compute-scale 1] [--cores N] [--plot OUT.png] [--markdown]

ALLREDUCE_P2.csv is the output of `mpirun -np 2 build/bench/dmlp_bench_allreduce`,
and SWEEP.csv is launch/scaling-sweep.sh's scaling.csv. The sweep's 1-rank
row gives the compute times, and its other rows are the measured points.

The all-reduce of n bytes over P ranks costs (Thakur, Rabenseifner, Gropp 2005):
    ring                          2(P−1)·α + 2·(P−1)/P·n·β + (P−1)/P·n·γ
    recursive halving/doubling    2·log2(P)·α + 2·(P−1)/P·n·β + (P−1)/P·n·γ       (P a power of two)
      (Rabenseifner)              otherwise: the same on p' = 2^⌊log2 P⌋ ranks, plus 2α + 2nβ + nγ
                                  for the P − p' ranks that fold their data in first and get the result last
α: latency per message, β: seconds per byte sent, γ: seconds per byte reduced.

The step: data, forward, backward and update scale with the per-rank batch
as measured at 1 rank, and with the model's parameter count relative to the
sweep's model (the FLOPs per row are 6 per weight); --compute-scale multiplies
them further (0.25: GEMMs 4x faster than the sweep's machine). The gradient all-reduce is either one call after
backward, or overlapped as dmlp does it. In the overlapped case, buckets of
whole layers (at least --bucket-mb) start when backward finishes their lowest
layer, and run one after another while backward goes on. Each layer's
backward time is its share of the backward FLOPs: dW for every layer, dX for
all but the first.
"""
import csv
import math
import sys

# Named interconnects, as assumptions (per-link figures for an MPI all-reduce;
# γ from this machine's memory bandwidth unless measured).
INTERCONNECTS = {
    "100 Gb/s InfiniBand (assumed: α 2 µs, β 1/12 GB/s)": (2e-6, 1 / 12e9),
    "25 Gb/s Ethernet (assumed: α 20 µs, β 1/3 GB/s)": (20e-6, 1 / 3e9),
}


def ring(P, n, alpha, beta, gamma):
    """Seconds for a ring all-reduce of n bytes over P ranks."""
    if P <= 1:
        return 0.0
    return 2 * (P - 1) * alpha + 2 * (P - 1) / P * n * beta + (P - 1) / P * n * gamma


def rabenseifner(P, n, alpha, beta, gamma):
    """Seconds for Rabenseifner's all-reduce (recursive halving reduce-scatter,
    recursive doubling all-gather) of n bytes over P ranks."""
    if P <= 1:
        return 0.0
    p = 1 << int(math.floor(math.log2(P)))
    core = 2 * math.log2(p) * alpha + 2 * (p - 1) / p * n * beta + (p - 1) / p * n * gamma
    if p == P:
        return core
    return core + 2 * alpha + 2 * n * beta + n * gamma


ALGORITHMS = {"ring": ring, "rabenseifner": rabenseifner}


def fit(allreduce_csv):
    """α, β, γ from the 2-rank benchmark: the ring at P = 2 is 2α + n(β + γ/2)."""
    rows = list(csv.DictReader(open(allreduce_csv)))
    ar = [(int(r["bytes"]), float(r["seconds"])) for r in rows if r["kind"] == "allreduce" and r["ranks"] == "2"]
    red = [(int(r["bytes"]), float(r["seconds"])) for r in rows if r["kind"] == "reduce"]
    large_reduce = [x for x in red if x[0] >= 1 << 16]
    small = [t for n, t in ar if n <= 4096]
    large = [x for x in ar if x[0] >= 1 << 18]
    if len(large_reduce) < 2 or len(large) < 2 or not small:
        raise SystemExit(f"scaling-model: {allreduce_csv} needs 2-rank allreduce rows of <= 4 KiB and at least two of "
                         ">= 256 KiB, and two reduce rows of >= 64 KiB (run dmlp_bench_allreduce with --max-mb 4 or more)")
    gamma = slope(large_reduce)
    alpha = sorted(small)[len(small) // 2] / 2
    beta = max(slope(large) - gamma / 2, 1e-13)
    return alpha, beta, gamma


def slope(points):
    """Least-squares slope of seconds against bytes."""
    n = len(points)
    mx = sum(p[0] for p in points) / n
    my = sum(p[1] for p in points) / n
    sxx = sum((p[0] - mx) ** 2 for p in points)
    return sum((p[0] - mx) * (p[1] - my) for p in points) / sxx if sxx > 0 else 0.0


def layer_sizes(widths):
    return [(widths[k], widths[k + 1]) for k in range(len(widths) - 1)]


def buckets(widths, element_bytes, bucket_bytes):
    """dmlp's buckets: runs of whole layers from the last, each at least bucket_bytes.
    Returns (lowest layer index, bytes) in the order they start."""
    out, size = [], 0
    layers = layer_sizes(widths)
    for k in range(len(layers) - 1, -1, -1):
        i, o = layers[k]
        size += (i * o + o) * element_bytes
        if size >= bucket_bytes or k == 0:
            out.append((k, size))
            size = 0
    return out


def backward_with_allreduce(widths, t_backward, P, algorithm, constants, overlap, element_bytes=4, bucket_mb=1.0):
    """Seconds from the start of backward until the gradient is summed."""
    alpha, beta, gamma = constants
    layers = layer_sizes(widths)
    total_bytes = sum((i * o + o) * element_bytes for i, o in layers)
    if not overlap:
        return t_backward + algorithm(P, total_bytes, alpha, beta, gamma)
    # backward: for k = K-1 … 0, dW_k (2·i·o flops per row), then dX_k for k > 0
    flops = [2 * i * o * (2 if k > 0 else 1) for k, (i, o) in enumerate(layers)]
    per_flop = t_backward / sum(flops)
    ready, t = {}, 0.0
    for k in range(len(layers) - 1, -1, -1):
        t += 2 * layers[k][0] * layers[k][1] * per_flop  # dW_k done: layer k's gradient is ready
        ready[k] = t
        if k > 0:
            t += 2 * layers[k][0] * layers[k][1] * per_flop  # dX_k
    comm_free = 0.0
    for lowest, size in buckets(widths, element_bytes, bucket_mb * 1024 * 1024):
        start = max(ready[lowest], comm_free)
        comm_free = start + algorithm(P, size, alpha, beta, gamma)
    return max(t_backward, comm_free)


def step_time(base, per_rank_batch, widths, P, algorithm, constants, overlap, bucket_mb=1.0):
    """Seconds per step at P ranks and this per-rank batch, from the 1-rank row `base`."""
    scale = per_rank_batch / base["per_rank_batch"]
    compute = {p: base[p] * scale for p in ("data", "forward", "backward")}
    return (compute["data"] + compute["forward"] + base["update"] +
            backward_with_allreduce(widths, compute["backward"], P, algorithm, constants, overlap,
                                    bucket_mb=bucket_mb))


def parameters(widths):
    return sum(i * o + o for i, o in layer_sizes(widths))


def base_row(sweep_csv, widths, compute_scale=1.0, mode="weak"):
    """The sweep's 1-rank phases, rescaled to the model `widths`."""
    rows = [r for r in csv.DictReader(open(sweep_csv)) if r["mode"] == mode and r["ranks"] == "1"]
    if not rows:
        raise ValueError(f"{sweep_csv}: no 1-rank {mode} row")
    r = rows[0]
    model_scale = parameters(widths) / int(r["parameters"])
    return {"per_rank_batch": int(r["per_rank_batch"]),
            **{p: float(r[f"{p}_mean_s"]) * model_scale * compute_scale
               for p in ("data", "forward", "backward", "update")}}


def main(argv):
    if len(argv) < 3 or argv[1] not in ("fit", "predict"):
        print(__doc__, file=sys.stderr)
        return 2
    constants = fit(argv[2])
    alpha, beta, gamma = constants
    print(f"fitted on this machine: alpha {alpha * 1e6:.2f} us, beta {beta * 1e9:.4f} ns/B "
          f"({1 / beta / 1e9:.2f} GB/s), gamma {gamma * 1e9:.4f} ns/B ({1 / gamma / 1e9:.2f} GB/s)")
    if argv[1] == "fit":
        return 0
    sweep = argv[3]
    option = lambda name, default: argv[argv.index(name) + 1] if name in argv else default
    widths = [int(w) for w in option("--layers", "784,1024,1024,10").split(",")]
    per_rank = int(option("--per-rank", "128"))
    bucket_mb = float(option("--bucket-mb", "1"))
    if len(widths) < 2 or min(widths) < 1 or per_rank < 1 or not float(option("--compute-scale", "1")) > 0 \
            or bucket_mb < 0:
        print("scaling-model: --layers needs two or more positive widths, --per-rank and --compute-scale must be "
              "positive, --bucket-mb not negative", file=sys.stderr)
        return 2
    base = base_row(sweep, widths, float(option("--compute-scale", "1")))
    ranks = [1 << i for i in range(11)]
    scenarios = [("this machine", constants)] + [(name, (a, b, gamma)) for name, (a, b) in INTERCONNECTS.items()]
    t1 = step_time(base, per_rank, widths, 1, ring, constants, False, bucket_mb)
    table = []
    for name, c in scenarios:
        for algo in ALGORITHMS:
            for overlap in (True, False):
                effs = [t1 / step_time(base, per_rank, widths, P, ALGORITHMS[algo], c, overlap, bucket_mb) for P in ranks]
                table.append((name, algo, overlap, effs))
    markdown = "--markdown" in argv
    head = ["interconnect", "all-reduce", "overlap"] + [str(P) for P in ranks]
    if markdown:
        print("| " + " | ".join(head) + " |")
        print("|" + " --- |" * len(head))
    else:
        print(f"weak scaling, {per_rank} rows per rank, {'-'.join(map(str, widths))}: predicted efficiency (%)")
        print("  ".join(head))
    for name, algo, overlap, effs in table:
        cells = [name, algo, "yes" if overlap else "no"] + [f"{100 * e:.0f}" for e in effs]
        print("| " + " | ".join(cells) + " |" if markdown else "  ".join(cells))
    print(f"(1-rank step {1e3 * t1:.2f} ms at {per_rank} rows, from the sweep's measured phases)")
    if "--plot" in argv:
        import os
        plot(table, ranks, sweep, option("--plot", "model.png"), widths, per_rank, int(option("--cores", os.cpu_count())))
    return 0


def plot(table, ranks, sweep_csv, path, widths, per_rank, cores):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
    styles = {"this machine": "-", **{name: "--" for name in INTERCONNECTS}}
    for name, algo, overlap, effs in table:
        if algo == "rabenseifner" and name != "this machine":
            continue
        ax.plot(ranks, [100 * e for e in effs], styles[name], marker="o" if overlap else "x", markersize=3,
                label=f"{name.split(' (')[0]}, {algo}, {'overlap' if overlap else 'no overlap'}")
    measured = [r for r in csv.DictReader(open(sweep_csv)) if r["mode"] == "weak"]
    fits = [r for r in measured if int(r["ranks"]) <= cores]
    over = [r for r in measured if int(r["ranks"]) > cores]
    ax.plot([int(r["ranks"]) for r in fits], [100 * float(r["efficiency"]) for r in fits], "k*",
            markersize=10, label=f"measured (this machine, weak, ranks <= {cores} cores)")
    if over:
        ax.plot([int(r["ranks"]) for r in over], [100 * float(r["efficiency"]) for r in over], "k+",
                markersize=10, label="measured, ranks > cores (oversubscribed: not the model's case)")
    ax.set_xscale("log", base=2)
    ax.set_xticks(ranks)
    ax.set_xticklabels([str(p) for p in ranks])
    ax.minorticks_off()
    ax.set_ylim(0, 105)
    ax.set_xlabel("ranks")
    ax.set_ylabel("weak-scaling efficiency (%)")
    ax.set_title(f"{'-'.join(map(str, widths))}, {per_rank} rows per rank: model and measurement", fontsize=10)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    print(f"wrote {path}")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
