"""Sample grids from a fixed latent batch, written as PNG files (and W&B images) while training.

For toy 2-D data the "grid" is the picture of the WGAN-GP paper's figure 1: real and generated points over the
critic's contour map.
"""

from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont
from pytorch_lightning.loggers import TensorBoardLogger, WandbLogger
from torch import nn
from torchvision.utils import make_grid

from lightning_gans.metrics.evaluation import draw, label_distribution_of
from lightning_gans.metrics.sampling import class_grid_inputs, labels_for_indices, latents_for_indices
from lightning_gans.metrics.toy import mode_statistics
from lightning_gans.run.layout import RunLayout, step_name
from lightning_gans.training.periodic import EveryNGeneratorSteps


@torch.no_grad()
def expected_critic_scores(critic: nn.Module, points: torch.Tensor,
                           label_distribution: torch.Tensor | None = None) -> torch.Tensor:
    """D(x) of each point; for a conditional critic (`label_distribution` given, its classes' frequencies) the score
    expected under that distribution, sum_y p(y) D(x, y): the one map of a critic scored per class."""
    if label_distribution is None:
        return critic(points)
    scores = torch.zeros(len(points), device=points.device)
    for label, weight in enumerate(label_distribution.tolist()):
        labels = torch.full((len(points),), label, dtype=torch.int64, device=points.device)
        scores += weight * critic(points, labels).float()
    return scores


@torch.no_grad()
def save_critic_contour(path: Path, critic: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                        extent: float = 5.0, resolution: int = 128, title: str = "",
                        label_distribution: torch.Tensor | None = None) -> None:
    """A PNG of real (orange) and generated (green) 2-D points over the contour map of the critic's scores on
    [-extent, extent]^2. The critic is evaluated in eval mode on its own device. A conditional critic's map is
    `expected_critic_scores` under `label_distribution` (the training labels'), labelled E_y D(x, y)."""
    axis = torch.linspace(-extent, extent, resolution)
    grid_x, grid_y = torch.meshgrid(axis, axis, indexing="xy")
    device = next(critic.parameters()).device
    was_training = critic.training
    critic.eval()
    points = torch.stack([grid_x.flatten(), grid_y.flatten()], dim=1).to(device)
    distribution = None if label_distribution is None else label_distribution.to(device)
    scores = expected_critic_scores(critic, points, distribution).float().cpu()
    critic.train(was_training)
    from matplotlib.figure import Figure  # imported when a toy picture is drawn (fit imports less at startup)

    figure = Figure(figsize=(5.6, 5), dpi=100, layout="constrained")  # the same pixel size every time
    ax = figure.add_subplot()
    contour = ax.contourf(grid_x.numpy(), grid_y.numpy(), scores.reshape(resolution, resolution).numpy(),
                          levels=20, cmap="Blues")
    score_name = "D(x)" if label_distribution is None else "E_y D(x, y), y ~ training labels"
    figure.colorbar(contour, ax=ax, shrink=0.8, label=score_name)
    for points, color, label in ((real, "tab:orange", "real"), (fake, "tab:green", "generated")):
        points = points.float().cpu().numpy()
        ax.scatter(points[:, 0], points[:, 1], s=4, c=color, label=label)
    ax.set(xlim=(-extent, extent), ylim=(-extent, extent), aspect="equal")
    ax.set_title(title, fontsize=9)
    ax.legend(loc="upper right", markerscale=3)
    figure.savefig(path)


def titled_grid(samples: torch.Tensor, title: str, nrow: int | None = None) -> Image.Image:
    """The image grid of `samples` in [-1, 1], `nrow` to a row (default: a square), under a line of text."""
    grid = make_grid(samples, nrow=nrow or int(len(samples) ** 0.5), normalize=True, value_range=(-1, 1))
    picture = Image.fromarray(grid.mul(255).round().byte().permute(1, 2, 0).numpy()).convert("RGB")
    font = ImageFont.load_default(size=11)
    strip = font.getbbox(title)[3] + 6
    canvas = Image.new("RGB", (picture.width, picture.height + strip), "white")
    canvas.paste(picture, (0, strip))
    ImageDraw.Draw(canvas).text((3, 3), title, fill="black", font=font)
    return canvas


