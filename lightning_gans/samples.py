"""Sample grids from a fixed latent batch, written as PNG files while training."""

from pathlib import Path

import torch
from torchvision.utils import save_image

from lightning_gans.sampling import latents_for_indices
from lightning_gans.schedule import EveryNGeneratorSteps


def points_to_image(points: torch.Tensor, extent: float = 5.0, size: int = 256) -> torch.Tensor:
    """A 2-D sample as a (1, size, size) density image over [-extent, extent]^2, for toy data."""
    histogram, _ = torch.histogramdd(
        points.float().cpu(), bins=[size, size], range=[-extent, extent, -extent, extent]
    )
    image = histogram.T.flip(0)  # x to the right, y up
    return (image / image.max().clamp(min=1)).sqrt().unsqueeze(0)


class SampleGrid(EveryNGeneratorSteps):
    """Every `every_n_g_steps` generator steps, rank 0 writes `samples/g<step>.png` from a fixed z.

    The z batch is the evaluation's samples 0..num_samples-1 (`sampling.latents_for_indices`), so grids of
    different steps, runs and techniques show the same latent codes and training's RNG stream is untouched."""

    config_key = "samples.every_n_g_steps"

    def __init__(self, every_n_g_steps: int = 500, num_samples: int = 64, seed: int = 0, dirpath: str | None = None):
        super().__init__(every_n_g_steps)
        self.num_samples = num_samples
        self.seed = seed
        self.dirpath = dirpath

    def setup(self, trainer, pl_module, stage):
        if self.dirpath is None:
            self.dirpath = str(Path(trainer.default_root_dir) / "samples")

    def on_schedule(self, trainer, pl_module):
        if not trainer.is_global_zero:
            return
        samples = pl_module.sample(latents_for_indices(0, self.num_samples, pl_module.hparams.latent_dim, self.seed))
        samples = samples.float().cpu()
        path = Path(self.dirpath) / f"g{pl_module.g_step:07d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        if samples.ndim == 2:
            save_image(points_to_image(samples), path)
        else:
            save_image(samples, path, nrow=int(self.num_samples**0.5), normalize=True, value_range=(-1, 1))
