// SGD, momentum and Nesterov against values worked out by hand; AdamW, LARS
// and LAMB against tests/unit/core/optimizer_reference.py.
#include <catch2/catch.hpp>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <vector>

#include "dmlp/core/errors.hpp"
#include "dmlp/core/optimizer.hpp"

using namespace dmlp;

namespace {
// One layer 1 → 1: the flat buffer is [w, b].
ParameterLayout tiny_layout() {
  return ParameterLayout(make_mlp({1, 1}, Activation::Identity, Activation::Identity, Loss::SquaredError));
}
}  // namespace

TEST_CASE("plain SGD uses eta_w for weights and eta_b for biases", "[optimizer]") {
  Optimizer<double> sgd({.lr_weights = 0.1, .lr_bias = 0.01}, tiny_layout());
  std::vector<double> p{1.0, 2.0};
  const std::vector<double> g{0.5, 0.5};
  sgd.step(p, g);
  CHECK(p[0] == Approx(0.95).epsilon(1e-15));   // 1 − 0.1·0.5
  CHECK(p[1] == Approx(1.995).epsilon(1e-15));  // 2 − 0.01·0.5
}

TEST_CASE("momentum: v = mu v + g, p -= eta v", "[optimizer]") {
  Optimizer<double> sgd({.lr_weights = 0.1, .lr_bias = 0.1, .momentum = 0.9}, tiny_layout());
  std::vector<double> p{1.0, 0.0};
  const std::vector<double> g{0.5, -1.0};
  sgd.step(p, g);  // v = 0.5;   p = 1 − 0.05 = 0.95
  CHECK(p[0] == Approx(0.95).epsilon(1e-15));
  sgd.step(p, g);  // v = 0.9·0.5 + 0.5 = 0.95;  p = 0.95 − 0.095 = 0.855
  CHECK(p[0] == Approx(0.855).epsilon(1e-15));
  CHECK(sgd.velocity()[0] == Approx(0.95).epsilon(1e-15));
  CHECK(p[1] == Approx(0.1 + 0.19).epsilon(1e-15));  // bias: 0.1, then +0.19
}

TEST_CASE("Nesterov: v = mu v + g, p -= eta (g + mu v)", "[optimizer]") {
  Optimizer<double> sgd({.lr_weights = 0.1, .lr_bias = 0.1, .momentum = 0.9, .nesterov = true}, tiny_layout());
  std::vector<double> p{1.0, 0.0};
  const std::vector<double> g{0.5, 0.0};
  sgd.step(p, g);  // v = 0.5;  p = 1 − 0.1·(0.5 + 0.45) = 0.905
  CHECK(p[0] == Approx(0.905).epsilon(1e-15));
  sgd.step(p, g);  // v = 0.95; p = 0.905 − 0.1·(0.5 + 0.855) = 0.7695
  CHECK(p[0] == Approx(0.7695).epsilon(1e-15));
}

TEST_CASE("weight decay adds wd·w to the weights' gradient only", "[optimizer]") {
  Optimizer<double> sgd({.lr_weights = 0.1, .lr_bias = 0.1, .weight_decay = 0.2}, tiny_layout());
  std::vector<double> p{2.0, 2.0};
  const std::vector<double> g{0.0, 0.0};
  sgd.step(p, g);
  CHECK(p[0] == Approx(2.0 - 0.1 * 0.2 * 2.0).epsilon(1e-15));
  CHECK(p[1] == 2.0);
}

