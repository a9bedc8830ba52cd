#!/usr/bin/env bash
# Large-batch training: Fashion-MNIST at global batch 4096 on 2 ranks for 20
# epochs (15 steps an epoch, 300 in all), the same 784-512-256-10 ReLU MLP as
# the main job (tuned at batch 128), four ways:
#
#   sgd-linear-nowarmup  SGD, Nesterov momentum, --lr 0.05 scaled linearly from B0 = 128 (x32: 1.6)
#   sgd-linear           the same with Goyal et al.'s gradual warm-up over 2 epochs
#   lars                 LARS (trust coefficient 0.001), warm-up over 2 epochs
#   lamb                 LAMB, warm-up over 2 epochs
#
# all with a cosine decay and seed 1. Writes OUT_DIR/large-batch.csv (one row
# per run: the run, optimizer, ranks, batch, epochs, the rates as trained,
# how it ended, test accuracy and loss, seconds, and the options) and each
# run's --metrics and output under OUT_DIR.
#
#   bash launch/large-batch.sh [OUT_DIR]         (default build/runs/large-batch)
#   RANKS=4 EPOCHS=10 BATCH=8192 RUNS="lars lamb" bash launch/large-batch.sh
#
# From a fresh Debian bookworm machine it installs what is missing, builds
# build/dmlp and converts the data, as launch/train-fashion-mnist.sh does.
set -euo pipefail
out=$(realpath -m "${1:-build/runs/large-batch}")
cd "$(dirname "$0")/.."
ranks=${RANKS:-2}
epochs=${EPOCHS:-20}
batch=${BATCH:-4096}
runs=${RUNS:-sgd-linear-nowarmup sgd-linear lars lamb}
for value in "$ranks" "$epochs" "$batch"; do
  [[ "$value" =~ ^[1-9][0-9]{0,6}$ ]] || { echo "large-batch: '$value' is not a positive count (RANKS, EPOCHS, BATCH)" >&2; exit 2; }
done

bash launch/setup.sh --data
cmake --preset release > /dev/null
cmake --build --preset release -j "$(nproc)" --target dmlp
bash datasets/fashion-mnist.sh build/data/fashion-mnist build/dmlp
[ "$(id -u)" -eq 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

warmup=$(( 2 * ((60000 + batch - 1) / batch) ))  # two epochs of steps
common=(--train build/data/fashion-mnist/train.h5 --test build/data/fashion-mnist/test.h5
        --layers 784,512,256,10 --activation relu --loss softmax-ce --epochs "$epochs" --batch-size "$batch"
        --lr-schedule cosine --seed 1 --log-every 1000)
declare -A options=(
  [sgd-linear-nowarmup]="--optimizer sgd --lr 0.05 --momentum 0.9 --nesterov --weight-decay 5e-4 --lr-scaling linear --lr-reference-batch 128"
  [sgd-linear]="--optimizer sgd --lr 0.05 --momentum 0.9 --nesterov --weight-decay 5e-4 --lr-scaling linear --lr-reference-batch 128 --warmup-steps $warmup"
  [lars]="--optimizer lars --lr 10 --lr-bias 0.5 --momentum 0.9 --weight-decay 5e-4 --warmup-steps $warmup"
  [lamb]="--optimizer lamb --lr 0.02 --weight-decay 0.01 --warmup-steps $warmup"
)
mkdir -p "$out"
csv=$out/large-batch.csv
echo "run,optimizer,ranks,global_batch,epochs,lr,lr_bias,warmup_steps,status,test_accuracy,test_loss,seconds,options" > "$csv"
for run in $runs; do
  [ -n "${options[$run]:-}" ] || { echo "large-batch: unknown run '$run' (expected ${!options[*]})" >&2; exit 2; }
  rm -f "$out/$run.jsonl"
  echo "== $run: dmlp train ${options[$run]}"
  start=$(date +%s.%N)
  status=0
  # shellcheck disable=SC2086
  mpirun -np "$ranks" --oversubscribe build/dmlp train "${common[@]}" ${options[$run]} \
    --metrics "$out/$run.jsonl" > "$out/$run.out" 2>&1 || status=$?
  seconds=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
  grep -E "^  optimizer|^finished|diverged|error" "$out/$run.out" | head -3 || true
  python3 - "$out/$run.jsonl" "$out/$run.out" "$run" "$ranks" "$batch" "$epochs" "$warmup" "$status" "$seconds" \
    "${options[$run]}" >> "$csv" <<'PY'
import json, re, sys
metrics, output, run, ranks, batch, epochs, warmup, status, seconds, options = sys.argv[1:]
final = {}
try:
    for line in open(metrics):
        event = json.loads(line)
        if event.get("event") == "final":
            final = event
except OSError:
    pass
text = open(output, errors="replace").read()
rates = re.search(r"optimizer  \w+ lr ([0-9.e+-]+) \(bias ([0-9.e+-]+)\)", text)
lr, lr_bias = rates.groups() if rates else ("", "")
test = final.get("test") or {}
ended = {"0": "finished", "3": "diverged"}.get(status, f"exit {status}")
optimizer = re.search(r"--optimizer (\w+)", options).group(1)
accuracy = f"{test['accuracy']:.4f}" if "accuracy" in test else ""
loss = f"{test['loss']:.4f}" if "loss" in test else ""
print(",".join([run, optimizer, ranks, batch, epochs, lr, lr_bias, warmup if "--warmup-steps" in options else "0",
                ended, accuracy, loss, seconds, '"' + options + '"']))
PY
done
echo
column -s, -t < "$csv" | cut -c1-150
echo "wrote $csv"
