#include "dmlp/core/memory.hpp"

#include <unistd.h>

#include <cstdio>

#include "dmlp/core/errors.hpp"

namespace dmlp {

std::uint64_t physical_memory_bytes() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? std::uint64_t(pages) * std::uint64_t(page) : UINT64_MAX;
}

std::string format_bytes(double bytes) {
  static constexpr const char* kUnits[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  int unit = 0;
  while (bytes >= 1024 && unit < 6) bytes /= 1024, ++unit;
  char text[48];
  std::snprintf(text, sizeof text, unit == 0 ? "%.0f %s" : "%.3g %s", bytes, kUnits[unit]);
  return text;
}

void require_memory(double bytes, const std::string& what) {
  const double available = double(physical_memory_bytes());
  if (!(bytes <= available))
    throw InputError(what + " needs " + format_bytes(bytes) + ", more than the " + format_bytes(available) +
                     " of memory of this node");
}

double parameter_bytes(const ModelSpec& spec, std::size_t element, int copies) {
  double count = 0;
  for (const LayerShape& l : spec.layers) count += (double(l.in) + 1) * double(l.out);
  return count * double(element) * copies;
}

double workspace_bytes(const ModelSpec& spec, std::int64_t rows, std::size_t element) {
  double width = 2.0 * spec.max_width();  // the two delta buffers
  for (int w : spec.widths()) width += w;   // the activations x_0 … x_K
  return double(rows) * width * double(element);
}

void require_at_most(std::int64_t value, std::int64_t max, const std::string& setting) {
  if (value > max)
    throw InputError(setting + " " + std::to_string(value) + " is too large: at most " +
                     std::to_string(max));
}

}  // namespace dmlp