TEST_CASE("optimizer settings are validated", "[optimizer][errors]") {
  // settings the kind does not use are refused in the library too, not only on the command line
  CHECK_THROWS_AS(validate(OptimizerConfig{.momentum = 0.9, .nesterov = true, .kind = OptimizerKind::Lars}), InputError);
  CHECK_THROWS_AS(validate(OptimizerConfig{.momentum = 0.9, .kind = OptimizerKind::AdamW}), InputError);
  CHECK_THROWS_AS(validate(OptimizerConfig{.momentum = 0.5, .kind = OptimizerKind::Lamb}), InputError);
  CHECK_NOTHROW(validate(OptimizerConfig{.momentum = 0.9, .kind = OptimizerKind::Lars}));
  CHECK_THROWS_AS(Optimizer<float>(OptimizerConfig{.kind = OptimizerKind::AdamW, .eps = 1e300},
                                   ParameterLayout(make_mlp({1, 1}, Activation::Identity, Activation::Identity,
                                                            Loss::SquaredError))),
                  InputError);
  CHECK_THROWS_AS(validate(OptimizerConfig{.lr_weights = 0}), InputError);
  CHECK_THROWS_AS(validate(OptimizerConfig{.lr_weights = 0.1, .lr_bias = -1}), InputError);
  CHECK_THROWS_AS(validate(OptimizerConfig{.momentum = 1.0}), InputError);
  CHECK_THROWS_AS(validate(OptimizerConfig{.nesterov = true}), InputError);
  CHECK_THROWS_AS(validate(OptimizerConfig{.weight_decay = -0.1}), InputError);
}

TEST_CASE("step reports a NaN or infinite gradient, in every update variant", "[optimizer]") {
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  for (const OptimizerConfig& config : {OptimizerConfig{.lr_weights = 0.1, .lr_bias = 0.1},
                                 OptimizerConfig{.lr_weights = 0.1, .lr_bias = 0.1, .momentum = 0.9},
                                 OptimizerConfig{.lr_weights = 0.1, .lr_bias = 0.1, .momentum = 0.9, .nesterov = true}}) {
    Optimizer<double> sgd(config, tiny_layout());
    std::vector<double> p{1.0, 2.0};
    CHECK(sgd.step(p, std::vector<double>{0.5, -1e300}));  // large but finite
    CHECK_FALSE(sgd.step(p, std::vector<double>{nan, 0.5}));
    CHECK_FALSE(sgd.step(p, std::vector<double>{0.5, -inf}));
    Optimizer<float> single(config, tiny_layout());
    std::vector<float> q{1.0f, 2.0f};
    CHECK(single.step(q, std::vector<float>{3e38f, 0.5f}));
    CHECK_FALSE(single.step(q, std::vector<float>{0.5f, std::numeric_limits<float>::infinity()}));
  }
}

