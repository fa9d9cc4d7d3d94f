"""The training progress bar in the units of the run: generator steps (or kimg when the budget is only in kimg).

One tqdm bar from the first to the last step of a run: percentage of the budget, elapsed time and ETA at the
average rate of this session, then the counters, img/s since the session started (computed as the logged
`perf/img_per_s`, by `TrainingProgress.images_per_second`) and the losses. The losses are device values: they are
read only when the text is redrawn, at most every `mininterval` (0.1 s), so the steps in between never wait for the
device. It stays on the screen after the run. A run on the CPU whose budget would take more than an hour says so
once, near the start.
"""

import sys
import time
from typing import Optional

import torch
from pytorch_lightning.callbacks import TQDMProgressBar
from pytorch_lightning.callbacks.progress.tqdm_progress import Tqdm

from lightning_gans.training.contract import GANModule, ProgressMark

PROGRESS_BAR_KEYS = ("loss/d", "loss/g")  # of the latest generator step's terms (`training_step`'s outputs)
ESTIMATE_AFTER_G_STEPS = 20  # the rate the long-run notice extrapolates from
LONG_RUN_S = 3600.0


def long_run_notice(seconds_so_far: float, done: float, left: float, unit: str, budget_key: str) -> Optional[str]:
    """The line that tells a CPU user a run will take more than an hour at its rate so far (`done` units in
    `seconds_so_far`, `left` to go), or None."""
    if done <= 0 or seconds_so_far <= 0:
        return None
    estimate = left * seconds_so_far / done
    if estimate <= LONG_RUN_S:
        return None
    affordable = max(1, int(done / seconds_so_far * LONG_RUN_S))
    return (f"lightning-gans: at {done / seconds_so_far:.3g} {unit}/s on the CPU this budget takes about "
            f"{estimate / 3600:.1f} h more; for an hour pass {budget_key} {affordable}")


class GeneratorStepProgressBar(TQDMProgressBar):
    """Lightning's tqdm bar counting the technique's `progress.g_step` (or `progress.kimg` when the budget is only in
    kimg) towards its `budget`, instead of batches of an epoch."""

    def __init__(self):
        super().__init__(leave=True)
        self.start: Optional[ProgressMark] = None  # where this session began
        self.start_g_step = 0
        self.notice_checked = False
        self.losses: dict = {}  # the latest generator step's terms, still on the device
        self.next_postfix_s = 0.0  # time.monotonic() from when the postfix may be redrawn

    @staticmethod
    def position(pl_module: GANModule) -> float:
        progress = pl_module.progress
        return round(progress.kimg, 1) if pl_module.budget.in_kimg else progress.g_step

    def init_train_tqdm(self) -> Tqdm:
        module: GANModule = self.trainer.lightning_module
        budget = module.budget
        total = budget.max_kimg if budget.in_kimg else budget.max_g_steps
        count = "{n:.1f}/{total:g} kimg" if budget.in_kimg else "{n}/{total} G steps"
        bar_format = "{desc}: {percentage:3.0f}%|{bar}| " + count + " [{elapsed}<{remaining}{postfix}]"
        if total is None:  # no budget: a count without percentage or ETA
            bar_format = "{desc}: {n} G steps [{elapsed}{postfix}]"
        return Tqdm(desc=module.name, initial=self.position(module), total=total, disable=self.is_disabled, leave=True,
                    dynamic_ncols=True, file=sys.stdout, smoothing=0, bar_format=bar_format)

    def on_train_start(self, trainer, pl_module: GANModule) -> None:
        super().on_train_start(trainer, pl_module)
        self.start, self.start_g_step = pl_module.progress.mark(), pl_module.progress.g_step

    def on_train_epoch_start(self, trainer, *_) -> None:
        """One bar for the whole run: the data stream is one endless epoch, and its number means nothing here."""

    def on_train_batch_end(self, trainer, pl_module: GANModule, outputs, batch, batch_idx) -> None:
        bar = self.train_progress_bar
        if outputs is not None:
            self.losses = outputs
        if bar is None or bar.disable or self.position(pl_module) == bar.n:
            return
        if time.monotonic() >= self.next_postfix_s:
            self.next_postfix_s = time.monotonic() + bar.mininterval
            bar.set_postfix_str(self.postfix(trainer, pl_module), refresh=False)
        bar.update(self.position(pl_module) - bar.n)  # redrawn at most every 0.1 s (tqdm's mininterval)
        if not self.notice_checked and pl_module.progress.g_step - self.start_g_step >= ESTIMATE_AFTER_G_STEPS:
            self.notice_checked = True
            self.tell_if_long(pl_module)

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        """The bar closes with the run (`on_train_end`), not with the epoch."""

    def on_train_end(self, trainer, pl_module: GANModule) -> None:
        """The bar's last line holds the last step's counters and losses."""
        bar = self.train_progress_bar
        if bar is not None and not bar.disable:
            bar.set_postfix_str(self.postfix(trainer, pl_module), refresh=False)
        super().on_train_end(trainer, pl_module)

    def postfix(self, trainer, pl_module: GANModule) -> str:
        progress = pl_module.progress
        other_counter = f"g_step={progress.g_step}" if pl_module.budget.in_kimg else f"kimg={progress.kimg:.1f}"
        parts = [other_counter, f"img/s={progress.images_per_second(self.start):.0f}"]
        losses = [key for key in PROGRESS_BAR_KEYS if key in self.losses]
        if losses:
            parts += [f"{key}={value:.3g}" for key, value in zip(losses, torch.stack(
                [self.losses[key].float() for key in losses]).tolist())]  # one synchronisation
        return ", ".join(parts)

    def tell_if_long(self, pl_module: GANModule) -> None:
        if pl_module.device.type != "cpu" or self.train_progress_bar.total is None:
            return
        progress, budget = pl_module.progress, pl_module.budget
        seconds = progress.clock.seconds() - self.start.seconds
        if budget.in_kimg:
            done, left = (progress.images_seen - self.start.images_seen) / 1000, budget.max_kimg - progress.kimg
            notice = long_run_notice(seconds, done, left, "kimg", "--model.max_kimg")
        else:
            done, left = progress.g_step - self.start_g_step, budget.max_g_steps - progress.g_step
            notice = long_run_notice(seconds, done, left, "G steps", "--model.max_g_steps")
        if notice:
            self.train_progress_bar.write(notice, file=sys.stdout)
