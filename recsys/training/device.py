"""Which torch device a run trains on (``auto`` decided once, the same way everywhere)."""

from __future__ import annotations

import torch

from recsys.config import Device


def resolve_device(device: Device) -> torch.device:
    """``auto`` -> cuda when available, else cpu; asking for cuda without one is an error.

    Raises:
        RuntimeError: ``device="cuda"`` on a machine without a usable GPU (no silent
            fallback: a run meant for the GPU must not quietly take 100x longer).
    """
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device='cuda' was asked for but no CUDA GPU is available; use cpu")
    return torch.device(device)