// ---- AdamW, LARS and LAMB against independently computed values ------------
//
// The expected numbers come from tests/unit/core/optimizer_reference.py
// (`python3 tests/unit/core/optimizer_reference.py --cpp` prints these tables),
// plain Python doubles written from the primary definitions, not from
// src/core/optimizer.cpp:
//   adamw  torch.optim.AdamW (pytorch/pytorch torch/optim/adamw.py,
//          _single_tensor_adamw), weights in one group (η_w, wd), biases in
//          another (η_b, no decay):
//            w ← w(1 − η·wd);  m ← lerp(m, g, 1 − β1);  v ← β2 v + (1 − β2) g²
//            w ← w − (η / (1 − β1^t)) · m / (√v / √(1 − β2^t) + ε)
//   lars   You, Gitman, Ginsburg 2017, as tensorflow/tpu
//          models/official/efficientnet/lars_optimizer.py computes it:
//            ρ = τ‖W‖ / (‖g‖ + wd‖W‖), 1 when ‖W‖ = 0 or ‖g‖ = 0
//            v ← μ v + η ρ (g + wd·W);  W ← W − v;  biases ρ = 1, no decay, η_b
//   lamb   You et al. 2019 Algorithm 2 with bias correction, φ as cybertronai/pytorch-lamb:
//            m ← β1 m + (1 − β1) g;  v ← β2 v + (1 − β2) g²
//            r = (m / (1 − β1^t)) / (√(v / (1 − β2^t)) + ε) + wd·W
//            ρ = min(‖W‖, 10) / ‖r‖, 1 when either is 0;  W ← W − η ρ r;  biases ρ = 1, no decay
// Each run is three steps with different gradients; the third at lr_scale 0.5.
// The toy is 1 → 1 → 1, flat [w1, b1, w2, b2], with |w2| = 12.5 > 10 so that
// LAMB's φ clips; a 2 → 2 → 1 net adds norms over more than one value.
namespace {
ParameterLayout layout_of(const std::vector<int>& widths) {
  return ParameterLayout(make_mlp(widths, Activation::Identity, Activation::Identity, Loss::SquaredError));
}

struct ReferenceStep {
  double lr_scale;
  std::vector<double> grads, params, first, second;  // first: velocity or exp_avg; second: exp_avg_sq
};

void check_close(std::span<const double> actual, const std::vector<double>& expected, const char* what) {
  REQUIRE(actual.size() == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    INFO(what << "[" << i << "]");
    CHECK(actual[i] == Approx(expected[i]).epsilon(1e-12));
  }
}

void check_against_reference(const OptimizerConfig& config, const std::vector<int>& widths, std::vector<double> params,
                             const std::vector<ReferenceStep>& steps) {
  Optimizer<double> opt(config, layout_of(widths));
  const bool adam_like = config.kind == OptimizerKind::AdamW || config.kind == OptimizerKind::Lamb;
  for (std::size_t t = 0; t < steps.size(); ++t) {
    INFO("step " << t + 1);
    opt.begin_step();
    REQUIRE(opt.step(params, steps[t].grads, steps[t].lr_scale));
    CHECK(opt.steps() == std::int64_t(t + 1));
    check_close(params, steps[t].params, "params");
    check_close(opt.state(adam_like ? "exp_avg" : "velocity"), steps[t].first, adam_like ? "exp_avg" : "velocity");
    if (adam_like) check_close(opt.state("exp_avg_sq"), steps[t].second, "exp_avg_sq");
  }
}

const std::vector<double> kToyStart{0.8, 0.1, -12.5, 0.3};                                     // [w1, b1, w2, b2]
const std::vector<double> kWideStart{0.5, -0.25, 0.75, 1.5, 0.1, -0.2, 2.0, -1.0, 0.05};  // [W1, b1, W2, b2]

constexpr OptimizerConfig kAdamW{.lr_weights = 0.05, .lr_bias = 0.02, .weight_decay = 0.1,
                                 .kind = OptimizerKind::AdamW, .beta1 = 0.8, .beta2 = 0.95, .eps = 1e-4};
constexpr OptimizerConfig kLars{.lr_weights = 0.5, .lr_bias = 0.02, .momentum = 0.9, .weight_decay = 0.01,
                                .kind = OptimizerKind::Lars, .trust_coefficient = 0.02};
constexpr OptimizerConfig kLamb{.lr_weights = 0.05, .lr_bias = 0.02, .weight_decay = 0.1,
                                .kind = OptimizerKind::Lamb, .beta1 = 0.8, .beta2 = 0.95, .eps = 1e-4};
}  // namespace

TEST_CASE("AdamW: three steps match torch.optim.AdamW's algorithm", "[optimizer]") {
  // {lr_scale, grads, params after, exp_avg after, exp_avg_sq after}
  check_against_reference(kAdamW, {1, 1, 1}, kToyStart,
                          {
      {1.0, {0.5, -0.3, 1.2, 0.7},
       {0.7460099980003999, 0.11999333555481506, -12.487495833680526, 0.28000285673475217},
       {0.09999999999999998, -0.059999999999999984, 0.23999999999999994, 0.13999999999999996},
       {0.012500000000000011, 0.004500000000000004, 0.07200000000000006, 0.024500000000000022}},
      {1.0, {-0.25, 0.4, 0.9, -1.1},
       {0.73165969833343, 0.11498438609745999, -12.473941339739815, 0.2864750203907224},
       {0.03, 0.032, 0.37199999999999994, -0.10799999999999998},
       {0.015000000000000013, 0.012275000000000012, 0.1089000000000001, 0.08377500000000009}},
      {0.5, {0.125, 0.2, -0.6, 0.35},
       {0.7221004904379662, 0.11064232106568078, -12.452614881448623, 0.2869084782894767},
       {0.048999999999999995, 0.06559999999999999, 0.17759999999999998, -0.016400000000000012},
       {0.015031250000000013, 0.013661250000000012, 0.1214550000000001, 0.08571125000000009}},
                          });
}

