#!/usr/bin/env python3
"""A training run's curves from its --metrics file.

    python3 launch/plot-metrics.py METRICS.jsonl OUT.png

Training loss and accuracy against step and against wall time, and the test
loss and accuracy (or MSE) after each epoch. Needs python3-matplotlib
(`bash launch/setup.sh --plot`).
"""
import json
import pathlib
import sys


def main(argv: list) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    events = [json.loads(line) for line in pathlib.Path(argv[1]).read_text().splitlines() if line.strip()]
    steps = [e for e in events if e["event"] == "step"]
    epochs = [e for e in events if e["event"] == "epoch"]
    if not steps:
        print(f"plot-metrics: {argv[1]} has no step reports", file=sys.stderr)
        return 1
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (by_step, by_time, test) = plt.subplots(1, 3, figsize=(13, 3.8), dpi=100)
    classification = any(e.get("accuracy") is not None for e in steps)
    for axis, x, label, title in ((by_step, [e["step"] for e in steps], "step", "training, by step"),
                                  (by_time, [e["elapsed_s"] for e in steps], "wall time (s)", "training, by wall time")):
        axis.plot(x, [e["loss"] for e in steps], color="tab:blue", label="training loss")
        axis.set_xlabel(label)
        axis.set_ylabel("loss")
        axis.set_yscale("log")
        if classification:
            acc = axis.twinx()
            acc.plot(x, [e["accuracy"] for e in steps], color="tab:orange", label="training accuracy")
            acc.set_ylabel("accuracy")
            acc.set_ylim(0, 1)
        axis.set_title(title)
    tested = [e for e in epochs if "test" in e]
    if tested:
        x = [e["epoch"] for e in tested]
        metric = "accuracy" if "accuracy" in tested[0]["test"] else "mse"
        test.plot(x, [e["test"][metric] for e in tested], marker="o", color="tab:green", label=f"test {metric}")
        test.set_ylabel(f"test {metric}")
        loss = test.twinx()
        loss.plot(x, [e["test"]["loss"] for e in tested], marker="s", color="tab:red", label="test loss")
        loss.set_ylabel("test loss")
        test.set_xlabel("epoch")
        test.set_title("test set, per epoch")
    else:
        test.text(0.5, 0.5, "no test set", ha="center", va="center")
        test.set_axis_off()
    start = next((e for e in events if e["event"] == "start"), None)
    if start:
        fig.suptitle(f'{start["model"]}, global batch {start["global_batch"]}, {start["ranks"]} rank(s) x '
                     f'{start["threads"]} thread(s)', fontsize=9)
    fig.tight_layout()
    fig.savefig(argv[2])
    print(f"wrote {argv[2]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
