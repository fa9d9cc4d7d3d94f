"""The checks of the options every technique shares (`GANTechnique`'s arguments), each a one-line ConfigError that
names the setting and a value that works."""

from typing import Optional

from lightning_gans.errors import require
from lightning_gans.techniques.optimizers import LR_SCHEDULES, OPTIMIZERS


def check_loop_options(*, n_critic: int, lr_g: float, lr_d: float, betas: tuple[float, float], ema_kimg: float,
                       ema_rampup: Optional[float], g_batch_multiple: int, lr_schedule: str, optimizer: str,
                       max_g_steps: Optional[int], max_kimg: Optional[float], max_nonfinite_skips: int,
                       diagnostics_every: int) -> None:
    require(n_critic >= 1, "model.n_critic", n_critic, "use an integer >= 1")
    for key, lr in (("model.lr_g", lr_g), ("model.lr_d", lr_d)):
        require(lr > 0, key, lr, "learning rates must be > 0")
    require(all(0 <= b < 1 for b in betas), "model.betas", betas, "each beta must be in [0, 1)")
    require(ema_kimg > 0, "model.ema_kimg", ema_kimg, "use a half-life > 0 in kimg (StyleGAN2-ADA: 10; cifar: 500)")
    require(ema_rampup is None or ema_rampup > 0, "model.ema_rampup", ema_rampup,
            "use a fraction > 0 (StyleGAN2-ADA: 0.05), or null for the fixed ema_kimg")
    require(g_batch_multiple >= 1, "model.g_batch_multiple", g_batch_multiple, "use an integer >= 1 (reference: 2)")
    require(lr_schedule in LR_SCHEDULES, "model.lr_schedule", lr_schedule, f"choose one of {list(LR_SCHEDULES)}")
    require(lr_schedule == "constant" or max_g_steps is not None, "model.lr_schedule", lr_schedule,
            "a decay needs model.max_g_steps, the step where it reaches 0")
    require(optimizer in OPTIMIZERS, "model.optimizer", optimizer, f"choose one of {sorted(OPTIMIZERS)}")
    require(max_g_steps is None or max_g_steps >= 1, "model.max_g_steps", max_g_steps, "use >= 1 or null")
    require(max_kimg is None or max_kimg > 0, "model.max_kimg", max_kimg, "use > 0 or null")
    require(max_nonfinite_skips >= 0, "model.max_nonfinite_skips", max_nonfinite_skips, "use an integer >= 0")
    require(diagnostics_every >= 1, "model.diagnostics_every", diagnostics_every, "use an integer >= 1")
