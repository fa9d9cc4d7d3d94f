"""`lightning-gans generate --ckpt_path P|best|last [--run_dir DIR] --num_samples N --output DIR|FILE.npz
[--grid FILE.png] [--interpolate FILE.gif] [--seed S] [--truncation_psi PSI]`.

Writes samples of a checkpoint's EMA generator: N images as a folder of PNGs or as an .npz (uint8, N x H x W x C
under `arr_0`), and/or a grid PNG, and/or an animated GIF walking the latent space between two seeds. Sample i has
the latent code of the evaluation's sample i (the run's `fid.seed`, or `toy_metrics.seed` for toy runs, unless
--seed is given), so an external FID tool reading these images sees the images `evaluate` scores. A toy run
writes its points to an .npz (float32, N x 2).
"""

import inspect
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torchvision.utils import make_grid

from lightning_gans.commands.arguments import OneLineParser, resolve_ckpt_path
from lightning_gans.errors import ConfigError, require
from lightning_gans.metrics.sampling import latents_for_indices
from lightning_gans.run.checkpoint import CheckpointInfo
from lightning_gans.run.config import RunConfig
from lightning_gans.run.layout import RunLayout

BATCH = 250


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """Generator output in [-1, 1], N x C x H x W -> uint8 N x H x W x C."""
    return ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()


def to_pil(image: np.ndarray) -> Image.Image:
    return Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image)


def slerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    """Spherical interpolation between latent codes: the path stays where Gaussian codes have their mass."""
    omega = torch.arccos((a / a.norm() * b / b.norm()).sum().clamp(-1, 1))
    if omega.abs() < 1e-6:
        return torch.lerp(a, b, t)
    return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)


def generate(ckpt_path: str, num_samples: int = 64, output: str | None = None, grid: str | None = None,
             interpolate: str | None = None, seed: int | None = None, truncation_psi: float | None = None,
             interpolate_seeds: tuple[int, int] = (0, 1), frames: int = 30) -> None:
    CheckpointInfo.load(ckpt_path)
    config = RunConfig.read(RunLayout.of_checkpoint(ckpt_path))
    require(num_samples >= 1, "--num_samples", num_samples, "use an integer >= 1")
    require(output or grid or interpolate, "--output", output, "name a folder, an .npz file, --grid or --interpolate")
    model = config.load_technique(ckpt_path)
    kwargs = {}
    if truncation_psi is not None:
        if "truncation_psi" not in inspect.signature(model.sample).parameters:
            raise ConfigError(f"--truncation_psi does not apply to {type(model).__name__}",
                              "drop it (only StyleGANADA truncates its latent space)")
        kwargs["truncation_psi"] = truncation_psi
    is_toy = len(model.data_shape) == 1
    latent_dim = model.latent_dim
    if seed is None:
        seed = (config.toy_protocol if is_toy else config.fid_protocol).seed

    def sample(z: torch.Tensor) -> torch.Tensor:
        return torch.cat([model.sample(batch, **kwargs).cpu() for batch in z.split(BATCH)])

    samples = sample(latents_for_indices(0, num_samples, latent_dim, seed))
    if is_toy:
        require(not grid and not interpolate, "--grid/--interpolate", grid or interpolate,
                "a toy run writes points: use --output FILE.npz")
        require(output.endswith(".npz"), "--output", output, "a toy run writes its points to an .npz file")
        np.savez(output, samples.float().numpy())
        return
    images = to_uint8(samples)
    if output and output.endswith(".npz"):
        np.savez(output, images)
    elif output:
        Path(output).mkdir(parents=True, exist_ok=True)
        for i, image in enumerate(images):
            to_pil(image).save(Path(output) / f"{i:06d}.png")
    if grid:
        nrow = max(1, round(num_samples**0.5))
        to_pil(to_uint8(make_grid(samples, nrow=nrow, padding=2, pad_value=-1)[None])[0]).save(grid)
    if interpolate:
        a, b = (latents_for_indices(0, 1, latent_dim, s)[0] for s in interpolate_seeds)
        path = torch.stack([slerp(a, b, i / (frames - 1)) for i in range(frames)])
        pictures = [to_pil(image) for image in to_uint8(sample(path))]
        pictures[0].save(interpolate, save_all=True, append_images=pictures[1:], duration=80, loop=0)


def main(argv: list[str]) -> None:
    parser = OneLineParser(prog="lightning-gans generate", description=__doc__.split("\n\n")[1].replace("\n", " "))
    parser.add_argument("--ckpt_path", required=True, help="a checkpoint inside its run directory, or best or last")
    parser.add_argument("--run_dir", help="the run of --ckpt_path best|last (runs/<technique>/<run_name>)")
    parser.add_argument("--num_samples", type=int, default=64, help="samples to write (default: 64)")
    parser.add_argument("--output", help="a folder (one PNG per sample) or FILE.npz")
    parser.add_argument("--grid", help="FILE.png: the samples as one grid")
    parser.add_argument("--interpolate", help="FILE.gif: a walk through the latent space between two seeds")
    parser.add_argument("--interpolate_seeds", type=int, nargs=2, default=(0, 1), metavar=("A", "B"),
                        help="the walk goes from sample 0 of seed A to sample 0 of seed B (default: 0 1)")
    parser.add_argument("--frames", type=int, default=30, help="frames of the GIF (default: 30)")
    parser.add_argument("--seed", type=int, help="seed of the latent codes (default: the run's evaluation seed)")
    parser.add_argument("--truncation_psi", type=float, help="StyleGANADA only: truncation towards the mean w")
    args = parser.parse_args(argv)
    require(args.frames >= 2, "--frames", args.frames, "use an integer >= 2")
    generate(resolve_ckpt_path(args.ckpt_path, args.run_dir), args.num_samples, args.output, args.grid,
             args.interpolate, args.seed, args.truncation_psi, tuple(args.interpolate_seeds), args.frames)
    print(f"lightning-gans generate: wrote {', '.join(p for p in (args.output, args.grid, args.interpolate) if p)}")
