"""The optimisers of G and D: separate learning rates (TTUR, Heusel et al. 2017), StyleGAN2's correction of Adam for
a network regularised in a step of its own, and the learning-rate schedule."""

from typing import Optional

import torch
from torch import nn
from torch.optim.lr_scheduler import LambdaLR

OPTIMIZERS = {"adam": torch.optim.Adam, "rmsprop": torch.optim.RMSprop}
LR_SCHEDULES = ("constant", "linear")
# Devices where Adam takes its fused kernel (all parameters in one kernel): on the CPU PyTorch otherwise loops over
# the parameters, several times slower (`benchmarks/throughput.py --adam`).
FUSED_ADAM_DEVICES = ("cpu", "cuda")


def lr_factor(g_step: int, schedule: str, max_g_steps: Optional[int]) -> float:
    """Learning rate of the updates after `g_step` generator updates, as a fraction of the configured one:
    1 (constant), or 1 - g_step / max_g_steps (linear: decays to 0 over the budget)."""
    return 1.0 if schedule == "constant" else max(0.0, 1.0 - g_step / max_g_steps)


def build_optimizers(generator: nn.Module, critic: nn.Module, optimizer: str, lr_g: float, lr_d: float,
                     betas: tuple[float, float], lazy_intervals: dict[str, Optional[int]], lr_schedule: str,
                     max_g_steps: Optional[int], device: torch.device):
    """[G's, D's] optimiser, and with a decaying `lr_schedule` their schedulers (what `configure_optimizers`
    returns). `lazy_intervals` holds k for a network with a regularisation step of its own every k steps."""
    optimizer_class = OPTIMIZERS[optimizer]
    kwargs = {"fused": True} if optimizer == "adam" and device.type in FUSED_ADAM_DEVICES else {}
    optimizers = []
    for network, module, lr in (("g", generator, lr_g), ("d", critic, lr_d)):
        # StyleGAN2's correction for a network with a regularisation step of its own every k steps: Adam then takes
        # k + 1 steps where it would take k, so lr * k/(k+1) and betas ** (k/(k+1)).
        k = lazy_intervals[network]
        ratio = 1.0 if k is None else k / (k + 1)
        adam_betas = {"betas": tuple(beta ** ratio for beta in betas)} if optimizer == "adam" else {}
        optimizers.append(optimizer_class(module.parameters(), lr=lr * ratio, **adam_betas, **kwargs))
    if lr_schedule == "constant":
        return optimizers
    # Both step once per G step, so their step count is g_step; Lightning keeps their state in checkpoints.
    schedulers = [LambdaLR(optimizer, lambda g_step: lr_factor(g_step, lr_schedule, max_g_steps))
                  for optimizer in optimizers]
    return optimizers, schedulers
