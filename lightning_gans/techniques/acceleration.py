"""What makes a step faster without changing what it computes: `torch.compile` of the networks' plain forward
passes, cuDNN's autotuner and TF32 matmuls on a GPU (`apply_backend_flags`), and the memory format each device
trains in by default (`default_channels_last`)."""

from typing import Callable, Optional

import torch
from torch import nn

from lightning_gans.errors import require

COMPILE_MODES = ("default", "reduce-overhead", "max-autotune")


def check_compile_mode(mode: Optional[str]) -> None:
    require(mode is None or mode in COMPILE_MODES, "model.compile", mode,
            f"choose one of {', '.join(COMPILE_MODES)}, or null for eager")


def compiled_forward(module: nn.Module, mode: Optional[str]) -> Callable[..., torch.Tensor]:
    """`module` itself (mode None), or a `torch.compile`d callable of it that shares its parameters and buffers. The
    callable is not a submodule of the technique (the caller keeps it outside its `nn.Module` attributes), so the
    state_dict and checkpoints hold the module's own names, without `_orig_mod`."""
    return module if mode is None else torch.compile(module, mode=mode)


def apply_backend_flags(device: torch.device, cudnn_benchmark: bool, allow_tf32: bool) -> None:
    """On CUDA: cuDNN's autotuner (`torch.backends.cudnn.benchmark`: the fastest convolution algorithm for each input
    shape, picked on its first use) and TF32 in matmuls and convolutions (stylegan2-ada's `allow_tf32`, off by
    default there too: TF32 rounds the inputs' mantissas to 10 bits). Nothing on other devices."""
    if device.type != "cuda":
        return
    torch.backends.cudnn.benchmark = cudnn_benchmark
    torch.backends.cuda.matmul.allow_tf32 = allow_tf32
    torch.backends.cudnn.allow_tf32 = allow_tf32


def default_channels_last(device: torch.device) -> bool:
    """Whether a technique with `channels_last: null` trains on `device` in channels_last memory format: on the CPU,
    where oneDNN's convolutions ran faster in it for most techniques and slower for none (README, Speed); elsewhere
    contiguous, the format the networks are built in (not measured on a GPU)."""
    return device.type == "cpu"
