"""A checkpoint read once before training: its tensors and the technique's counters, checked to be a readable
lightning-gans checkpoint, then handed to whatever needs them (the fit check, the budget check, `--init_from`)."""

import copy
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch

from lightning_gans.errors import ConfigError

RESUME_FIX = "resume with --config <run directory>/config.yaml"


@dataclass(frozen=True)
class CheckpointInfo:
    path: Path
    counters: dict  # the technique's own section ("lightning_gans"): g_step, images_seen, ...
    state_dict: dict[str, torch.Tensor] = field(repr=False)

    @classmethod
    def load(cls, path: str | Path) -> "CheckpointInfo":
        """Read `path` (on the CPU, tensors only); a one-line ConfigError unless it is a readable lightning-gans
        checkpoint."""
        if not os.path.isfile(path):
            raise ConfigError(f"checkpoint {path} not found", "pass an existing .ckpt file or --ckpt_path last")
        try:
            checkpoint = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as error:  # a truncated zip, random bytes and a foreign pickle all land here
            raise ConfigError(f"checkpoint {path} is corrupt or unreadable ({type(error).__name__})",
                              "resume from another file in its checkpoints/ directory") from None
        if not isinstance(checkpoint, dict) or "lightning_gans" not in checkpoint or "state_dict" not in checkpoint:
            raise ConfigError(f"checkpoint {path} was not written by lightning-gans", "pass a checkpoint of a lightning-gans run")
        return cls(Path(path), checkpoint["lightning_gans"], checkpoint["state_dict"])

    @property
    def g_step(self) -> int:
        return self.counters["g_step"]

    @property
    def images_seen(self) -> int:
        return self.counters["images_seen"]

    def state_dict_for(self, model: torch.nn.Module) -> dict[str, torch.Tensor]:
        """The networks' tensors as `model` loads them: a checkpoint of an older version gets what it lacks from the
        technique's `upgrade_checkpoint` (`training.contract`; e.g. ADA's p, a buffer since)."""
        checkpoint = {"state_dict": dict(self.state_dict), "lightning_gans": copy.deepcopy(self.counters)}
        if hasattr(model, "upgrade_checkpoint"):
            model.upgrade_checkpoint(checkpoint)
        return checkpoint["state_dict"]

    def require_fits(self, model: torch.nn.Module, fix: str = RESUME_FIX) -> None:
        """A one-line ConfigError unless the checkpoint's tensors have the names and shapes of `model`'s."""
        shapes = {name: tensor.shape for name, tensor in self.state_dict_for(model).items()}
        if shapes != {name: tensor.shape for name, tensor in model.state_dict().items()}:
            raise ConfigError(f"checkpoint {self.path} holds other networks than the configuration builds", fix)
