#!/usr/bin/env bash
# Installs what dmlp needs on Debian bookworm, if it is missing. Runs apt-get
# as root (or through sudo); prints what is missing when it cannot.
#   bash launch/setup.sh            build and test dependencies
#   bash launch/setup.sh --data     the same, plus Fashion-MNIST
#   bash launch/setup.sh --cluster  the same, plus what the cluster test tier runs:
#                                   iproute2 (network namespaces), Slurm and munge
#   bash launch/setup.sh --plot     the same, plus matplotlib for the scaling sweep's
#                                   and plot-metrics.py's figures (not needed to build or train)
set -euo pipefail

packages=(
  g++ cmake make pkg-config python3   # toolchain; python3 checks JSON in the tests
  libopenblas-openmp-dev              # BLAS, OpenMP build: one thread pool with our loops
  libopenmpi-dev openmpi-bin          # MPI
  libhdf5-openmpi-dev hdf5-tools      # parallel HDF5 (C API); h5dump/h5ls
  catch2 libcli11-dev nlohmann-json3-dev
  libxxhash-dev                       # xxHash (header-only): data sets' fingerprints in checkpoints
)
for option in "$@"; do
  case $option in
    --data) packages+=(dataset-fashion-mnist) ;;
    --cluster) packages+=(iproute2 util-linux slurm-wlm munge) ;;
    --plot) packages+=(python3-matplotlib) ;;
    *) echo "setup.sh: unknown option $option (expected --data, --cluster or --plot)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

as_root=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then as_root=(sudo); else
    echo "dmlp needs these Debian packages: ${missing[*]}" >&2
    echo "install them as root: apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The pthread build of OpenBLAS, if also installed, must not be the one selected.
if [ -e /usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3 ]; then
  "${as_root[@]}" update-alternatives --set libopenblas.so.0-x86_64-linux-gnu \
    /usr/lib/x86_64-linux-gnu/openblas-openmp/libopenblas.so.0 >/dev/null 2>&1 || true
fi