TEST_CASE("LARS: three steps match TensorFlow's reference LARSOptimizer", "[optimizer]") {
  // {lr_scale, grads, params after, velocity after, -}
  SECTION("1 -> 1 -> 1") {
    check_against_reference(kLars, {1, 1, 1}, kToyStart,
                            {
      {1.0, {0.5, -0.3, 1.2, 0.7},
       {0.792, 0.10600000000000001, -12.601415094339623, 0.286},
       {0.008, -0.006, 0.10141509433962265, 0.013999999999999999},
       {}},
      {1.0, {-0.25, 0.4, 0.9, -1.1},
       {0.7922335980148884, 0.1034, -12.787748936963359, 0.2954},
       {-0.00023359801488833688, 0.0026, 0.1863338426237358, -0.009400000000000004},
       {}},
      {0.5, {0.125, 0.2, -0.6, 0.35},
       {0.7884826682382134, 0.09906000000000001, -12.891510650639905, 0.30036},
       {0.0037509297766749384, 0.00434, 0.10376171367654545, -0.004960000000000004},
       {}},
                            });
  }
  SECTION("2 -> 2 -> 1") {
    check_against_reference(kLars, {2, 2, 1}, kWideStart,
                            {
      {1.0, {0.3, -0.1, 0.2, 0.4, 0.05, -0.6, 0.7, 0.2, -0.3},
       {0.49046394226825224, -0.24679525928687165, 0.7435123541661061, 1.4870247083322121, 0.099, -0.188, 1.9785443799259834, -1.0056618997417544, 0.056},
       {0.009536057731747753, -0.003204740713128344, 0.0064876458338939645, 0.012975291667787929, 0.001, -0.012, 0.0214556200740166, 0.005661899741754381, -0.006},
       {}},
      {1.0, {-0.2, 0.3, 0.1, -0.5, 0.25, 0.1, -0.4, 0.6, 0.15},
       {0.4872020584180136, -0.2520251759754918, 0.7347435421866533, 1.4885772240097026, 0.0931, -0.1792, 1.9705872714278103, -1.0283729199795149, 0.0584},
       {0.0032618838502386296, 0.005229916688620161, 0.008768811979452824, -0.0015525156774904812, 0.0059, -0.0088, 0.007957108498173188, 0.02271102023776051, -0.0024000000000000002},
       {}},
      {1.0, {0.1, 0.2, -0.3, 0.05, -0.1, 0.3, 0.2, -0.25, 0.4},
       {0.479624321669028, -0.2654733185186031, 0.7398055459150911, 1.4871023928571419, 0.08979000000000001, -0.17728, 1.9491624018959552, -1.031915021092353, 0.05256},
       {0.007577736748985611, 0.013448142543111323, -0.005062003728437793, 0.0014748311525607679, 0.0033099999999999996, -0.0019199999999999998, 0.0214248695318551, 0.003542101112838137, 0.00584},
       {}},
                            });
  }
}

