#pragma once
// What a run has to tell the person running it, besides its results: notes
// ("checkpoint … written") and warnings ("skipping checkpoint …"). The run
// layer never prints; the program decides where these go. Only rank 0 logs.
#include <string>

namespace dmlp::run {

class RunLog {
 public:
  virtual ~RunLog() = default;
  virtual void note(const std::string& text) = 0;
  virtual void warning(const std::string& text) = 0;
};

// For programs that want neither.
class SilentLog final : public RunLog {
 public:
  void note(const std::string&) override {}
  void warning(const std::string&) override {}
};

}  // namespace dmlp::run
