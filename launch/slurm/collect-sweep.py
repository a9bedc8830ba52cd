#!/usr/bin/env python3
"""One CSV row per task of a sweep (launch/slurm/sweep.sbatch): its options and
the final metrics its --metrics file recorded.

    python3 launch/slurm/collect-sweep.py SWEEP_DIR OUT.csv
"""
import csv
import json
import pathlib
import sys

COLUMNS = ["task", "options", "finished", "steps", "seconds", "test_loss", "test_accuracy", "test_mse", "test_r2"]


def final_event(metrics: pathlib.Path):
    if not metrics.exists():
        return None
    finals = [json.loads(line) for line in metrics.read_text().splitlines() if '"final"' in line]
    return finals[-1] if finals else None


def row(task_dir: pathlib.Path):
    final = final_event(task_dir / "metrics.jsonl")
    test = (final or {}).get("test") or {}
    options = (task_dir / "options.txt").read_text().strip() if (task_dir / "options.txt").exists() else ""
    return {"task": task_dir.name.removeprefix("task-"), "options": options, "finished": final is not None,
            "steps": (final or {}).get("steps", ""), "seconds": (final or {}).get("seconds", ""),
            **{f"test_{k}": test.get(k, "") for k in ("loss", "accuracy", "mse", "r2")}}


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sweep, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    tasks = sorted((d for d in sweep.glob("task-*") if d.is_dir()), key=lambda d: int(d.name.split("-")[1]))
    if not tasks:
        sys.exit(f"{sweep}: no task-* directories")
    with out.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        for t in tasks:
            writer.writerow(row(t))
    print(f"wrote {out}: {len(tasks)} tasks")


if __name__ == "__main__":
    main()
