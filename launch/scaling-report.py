#!/usr/bin/env python3
"""A scaling sweep's results: one CSV row per run, a printed table, and a figure.

    python3 launch/scaling-report.py SWEEP_DIR [--plot auto|yes|no]

SWEEP_DIR/metrics/{strong,weak}-P.jsonl are `dmlp train --metrics` files of
the sweep's runs (launch/scaling-sweep.sh writes them). Writes
SWEEP_DIR/scaling.csv and, when matplotlib is there (python3-matplotlib;
`bash launch/setup.sh --plot`), SWEEP_DIR/scaling.png: strong and weak
scaling efficiency against ranks, and the phases of a step per rank count.
Figures are medians over the logged intervals after the first fifth of the
steps (warm-up).
"""
import csv
import json
import pathlib
import statistics
import sys

PHASES = ["data", "forward", "backward", "reduction", "allreduce_wait", "update"]
COLUMNS = (["mode", "nodes", "ranks", "threads_per_rank", "global_batch", "per_rank_batch", "micro_batch",
            "reproducible", "precision", "parameters", "steps", "samples_per_s", "speedup", "efficiency", "step_s"]
           + [f"{p}_{stat}_s" for p in PHASES for stat in ("max", "mean")]
           + ["gradient_bytes", "buckets", "overlap", "dmlp_version", "hosts", "blas", "blas_kernel", "mpi"])


