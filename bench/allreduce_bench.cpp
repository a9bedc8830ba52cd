// The all-reduce micro-benchmark behind the communication model
// (launch/scaling-model.py, docs/scaling.md): the time of an in-place
// MPI_Iallreduce + MPI_Wait on float32 buffers from 4 B to --max-mb MiB,
// with the algorithm dmlp itself picks, and the time of the local reduction
// a += b on one core (γ).
//
//   mpirun -np P build/bench/dmlp_bench_allreduce [--max-mb 64] [--reps 20] > P.csv
//
// Prints CSV: kind,ranks,bytes,seconds (the median over --reps), kind
// "allreduce" for each size, then "reduce" (rank 0's local sums).
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "dmlp/mpi/communicator.hpp"
#include "dmlp/mpi/environment.hpp"

namespace {
double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}
}  // namespace

int main(int argc, char** argv) {
  dmlp::mpi::Environment env(argc, argv);
  const dmlp::mpi::Communicator world = dmlp::mpi::Communicator::world();
  double max_mb = 64;
  int reps = 20;
  for (int i = 1; i < argc; i += 2) {
    const std::string flag = argv[i];
    if (i + 1 < argc && flag == "--max-mb") max_mb = std::atof(argv[i + 1]);
    else if (i + 1 < argc && flag == "--reps") reps = std::atoi(argv[i + 1]);
    else {
      if (world.rank() == 0) std::fprintf(stderr, "usage: dmlp_bench_allreduce [--max-mb MiB] [--reps N]\n");
      return 2;
    }
  }
  if (!(max_mb >= 1.0 / 1024 && max_mb <= 4096) || reps < 1 || reps > 100000) {
    if (world.rank() == 0) std::fprintf(stderr, "dmlp_bench_allreduce: --max-mb in [1/1024, 4096], --reps in [1, 1e5]\n");
    return 2;
  }
  const std::size_t max_floats = std::size_t(max_mb * 1024 * 1024 / 4);
  std::vector<float> buffer(max_floats, 1.0f), other(max_floats, 0.5f);
  if (world.rank() == 0) std::printf("kind,ranks,bytes,seconds\n");
  for (std::size_t n = 1; n <= max_floats; n *= 4) {
    std::vector<double> times;
    for (int r = 0; r < reps + 2; ++r) {
      world.barrier();
      const double start = MPI_Wtime();
      MPI_Request request = MPI_REQUEST_NULL;
      dmlp::mpi::check(MPI_Iallreduce(MPI_IN_PLACE, buffer.data(), int(n), MPI_FLOAT, MPI_SUM, world.get(), &request),
                       "MPI_Iallreduce");
      dmlp::mpi::check(MPI_Wait(&request, MPI_STATUS_IGNORE), "MPI_Wait");
      double elapsed = MPI_Wtime() - start;
      world.allreduce(std::span<double>(&elapsed, 1), MPI_MAX);  // the slowest rank's time
      if (r >= 2) times.push_back(elapsed);                       // two warm-ups
    }
    if (world.rank() == 0) std::printf("allreduce,%d,%zu,%.9g\n", world.size(), n * 4, median(times));
  }
  if (world.rank() == 0) {  // γ: a = a/2 + b, streaming (what a sum costs: one read of each, one write), one core
    std::fill(buffer.begin(), buffer.end(), 1.0f);
    for (std::size_t n = 1024; n <= max_floats; n *= 4) {
      std::vector<double> times;
      for (int r = 0; r < reps + 2; ++r) {
        const auto start = std::chrono::steady_clock::now();
        float* a = buffer.data();
        const float* b = other.data();
        for (std::size_t i = 0; i < n; ++i) a[i] = a[i] * 0.5f + b[i];  // stays finite
        const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (r >= 2) times.push_back(elapsed);
      }
      std::printf("reduce,1,%zu,%.9g\n", n * 4, median(times));
    }
    std::fprintf(stderr, "checksum %g\n", double(buffer[0]));  // keeps the sums from being optimised away
  }
  return 0;
}
