"""The evaluation protocols of a run, parsed once: `FIDProtocol` for image runs (the `fid` section of a config) and
`ToyProtocol` for toy 2-D runs (`toy_metrics`). The dataclasses' defaults are the one table of defaults: the training
callbacks take these fields as their arguments, and `evaluate` and the bench read a run's section with `from_config`."""

from dataclasses import dataclass, fields
from typing import Optional

import torch
from torch import nn

from lightning_gans.errors import ConfigError, require
from lightning_gans.metrics import build_feature_extractor
from lightning_gans.metrics.evaluation import Sampler, image_metrics, toy_metrics
from lightning_gans.metrics.reference import RealStatistics

SCHEDULE_KEY = "every_n_g_steps"  # beside the protocol in a config section: when the callback evaluates, not how


def parse_section(protocol_type, section: Optional[dict], config_key: str):
    """`protocol_type` built from a config section, defaults for what it leaves out, the schedule ignored; an
    unknown key is a one-line ConfigError."""
    section = {key: value for key, value in (section or {}).items() if key != SCHEDULE_KEY}
    known = [f.name for f in fields(protocol_type)]
    unknown = sorted(set(section) - set(known))
    if unknown:
        raise ConfigError(f"{config_key}.{unknown[0]} is not a setting of the {config_key} protocol",
                          f"use {', '.join(known)} or {SCHEDULE_KEY}", f"{config_key}.{unknown[0]}", section[unknown[0]])
    return protocol_type(**section)


@dataclass(frozen=True)
class FIDProtocol:
    """How FID/KID (and precision/recall, IS, class coverage) are measured: the extractor's name (None: no
    evaluation), the number of fakes and of real images of `reference_split`, the batch size of the generator and the
    extractor, the extractor's weights file, KID's subset size, and the seed of the latent codes, KID's subsets and
    the choice of real images. What each means to a user: `training.metric_callbacks.FIDCallback` (`fit --help`)."""

    extractor: Optional[str] = None
    num_samples: int = 10_000
    reference_split: str = "train"
    batch_size: int = 250
    feature_extractor_weights_path: Optional[str] = None
    kid_subset_size: int = 1000
    seed: int = 0

    def __post_init__(self):
        require(self.num_samples >= 2, "fid.num_samples", self.num_samples, "use an integer >= 2 (10000 is the usual)")
        require(self.reference_split in ("train", "test"), "fid.reference_split", self.reference_split,
                "choose train or test")
        require(self.batch_size >= 1, "fid.batch_size", self.batch_size, "use an integer >= 1")

    @classmethod
    def from_config(cls, section: Optional[dict]) -> "FIDProtocol":
        """The protocol of a run's `fid` section (config.yaml), defaults for what it leaves out."""
        return parse_section(cls, section, "fid")

    def build_extractor(self) -> nn.Module:
        """The feature extractor the protocol names (the one place that reads `extractor`)."""
        if self.extractor is None:
            raise ConfigError("the run's config has fid.extractor=null", "pass --extractor NAME (e.g. lenet-fmnist or inception)")
        return build_feature_extractor(self.extractor, self.feature_extractor_weights_path)

    def require_class_samples(self, num_classes: Optional[int]) -> None:
        """A conditional generator of `num_classes` classes needs 2 samples a class for the intra-class FID."""
        if num_classes is not None:
            require(self.num_samples >= 2 * num_classes, "fid.num_samples", self.num_samples,
                    f"the intra-class FID needs at least 2 samples of each of the {num_classes} classes: "
                    f"use at least {2 * num_classes}")

    def reference(self, data, num_classes: Optional[int] = None) -> RealStatistics:
        """The real side of an image data module (`dataset`, `root`, `resolution`): `num_samples` images of the split,
        with their labels and per-class statistics for a conditional generator of `num_classes` classes."""
        self.require_class_samples(num_classes)
        return RealStatistics(data.dataset, data.root, self.reference_split, data.resolution, self.num_samples, self.seed,
                              num_classes)

    def measure(self, sample: Sampler, extractor: nn.Module, real: dict[str, torch.Tensor], latent_dim: int,
                device="cpu", progress: bool = False, label_distribution: Optional[torch.Tensor] = None,
                dataset: Optional[str] = None) -> dict[str, float]:
        """`evaluation.image_metrics` of a generator under this protocol (conditional with `label_distribution`, its
        labels those of `dataset`)."""
        return image_metrics(sample, extractor, real, self.reference_split, self.num_samples, latent_dim, self.seed,
                             self.batch_size, self.kid_subset_size, device, progress, label_distribution, dataset)


@dataclass(frozen=True)
class ToyProtocol:
    """How a toy 2-D run is measured: `num_samples` generated points from latent codes of `seed`."""

    num_samples: int = 2500
    seed: int = 0

    @classmethod
    def from_config(cls, section: Optional[dict]) -> "ToyProtocol":
        """The protocol of a run's `toy_metrics` section (config.yaml), defaults for what it leaves out."""
        return parse_section(cls, section, "toy_metrics")

    def measure(self, sample: Sampler, data, latent_dim: int,
                label_distribution: Optional[torch.Tensor] = None) -> dict[str, float]:
        """`evaluation.toy_metrics` of a generator on a toy data module (`modes`, `mode_std`, `train_samples`),
        conditional with `label_distribution` (label k asks for mode k)."""
        return toy_metrics(sample, data.modes, data.mode_std, data.train_samples, self.num_samples, latent_dim, self.seed,
                           label_distribution)