TEST_CASE("LAMB: three steps match Algorithm 2 with bias correction and phi = clip to [0, 10]", "[optimizer]") {
  // {lr_scale, grads, params after, exp_avg after, exp_avg_sq after}
  SECTION("1 -> 1 -> 1 (one weight per layer: W moves by eta·phi(|w|) against sign(r); |w2| clipped to 10)") {
    check_against_reference(kLamb, {1, 1, 1}, kToyStart,
                            {
      {1.0, {0.5, -0.3, 1.2, 0.7},
       {0.76, 0.11999333555481506, -12.0, 0.28000285673475217},
       {0.09999999999999998, -0.059999999999999984, 0.23999999999999994, 0.13999999999999996},
       {0.012500000000000011, 0.004500000000000004, 0.07200000000000006, 0.024500000000000022}},
      {1.0, {-0.25, 0.4, 0.9, -1.1},
       {0.722, 0.11498438609745999, -11.5, 0.2864750203907224},
       {0.03, 0.032, 0.3719999999999999, -0.108},
       {0.015000000000000013, 0.012275000000000012, 0.1089000000000001, 0.08377500000000009}},
      {0.5, {0.125, 0.2, -0.6, 0.35},
       {0.70395, 0.11064232106568078, -11.25, 0.2869084782894767},
       {0.048999999999999995, 0.06559999999999999, 0.17759999999999995, -0.016400000000000026},
       {0.015031250000000013, 0.013661250000000012, 0.1214550000000001, 0.08571125000000009}},
                            });
  }
  SECTION("2 -> 2 -> 1") {
    check_against_reference(kLamb, {2, 2, 1}, kWideStart,
                            {
      {1.0, {0.3, -0.1, 0.2, 0.4, 0.05, -0.6, 0.7, 0.2, -0.3},
       {0.4568676072345032, -0.20792225283509858, 0.7058471623690065, 1.4527550339508994, 0.08003992015968064, -0.18000333277787037, 1.9105432320910436, -1.0670633034921715, 0.06999333555481507},
       {0.059999999999999984, -0.019999999999999997, 0.039999999999999994, 0.07999999999999999, 0.009999999999999998, -0.11999999999999997, 0.13999999999999996, 0.039999999999999994, -0.059999999999999984},
       {0.004500000000000004, 0.0005000000000000004, 0.0020000000000000018, 0.008000000000000007, 0.0001250000000000001, 0.018000000000000016, 0.024500000000000022, 0.0020000000000000018, 0.004500000000000004}},
      {1.0, {-0.2, 0.3, 0.1, -0.5, 0.25, 0.1, -0.4, 0.6, 0.15},
       {0.44688889309030794, -0.24686727223486138, 0.631658725539775, 1.4583656726365857, 0.062383767628993725, -0.1700679442636605, 1.8681370431850897, -1.1679281337396064, 0.07424071369414123},
       {0.007999999999999993, 0.043999999999999984, 0.05199999999999999, -0.03599999999999999, 0.05799999999999999, -0.07599999999999998, 0.03199999999999999, 0.15199999999999997, -0.017999999999999995},
       {0.006275000000000005, 0.004975000000000005, 0.002400000000000002, 0.020100000000000017, 0.0032437500000000027, 0.017600000000000015, 0.031275000000000025, 0.01990000000000002, 0.005400000000000005}},
      {1.0, {0.1, 0.2, -0.3, 0.05, -0.1, 0.3, 0.2, -0.25, 0.4},
       {0.41390943785895795, -0.3224417821972014, 0.6437679054383423, 1.4538482040270293, 0.05556035415976979, -0.1699829650473445, 1.7713487685430271, -1.2205305123556414, 0.06538269961982104},
       {0.026399999999999993, 0.07519999999999999, -0.018399999999999986, -0.018799999999999994, 0.0264, -0.000800000000000009, 0.06559999999999999, 0.0716, 0.06559999999999999},
       {0.006461250000000005, 0.006726250000000006, 0.006780000000000006, 0.019220000000000015, 0.0035815625000000027, 0.021220000000000017, 0.031711250000000024, 0.02203000000000002, 0.013130000000000011}},
                            });
  }
}

