"""Writes test/io/fixtures/all-dtypes.safetensors with the reference `safetensors` package.

One tensor per dtype, values from independent formulas (no randomness) that the TS test
recomputes: f_k = (k - 3) * 0.375 (exact in every float dtype, incl. bf16/f16), ints = k - 3
(U8/BOOL: k % 2 for BOOL, k for U8), plus a 0-d scalar, an empty tensor and metadata.

usage: python safetensors_fixture.py OUT.safetensors
"""
import sys

import torch
from safetensors.torch import save_file


def main():
    n = 6
    k = torch.arange(n, dtype=torch.float64)
    f = (k - 3) * 0.375
    tensors = {
        "f64": f.reshape(2, 3).to(torch.float64),
        "f32": f.reshape(3, 2).to(torch.float32),
        "f16": f.reshape(1, 6).to(torch.float16),
        "bf16": f.reshape(6).to(torch.bfloat16),
        "i64": (k - 3).to(torch.int64).reshape(2, 3),
        "i32": (k - 3).to(torch.int32).reshape(2, 3),
        "i16": (k - 3).to(torch.int16).reshape(2, 3),
        "i8": (k - 3).to(torch.int8).reshape(2, 3),
        "u8": k.to(torch.uint8).reshape(2, 3),
        "bool": (k.to(torch.int64) % 2).to(torch.bool).reshape(2, 3),
        "scalar": torch.tensor(2.5, dtype=torch.float32),
        "empty": torch.zeros(0, 4, dtype=torch.bfloat16),
    }
    save_file(tensors, sys.argv[1], metadata={"format": "pt", "note": "ovis-ts fixture"})


if __name__ == "__main__":
    main()
