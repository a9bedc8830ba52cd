#!/usr/bin/env bash
# The main job: train an MLP on Fashion-MNIST with 2 MPI ranks and print its
# test accuracy. From a fresh Debian bookworm machine it installs what is
# missing, builds build/dmlp, converts the data and trains.
#
#   bash launch/train-fashion-mnist.sh            (RANKS=4 ... to change the rank count)
#
# Extra arguments go to `dmlp train`, after the defaults below, e.g. --epochs 5.
set -euo pipefail
cd "$(dirname "$0")/.."
ranks=${RANKS:-2}

bash launch/setup.sh --data
cmake --preset release > /dev/null
cmake --build --preset release -j "$(nproc)" --target dmlp
bash datasets/fashion-mnist.sh build/data/fashion-mnist build/dmlp

# Open MPI refuses to start as root unless told that it is meant.
[ "$(id -u)" -eq 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
run_dir=build/runs/fashion-mnist
mkdir -p "$run_dir"
rm -f "$run_dir/metrics.jsonl"
set -x
# (a SIGTERM to this launch ends it with dmlp's checkpoint and exit 75; see launch/mpirun-stoppable.sh)
launch/mpirun-stoppable.sh -np "$ranks" --oversubscribe build/dmlp train \
  --train build/data/fashion-mnist/train.h5 --test build/data/fashion-mnist/test.h5 \
  --layers 784,512,256,10 --activation relu --loss softmax-ce \
  --epochs 20 --batch-size 128 --lr 0.05 --momentum 0.9 --nesterov --lr-schedule cosine --weight-decay 5e-4 \
  --seed 1 --log-every 469 --metrics "$run_dir/metrics.jsonl" \
  --checkpoint-dir "$run_dir/checkpoints" --checkpoint-every-seconds 60 "$@"
