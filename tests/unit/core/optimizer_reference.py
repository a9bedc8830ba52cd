#!/usr/bin/env python3
"""Independent reference values for tests/unit/core/optimizer_test.cpp.

Plain Python 3 floats (IEEE double), no numpy. Each algorithm is written from
its primary definition, not from dmlp's C++:

adamw  torch.optim.AdamW, _single_tensor_adamw in pytorch/pytorch
       torch/optim/adamw.py, in its order of operations:
           step += 1
           param.mul_(1 - lr * weight_decay)
           exp_avg.lerp_(grad, 1 - beta1)
           exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
           bias_correction1 = 1 - beta1 ** step
           bias_correction2 = 1 - beta2 ** step
           step_size = lr / bias_correction1
           bias_correction2_sqrt = sqrt(bias_correction2)
           denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps)
           param.addcdiv_(exp_avg, denom, value=-step_size)
       with ATen's lerp (aten/src/ATen/native/Lerp.h):
           self + w * (end - self)          if |w| < 0.5
           end - (end - self) * (1 - w)     otherwise
       and addcmul / addcdiv as self + value * t1 * t2, self + value * (t1 / t2).
       dmlp puts the weights in one group (lr_weights, weight_decay) and the
       biases in another (lr_bias, weight decay 0).

lars   You, Gitman, Ginsburg 2017 (arXiv:1708.03888) Algorithm 1, as
       tensorflow/tpu models/official/efficientnet/lars_optimizer.py computes it
       (epsilon = 0, use_nesterov = False):
           w_norm = ||var||, g_norm = ||grad||
           trust_ratio = where(w_norm > 0,
                               where(g_norm > 0, eeta * w_norm / (g_norm + wd * w_norm), 1), 1)
           scaled_lr = lr * trust_ratio
           grad = grad + wd * var
           ApplyMomentum(var, accum, lr=1, grad=grad * scaled_lr, momentum):
               accum = accum * momentum + grad * scaled_lr;  var -= accum
       Biases are in skip_list: trust ratio 1, no decay, lr = lr_bias.

lamb   You et al. 2019 (arXiv:1904.00962) Algorithm 2, with bias correction:
           m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2
           m_hat = m / (1 - beta1^t);    v_hat = v / (1 - beta2^t)
           r = m_hat / (sqrt(v_hat) + eps) + wd * w
           w = w - lr * phi(||w||) / ||r|| * r
       phi(z) = min(max(z, 0), 10) and ratio 1 when phi(||w||) = 0 or ||r|| = 0,
       as cybertronai/pytorch-lamb pytorch_lamb/lamb.py does (clamp(0, 10);
       "if weight_norm == 0 or adam_norm == 0: trust_ratio = 1"). Note that
       pytorch-lamb itself omits the bias correction ("Paper v3 does not use
       debiasing"); the paper's Algorithm 2 has it, and so does dmlp.
       Biases: ratio 1, no decay, lr = lr_bias.

The model is a list of layers, each a pair (weights, biases) of index lists
into the flat buffer; two layers 1 -> 1 -> 1 give the flat buffer
[w1, b1, w2, b2]. Run it: python3 tests/unit/core/optimizer_reference.py
(add --cpp for the tables pasted into optimizer_test.cpp). Every value is
printed with repr(), the shortest text that reads back as the same double.
"""

import math
import sys


def norm(values):
    return math.sqrt(sum(x * x for x in values))


def torch_lerp(start, end, weight):
    if abs(weight) < 0.5:
        return start + weight * (end - start)
    return end - (end - start) * (1 - weight)


