#!/usr/bin/python3
"""bench_torch.py — the M7 training step (784 → 500 → 500 → 10, batch 32) in
PyTorch next to ein's, in one run: E/I + LN, E-only + LN and I-Norm + GradNorm
(model.md M1, M3–M8), one intra-op thread and one OpenBLAS thread (the setting
under which PyTorch is fastest on this machine), SGD with the per-group rates
and the Dale clamps.  Rounds alternate between ein (tests/bench_step as a
child process) and PyTorch; every number is the best round of this
thread's CPU time (as in bench_step: the machine is shared).  Prints each
variant's step in both and the ratio.  Run by `make bench-torch`.

usage: bench_torch.py PATH/TO/bench_step [ROUNDS]
"""
import os
import subprocess
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")


def same_kernels_as_ein():
    """PyTorch runs on the kernels ein runs: OpenBLAS falls back to SSE3 ones
    on a CPU it does not know, where einrun picks better ones (blas.h); asked
    of bench_step before torch loads OpenBLAS, unless the user chose."""
    if "OPENBLAS_CORETYPE" in os.environ or len(sys.argv) < 2:
        return
    out = subprocess.run([sys.argv[1], "1", "--batch", "32", "ei_ln"], check=True,
                         capture_output=True, text=True).stdout
    for word, core in zip(out.split(), out.split()[1:]):
        if word == "core":
            os.environ["OPENBLAS_CORETYPE"] = core
            return


same_kernels_as_ein()
import torch  # noqa: E402  (after the thread and kernel settings)

torch.set_num_threads(1)
torch.set_num_interop_threads(1)
torch.manual_seed(0)

EPS = 1e-5
WIDTH, BATCH, N_IN, CLASSES = 500, 32, 784, 10
LR = {"wex": 0.01, "b": 0.01, "wix": 0.1, "bix": 0.1, "wei": 0.001}
LAMBDA = 0.01


def lognormal(rows, cols, n_in, ne):
    s = (2.0 * ne / (n_in * (ne - 1))) ** 0.5 if ne > 1 else (2.0 / n_in) ** 0.5
    mu, sigma = torch.log(torch.tensor(s / 2 ** 0.5)), torch.log(torch.tensor(2.0)) ** 0.5
    return torch.exp(mu + sigma * torch.randn(rows, cols))


class Layer:
    """One E/I (or E-only) layer's parameters with M2/M4 initialisation."""

    def __init__(self, n_in, ne, ni, inorm=False):
        self.p = {}
        self.p["wex"] = lognormal(ne, n_in, n_in, ne).requires_grad_()
        self.p["b"] = torch.zeros(ne, requires_grad=True)
        if ni > 0:
            wei = lognormal(ne, ni, n_in, ne)
            self.p["wei"] = (wei / wei.sum(1, keepdim=True)).requires_grad_(not inorm)
            self.p["wix"] = self.p["wex"].detach().mean(0, keepdim=True).repeat(ni, 1).requires_grad_()
        if inorm:
            w0 = (self.p["wex"] - self.p["wei"] @ self.p["wix"]).detach()
            u, s, vh = torch.linalg.svd(w0, full_matrices=False)
            self.p["bix"] = (s[:, None] * vh).requires_grad_()
            self.bei = torch.full((ne, ne), 1.0 / ne)   # frozen (M8)

    def ei(self, x):                                        # (M1)
        return x @ self.p["wex"].T - (x @ self.p["wix"].T) @ self.p["wei"].T + self.p["b"]


def layernorm(z):                                           # (M3), no affine
    mu = z.mean(1, keepdim=True)
    var = z.var(1, unbiased=False, keepdim=True)
    return (z - mu) / torch.sqrt(var + EPS)


class GradNormFull(torch.autograd.Function):
    """(M6) identity forward; backward (g − mean g − z·mean(g⊙z)) / std(z)."""

    @staticmethod
    def forward(ctx, z):
        ctx.save_for_backward(z)
        return z.view_as(z)

    @staticmethod
    def backward(ctx, g):
        (z,) = ctx.saved_tensors
        inv = torch.rsqrt(z.var(1, unbiased=False, keepdim=True) + EPS)
        return (g - g.mean(1, keepdim=True) - z * (g * z).mean(1, keepdim=True)) * inv


