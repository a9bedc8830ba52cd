// Trains a small MLP on synthetic spirals through dmlp's C++ API, on every
// rank of the MPI job, and prints the test accuracy:
//   mpirun -np 2 ./train_from_cpp
#include <cstdio>
#include <cstdlib>

#include <dmlp/dmlp.hpp>

int main(int argc, char** argv) {
  using namespace dmlp;
  mpi::Environment mpi_environment(argc, argv);
  const mpi::Communicator world = mpi::Communicator::world();
  mpi::set_failure_reporter(  // the library never prints: the program says how errors are shown
      [](const mpi::RankFailure& f) { std::fprintf(stderr, "%s\n", mpi::format_failure(f).c_str()); });
  try {
    run::RunConfig config;
    config.model = make_mlp({2, 64, 64, 3}, Activation::Relu, Activation::Identity, Loss::SoftmaxCrossEntropy);
    config.data.synthetic = run::SyntheticData{.kind = SyntheticKind::Spirals, .samples = 6000};
    config.training.global_batch = 64;
    config.training.epochs = 15;
    config.training.seed = 7;
    config.training.optimizer = {.lr_weights = 0.1, .lr_bias = 0.1, .momentum = 0.9, .nesterov = true};
    config.training.schedule = LrSchedule::Cosine;

    run::SilentLog log;
    run::TrainingRun training(world, config, log);
    if (world.rank() == 0) std::fputs(run::format_summary(training.description()).c_str(), stdout);
    const run::RunOutcome outcome = training.run();
    if (world.rank() == 0)
      std::printf("trained %lld steps on %d ranks: test accuracy %.4f\n",
                  static_cast<long long>(outcome.position.step), world.size(), outcome.test->accuracy);
    return 0;
  } catch (const mpi::JobFailure& failure) {  // agreed by every rank: one reports it
    if (world.rank() == failure.rank()) mpi::report_failure(failure.failure());
    return EXIT_FAILURE;  // failure.kind() says which kind, for a program that tells them apart
  } catch (const std::exception& e) {  // this rank alone: the others may wait in a collective
    mpi::report_and_abort(world, e);
  }
}
