#pragma once
// What a request needs in memory, checked before it is allocated: a run that
// cannot fit says how much it needs instead of dying of std::bad_alloc.
#include <cstddef>
#include <cstdint>
#include <string>

#include "dmlp/core/model_spec.hpp"

namespace dmlp {

// Rows of a batch, workspace or chunk end up as int BLAS dimensions.
inline constexpr std::int64_t kMaxRows = 2147483647;  // INT_MAX

std::uint64_t physical_memory_bytes();  // this node's RAM
std::string format_bytes(double bytes);  // "1.5 GiB"

// Throws InputError("<what> needs <bytes>, more than the <RAM> of this node")
// when bytes exceed the node's memory. bytes is a double: products of
// requested sizes may exceed 2^64.
void require_memory(double bytes, const std::string& what);

// Bytes of a model's parameters, gradients and optimizer state (`copies`
// buffers in all), and of its workspace for `rows` rows; in `element`-byte numbers.
double parameter_bytes(const ModelSpec& spec, std::size_t element, int copies);
double workspace_bytes(const ModelSpec& spec, std::int64_t rows, std::size_t element);

// Throws InputError("<setting> <value> is too large: at most <max>") unless value <= max.
void require_at_most(std::int64_t value, std::int64_t max, const std::string& setting);

}  // namespace dmlp
