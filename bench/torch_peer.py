"""PyTorch-CPU peer of the benchmarks: the same cases as the Deno benchmarks, timed the same way.

Usage: python3 bench/torch_peer.py '<json>' where the JSON is {"threads": 2, "cases": [...]}; prints one JSON
object {"torch": version, "threads": n, "blas": [mapped BLAS libraries], "results": [...]} with one result per
case, in order. Each case names
its kind and shape:

- {"kind": "sae", "dIn", "ratio", "batch", "l1", "fire" (null: at initialisation), "rounds", "steps"}
  one training step of the paper's untied SAE: c = ReLU(x W_eᵀ + b_e), D̂_j = D_j / max(‖D_j‖, 1e-8),
  x̂ = c D̂, L = mean((x̂ − x)²) + α · mean_rows(Σ_j |c_j|), Adam (1e-3, 0.9/0.999, 1e-8). With "fire" set, b_e
  is minus each feature's (1 − fire) quantile of its pre-activation on 256 sample rows, so about that fraction
  of features fire (the density of a trained SAE).
- {"kind": "neox_forward", "config", "batch", "seq", "layers" (null: to the logits), "rounds"}
  a parallel-residual GPT-NeoX forward without gradients: x + Attn(LN₁ x) + MLP(LN₂ x) per block, rotary on the
  first rotary_pct of each head, causal softmax attention, GELU MLP, final LayerNorm and unembedding.
- {"kind": "neox_train", "config", "batch", "seq", "rounds", "steps"}
  one pretraining step: the forward to the logits, the mean next-token cross-entropy over B·(T−1) positions,
  the backward pass, global-norm clipping to 1 and AdamW (2e-3, 0.9/0.95, 1e-8, decay 0.1 on every matrix).
- {"kind": "matmul", "m", "k", "n", "transposeA", "transposeB", "rounds", "steps"}
  one `torch.matmul(a, b, out=c)` into a preallocated [m×n] result, 2·m·n·k flops, as
  `packages/kernels/bench/matmul_bench.ts` calls our kernels: a is stored [k×m] when transposeA (else [m×k]) and
  b [n×k] when transposeB (else [k×n]), and the transposes are views of that storage (`.T`), not copies. The inputs
  are the benchmark's: element i of a is sin(0.37 i + 1), of b sin(0.37 i + 2). The result adds "gflops" (at the
  median) and "corners", the product's entries [c[0,0], c[0,n−1], c[m−1,0], c[m−1,n−1]], to check the layout.

Each case runs once to warm up, then `rounds` measurements of `steps` steps (1 for forwards); the result holds
every round's seconds per step and their median.
"""

import json
import math
import statistics
import sys
import time

import torch
import torch.nn.functional as F


def timed(step, rounds, steps):
    step()
    per_step = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        per_step.append((time.perf_counter() - start) / steps)
    return {"seconds": per_step, "median": statistics.median(per_step)}


