// The linear probe's gathered classifier (measure/gathered_linear.h) against the plain way:
// index_select, standardise, torch::nn::functional::linear. Logits and the weight and bias
// gradients, raw and standardised, at feature counts that are and are not multiples of the
// kernels' 16 lanes and 256-column tiles; the same bits at one and two threads.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "ssdd/core/error.h"
#include "ssdd/measure/gathered_linear.h"

using namespace ssdd;
using namespace ssdd::measure;

namespace {

struct Case {
  int64_t rows, p, classes;
};

const std::vector<Case> kCases = {{40, 300, 7}, {9, 16, 1}, {33, 5, 3}, {64, 600, 100}};

// Features with a column offset and scale as unlike as a ConvNet's, a batch index with repeats.
struct Problem {
  at::Tensor x, index, weight, bias;
  ColumnScaling scaling;
};

Problem problem(const Case& c, uint64_t seed) {
  torch::manual_seed(seed);
  Problem p;
  const auto scale = torch::rand({c.p}) * 5 + 0.1;
  p.x = (torch::randn({c.rows, c.p}) * scale + torch::randn({c.p}) * 3).contiguous();
  p.index = torch::randint(c.rows, {c.rows + 7}, torch::kLong);
  p.weight = torch::randn({c.classes, c.p}) * 0.1;
  p.bias = torch::randn({c.classes});
  p.scaling = {p.x.mean(0), 1.0 / p.x.std(0, /*unbiased=*/false).clamp_min(1e-6)};
  return p;
}

at::Tensor plain_logits(const Problem& p, bool scaled, const at::Tensor& w, const at::Tensor& b) {
  at::Tensor rows = p.x.index_select(0, p.index);
  if (scaled) rows = (rows - p.scaling.mean) * p.scaling.inv_std;
  return torch::nn::functional::linear(rows, w, b);
}

// A gradient that differs at every logit, so a misplaced one shows.
at::Tensor uneven_like(const at::Tensor& y) { return torch::arange(y.numel(), torch::kFloat).view(y.sizes()).sin(); }

struct Result {
  at::Tensor logits, grad_weight, grad_bias;
};

Result gathered(const Problem& p, bool scaled) {
  const at::Tensor w = p.weight.clone().requires_grad_(), b = p.bias.clone().requires_grad_();
  const at::Tensor y = gathered_linear(p.x, p.index, w, b, scaled ? p.scaling : ColumnScaling{});
  (y * uneven_like(y)).sum().backward();
  return {y.detach(), w.grad(), b.grad()};
}

Result plain(const Problem& p, bool scaled) {
  const at::Tensor w = p.weight.clone().requires_grad_(), b = p.bias.clone().requires_grad_();
  const at::Tensor y = plain_logits(p, scaled, w, b);
  (y * uneven_like(y)).sum().backward();
  return {y.detach(), w.grad(), b.grad()};
}

void expect_close(const at::Tensor& got, const at::Tensor& want, const std::string& what) {
  const double scale = want.abs().max().item<double>() + 1e-6;
  EXPECT_LT((got - want).abs().max().item<double>() / scale, 2e-5) << what;
}

}  // namespace

TEST(GatheredLinear, LogitsAndGradientsAreThePlainOnes) {
  for (const Case& c : kCases)
    for (bool scaled : {false, true}) {
      const Problem p = problem(c, 3);
      const Result g = gathered(p, scaled), want = plain(p, scaled);
      const std::string what = "p " + std::to_string(c.p) + ", classes " + std::to_string(c.classes) +
                               (scaled ? ", standardised" : ", raw");
      ASSERT_EQ(g.logits.sizes(), want.logits.sizes()) << what;
      expect_close(g.logits, want.logits, "logits, " + what);
      expect_close(g.grad_weight, want.grad_weight, "weight gradient, " + what);
      expect_close(g.grad_bias, want.grad_bias, "bias gradient, " + what);
    }
}

TEST(GatheredLinear, OneAndTwoThreadsGiveTheSameBits) {
  const int saved = at::get_num_threads();
  const Problem p = problem({200, 1000, 10}, 5);
  at::set_num_threads(1);
  const Result one = gathered(p, true);
  at::set_num_threads(2);
  const Result two = gathered(p, true);
  at::set_num_threads(saved);
  EXPECT_TRUE(torch::equal(one.logits, two.logits));
  EXPECT_TRUE(torch::equal(one.grad_weight, two.grad_weight));
  EXPECT_TRUE(torch::equal(one.grad_bias, two.grad_bias));
}

TEST(GatheredLinear, NoGradientReachesTheFeatures) {
  const Problem p = problem(kCases[0], 7);
  const at::Tensor x = p.x.clone().requires_grad_();
  const at::Tensor w = p.weight.clone().requires_grad_();
  gathered_linear(x, p.index, w, p.bias, p.scaling).sum().backward();
  EXPECT_FALSE(x.grad().defined());
  EXPECT_TRUE(w.grad().defined());
}

TEST(GatheredLinear, RefusesWhatItCannotRead) {
  const Problem p = problem(kCases[0], 9);
  EXPECT_FALSE(gathered_linear_applies(p.x.t()));  // not contiguous
  EXPECT_FALSE(gathered_linear_applies(p.x.to(torch::kDouble)));
  const at::Tensor past_the_end = torch::tensor({int64_t{0}, p.x.size(0)}, torch::kLong);
  EXPECT_THROW(gathered_linear(p.x, past_the_end, p.weight, p.bias, {}), Error);
  EXPECT_THROW(gathered_linear(p.x, torch::tensor({int64_t{-1}}, torch::kLong), p.weight, p.bias, {}), Error);
  EXPECT_THROW(gathered_linear(p.x, p.index, p.weight.narrow(1, 0, 3), p.bias, {}), Error);
}

TEST(GatheredLinear, WithoutGradientTheLogitsComeInChunksWithTheSameBits) {
  const Problem p = problem({3000, 40, 5}, 11);  // more rows than one chunk (1,024)
  const at::Tensor all = torch::arange(p.x.size(0));
  const at::Tensor w = p.weight.clone().requires_grad_();
  const at::Tensor with_graph = gathered_linear(p.x, all, w, p.bias, p.scaling).detach();
  at::Tensor chunked;
  {
    torch::NoGradGuard no_grad;
    chunked = gathered_linear(p.x, all, w, p.bias, p.scaling);
  }
  EXPECT_FALSE(chunked.requires_grad());
  EXPECT_TRUE(torch::equal(chunked, with_graph));
  expect_close(chunked, plain_logits({p.x, all, p.weight, p.bias, p.scaling}, true, p.weight, p.bias), "chunked");
}
