#include "progress.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "dmlp/core/blas.hpp"
#include "dmlp/core/errors.hpp"
#include "dmlp/core/exact_sum.hpp"
#include "dmlp/io/atomic_file.hpp"

namespace dmlp::cli {
namespace {
template <class Phases>  // PhaseTimes or PhaseRanks
nlohmann::json phases_json(const Phases& t) {
  nlohmann::json j = nlohmann::json::object();
  for (const Phase p : kPhases) j[phase_key(p)] = t[p];
  return j;
}

nlohmann::json report_json(const char* event, const StepReport& r) {
  nlohmann::json j = {{"event", event},
                      {"step", r.step},
                      {"epoch", r.epoch + 1},
                      {"loss", r.loss},
                      {"lr", r.lr},
                      {"samples_per_s", r.samples_per_second},
                      {"elapsed_s", r.elapsed_seconds},
                      {"steps", r.interval_steps},
                      {"phase_seconds", {{"max", phases_json(r.phase_max)}, {"mean", phases_json(r.phase_mean)}}},
                      {"slowest_rank", phases_json(r.phase_max_rank)},
                      {"slowest_rank_wait_s", r.slowest_rank_wait}};
  j["accuracy"] = r.accuracy >= 0 ? nlohmann::json(r.accuracy) : nlohmann::json(nullptr);
  return j;
}

std::string rate(double samples_per_second) {
  char text[32];
  if (samples_per_second >= 1e4)
    std::snprintf(text, sizeof text, "%.1fk", samples_per_second / 1e3);
  else
    std::snprintf(text, sizeof text, "%.0f", samples_per_second);
  return text;
}
}  // namespace

std::string format_duration(double seconds) {
  const long s = std::lround(std::max(seconds, 0.0));
  char text[32];
  if (s >= 3600)
    std::snprintf(text, sizeof text, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
  else
    std::snprintf(text, sizeof text, "%ld:%02ld", s / 60, s % 60);
  return text;
}

std::string format_eval(const EvalResult& e) {
  char text[96];
  if (e.classification)
    std::snprintf(text, sizeof text, "loss %.4f accuracy %.4f", e.loss, e.accuracy);
  else
    std::snprintf(text, sizeof text, "mse %.6g r2 %.4f", e.mse, e.r2);
  return text;
}

bool ConsoleReporter::want_bar(const std::string& progress) {
  if (progress == "auto") return isatty(STDERR_FILENO) != 0;
  if (progress == "bar") return true;
  if (progress == "lines") return false;
  throw InputError("--progress '" + progress + "' (expected auto|bar|lines)");
}

ConsoleReporter::ConsoleReporter(bool root, bool bar, const std::string& metrics_path,
                                 std::int64_t total_steps, std::int64_t steps_per_epoch,
                                 std::int64_t first_step)
    : root_(root),
      tty_(root && bar),
      total_steps_(total_steps),
      steps_per_epoch_(steps_per_epoch),
      first_step_(first_step) {
  if (root_ && !metrics_path.empty()) {
    metrics_ = open_for_appending(metrics_path, "--metrics");
    metrics_path_ = metrics_path;
  }
}

ConsoleReporter::~ConsoleReporter() {
  if (metrics_) std::fclose(metrics_);
}

void ConsoleReporter::write_json(const std::string& line) {
  if (!metrics_) return;
  std::fputs(line.c_str(), metrics_);
  std::fputc('\n', metrics_);
  if (std::fflush(metrics_) != 0 || std::ferror(metrics_)) {
    // Metrics are a record of the run, not the run: say so once and train on.
    std::fprintf(stderr, "warning: --metrics %s: cannot write (%s); no more metrics are recorded\n",
                 metrics_path_.c_str(), std::strerror(errno));
    std::fclose(metrics_);
    metrics_ = nullptr;
  }
}

int ConsoleReporter::slowest_rank() const {
  return int(std::max_element(slowest_steps_.begin(), slowest_steps_.end()) - slowest_steps_.begin());
}

void ConsoleReporter::report_start(const run::RunDescription& d) {
  ranks_ = d.placement.ranks;
  slowest_steps_.assign(std::size_t(ranks_), 0.0);
  const run::RunConfig& c = d.config;
  const blas::LibraryInfo blas = blas::library_info();
  const std::size_t element = c.precision == run::Precision::Double ? 8 : 4;
  const bool exact = c.training.reproducible;
  nlohmann::json hosts = nlohmann::json::array();
  for (const auto& h : d.placement.hosts) hosts.push_back({{"name", h.name}, {"ranks", h.ranks}, {"threads", h.threads}});
  const nlohmann::json j = {
      {"event", "start"},
      {"version", DMLP_VERSION},
      {"mpi", d.mpi_library},
      {"ranks", d.placement.ranks},
      {"nodes", d.placement.nodes},
      {"threads", d.placement.threads},
      {"hosts", hosts},
      {"blas", {{"name", blas.name}, {"kernel", blas.core}, {"threading", blas.threading}}},
      {"model", c.model.describe()},
      {"precision", std::string(run::to_string(c.precision))},
      {"parameters", d.parameters},
      // what one step's gradient sum moves per rank: the gradient, or the exact sums' words
      {"gradient_bytes", exact ? d.parameters * std::size_t(c.precision == run::Precision::Double ? exact_sum_words<double>()
                                                                                                  : exact_sum_words<float>()) * 8
                               : d.parameters * element},
      {"buckets", exact ? 1 : d.buckets},
      {"bucket_mb", c.execution.bucket_mb},
      {"overlap", c.execution.overlap && !exact},
      {"allreduce_algorithm", d.allreduce_algorithm},
      {"global_batch", c.training.global_batch},
      {"per_rank_batch", {{"min", d.per_rank_batch_min}, {"max", d.per_rank_batch_max}}},
      {"micro_batch", c.training.micro_batch},
      {"reproducible", exact},
      {"steps", d.total_steps},
      {"first_step", d.first_step}};
  write_json(j.dump());
}

void ConsoleReporter::report_final(const run::RunOutcome& outcome) {
  end_bar();
  std::printf("finished: %lld steps in %.2f s, %.0f samples/s", static_cast<long long>(outcome.position.step),
              outcome.seconds, outcome.seconds > 0 ? double(outcome.samples) / outcome.seconds : 0.0);
  if (outcome.test) std::printf("; test %s", format_eval(*outcome.test).c_str());
  // The rank the others waited for, and how busy it was: 100% means no rank
  // waited on it for nothing, lower means the all-reduce cost even the slowest.
  const double busy = step_seconds_ > 0 ? 1.0 - slowest_wait_seconds_ / step_seconds_ : 0;
  if (ranks_ > 1 && step_seconds_ > 0)
    std::printf("; slowest rank %d busy %.0f%% of its step", slowest_rank(), 100 * busy);
  if (outcome.peak_rss_bytes > 0)
    std::printf("; peak memory %.0f MiB (rank %d), %.2fx the %.*f MiB of model state, activations and data",
                double(outcome.peak_rss_bytes) / 1048576.0, outcome.peak_rss_rank,
                double(outcome.peak_rss_bytes) / std::max(outcome.accounted_bytes, 1.0),
                outcome.accounted_bytes < 10 * 1048576.0 ? 2 : 0, outcome.accounted_bytes / 1048576.0);
  std::printf("\n");
  std::fflush(stdout);
  nlohmann::json j = {{"event", "final"}, {"steps", outcome.position.step}, {"seconds", outcome.seconds}};
  if (ranks_ > 1 && step_seconds_ > 0)
    j["slowest_rank"] = {{"rank", slowest_rank()}, {"busy_fraction", busy}};
  j["memory"] = {{"peak_rss_bytes", outcome.peak_rss_bytes}, {"peak_rss_rank", outcome.peak_rss_rank},
                 {"accounted_bytes", outcome.accounted_bytes}};
  if (const auto& t = outcome.test) j["test"] = {{"loss", t->loss}, {"accuracy", t->accuracy}, {"mse", t->mse}, {"r2", t->r2}};
  write_json(j.dump());
}

void ConsoleLog::note(const std::string& text) {
  if (!root_) return;
  std::printf("%s\n", text.c_str());
  std::fflush(stdout);
}

void ConsoleLog::warning(const std::string& text) {
  if (!root_) return;
  std::printf("warning: %s\n", text.c_str());
  std::fflush(stdout);
}

void ConsoleReporter::end_bar() {
  if (bar_drawn_) std::fputc('\n', stderr);
  bar_drawn_ = false;
}

void ConsoleReporter::on_step(const StepReport& r) {
  if (!root_) return;
  last_ = r;
  step_seconds_ += r.phase_mean.total() * double(r.interval_steps);
  slowest_wait_seconds_ += r.slowest_rank_wait * double(r.interval_steps);
  if (const auto rank = std::size_t(r.phase_max_rank.allreduce_wait); rank < slowest_steps_.size())
    slowest_steps_[rank] += double(r.interval_steps);
  write_json(report_json("step", r).dump());
  if (tty_) return;  // the bar shows it
  std::printf("step %lld/%lld  epoch %lld  loss %.4f", static_cast<long long>(r.step),
              static_cast<long long>(r.total_steps), static_cast<long long>(r.epoch + 1), r.loss);
  if (r.accuracy >= 0) std::printf("  acc %.4f", r.accuracy);
  std::printf("  lr %.4g  %s samples/s  %s elapsed\n", r.lr, rate(r.samples_per_second).c_str(),
              format_duration(r.elapsed_seconds).c_str());
  std::fflush(stdout);
}

void ConsoleReporter::on_epoch_end(const StepReport& s, const EvalResult* test) {
  if (!root_) return;
  nlohmann::json j = report_json("epoch", s);
  if (test) {
    j["test"] = {{"loss", test->loss}};
    if (test->classification)
      j["test"]["accuracy"] = test->accuracy;
    else
      j["test"]["mse"] = test->mse, j["test"]["r2"] = test->r2;
  }
  write_json(j.dump());
  end_bar();
  std::printf("epoch %lld done: train loss %.4f", static_cast<long long>(s.epoch + 1), s.loss);
  if (s.accuracy >= 0) std::printf(" acc %.4f", s.accuracy);
  if (test) std::printf(" | test %s", format_eval(*test).c_str());
  std::printf(" | %s samples/s, step %.1f ms (allreduce wait %.1f ms max)\n",
              rate(s.samples_per_second).c_str(), 1e3 * s.phase_max.total(),
              1e3 * s.phase_max.allreduce_wait);
  std::fflush(stdout);
}

void ConsoleReporter::after_step(const TrainPosition& p) {
  if (!tty_) return;
  const auto now = std::chrono::steady_clock::now();
  if (p.step < total_steps_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  draw_bar(p);
}

void ConsoleReporter::draw_bar(const TrainPosition& p) {
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const std::int64_t done = p.step - first_step_, left = total_steps_ - p.step;
  const double eta = done > 0 ? elapsed / double(done) * double(left) : 0;
  const double fraction = total_steps_ > 0 ? double(p.step) / double(total_steps_) : 1;
  constexpr int kWidth = 24;
  const int filled = int(fraction * kWidth);
  std::string bar(std::size_t(filled), '=');
  if (filled < kWidth) bar += '>' + std::string(std::size_t(kWidth - filled - 1), ' ');
  std::fprintf(stderr, "\r\x1b[Kepoch %lld [%s] %3.0f%% step %lld/%lld", static_cast<long long>(p.epoch + 1),
               bar.c_str(), 100 * fraction, static_cast<long long>(p.step),
               static_cast<long long>(total_steps_));
  if (last_.interval_steps > 0) {
    std::fprintf(stderr, " loss %.4f", last_.loss);
    if (last_.accuracy >= 0) std::fprintf(stderr, " acc %.4f", last_.accuracy);
    std::fprintf(stderr, " %s samples/s", rate(last_.samples_per_second).c_str());
  }
  std::fprintf(stderr, " ETA %s", format_duration(eta).c_str());
  std::fflush(stderr);
  bar_drawn_ = true;
  (void)steps_per_epoch_;
}

FailureInjector::FailureInjector(int rank) : rank_(rank) {
  if (const char* r = std::getenv("DMLP_TEST_FAIL_RANK")) armed_ = std::atoi(r) == rank;
  if (const char* s = std::getenv("DMLP_TEST_FAIL_STEP")) step_ = std::atoll(s);
}

void FailureInjector::after_step(const TrainPosition& p) {
  if (armed_ && p.step >= step_)
    throw std::runtime_error("injected failure at step " + std::to_string(p.step) +
                             " (DMLP_TEST_FAIL_RANK=" + std::to_string(rank_) + ")");
}

}  // namespace dmlp::cli
