#pragma once
// dmlp's C++ API in one include: the math core, the data sources, the
// training loop, MPI, HDF5 files, and the run layer that ties them together.
// examples/train-from-cpp shows a whole program.
#include "dmlp/core/errors.hpp"
#include "dmlp/core/model_spec.hpp"
#include "dmlp/core/network.hpp"
#include "dmlp/data/synthetic.hpp"
#include "dmlp/io/checkpoint.hpp"
#include "dmlp/io/dataset_file.hpp"
#include "dmlp/mpi/communicator.hpp"
#include "dmlp/mpi/consensus.hpp"
#include "dmlp/mpi/environment.hpp"
#include "dmlp/run/checkpoint_load.hpp"
#include "dmlp/run/config.hpp"
#include "dmlp/run/data_sources.hpp"
#include "dmlp/run/predictions.hpp"
#include "dmlp/run/training_run.hpp"
#include "dmlp/train/trainer.hpp"
