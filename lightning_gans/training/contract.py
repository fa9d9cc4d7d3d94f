"""The contract between a technique and what runs around it: what callbacks and commands may read of a technique.

A technique (`techniques.GANTechnique`) is a `GANModule`: it owns its `progress` (the counters, the wall clock)
and its `budget`, records its training statistics in `stats`, and samples with `sample(z)` (`sample(z, labels)` when
conditional). Callbacks read these and nothing else of it, so a technique can change everything else without
touching them.

Values a technique resolves from its configuration (SNGAN's n_critic per architecture) are typed attributes of
the technique; `hparams` keeps the configuration as it was given.
"""

import time
from dataclasses import dataclass, field
from typing import Optional, Protocol, runtime_checkable

import torch
from torch import nn

from lightning_gans.training.stats import StatsWindow


@dataclass(frozen=True)
class TrainingBudget:
    """Training stops at whichever comes first: `max_g_steps` generator steps or `max_kimg` thousand real images
    shown to D (summed over processes); None leaves that limit out."""

    max_g_steps: Optional[int] = None
    max_kimg: Optional[float] = None

    def reached(self, g_step: int, images_seen: int) -> bool:
        return (self.max_g_steps is not None and g_step >= self.max_g_steps) or (
            self.max_kimg is not None and images_seen >= self.max_kimg * 1000
        )

    @property
    def in_kimg(self) -> bool:
        """True when kimg is the only limit (the progress bar then counts kimg)."""
        return self.max_g_steps is None and self.max_kimg is not None


class WallClock:
    """Seconds of training of a run, evaluations included, summed over its sessions: a resumed run starts a new
    session on top of the seconds its checkpoint holds."""

    def __init__(self, seconds_before: float = 0.0):
        self.seconds_before = seconds_before  # the earlier sessions' seconds
        self.session_start: Optional[float] = None  # perf_counter() when this session's training began

    def start_session(self) -> None:
        self.session_start = time.perf_counter()

    def seconds(self) -> float:
        if self.session_start is None:
            return self.seconds_before
        return self.seconds_before + time.perf_counter() - self.session_start


@dataclass(frozen=True)
class ProgressMark:
    """A point of a run to measure the rate since: its training seconds and the images seen by then."""

    seconds: float
    images_seen: int


@dataclass
class TrainingProgress:
    """Where a run stands. `images_seen` (real images shown to D, summed over processes) also positions the data
    stream. Saved in checkpoints under their own names (`state_dict`)."""

    d_step: int = 0
    g_step: int = 0
    round_critic_steps: int = 0  # critic steps since the last generator step
    images_seen: int = 0
    clock: WallClock = field(default_factory=WallClock)

    @property
    def kimg(self) -> float:
        return self.images_seen / 1000

    def mark(self) -> ProgressMark:
        return ProgressMark(self.clock.seconds(), self.images_seen)

    def images_per_second(self, since: ProgressMark) -> float:
        """Real images shown to D per second of training since `since` (the logged `perf/img_per_s` and the
        progress bar's img/s)."""
        return (self.images_seen - since.images_seen) / max(self.clock.seconds() - since.seconds, 1e-9)

    def state_dict(self) -> dict:
        return {"d_step": self.d_step, "g_step": self.g_step, "round_critic_steps": self.round_critic_steps,
                "images_seen": self.images_seen, "wall_time_s": self.clock.seconds()}

    def load_state_dict(self, state: dict) -> None:
        self.d_step, self.g_step = state["d_step"], state["g_step"]
        self.round_critic_steps, self.images_seen = state["round_critic_steps"], state["images_seen"]
        self.clock = WallClock(state["wall_time_s"])


@runtime_checkable
class GANModule(Protocol):
    """What callbacks and commands read of a technique (`techniques.GANTechnique` is one)."""

    name: str  # the technique's registry name, and its run directory's parent
    latent_dim: int
    data_shape: tuple[int, ...]
    budget: TrainingBudget
    progress: TrainingProgress
    stats: StatsWindow  # the statistics recorded since the last logging step (`training.step_logging`)
    critic: nn.Module
    device: torch.device
    num_classes: Optional[int]  # None: unconditional; C: sample and critic take labels 0..C-1
    class_names: Optional[list[str]]  # the classes' names (None when unconditional)
    # A conditional technique also holds `label_distribution`, float (C,): the training labels' class frequencies
    # that its evaluation labels follow (a buffer, saved in its checkpoints).

    def sample(self, z: torch.Tensor, labels: Optional[torch.Tensor] = None, ema: bool = True) -> torch.Tensor:
        """Images (or points) for latent codes `z` (and `labels`, required when conditional), from the EMA generator
        by default."""

    def check_divergence(self, at: str) -> None:
        """Raise TrainingDiverged when more updates were skipped as non-finite than allowed (`training.divergence`).
        Its steps never wait for the device, so callbacks call this where they read it anyway: at logging steps,
        evaluations and checkpoints; `at` names the point."""

    def upgrade_checkpoint(self, checkpoint: dict) -> None:
        """Add in place what a checkpoint of an older version lacks, before its state_dict is compared or loaded."""
