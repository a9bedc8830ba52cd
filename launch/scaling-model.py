#!/usr/bin/env python3
"""A communication model of dmlp's data-parallel step, from 1 to 1024 ranks.

    python3 launch/scaling-model.py fit ALLREDUCE_P2.csv [SWEEP.csv]      # α, β, γ of this machine
    python3 launch/scaling-model.py predict ALLREDUCE_P2.csv SWEEP.csv [--layers 784,1024,1024,10]
            [--per-rank 128] [--bucket-mb 1] [--compute-scale 1] [--cores N] [--plot OUT.png] [--markdown]
            [--reduction both|allreduce|node] [--ranks-per-node 16] [--node-bandwidth 100]
            [--alpha-node US] [--update-streams 5] [--ranks 1,2,4,...] [--overlap both|yes|no]
            [--algorithm both|ring|rabenseifner]
    python3 launch/scaling-model.py predict --constants ALPHA_US,BETA_NS,GAMMA_NS
            --phases DATA,FORWARD,BACKWARD,UPDATE [--phases-rows 128] [--phases-layers 784,1024,1024,10]
            [--measured RANKS:EFFICIENCY%,...] [the options above]

ALLREDUCE_P2.csv is the output of `mpirun -np 2 build/bench/dmlp_bench_allreduce`,
and SWEEP.csv is launch/scaling-sweep.sh's scaling.csv. The sweep's 1-rank
row gives the compute times, and its other rows are the measured points.
Without the files, --constants gives α (µs), β and γ (ns/B), and --phases the
1-rank weak row's seconds per step of each phase (ms) at --phases-rows rows
per rank of the model --phases-layers; --measured gives the points to plot.

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

Two reductions are modelled, as dmlp's --reduction names them:
  allreduce  the all-reduce above of the whole gradient over all P ranks; every
             rank updates the whole model (the 1-rank update time).
  node       P = N nodes × L ranks (--ranks-per-node; fewer than L ranks: one
             node of P). Per bucket of n bytes, on the rank's core (so it
             delays the rest of backward):
               barrier   ⌈log2 L⌉·α_node         (α_node: this machine's α, or --alpha-node)
               node sum  max((L+1)/L·n / (3/γ),  (L+1)·n / B_node)
                         each rank reads its n/L slice from all L segments and
                         writes it once; one core streams 3/γ bytes/s (γ's
                         a = a/2 + b moves 3 bytes per byte reduced), the node
                         B_node (--node-bandwidth, GB/s) for all L ranks.
             then, on the node's link, after the previous bucket's:
               across    the all-reduce above over N ranks of n bytes with γ/L:
                         L concurrent all-reduces of n/L share the NIC (the link
                         time of one of n) and reduce on L cores.
             The update is sharded: max(update/L, s·4·params / B_node) with s
             the update's streams (--update-streams: 5 for SGD with momentum,
             w g v read, w v written), then a node barrier ⌈log2 L⌉·α_node.
             With L = 1 dmlp declines the node path: the plain all-reduce.
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


def layer_ready_times(widths, t_backward):
    """Seconds from the start of backward until each layer's gradient is final."""
    layers = layer_sizes(widths)
    # backward: for k = K-1 … 0, dW_k (2·i·o flops per row), then dX_k for k > 0
    flops = [2 * i * o * (2 if k > 0 else 1) for k, (i, o) in enumerate(layers)]
    per_flop = t_backward / sum(flops)
    ready, t = {}, 0.0
    for k in range(len(layers) - 1, -1, -1):
        t += 2 * layers[k][0] * layers[k][1] * per_flop  # dW_k done: layer k's gradient is ready
        ready[k] = t
        if k > 0:
            t += 2 * layers[k][0] * layers[k][1] * per_flop  # dX_k
    return ready