def toy_title(pl_module, samples: torch.Tensor, data) -> str:
    """Technique, counters, and the modes covered and the share of high-quality points among the drawn ones (the
    coverage rule of the logged metrics, `toy.covered_threshold`, at their number)."""
    stats = mode_statistics(samples, data.modes, data.mode_std)
    return (f"{pl_module.name}, G step {pl_module.progress.g_step}, {pl_module.progress.kimg:.1f} kimg\n"
            f"{stats['modes_covered']:.0f}/{len(data.modes)} modes covered, {stats['high_quality']:.0%} high quality "
            f"(of these {len(samples)} points)")


class SampleGrid(EveryNGeneratorSteps):
    """Every `every_n_g_steps` generator steps, rank 0 writes `samples/g<step>.png` from a fixed z, titled with the
    technique, G step and kimg, and logs it as the image `samples` to W&B and TensorBoard when they log the run.
    For toy 2-D data the picture shows these points and as many real ones over the critic's contour map
    (`save_critic_contour`), and its title the modes covered (`toy_title`).

    The z batch is the evaluation's samples 0..num_samples-1 (`sampling.latents_for_indices`), so grids of
    different steps, runs and techniques show the same latent codes and training's RNG stream is untouched. A
    conditional model's image grid has one row per class, num_samples // C samples each, the same z down each
    column (`sampling.class_grid_inputs`); its toy points get the evaluation's labels (`labels_for_indices`)."""

    config_key = "samples.every_n_g_steps"

    def __init__(self, every_n_g_steps: int = 500, num_samples: int = 64, seed: int = 0, dirpath: str | None = None):
        super().__init__(every_n_g_steps)
        self.num_samples = num_samples
        self.seed = seed
        self.dirpath = dirpath

    def setup(self, trainer, pl_module, stage):
        if self.dirpath is None:
            self.dirpath = str(RunLayout(Path(trainer.default_root_dir)).samples)

    def grid_inputs(self, pl_module) -> tuple[torch.Tensor, torch.Tensor | None, int | None]:
        """z, labels (None: unconditional) and samples to a row (None: a square) of the picture."""
        z = latents_for_indices(0, self.num_samples, pl_module.latent_dim, self.seed)
        distribution = label_distribution_of(pl_module)
        if distribution is None:
            return z, None, None
        if len(pl_module.data_shape) == 1:  # toy points: the evaluation's labels, so every mode is asked for
            return z, labels_for_indices(0, self.num_samples, self.num_samples, distribution), None
        per_class = max(1, self.num_samples // len(distribution))
        return *class_grid_inputs(range(len(distribution)), per_class, pl_module.latent_dim, self.seed), per_class

    def on_schedule(self, trainer, pl_module):
        if not trainer.is_global_zero:
            return
        z, labels, nrow = self.grid_inputs(pl_module)
        samples = draw(pl_module.sample, z, labels).float().cpu()
        path = Path(self.dirpath) / f"{step_name(pl_module.progress.g_step)}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        if samples.ndim == 2:
            data = trainer.datamodule
            save_critic_contour(path, pl_module.critic, data.train_samples[: self.num_samples], samples,
                                title=toy_title(pl_module, samples, data),
                                label_distribution=label_distribution_of(pl_module))
        else:
            title = f"{pl_module.name}, G step {pl_module.progress.g_step}, {pl_module.progress.kimg:.1f} kimg"
            titled_grid(samples, title, nrow).save(path)
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger):
                logger.log_image(key="samples", images=[str(path)], step=pl_module.progress.g_step)
            elif isinstance(logger, TensorBoardLogger):
                picture = np.asarray(Image.open(path).convert("RGB"))
                logger.experiment.add_image("samples", picture, global_step=pl_module.progress.g_step, dataformats="HWC")