# ---- AdamW ------------------------------------------------------------------
class AdamW:
    def __init__(self, layers, size, lr_w, lr_b, wd, beta1, beta2, eps):
        self.layers, self.lr_w, self.lr_b, self.wd = layers, lr_w, lr_b, wd
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self.exp_avg = [0.0] * size
        self.exp_avg_sq = [0.0] * size
        self.t = 0

    def _group(self, p, g, idx, lr, wd):
        beta1, beta2 = self.beta1, self.beta2
        step = self.t
        for i in idx:
            p[i] = p[i] * (1 - lr * wd)
            self.exp_avg[i] = torch_lerp(self.exp_avg[i], g[i], 1 - beta1)
            self.exp_avg_sq[i] = self.exp_avg_sq[i] * beta2 + (1 - beta2) * g[i] * g[i]
        bias_correction1 = 1 - beta1 ** step
        bias_correction2 = 1 - beta2 ** step
        step_size = lr / bias_correction1
        bias_correction2_sqrt = math.sqrt(bias_correction2)
        for i in idx:
            denom = math.sqrt(self.exp_avg_sq[i]) / bias_correction2_sqrt + self.eps
            p[i] = p[i] + (-step_size) * (self.exp_avg[i] / denom)

    def step(self, p, g, lr_scale=1.0):
        self.t += 1
        for weights, biases in self.layers:
            self._group(p, g, weights, self.lr_w * lr_scale, self.wd)
            self._group(p, g, biases, self.lr_b * lr_scale, 0.0)

    def state(self):
        return {"exp_avg": self.exp_avg, "exp_avg_sq": self.exp_avg_sq}


# ---- LARS -------------------------------------------------------------------
class Lars:
    def __init__(self, layers, size, lr_w, lr_b, wd, momentum, eeta):
        self.layers, self.lr_w, self.lr_b, self.wd = layers, lr_w, lr_b, wd
        self.momentum, self.eeta = momentum, eeta
        self.velocity = [0.0] * size

    def _var(self, p, g, idx, lr, skip):
        grad = [g[i] for i in idx]
        scaled_lr = lr
        if not skip:
            w_norm = norm([p[i] for i in idx])
            g_norm = norm(grad)
            if w_norm > 0 and g_norm > 0:
                trust_ratio = self.eeta * w_norm / (g_norm + self.wd * w_norm)
            else:
                trust_ratio = 1.0
            scaled_lr = lr * trust_ratio
            grad = [gi + self.wd * p[i] for gi, i in zip(grad, idx)]
        for gi, i in zip(grad, idx):
            self.velocity[i] = self.velocity[i] * self.momentum + gi * scaled_lr
            p[i] = p[i] - self.velocity[i]

    def step(self, p, g, lr_scale=1.0):
        for weights, biases in self.layers:
            self._var(p, g, weights, self.lr_w * lr_scale, skip=False)
            self._var(p, g, biases, self.lr_b * lr_scale, skip=True)

    def state(self):
        return {"velocity": self.velocity}


# ---- LAMB -------------------------------------------------------------------
class Lamb:
    CLIP = 10.0

    def __init__(self, layers, size, lr_w, lr_b, wd, beta1, beta2, eps):
        self.layers, self.lr_w, self.lr_b, self.wd = layers, lr_w, lr_b, wd
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self.m = [0.0] * size
        self.v = [0.0] * size
        self.t = 0

    def _var(self, p, g, idx, lr, wd, adapt):
        t = self.t
        r = []
        for i in idx:
            self.m[i] = self.beta1 * self.m[i] + (1 - self.beta1) * g[i]
            self.v[i] = self.beta2 * self.v[i] + (1 - self.beta2) * g[i] * g[i]
            m_hat = self.m[i] / (1 - self.beta1 ** t)
            v_hat = self.v[i] / (1 - self.beta2 ** t)
            r.append(m_hat / (math.sqrt(v_hat) + self.eps) + wd * p[i])
        ratio = 1.0
        if adapt:
            phi = min(max(norm([p[i] for i in idx]), 0.0), self.CLIP)
            r_norm = norm(r)
            ratio = phi / r_norm if phi > 0 and r_norm > 0 else 1.0
        for ri, i in zip(r, idx):
            p[i] = p[i] - lr * ratio * ri

    def step(self, p, g, lr_scale=1.0):
        self.t += 1
        for weights, biases in self.layers:
            self._var(p, g, weights, self.lr_w * lr_scale, self.wd, adapt=True)
            self._var(p, g, biases, self.lr_b * lr_scale, 0.0, adapt=False)

    def state(self):
        return {"exp_avg": self.m, "exp_avg_sq": self.v}


