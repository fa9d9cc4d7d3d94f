"""The EMA of the generator that samples and evaluations use, as StyleGAN2-ADA keeps it: its half-life is counted
in real images shown to D (`ema_kimg` thousand), so it means the same at any batch size and n_critic.

With `rampup` the half-life is at most that fraction of the images seen before the update, so the first update
copies G and early averages forget the random initialisation (stylegan2-ada-pytorch, training/training_loop.py:
ema_nimg = min(ema_kimg * 1000, cur_nimg * ema_rampup); ema_beta = 0.5 ** (batch_size / ema_nimg)).
"""

from typing import Optional

import torch
from torch import nn

BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


def ema_beta(images_per_update: float, images_before: float, ema_kimg: float, rampup: Optional[float]) -> float:
    """Decay of one EMA update that follows `images_per_update` real images, `images_before` having come before
    them: 0.5 ** (images_per_update / half-life), the half-life being ema_kimg * 1000 images, capped at
    rampup * images_before."""
    half_life = ema_kimg * 1000
    if rampup is not None:
        half_life = min(half_life, images_before * rampup)
    return 0.5 ** (images_per_update / max(half_life, 1e-8))


@torch.no_grad()
def update_ema(ema: nn.Module, live: nn.Module, beta: float) -> None:
    """ema <- beta * ema + (1 - beta) * live for the parameters and the BatchNorm running statistics (the live
    G's belong to its own weights); other buffers (StyleGAN's w_avg) are copied."""
    for ema_param, param in zip(ema.parameters(), live.parameters()):
        ema_param.lerp_(param, 1.0 - beta)
    for ema_module, module in zip(ema.modules(), live.modules()):
        for ema_buffer, buffer in zip(ema_module.buffers(recurse=False), module.buffers(recurse=False)):
            if isinstance(module, BATCH_NORMS) and buffer.is_floating_point():
                ema_buffer.lerp_(buffer, 1.0 - beta)
            else:
                ema_buffer.copy_(buffer)
