"""Sample grids from a fixed latent batch, written as PNG files (and W&B images) while training.

For toy 2-D data the "grid" is the picture of the WGAN-GP paper's figure 1: real and generated points over the
critic's contour map.
"""

from pathlib import Path

import torch
from pytorch_lightning.loggers import WandbLogger
from torch import nn
from torchvision.utils import save_image

from lightning_gans.metrics.sampling import latents_for_indices
from lightning_gans.training.periodic import EveryNGeneratorSteps


@torch.no_grad()
def save_critic_contour(path: Path, critic: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                        extent: float = 5.0, resolution: int = 128, title: str = "") -> None:
    """A PNG of real (orange) and generated (green) 2-D points over the contour map of the critic's scores on
    [-extent, extent]^2. The critic is evaluated in eval mode on its own device."""
    axis = torch.linspace(-extent, extent, resolution)
    grid_x, grid_y = torch.meshgrid(axis, axis, indexing="xy")
    device = next(critic.parameters()).device
    was_training = critic.training
    critic.eval()
    scores = critic(torch.stack([grid_x.flatten(), grid_y.flatten()], dim=1).to(device)).float().cpu()
    critic.train(was_training)
    from matplotlib.figure import Figure  # imported when a toy picture is drawn (fit imports less at startup)

    figure = Figure(figsize=(5.6, 5), dpi=100, layout="constrained")  # the same pixel size every time
    ax = figure.add_subplot()
    contour = ax.contourf(grid_x.numpy(), grid_y.numpy(), scores.reshape(resolution, resolution).numpy(),
                          levels=20, cmap="Blues")
    figure.colorbar(contour, ax=ax, shrink=0.8, label="D(x)")
    for points, color, label in ((real, "tab:orange", "real"), (fake, "tab:green", "generated")):
        points = points.float().cpu().numpy()
        ax.scatter(points[:, 0], points[:, 1], s=4, c=color, label=label)
    ax.set(xlim=(-extent, extent), ylim=(-extent, extent), aspect="equal", title=title)
    ax.legend(loc="upper right", markerscale=3)
    figure.savefig(path)


class SampleGrid(EveryNGeneratorSteps):
    """Every `every_n_g_steps` generator steps, rank 0 writes `samples/g<step>.png` from a fixed z, and logs it
    as the image `samples` to W&B when a WandbLogger is present. For toy 2-D data the picture shows these points
    and as many real ones over the critic's contour map (`save_critic_contour`).

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
            real = trainer.datamodule.train_samples[: self.num_samples]
            save_critic_contour(path, pl_module.critic, real, samples, title=f"generator step {pl_module.g_step}")
        else:
            save_image(samples, path, nrow=int(self.num_samples**0.5), normalize=True, value_range=(-1, 1))
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger):
                logger.log_image(key="samples", images=[str(path)], step=pl_module.g_step)
