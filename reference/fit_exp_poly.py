"""Polynomial coefficients of the f32 exp kernels in kernels/vmath.ts (numpy only).

    reference/.venv/bin/python reference/fit_exp_poly.py

Fits, for relative error, degree-6 polynomials with P(0) = 1 exactly:
  e^r  on |r| <= ln2/2   (vexp_nonpos: softmax's exp after the Cody-Waite reduction)
  2^f  on |f| <= 1/2     (vexp2: gelu's e^z written as 2^(z·log2 e))
by Lawson's iteratively reweighted least squares on Chebyshev points (converges to the
minimax fit), then rounds each coefficient to f32 and reports the relative error of the
rounded polynomial evaluated in f64 — the part of the kernels' error that is the
approximation's, not the f32 arithmetic's (that is measured against the twins in
test/kernels/row-ops.test.ts).
"""

import numpy as np


def fit(fn, lo, hi, deg, iters=300):
    x = np.cos(np.linspace(0, np.pi, 4000)) * (hi - lo) / 2 + (lo + hi) / 2
    y = fn(x)
    a = np.stack([x**k for k in range(1, deg + 1)], 1) / y[:, None]  # P(0) = 1 fixed
    rhs = (y - 1) / y
    w = np.full(len(x), 1 / len(x))
    for _ in range(iters):
        sw = np.sqrt(w)
        c, *_ = np.linalg.lstsq(a * sw[:, None], rhs * sw, rcond=None)
        err = np.abs(a @ c - rhs)
        w = w * err + 1e-300
        w /= w.sum()
    return np.concatenate([[1.0], c])


def main():
    u = 2.0**-24
    for name, fn, half in (("e^r", np.exp, np.log(2) / 2 + 1e-4), ("2^f", lambda f: 2.0**f, 0.5)):
        c32 = fit(fn, -half, half, 6).astype(np.float32)
        xs = np.linspace(-half, half, 400001)
        p = np.zeros_like(xs)
        for k in range(6, -1, -1):
            p = p * xs + float(c32[k])
        err = np.max(np.abs(p / fn(xs) - 1))
        print(f"{name} on [-{half:.4f}, {half:.4f}], degree 6, f32 coefficients: max rel err {err:.3g} = {err / u:.2f} u")
        for k, v in enumerate(c32):
            print(f"  c{k} = {float(v)!r}")
    # gelu: z = -2·sqrt(2/pi)·(x + 0.044715·x^3); w = z·log2(e) = x·(k1 + k2·x²)
    k1 = -2 * np.sqrt(2 / np.pi) / np.log(2)
    print(f"gelu w = x·(k1 + k2·x²): k1 = {float(np.float32(k1))!r}, k2 = {float(np.float32(k1 * 0.044715))!r}")


if __name__ == "__main__":
    main()