def sae_case(case):
    d, n, rows = case["dIn"], case["ratio"] * case["dIn"], case["batch"]
    alpha, fire = case["l1"], case.get("fire")
    bound = math.sqrt(6 / (d + n))
    w_e = ((torch.rand(n, d) * 2 - 1) * bound).requires_grad_()
    dec = ((torch.rand(n, d) * 2 - 1) * bound).requires_grad_()
    b_e = torch.zeros(n)
    batches = [torch.rand(rows, d) * 2 - 1 for _ in range(2)]
    if fire is not None:
        with torch.no_grad():
            pre = batches[0][:256] @ w_e.T
            sorted_pre, _ = torch.sort(pre, dim=0)
            b_e = -sorted_pre[int((1 - fire) * (pre.shape[0] - 1))]
    b_e = b_e.clone().requires_grad_()
    opt = torch.optim.Adam([w_e, b_e, dec], lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    state = {"i": 0, "l0": float("nan")}

    def step():
        x = batches[state["i"] % 2]
        state["i"] += 1
        directions = dec / dec.norm(dim=1, keepdim=True).clamp(min=1e-8)
        codes = F.relu(x @ w_e.T + b_e)
        recon = codes @ directions
        loss = (recon - x).pow(2).mean() + alpha * codes.abs().sum(dim=1).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        state["codes"] = codes

    result = timed(step, case["rounds"], case["steps"])
    result["l0"] = float((state["codes"] > 0).sum(dim=1).float().mean())
    result["vectorsPerSecond"] = rows / result["median"]
    return result


class Neox(torch.nn.Module):
    """GPT-NeoX with parallel residual, from its config.json fields."""

    def __init__(self, c):
        super().__init__()
        d, f, v = c["hidden_size"], c["intermediate_size"], c["vocab_size"]
        self.heads = c["num_attention_heads"]
        self.head = d // self.heads
        self.rot = int(self.head * c.get("rotary_pct", 0.25))
        self.base = c.get("rotary_emb_base", 10000)
        eps = c.get("layer_norm_eps", 1e-5)
        self.embed = torch.nn.Embedding(v, d)
        self.blocks = torch.nn.ModuleList()
        for _ in range(c["num_hidden_layers"]):
            block = torch.nn.Module()
            block.ln1, block.ln2 = torch.nn.LayerNorm(d, eps=eps), torch.nn.LayerNorm(d, eps=eps)
            block.qkv, block.dense = torch.nn.Linear(d, 3 * d), torch.nn.Linear(d, d)
            block.fc, block.proj = torch.nn.Linear(d, f), torch.nn.Linear(f, d)
            self.blocks.append(block)
        self.final_ln = torch.nn.LayerNorm(d, eps=eps)
        self.unembed = torch.nn.Linear(d, v, bias=False)
        for p in self.parameters():
            if p.dim() == 2:
                torch.nn.init.normal_(p, std=0.02)

    def rotary(self, x, t):
        half = self.rot // 2
        inv = 1.0 / self.base ** (torch.arange(0, half, dtype=torch.float32) / half)
        angle = torch.arange(t, dtype=torch.float32)[:, None] * inv[None, :]
        cos, sin = torch.cat([angle.cos()] * 2, dim=-1), torch.cat([angle.sin()] * 2, dim=-1)
        r, rest = x[..., : self.rot], x[..., self.rot :]
        turned = torch.cat([-r[..., half:], r[..., :half]], dim=-1)
        return torch.cat([r * cos + turned * sin, rest], dim=-1)

    def attention(self, block, x):
        b, t, d = x.shape
        qkv = block.qkv(x).view(b, t, self.heads, 3 * self.head).transpose(1, 2)
        q, k, v = qkv.split(self.head, dim=-1)
        q, k = self.rotary(q, t), self.rotary(k, t)
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(self.head)
        mask = torch.ones(t, t, dtype=torch.bool).triu(1)
        weights = scores.masked_fill(mask, float("-inf")).softmax(dim=-1)
        return block.dense((weights @ v).transpose(1, 2).reshape(b, t, d))

    def forward(self, ids, layers=None):
        x = self.embed(ids)
        for block in self.blocks[: layers if layers is not None else len(self.blocks)]:
            x = x + self.attention(block, block.ln1(x)) + block.proj(F.gelu(block.fc(block.ln2(x))))
        if layers is not None:
            return x
        return self.unembed(self.final_ln(x))


def neox_forward_case(case):
    model = Neox(case["config"])
    ids = torch.randint(0, case["config"]["vocab_size"], (case["batch"], case["seq"]))

    def step():
        with torch.inference_mode():
            model(ids, case.get("layers"))

    result = timed(step, case["rounds"], 1)
    result["tokensPerSecond"] = case["batch"] * case["seq"] / result["median"]
    return result


def neox_train_case(case):
    model = Neox(case["config"])
    decay = [p for p in model.parameters() if p.dim() == 2]
    rest = [p for p in model.parameters() if p.dim() != 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.1}, {"params": rest, "weight_decay": 0.0}],
        lr=2e-3,
        betas=(0.9, 0.95),
        eps=1e-8,
    )
    ids = torch.randint(0, case["config"]["vocab_size"], (case["batch"], case["seq"]))

    def step():
        logits = model(ids)
        loss = F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    result = timed(step, case["rounds"], case["steps"])
    result["tokensPerSecond"] = case["batch"] * case["seq"] / result["median"]
    return result


def bench_values(count, seed):
    """matmul_bench.ts's inputs: sin(0.37 i + seed) in float32."""
    return torch.sin(torch.arange(count, dtype=torch.float64) * 0.37 + seed).float()


def matmul_case(case):
    m, k, n = case["m"], case["k"], case["n"]
    a = bench_values(m * k, 1).view(k, m).T if case["transposeA"] else bench_values(m * k, 1).view(m, k)
    b = bench_values(k * n, 2).view(n, k).T if case["transposeB"] else bench_values(k * n, 2).view(k, n)
    out = torch.empty(m, n)

    def step():
        torch.matmul(a, b, out=out)

    result = timed(step, case["rounds"], case["steps"])
    result["gflops"] = 2 * m * n * k / result["median"] / 1e9
    result["corners"] = [float(out[i, j]) for i, j in ((0, 0), (0, n - 1), (m - 1, 0), (m - 1, n - 1))]
    return result


CASES = {"sae": sae_case, "neox_forward": neox_forward_case, "neox_train": neox_train_case, "matmul": matmul_case}


def blas_libraries():
    """The BLAS libraries mapped into this process (Debian picks one through its alternatives)."""
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "blas" in line.lower()}
        return sorted(paths)
    except OSError:
        return []


def main():
    request = json.loads(sys.argv[1])
    torch.set_num_threads(request.get("threads", 2))
    torch.manual_seed(request.get("seed", 1))
    results = [CASES[case["kind"]](case) for case in request["cases"]]
    report = {"torch": torch.__version__, "threads": torch.get_num_threads(), "blas": blas_libraries()}
    print(json.dumps({**report, "results": results}))


if __name__ == "__main__":
    main()