// Trust-ratio edge cases: ρ = 1, never 0/0 or x/0. Tiny layout [w, b].
TEST_CASE("LARS: a zero weight norm or a zero gradient norm gives trust ratio 1", "[optimizer]") {
  constexpr OptimizerConfig config{.lr_weights = 0.1, .lr_bias = 0.05, .momentum = 0.9, .weight_decay = 0.01,
                                   .kind = OptimizerKind::Lars, .trust_coefficient = 0.02};
  Optimizer<double> lars(config, tiny_layout());
  SECTION("W = 0") {
    std::vector<double> p{0.0, 0.3};
    lars.begin_step();
    REQUIRE(lars.step(p, std::vector<double>{0.5, -0.2}));
    REQUIRE(std::isfinite(p[0]));
    CHECK(lars.velocity()[0] == Approx(0.1 * (0.5 + 0.01 * 0.0)).epsilon(1e-15));  // v = η·1·(g + wd·0)
    CHECK(p[0] == Approx(-0.1 * 0.5).epsilon(1e-15));
    CHECK(p[1] == Approx(0.3 + 0.05 * 0.2).epsilon(1e-15));  // bias: ρ = 1 always
  }
  SECTION("g = 0: the reference takes 1, not tau / wd, although wd·||W|| > 0") {
    std::vector<double> p{2.0, 0.3};
    lars.begin_step();
    REQUIRE(lars.step(p, std::vector<double>{0.0, 0.4}));
    REQUIRE(std::isfinite(p[0]));
    CHECK(lars.velocity()[0] == Approx(0.1 * (0.0 + 0.01 * 2.0)).epsilon(1e-15));
    CHECK(p[0] == Approx(2.0 - 0.1 * 0.01 * 2.0).epsilon(1e-15));  // 1.998 (τ/wd = 2 would give 1.996)
  }
  SECTION("W = 0 and g = 0") {
    std::vector<double> p{0.0, 0.3};
    lars.begin_step();
    REQUIRE(lars.step(p, std::vector<double>{0.0, 0.0}));
    CHECK(p[0] == 0.0);
    CHECK(lars.velocity()[0] == 0.0);
    CHECK(p[1] == 0.3);
  }
}

TEST_CASE("LAMB: a zero weight norm or a zero update norm gives trust ratio 1", "[optimizer]") {
  const double eps = 1e-6;
  SECTION("W = 0: w = -eta·r with r = g / (|g| + eps) at t = 1") {
    Optimizer<double> lamb({.lr_weights = 0.1, .lr_bias = 0.05, .weight_decay = 0.1, .kind = OptimizerKind::Lamb,
                            .eps = eps},
                           tiny_layout());
    std::vector<double> p{0.0, 0.3};
    lamb.begin_step();
    REQUIRE(lamb.step(p, std::vector<double>{0.5, -0.2}));
    REQUIRE(std::isfinite(p[0]));
    // t = 1: m̂ = g, v̂ = g², r = g / (|g| + ε) + wd·0
    CHECK(p[0] == Approx(-0.1 * 0.5 / (0.5 + eps)).epsilon(1e-12));
    CHECK(p[1] == Approx(0.3 + 0.05 * 0.2 / (0.2 + eps)).epsilon(1e-12));
  }
  SECTION("g = 0 and no decay: r = 0, so W stays (min(|w|, 10) / 0 would make it NaN)") {
    Optimizer<double> lamb({.lr_weights = 0.1, .lr_bias = 0.05, .kind = OptimizerKind::Lamb, .eps = eps},
                           tiny_layout());
    std::vector<double> p{2.0, 0.3};
    lamb.begin_step();
    REQUIRE(lamb.step(p, std::vector<double>{0.0, 0.0}));
    CHECK(p[0] == 2.0);
    CHECK(p[1] == 0.3);
  }
  SECTION("W = 0 and g = 0 with decay: r = 0 and ||W|| = 0") {
    Optimizer<double> lamb({.lr_weights = 0.1, .lr_bias = 0.05, .weight_decay = 0.1, .kind = OptimizerKind::Lamb,
                            .eps = eps},
                           tiny_layout());
    std::vector<double> p{0.0, 0.3};
    lamb.begin_step();
    REQUIRE(lamb.step(p, std::vector<double>{0.0, 0.0}));
    CHECK(p[0] == 0.0);
    CHECK(p[1] == 0.3);
  }
}