def read_run(path: pathlib.Path) -> dict:
    events = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    start = next((e for e in events if e["event"] == "start"), None)
    if start is None:
        raise ValueError(f"{path}: no start line (a dmlp older than the sweep, or a run that failed to start)")
    steps = [e for e in events if e["event"] == "step"]
    warm = [e for e in steps if e["step"] > start["steps"] // 5] or steps
    if not warm:
        raise ValueError(f"{path}: no step reports (did the run fail?)")
    row = {
        "nodes": start["nodes"], "ranks": start["ranks"], "threads_per_rank": start["threads"],
        "global_batch": start["global_batch"], "per_rank_batch": start["per_rank_batch"]["max"],
        "micro_batch": start["micro_batch"], "reproducible": start["reproducible"], "steps": start["steps"],
        "precision": start["precision"], "parameters": start["parameters"],
        "samples_per_s": statistics.median(e["samples_per_s"] for e in warm),
        "gradient_bytes": start["gradient_bytes"], "buckets": start["buckets"], "overlap": start["overlap"],
        "dmlp_version": start["version"], "blas": start["blas"]["name"], "blas_kernel": start["blas"]["kernel"],
        "mpi": start["mpi"],
        "hosts": " ".join(f'{h["name"]}:{len(h["ranks"])}' for h in start["hosts"]),
    }
    for p in PHASES:
        for stat in ("max", "mean"):
            row[f"{p}_{stat}_s"] = statistics.median(e["phase_seconds"][stat][p] for e in warm)
    row["step_s"] = sum(row[f"{p}_mean_s"] for p in PHASES)
    return row


def collect(sweep: pathlib.Path) -> list:
    rows = []
    for mode in ("strong", "weak"):
        runs = sorted((f for f in (sweep / "metrics").glob(f"{mode}-*.jsonl") if f.stem.split("-")[1].isdigit()),
                      key=lambda f: int(f.stem.split("-")[1]))
        mode_rows = [dict(read_run(f), mode=mode) for f in runs]
        base = next((r for r in mode_rows if r["ranks"] == 1), mode_rows[0] if mode_rows else None)
        for r in mode_rows:
            speedup = r["samples_per_s"] / base["samples_per_s"]
            r["speedup"] = speedup
            # strong: the same work on P ranks; weak: P times the work, so P times the rate is ideal
            r["efficiency"] = speedup * base["ranks"] / r["ranks"]
        rows += mode_rows
    return rows


def cell(v):
    if isinstance(v, bool):  # before float: a bool is an int
        return "true" if v else "false"
    return f"{v:.6g}" if isinstance(v, float) else v


def write_csv(rows: list, path: pathlib.Path) -> None:
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        for r in rows:
            writer.writerow({k: cell(v) for k, v in r.items() if k in COLUMNS})


def print_table(rows: list) -> None:
    print(f'{"mode":6} {"ranks":>5} {"batch":>6} {"per rank":>8} {"samples/s":>10} {"speed-up":>8} {"eff.":>6} '
          f'{"step ms":>8} {"wait":>6}')
    for r in rows:
        print(f'{r["mode"]:6} {r["ranks"]:5d} {r["global_batch"]:6d} {r["per_rank_batch"]:8d} {r["samples_per_s"]:10.0f} '
              f'{r["speedup"]:8.2f} {100 * r["efficiency"]:5.0f}% {1e3 * r["step_s"]:8.2f} '
              f'{100 * r["allreduce_wait_mean_s"] / r["step_s"]:5.1f}%')


def plot(rows: list, path: pathlib.Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (eff, phases) = plt.subplots(1, 2, figsize=(10, 4), dpi=100)
    for mode, marker in (("strong", "o"), ("weak", "s")):
        mine = [r for r in rows if r["mode"] == mode]
        if mine:
            label = (f"strong (global batch {mine[0]['global_batch']})" if mode == "strong"
                     else f"weak ({mine[0]['per_rank_batch']} per rank)")
            eff.plot([r["ranks"] for r in mine], [100 * r["efficiency"] for r in mine], marker=marker, label=label)
    eff.axhline(100, color="grey", linewidth=0.8, linestyle=":")
    eff.set_xscale("log", base=2)
    ranks = sorted({r["ranks"] for r in rows})
    eff.set_xticks(ranks)
    eff.set_xticklabels([str(p) for p in ranks])
    eff.minorticks_off()
    eff.set_xlabel("ranks")
    eff.set_ylabel("parallel efficiency (%)")
    eff.set_ylim(0, 110)
    eff.legend()
    eff.set_title("scaling efficiency")
    strong = [r for r in rows if r["mode"] == "strong"]
    bottom = [0.0] * len(strong)
    labels = [str(r["ranks"]) for r in strong]
    for p in PHASES:
        values = [1e3 * r[f"{p}_mean_s"] for r in strong]
        phases.bar(labels, values, bottom=bottom, label=p.replace("_", " "))
        bottom = [b + v for b, v in zip(bottom, values)]
    phases.set_xlabel("ranks (strong scaling)")
    phases.set_ylabel("ms per step (mean over ranks)")
    phases.set_title("where a step's time goes")
    phases.legend(fontsize=8)
    first = rows[0] if rows else {}
    fig.suptitle(f'dmlp {first.get("dmlp_version", "")}: {first.get("hosts", "")}, '
                 f'{first.get("threads_per_rank", "")} thread(s) per rank, {first.get("blas", "")} '
                 f'({first.get("blas_kernel", "")})', fontsize=9)
    fig.tight_layout()
    fig.savefig(path)


def main(argv: list) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    sweep = pathlib.Path(argv[1])
    want = argv[argv.index("--plot") + 1] if "--plot" in argv[:-1] else "auto"
    if want not in ("auto", "yes", "no"):
        print(f"scaling-report: --plot {want} (expected auto, yes or no)", file=sys.stderr)
        return 2
    try:
        rows = collect(sweep)
    except (ValueError, KeyError, json.JSONDecodeError) as e:
        print(f"scaling-report: {e}", file=sys.stderr)
        return 1
    if not rows:
        print(f"scaling-report: no runs under {sweep}/metrics", file=sys.stderr)
        return 1
    write_csv(rows, sweep / "scaling.csv")
    print_table(rows)
    print(f"wrote {sweep / 'scaling.csv'}")
    if want != "no":
        try:
            plot(rows, sweep / "scaling.png")
            print(f"wrote {sweep / 'scaling.png'}")
        except ImportError:
            if want == "yes":
                print("scaling-report: matplotlib is missing: bash launch/setup.sh --plot", file=sys.stderr)
                return 1
            print("no figure: matplotlib is missing (bash launch/setup.sh --plot installs python3-matplotlib)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