def inorm(layer, x, row_mean):                              # (M4, M5)
    p = layer.p
    xs = x.detach()
    h = x @ p["wex"].T + p["b"]
    i = (xs @ p["wix"].T) @ p["wei"].T
    q = (xs @ p["bix"].T) ** 2
    mix = q.mean(1, keepdim=True) if row_mean else q @ layer.bei.T
    d = torch.sqrt(mix + EPS)
    z = (h - i.detach()) / d.detach()
    u = (h.detach() - i) / d
    local = (u.mean(1) ** 2 + (u.var(1, unbiased=False) - 1) ** 2).mean()
    return z, local


class Net:
    def __init__(self, variant):
        self.variant = variant
        ni = 0 if variant == "e_ln" else WIDTH // 10
        self.inorm = variant.startswith("inorm")
        self.hidden = [Layer(N_IN, WIDTH, ni, self.inorm), Layer(WIDTH, WIDTH, ni, self.inorm)]
        self.out = Layer(WIDTH, CLASSES, 1)
        self.groups = []
        for layer in self.hidden + [self.out]:
            for name, t in layer.p.items():
                if t.requires_grad:
                    self.groups.append({"params": [t], "lr": LR[name], "clamp": name != "b" and name != "bix"})
        self.opt = torch.optim.SGD(self.groups, lr=0.01)
        self.ce = torch.nn.CrossEntropyLoss(label_smoothing=0.1)

    def loss(self, x, y):
        local = 0
        h = x
        for layer in self.hidden:
            if self.inorm:
                z, l_local = inorm(layer, h, self.variant == "inorm_gn_rowmean")
                local = local + l_local
                h = torch.relu(GradNormFull.apply(z))
            elif self.variant == "e_ln":
                h = torch.relu(layernorm(h @ layer.p["wex"].T + layer.p["b"]))
            else:
                h = torch.relu(layernorm(layer.ei(h)))
        return self.ce(self.out.ei(h), y) + LAMBDA * local

    def step(self, x, y):
        self.opt.zero_grad(set_to_none=True)
        self.loss(x, y).backward()
        self.opt.step()
        with torch.no_grad():                               # Dale's principle (M8)
            for g in self.groups:
                if g["clamp"]:
                    g["params"][0].clamp_(min=0)


def torch_step_ms(net, x, y, steps):
    for _ in range(10):
        net.step(x, y)
    t0 = time.thread_time()          # CPU time, as bench_step: the machine is shared
    for _ in range(steps):
        net.step(x, y)
    return 1e3 * (time.thread_time() - t0) / steps


def ein_step_ms(bench_step, steps):
    """ein's batch-32 step per variant, from one bench_step child process."""
    out = subprocess.run([bench_step, str(steps), "--batch", "32", "ei_ln", "e_ln", "inorm_gn"],
                         check=True, capture_output=True, text=True).stdout
    times = {}
    for line in out.splitlines():
        f = line.split()
        if len(f) > 2 and f[0] in ("ei_ln", "e_ln", "inorm_gn") and f[1] == "32":
            times[f[0]] = float(f[2])
    return times


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: bench_torch.py PATH/TO/bench_step [ROUNDS]")
    bench_step = sys.argv[1]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    x = torch.rand(BATCH, N_IN)
    y = torch.arange(BATCH) % CLASSES
    variants = ["ei_ln", "e_ln", "inorm_gn", "inorm_gn_rowmean"]
    nets = {v: Net(v) for v in variants}
    best_torch = {v: float("inf") for v in variants}
    best_ein = {}
    for r in range(rounds):
        for v, t in ein_step_ms(bench_step, 100).items():
            best_ein[v] = min(best_ein.get(v, float("inf")), t)
        for v in variants:
            best_torch[v] = min(best_torch[v], torch_step_ms(nets[v], x, y, 60))
    print("bench_torch: M7 net 784-500-500-10, batch 32, float32, SGD + Dale clamps; torch %s, "
          "%d intra-op thread(s), OPENBLAS_NUM_THREADS=%s, OpenBLAS kernels %s; best of %d rounds"
          % (torch.__version__, torch.get_num_threads(), os.environ["OPENBLAS_NUM_THREADS"],
             os.environ.get("OPENBLAS_CORETYPE", "as OpenBLAS detects"), rounds))
    print("%-18s %12s %12s %10s" % ("variant", "torch ms", "ein ms", "torch/ein"))
    for v in variants:
        mine = best_ein.get(v.replace("_rowmean", ""))
        print("%-18s %12.3f %12.3f %9.2fx" % (v, best_torch[v], mine, best_torch[v] / mine))
    print("(inorm_gn: d = sqrt(q B_eiᵀ + ε) with the ne × ne product, as the paper's code; "
          "inorm_gn_rowmean: PyTorch given ein's row-mean shortcut for the frozen uniform B_ei)")


if __name__ == "__main__":
    main()
