// Bad input is refused with a message that names the problem.
#include <catch2/catch.hpp>

#include "dmlp/core/errors.hpp"
#include "dmlp/data/synthetic.hpp"
#include "train_fixture.hpp"

using namespace dmlp;
using Catch::Contains;

TEST_CASE("layer sizes must parse, be positive, and chain", "[errors]") {
  CHECK_THROWS_WITH(parse_widths("784,0,10"), Contains("must be positive"));
  CHECK_THROWS_WITH(parse_widths("784,-5,10"), Contains("must be positive"));
  CHECK_THROWS_WITH(parse_widths("784,abc,10"), Contains("not an integer"));
  CHECK_THROWS_WITH(parse_widths("784,,10"), Contains("not an integer"));
  CHECK_THROWS_WITH(parse_widths("784"), Contains("at least 2 widths"));
  CHECK(parse_widths("784,256,10") == std::vector<int>{784, 256, 10});

  ModelSpec spec;
  spec.layers = {{4, 8}, {6, 2}};
  spec.activations = {Activation::Relu, Activation::Identity};
  spec.loss = Loss::SoftmaxCrossEntropy;
  CHECK_THROWS_WITH(validate(spec), Contains("do not chain") && Contains("outputs 8") && Contains("expects 6"));
}

TEST_CASE("unknown activations, losses and penalties are named", "[errors]") {
  CHECK_THROWS_WITH(parse_activation("relu6"), Contains("unknown activation 'relu6'") && Contains("leaky-relu"));
  CHECK_THROWS_WITH(parse_loss("cross-entropy"), Contains("unknown loss 'cross-entropy'") && Contains("softmax-ce"));
  CHECK_THROWS_AS(parse_regularizer("l3"), InputError);
}

TEST_CASE("a loss must fit the output width", "[errors]") {
  CHECK_THROWS_WITH(make_mlp({20, 10}, Activation::Relu, Activation::Identity, Loss::Hinge),
                    Contains("hinge needs 1 output") && Contains("10"));
  CHECK_THROWS_AS(make_mlp({20, 1}, Activation::Relu, Activation::Identity, Loss::SoftmaxCrossEntropy),
                  InputError);
}

TEST_CASE("non-positive sizes and rates are refused", "[errors]") {
  const auto data = make_synthetic({SyntheticKind::Blobs, 4, 3, 1, -1}, 0, 50);
  const ModelSpec spec = make_mlp({4, 3}, Activation::Relu, Activation::Identity, Loss::SoftmaxCrossEntropy);
  auto config_with = [](auto change) {
    TrainConfig c;
    change(c);
    return c;
  };
  CHECK_THROWS_WITH(validate(config_with([](TrainConfig& c) { c.global_batch = 0; }), data->shape(), spec, 1),
                    Contains("--batch-size 0 must be positive"));
  CHECK_THROWS_WITH(validate(config_with([](TrainConfig& c) { c.epochs = -1; }), data->shape(), spec, 1),
                    Contains("--epochs"));
  CHECK_THROWS_WITH(validate(config_with([](TrainConfig& c) { c.optimizer.lr_weights = -0.1; }), data->shape(), spec, 1),
                    Contains("--lr -0.1 must be positive"));
  CHECK_THROWS_WITH(validate(config_with([](TrainConfig& c) { c.optimizer.lr_bias = 0; }), data->shape(), spec, 1),
                    Contains("--lr-bias"));
  CHECK_THROWS_WITH(validate(TrainConfig{}, data->shape(), spec, 64), Contains("fewer than the 64 ranks"));
  CHECK_THROWS_WITH(validate(SyntheticSpec{SyntheticKind::Xor, 1, 2, 1, -1}), Contains("at least 2 inputs"));
}

TEST_CASE("labels out of the model's range are refused", "[errors]") {
  // 12 classes of data for a 10-way softmax: labels 10 and 11 have no output.
  const auto data = make_synthetic({SyntheticKind::Blobs, 4, 12, 1, -1}, 0, 100);
  const ModelSpec spec = make_mlp({4, 10}, Activation::Relu, Activation::Identity, Loss::SoftmaxCrossEntropy);
  CHECK_THROWS_WITH(validate(TrainConfig{}, data->shape(), spec, 1),
                    Contains("12 classes") && Contains("fits 10"));
  // A stored label outside [0, num_classes).
  auto bad = test::classification_set({0, 0, 1, 1, 2, 2}, {0, 1, 3}, 2, 3);
  CHECK_THROWS_WITH(bad->validate(), Contains("label 3") && Contains("row 2") && Contains("[0, 3)"));
  auto negative = test::classification_set({0, 0, 1, 1}, {0, -1}, 2, 2);
  CHECK_THROWS_WITH(negative->validate(), Contains("label -1") && Contains("row 1"));
}

TEST_CASE("the input width must match the data", "[errors]") {
  const auto data = make_synthetic({SyntheticKind::Blobs, 4, 3, 1, -1}, 0, 50);
  const ModelSpec spec = make_mlp({5, 3}, Activation::Relu, Activation::Identity, Loss::SoftmaxCrossEntropy);
  CHECK_THROWS_WITH(validate(TrainConfig{}, data->shape(), spec, 1),
                    Contains("takes 5 inputs") && Contains("has 4 features"));
}