TEST_CASE("AdamW, LARS and LAMB report a NaN or infinite gradient", "[optimizer]") {
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  const std::vector<std::vector<double>> bad{
      {nan, 0.1, 0.2, 0.3}, {0.1, nan, 0.2, 0.3}, {0.1, 0.2, inf, 0.3}, {0.1, 0.2, 0.3, -inf}};
  for (const OptimizerConfig& config :
       {kAdamW, kLars, kLamb, OptimizerConfig{.lr_weights = 0.5, .lr_bias = 0.02, .kind = OptimizerKind::Lars}}) {
    INFO(describe(config));
    {
      Optimizer<double> opt(config, layout_of({1, 1, 1}));
      std::vector<double> p = kToyStart;
      opt.begin_step();
      CHECK(opt.step(p, std::vector<double>{0.5, -1e150, 1e150, 0.5}));  // large but finite
    }
    for (const std::vector<double>& g : bad) {
      Optimizer<double> opt(config, layout_of({1, 1, 1}));
      std::vector<double> p = kToyStart;
      opt.begin_step();
      CHECK_FALSE(opt.step(p, g));
    }
    Optimizer<float> single(config, layout_of({1, 1, 1}));
    std::vector<float> q{0.8f, 0.1f, -12.5f, 0.3f};
    single.begin_step();
    CHECK(single.step(q, std::vector<float>{1e18f, 0.5f, -1e18f, 0.5f}));  // g² = 1e36: still a float
    // Adam's second moment g² overflows float at |g| ≈ 1.8e19: reported, not frozen unseen
    const bool adam = config.kind != OptimizerKind::Lars;
    std::vector<float> r{0.8f, 0.1f, -12.5f, 0.3f};
    Optimizer<float> fresh(config, layout_of({1, 1, 1}));
    fresh.begin_step();
    CHECK(fresh.step(r, std::vector<float>{3e38f, 0.5f, -3e38f, 0.5f}) == !adam);
    single.begin_step();
    CHECK_FALSE(single.step(q, std::vector<float>{0.5f, 0.5f, std::numeric_limits<float>::infinity(), 0.5f}));
  }
}

TEST_CASE("AdamW, LARS and LAMB settings are validated", "[optimizer][errors]") {
  CHECK_THROWS_AS(validate(OptimizerConfig{.beta2 = 1.0}), InputError);
  CHECK_THROWS_AS(validate(OptimizerConfig{.eps = -1e-8}), InputError);
  CHECK_THROWS_AS(validate(OptimizerConfig{.eps = 0.0}), InputError);
  CHECK_THROWS_AS(validate(OptimizerConfig{.trust_coefficient = 0.0}), InputError);
  CHECK_THROWS_AS(validate(OptimizerConfig{.beta1 = 1.0}), InputError);
  CHECK_THROWS_AS(validate(OptimizerConfig{.beta1 = -0.1}), InputError);
  CHECK_THROWS_AS(validate(OptimizerConfig{.lr_weights = 0.5, .weight_decay = 2.0, .kind = OptimizerKind::AdamW}),
                  InputError);  // AdamW: 1 − η·wd must stay positive
  CHECK_THROWS_AS(Optimizer<double>(OptimizerConfig{.kind = OptimizerKind::Lamb, .beta2 = 1.0}, tiny_layout()),
                  InputError);
  CHECK_NOTHROW(validate(kAdamW));
  CHECK_NOTHROW(validate(kLars));
  CHECK_NOTHROW(validate(kLamb));
}