# ---- the toy runs -----------------------------------------------------------
def mlp_layers(widths):
    """Index lists of (W_k, b_k) in dmlp's flat layout: [W_1 (out x in), b_1, W_2, b_2, ...]."""
    layers, offset = [], 0
    for fan_in, fan_out in zip(widths, widths[1:]):
        weights = list(range(offset, offset + fan_in * fan_out))
        offset += fan_in * fan_out
        biases = list(range(offset, offset + fan_out))
        offset += fan_out
        layers.append((weights, biases))
    return layers, offset


# 1 -> 1 -> 1: flat [w1, b1, w2, b2]; |w2| > 10, so LAMB's phi clips it.
TOY_WIDTHS = [1, 1, 1]
TOY_START = [0.8, 0.1, -12.5, 0.3]
TOY_GRADS = [
    [0.5, -0.3, 1.2, 0.7],
    [-0.25, 0.4, 0.9, -1.1],
    [0.125, 0.2, -0.6, 0.35],
]
TOY_LR_SCALES = [1.0, 1.0, 0.5]

# 2 -> 2 -> 1: flat [W1 (2x2), b1 (2), W2 (1x2), b2 (1)]; real multi-value norms.
WIDE_WIDTHS = [2, 2, 1]
WIDE_START = [0.5, -0.25, 0.75, 1.5, 0.1, -0.2, 2.0, -1.0, 0.05]
WIDE_GRADS = [
    [0.3, -0.1, 0.2, 0.4, 0.05, -0.6, 0.7, 0.2, -0.3],
    [-0.2, 0.3, 0.1, -0.5, 0.25, 0.1, -0.4, 0.6, 0.15],
    [0.1, 0.2, -0.3, 0.05, -0.1, 0.3, 0.2, -0.25, 0.4],
]

CONFIGS = {
    # lr_w, lr_b, wd, beta1, beta2, eps
    "adamw": lambda layers, size: AdamW(layers, size, 0.05, 0.02, 0.1, 0.8, 0.95, 1e-4),
    # lr_w, lr_b, wd, momentum, eeta (trust coefficient)
    "lars": lambda layers, size: Lars(layers, size, 0.5, 0.02, 0.01, 0.9, 0.02),
    # lr_w, lr_b, wd, beta1, beta2, eps
    "lamb": lambda layers, size: Lamb(layers, size, 0.05, 0.02, 0.1, 0.8, 0.95, 1e-4),
}


def run(name, widths, start, grads, lr_scales):
    layers, size = mlp_layers(widths)
    assert size == len(start)
    opt = CONFIGS[name](layers, size)
    p = list(start)
    print(f"# {name} on {widths}, start {p!r}")
    for t, (g, scale) in enumerate(zip(grads, lr_scales), start=1):
        opt.step(p, g, scale)
        print(f"{name} step {t} (lr_scale {scale!r}) params {p!r}")
        for key, values in opt.state().items():
            print(f"{name} step {t} {key} {values!r}")


def cpp_list(values):
    return "{" + ", ".join(repr(v) for v in values) + "}"


def run_cpp(name, widths, start, grads, lr_scales):
    """The same run, printed as the ReferenceStep initialisers optimizer_test.cpp holds."""
    layers, size = mlp_layers(widths)
    opt = CONFIGS[name](layers, size)
    p = list(start)
    print(f"// {name} on {widths}")
    for g, scale in zip(grads, lr_scales):
        opt.step(p, g, scale)
        state = list(opt.state().values())
        second = state[1] if len(state) > 1 else []
        print(f"{{{scale!r}, {cpp_list(g)},\n {cpp_list(p)},\n {cpp_list(state[0])},\n {cpp_list(second)}}},")


def main():
    show = run_cpp if "--cpp" in sys.argv[1:] else run
    for name in ("adamw", "lars", "lamb"):
        show(name, TOY_WIDTHS, TOY_START, TOY_GRADS, TOY_LR_SCALES)
    for name in ("lars", "lamb"):
        show(name, WIDE_WIDTHS, WIDE_START, WIDE_GRADS, [1.0, 1.0, 1.0])


if __name__ == "__main__":
    main()
