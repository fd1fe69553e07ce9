"""torch's f32 gelu(approximate='tanh') against an f64 evaluation of the same function.

    reference/.venv/bin/python reference/gelu_error.py

Prints the worst relative error in units of u = 2^-24 per range of x — the yardstick for
the f32 gelu kernel's bound in kernels/ops.ts (docs/kernels.md, "Row and elementwise kernels
vs read bandwidth", prints both).
"""

import torch


def main():
    x = torch.linspace(-12, 12, 2_400_001, dtype=torch.float64).to(torch.float32)
    got = torch.nn.functional.gelu(x, approximate="tanh").to(torch.float64)
    xd = x.to(torch.float64)
    z = 2 * (2 / torch.pi) ** 0.5 * (xd + 0.044715 * xd**3)
    want = xd * torch.sigmoid(z)
    rel = ((got - want).abs() / want.abs().clamp_min(1e-300)) / 2.0**-24
    print(f"torch {torch.__version__}, f32 gelu(approximate='tanh') vs f64, worst relative error in u:")
    for lo, hi in ((-12, -8), (-8, -5), (-5, -3), (-3, -1), (-1, 1), (1, 12)):
        m = (x >= lo) & (x < hi) & (want != 0)
        r = rel[m]
        zero = int(((got == 0) & (want != 0) & (x >= lo) & (x < hi)).sum())
        print(f"  x in [{lo:>3}, {hi:>3}): max {r.max().item():.3g} u, median {r.median().item():.3g} u, exact zeros for nonzero y: {zero}")


if __name__ == "__main__":
    main()