TEST_CASE("LARS's trust ratio over a layer of many norm blocks uses the plain 2-norms", "[optimizer]") {
  // 256 → 300 → 1: W1's 76800 values span 19 blocks of kNormBlock. One step from
  // v = 0: W ← W − η ρ (g + wd·W), ρ = τ‖W‖ / (‖g‖ + wd‖W‖), the norms summed here in one plain loop.
  const ParameterLayout layout = layout_of({256, 300, 1});
  const LayerSlots& w1 = layout.layer(0);
  std::vector<double> p(layout.size()), g(layout.size());
  for (std::size_t i = 0; i < p.size(); ++i) {
    p[i] = std::sin(0.37 * double(i) + 0.1);
    g[i] = 0.01 * std::cos(1.3 * double(i));
  }
  const OptimizerConfig config{.lr_weights = 0.5, .lr_bias = 0.1, .momentum = 0.9, .weight_decay = 1e-3,
                               .kind = OptimizerKind::Lars, .trust_coefficient = 0.02};
  double w2 = 0, g2 = 0;
  for (std::size_t i = w1.weight_offset; i < w1.weight_offset + w1.weight_count(); ++i) {
    w2 += p[i] * p[i];
    g2 += g[i] * g[i];
  }
  const double rho = 0.02 * std::sqrt(w2) / (std::sqrt(g2) + 1e-3 * std::sqrt(w2));
  std::vector<double> expected = p;
  for (std::size_t i = w1.weight_offset; i < w1.weight_offset + w1.weight_count(); ++i)
    expected[i] -= 0.5 * rho * (g[i] + 1e-3 * p[i]);
  Optimizer<double> lars(config, layout);
  lars.begin_step();
  REQUIRE(lars.step(p, g));
  for (std::size_t i = w1.weight_offset; i < w1.weight_offset + w1.weight_count(); i += 997) {
    INFO("W1 value " << i);
    CHECK(p[i] == Approx(expected[i]).epsilon(1e-12));
  }
}

TEST_CASE("LARS and LAMB layer norms give the same bits at 1 and 4 OpenMP threads", "[optimizer]") {
  // 256 → 300 → 1: W1 has 76800 values, past kParallelThreshold and many kNormBlocks.
  const ParameterLayout layout = layout_of({256, 300, 1});
  REQUIRE(layout.layer(0).weight_count() > std::size_t(1) << 15);
  std::uint64_t state = 0x9e3779b97f4a7c15ull;
  auto uniform = [&state] {  // splitmix64 → [-1, 1)
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return double(z >> 11) * 0x1.0p-52 - 1.0;
  };
  std::vector<double> start(layout.size()), grads1(layout.size()), grads2(layout.size());
  for (double& x : start) x = uniform();
  for (double& x : grads1) x = 0.01 * uniform();
  for (double& x : grads2) x = 0.01 * uniform();

  struct ThreadCount {  // restores the thread count however the test ends
    int saved = omp_get_max_threads();
    ~ThreadCount() { omp_set_num_threads(saved); }
  } restore;
  for (const OptimizerConfig& config : {OptimizerConfig{.lr_weights = 0.5, .lr_bias = 0.1, .momentum = 0.9,
                                                        .weight_decay = 1e-4, .kind = OptimizerKind::Lars},
                                        OptimizerConfig{.lr_weights = 0.01, .lr_bias = 0.01, .weight_decay = 0.01,
                                                        .kind = OptimizerKind::Lamb}}) {
    INFO(describe(config));
    auto run = [&](int threads) {
      omp_set_num_threads(threads);
      Optimizer<double> opt(config, layout);
      std::vector<double> p = start;
      for (const std::vector<double>* g : {&grads1, &grads2}) {
        opt.begin_step();
        REQUIRE(opt.step(p, *g));
      }
      for (const std::span<double> s : opt.state()) p.insert(p.end(), s.begin(), s.end());
      return p;  // the parameters, then the state arrays
    };
    const std::vector<double> one = run(1), four = run(4);
    REQUIRE(one.size() == four.size());
    CHECK_FALSE(std::equal(start.begin(), start.end(), one.begin()));  // the step moved the parameters
    CHECK(std::memcmp(one.data(), four.data(), one.size() * sizeof(double)) == 0);
  }
}