def backward_with_allreduce(widths, t_backward, P, algorithm, constants, overlap, element_bytes=4, bucket_mb=1.0):
    """Seconds from the start of backward until the gradient is summed."""
    alpha, beta, gamma = constants
    layers = layer_sizes(widths)
    total_bytes = sum((i * o + o) * element_bytes for i, o in layers)
    if not overlap:
        return t_backward + algorithm(P, total_bytes, alpha, beta, gamma)
    ready = layer_ready_times(widths, t_backward)
    comm_free = 0.0
    for lowest, size in buckets(widths, element_bytes, bucket_mb * 1024 * 1024):
        start = max(ready[lowest], comm_free)
        comm_free = start + algorithm(P, size, alpha, beta, gamma)
    return max(t_backward, comm_free)


def node_layout(P, ranks_per_node):
    """(nodes, ranks per node) of P ranks placed ranks_per_node to a node; None if they do not fill whole nodes."""
    if P <= ranks_per_node:
        return 1, P
    return (P // ranks_per_node, ranks_per_node) if P % ranks_per_node == 0 else None


def node_barrier(local, alpha_node):
    """A barrier among a node's `local` ranks: ⌈log2 local⌉ rounds of messages in shared memory."""
    return math.ceil(math.log2(local)) * alpha_node if local > 1 else 0.0


def node_sum(n, local, gamma, node_bandwidth):
    """Seconds for the node's ranks to sum their n/local slices of an n-byte bucket from all local segments.
    Each rank reads local·(n/local) bytes and writes n/local: its core streams 3/γ bytes/s (γ's a = a/2 + b
    moves three bytes per byte reduced), and the node's memory gives node_bandwidth bytes/s to all of them."""
    if local <= 1:
        return 0.0
    return max((local + 1) / local * n * gamma / 3, (local + 1) * n / node_bandwidth)


def backward_with_node_sum(widths, t_backward, nodes, local, algorithm, constants, overlap, node_bandwidth,
                           alpha_node, element_bytes=4, bucket_mb=1.0):
    """Seconds from the start of backward until each rank holds the sum of its parts (--reduction node).
    The barrier and the node sum run on the rank's core, between backward's layers, so they delay the rest
    of backward; the all-reduce across nodes runs on the link, one bucket after another."""
    alpha, beta, gamma = constants
    ready = layer_ready_times(widths, t_backward) if overlap else None
    core, link_free = 0.0, 0.0  # core: the time the node sums so far have taken from backward
    for lowest, size in buckets(widths, element_bytes, bucket_mb * 1024 * 1024):
        core += node_barrier(local, alpha_node) + node_sum(size, local, gamma, node_bandwidth)
        summed = (ready[lowest] if overlap else t_backward) + core
        # local rank i of every node sums its n/local; the `local` all-reduces share the node's link
        start = max(summed, link_free)
        link_free = start + algorithm(nodes, size, alpha, beta, gamma / local)
    return max(t_backward + core, link_free)


def compute_phases(base, per_rank_batch):
    scale = per_rank_batch / base["per_rank_batch"]
    return {p: base[p] * scale for p in ("data", "forward", "backward")}


def step_time(base, per_rank_batch, widths, P, algorithm, constants, overlap, bucket_mb=1.0):
    """Seconds per step at P ranks and this per-rank batch, from the 1-rank row `base`."""
    compute = compute_phases(base, per_rank_batch)
    return (compute["data"] + compute["forward"] + base["update"] +
            backward_with_allreduce(widths, compute["backward"], P, algorithm, constants, overlap,
                                    bucket_mb=bucket_mb))


def node_step_time(base, per_rank_batch, widths, P, algorithm, constants, overlap, bucket_mb=1.0,
                   ranks_per_node=16, node_bandwidth=100e9, alpha_node=None, update_streams=5, element_bytes=4):
    """Seconds per step on the node path, P ranks placed ranks_per_node to a node; None if they do not fill
    whole nodes. One rank a node: dmlp declines the node path, so the plain all-reduce."""
    layout = node_layout(P, ranks_per_node)
    if layout is None:
        return None
    nodes, local = layout
    if local < 2:
        return step_time(base, per_rank_batch, widths, P, algorithm, constants, overlap, bucket_mb)
    alpha_node = constants[0] if alpha_node is None else alpha_node
    compute = compute_phases(base, per_rank_batch)
    # each rank updates 1/local of the model; together they stream the optimizer's arrays once, from the node's memory
    update = max(base["update"] / local, update_streams * element_bytes * parameters(widths) / node_bandwidth)
    return (compute["data"] + compute["forward"] + update + node_barrier(local, alpha_node) +
            backward_with_node_sum(widths, compute["backward"], nodes, local, algorithm, constants, overlap,
                                   node_bandwidth, alpha_node, element_bytes, bucket_mb))


def parameters(widths):
    return sum(i * o + o for i, o in layer_sizes(widths))


def base_row(sweep_csv, widths, compute_scale=1.0, mode="weak"):
    """The sweep's 1-rank phases, rescaled to the model `widths`."""
    rows = [r for r in csv.DictReader(open(sweep_csv)) if r["mode"] == mode and r["ranks"] == "1"]
    if not rows:
        raise ValueError(f"{sweep_csv}: no 1-rank {mode} row")
    r = rows[0]
    return rescaled({"per_rank_batch": int(r["per_rank_batch"]),
                     **{p: float(r[f"{p}_mean_s"]) for p in ("data", "forward", "backward", "update")}},
                    int(r["parameters"]), widths, compute_scale)


def rescaled(row, row_parameters, widths, compute_scale):
    """A 1-rank row measured on a model of row_parameters, for the model `widths`."""
    model_scale = parameters(widths) / row_parameters
    return {"per_rank_batch": row["per_rank_batch"],
            **{p: row[p] * model_scale * compute_scale for p in ("data", "forward", "backward", "update")}}


VALUED = ("--layers", "--per-rank", "--bucket-mb", "--compute-scale", "--cores", "--plot", "--reduction",
          "--ranks-per-node", "--node-bandwidth", "--alpha-node", "--update-streams", "--ranks", "--overlap",
          "--algorithm", "--constants", "--phases", "--phases-rows", "--phases-layers", "--measured")


def parse(argv):
    """(positional arguments, {option: value}, flags); an option given twice: the last wins."""
    positional, options, flags, i = [], {}, set(), 0
    while i < len(argv):
        a = argv[i]
        if a in VALUED:
            if i + 1 >= len(argv):
                usage_error(f"{a} needs a value")
            options[a] = argv[i + 1]
            i += 2
            continue
        if a.startswith("--"):
            flags.add(a)
        else:
            positional.append(a)
        i += 1
    return positional, options, flags


def usage_error(message):
    print(f"scaling-model: {message}", file=sys.stderr)
    sys.exit(2)


def numbers(text, name, count=None):
    try:
        values = [float(x) for x in text.split(",")]
    except ValueError:
        usage_error(f"{name} takes numbers separated by commas, not {text!r}")
    if (count is not None and len(values) != count) or min(values) < 0:
        usage_error(f"{name} takes {count or 'some'} numbers, none negative: {text!r}")
    return values


def main(argv):
    if len(argv) < 2 or argv[1] not in ("fit", "predict"):
        print(__doc__, file=sys.stderr)
        return 2
    files, opts, flags = parse(argv[2:])
    option = lambda name, default: opts.get(name, default)
    if "--constants" in opts:
        a, b, g = numbers(opts["--constants"], "--constants", 3)
        if not (b > 0 and g > 0):
            usage_error("--constants needs β and γ above 0")
        constants = (a * 1e-6, b * 1e-9, g * 1e-9)
        source = "given"
    elif files:
        constants = fit(files.pop(0))
        source = "fitted on this machine"
    else:
        print(__doc__, file=sys.stderr)
        return 2
    alpha, beta, gamma = constants
    print(f"{source}: alpha {alpha * 1e6:.2f} us, beta {beta * 1e9:.4f} ns/B "
          f"({1 / beta / 1e9:.2f} GB/s), gamma {gamma * 1e9:.4f} ns/B ({1 / gamma / 1e9:.2f} GB/s)")
    if argv[1] == "fit":
        return 0
    sweep = files[0] if files and "--phases" not in opts else None
    if sweep is None and "--phases" not in opts:
        print("scaling-model: predict needs SWEEP.csv or --phases", file=sys.stderr)
        return 2
    widths = [int(w) for w in option("--layers", "784,1024,1024,10").split(",")]
    per_rank = int(option("--per-rank", "128"))
    bucket_mb = float(option("--bucket-mb", "1"))
    compute_scale = float(option("--compute-scale", "1"))
    reduction = option("--reduction", "both")
    ranks_per_node = int(option("--ranks-per-node", "16"))
    node_bandwidth = float(option("--node-bandwidth", "100")) * 1e9
    alpha_node = float(opts["--alpha-node"]) * 1e-6 if "--alpha-node" in opts else alpha
    update_streams = float(option("--update-streams", "5"))
    ranks = [int(x) for x in numbers(opts["--ranks"], "--ranks")] if "--ranks" in opts else [1 << i for i in range(11)]
    overlaps = {"both": (True, False), "yes": (True,), "no": (False,)}.get(option("--overlap", "both"))
    algorithms = list(ALGORITHMS) if option("--algorithm", "both") == "both" else [option("--algorithm", "both")]
    if len(widths) < 2 or min(widths) < 1 or per_rank < 1 or not compute_scale > 0 or bucket_mb < 0:
        print("scaling-model: --layers needs two or more positive widths, --per-rank and --compute-scale must be "
              "positive, --bucket-mb not negative", file=sys.stderr)
        return 2
    if reduction not in ("both", "allreduce", "node") or ranks_per_node < 1 or not node_bandwidth > 0 \
            or overlaps is None or any(a not in ALGORITHMS for a in algorithms) or min(ranks) < 1 \
            or alpha_node < 0 or update_streams < 0:
        print("scaling-model: --reduction is both, allreduce or node; --overlap both, yes or no; --algorithm both, "
              "ring or rabenseifner; --ranks-per-node, --ranks and --node-bandwidth positive; --alpha-node and "
              "--update-streams not negative", file=sys.stderr)
        return 2
    if sweep:
        base = base_row(sweep, widths, compute_scale)
    else:
        d, f, b, u = numbers(opts["--phases"], "--phases", 4)
        row_widths = [int(w) for w in option("--phases-layers", "784,1024,1024,10").split(",")]
        base = rescaled({"per_rank_batch": int(option("--phases-rows", "128")),
                         "data": d * 1e-3, "forward": f * 1e-3, "backward": b * 1e-3, "update": u * 1e-3},
                        parameters(row_widths), widths, compute_scale)
    paths = ["allreduce", "node"] if reduction == "both" else [reduction]
    scenarios = [("this machine", constants)] + [(name, (a, b, gamma)) for name, (a, b) in INTERCONNECTS.items()]
    t1 = step_time(base, per_rank, widths, 1, ring, constants, False, bucket_mb)
    node = dict(ranks_per_node=ranks_per_node, node_bandwidth=node_bandwidth, alpha_node=alpha_node,
                update_streams=update_streams)
    table = []
    for name, c in scenarios:
        for algo in algorithms:
            for overlap in overlaps:
                for path in paths:
                    if path == "allreduce":
                        times = [step_time(base, per_rank, widths, P, ALGORITHMS[algo], c, overlap, bucket_mb)
                                 for P in ranks]
                    else:
                        times = [node_step_time(base, per_rank, widths, P, ALGORITHMS[algo], c, overlap, bucket_mb,
                                                **node) for P in ranks]
                    table.append((name, algo, overlap, path, [t1 / t if t else None for t in times]))
    markdown = "--markdown" in flags
    with_path = paths != ["allreduce"]
    # the node path's rank counts as nodes × ranks per node, where they span nodes
    label = lambda P: (f"{P} ({P // ranks_per_node}×{ranks_per_node})"
                       if with_path and P > ranks_per_node and P % ranks_per_node == 0 else str(P))
    head = ["interconnect", "all-reduce", "overlap"] + (["reduction"] if with_path else []) + [label(P) for P in ranks]
    if markdown:
        print("| " + " | ".join(head) + " |")
        print("|" + " --- |" * len(head))
    else:
        print(f"weak scaling, {per_rank} rows per rank, {'-'.join(map(str, widths))}: predicted efficiency (%)"
              + (f"; node path: {ranks_per_node} ranks per node, {node_bandwidth / 1e9:g} GB/s a node, "
                 f"alpha_node {alpha_node * 1e6:.2f} us" if with_path else ""))
        print("  ".join(head))
    for name, algo, overlap, path, effs in table:
        cells = ([name, algo, "yes" if overlap else "no"] + ([path] if with_path else []) +
                 [f"{100 * e:.0f}" if e else "-" for e in effs])
        print("| " + " | ".join(cells) + " |" if markdown else "  ".join(cells))
    print(f"(1-rank step {1e3 * t1:.2f} ms at {per_rank} rows, from "
          f"{'the sweep' + chr(39) + 's measured' if sweep else 'the given'} phases)")
    if "--plot" in opts:
        import os
        measured = measured_points(sweep, opts.get("--measured"))
        plot(table, ranks, measured, opts["--plot"], widths, per_rank, int(option("--cores", os.cpu_count())),
             ranks_per_node)
    return 0


def measured_points(sweep_csv, given):
    """(ranks, efficiency) of the weak runs: the sweep's, or --measured's RANKS:PERCENT list."""
    if sweep_csv:
        return [(int(r["ranks"]), float(r["efficiency"])) for r in csv.DictReader(open(sweep_csv))
                if r["mode"] == "weak"]
    points = []
    for item in (given or "").split(","):
        if item:
            try:
                p, e = item.split(":")
                points.append((int(p), float(e) / 100))
            except ValueError:
                usage_error(f"--measured takes RANKS:PERCENT pairs separated by commas, not {item!r}")
    return points


def plot(table, ranks, measured, path, widths, per_rank, cores, ranks_per_node):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
    colours = {"this machine": "C0", **{name: f"C{i + 1}" for i, name in enumerate(INTERCONNECTS)}}
    # dmlp's defaults only (the ring, overlapped), both paths: the tables hold the rest
    for name, algo, overlap, reduction, effs in table:
        if algo != "ring" or not overlap:
            continue
        points = [(P, 100 * e) for P, e in zip(ranks, effs) if e]
        ax.plot([p for p, _ in points], [e for _, e in points], "-" if reduction == "allreduce" else "--",
                color=colours[name], marker="o" if reduction == "allreduce" else "s", markersize=3,
                label=f"{name.split(' (')[0]}, --reduction {reduction}")
    fits = [(p, e) for p, e in measured if p <= cores]
    over = [(p, e) for p, e in measured if p > cores]
    if fits:
        ax.plot([p for p, _ in fits], [100 * e for _, e in fits], "k*",
                markersize=10, label=f"measured (this machine, weak, ranks <= {cores} cores, allreduce)")
    if over:
        ax.plot([p for p, _ in over], [100 * e for _, e in over], "k+",
                markersize=10, label="measured, ranks > cores (oversubscribed: not the model's case)")
    ax.set_xscale("log", base=2)
    ax.set_xticks(ranks)
    ax.set_xticklabels([str(p) for p in ranks])
    ax.minorticks_off()
    ax.set_ylim(0, 110)
    ax.set_xlabel(f"ranks (node path: {ranks_per_node} a node)")
    ax.set_ylabel("weak-scaling efficiency (%)")
    ax.set_title(f"{'-'.join(map(str, widths))}, {per_rank} rows per rank, ring, overlapped: model and measurement",
                 fontsize=10)
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    fig.savefig(path)
    print(f"wrote {path}")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
