#pragma once
// Distributed evaluation of a network on a data set.
#include "dmlp/core/network.hpp"
#include "dmlp/data/dataset.hpp"
#include "dmlp/train/collective.hpp"
#include "dmlp/train/reports.hpp"

namespace dmlp {

// Rank r of the collective takes a contiguous slice of `data`, `chunk_rows`
// rows at a time, and the sums are all-reduced. With `exact`, the chunks lie
// at multiples of chunk_rows whatever the rank count, each rank takes whole
// chunks, BLAS runs on one thread, and the sums are exact: the result is
// bitwise the same at every rank and thread count.
template <class T>
EvalResult evaluate(const Network<T>& net, RowSource& data, Collective& comm, int chunk_rows, bool exact = false);

}  // namespace dmlp
