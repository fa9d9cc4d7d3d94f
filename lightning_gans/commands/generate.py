"""`lightning-gans generate --ckpt_path P|best|last [--run_dir DIR] --num_samples N --output DIR|FILE.npz
[--grid FILE.png] [--interpolate FILE.gif] [--seed S] [--truncation_psi PSI] [--label CLASS ...]`.

Writes samples of a checkpoint's EMA generator: N images as a folder of PNGs or as an .npz (uint8, N x H x W x C
under `arr_0`), and/or a grid PNG, and/or an animated GIF walking the latent space between two seeds. Sample i has
the latent code of the evaluation's sample i (the run's `fid.seed`, or `toy_metrics.seed` for toy runs, unless
--seed is given), so an external FID tool reading these images sees the images `evaluate` scores. A toy run
writes its points to an .npz (float32, N x 2). A conditional model's samples get the evaluation's labels, or those
of the classes named by --label (`write_samples`); its grid has a row per class.
"""

import inspect
from functools import partial
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch
from PIL import Image
from torchvision.utils import make_grid

from lightning_gans.commands.arguments import OneLineParser, resolve_ckpt_path
from lightning_gans.errors import ConfigError, require
from lightning_gans.metrics.evaluation import draw, label_distribution_of
from lightning_gans.metrics.sampling import class_grid_inputs, labels_for_indices, latents_for_indices
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


def resolve_labels(names: Sequence[str], model) -> list[int]:
    """The class indices of `--label` values: a class name of `model.class_names` (any case) or an index; a
    one-line ConfigError for an unconditional model, an unknown name or an index out of range."""
    if not names:
        return []
    num_classes = model.num_classes
    require(num_classes is not None, "--label", names[0], "the model is unconditional: drop --label")
    by_name = {name.lower(): k for k, name in enumerate(model.class_names)}
    indices = []
    for name in names:
        if name.lower() in by_name:
            indices.append(by_name[name.lower()])
            continue
        require(name.isdigit() and int(name) < num_classes, "--label", name,
                f"name a class ({', '.join(model.class_names)}) or an index 0..{num_classes - 1}")
        indices.append(int(name))
    return indices


def sample_labels(model, num_samples: int, chosen: list[int]) -> Optional[torch.Tensor]:
    """Labels of samples 0..num_samples-1 (None for an unconditional model): the evaluation's
    (`sampling.labels_for_indices` of the model's label distribution), or with `chosen` classes the same stratified
    split over those classes alone, in equal shares."""
    distribution = label_distribution_of(model)
    if distribution is None:
        return None
    if not chosen:
        return labels_for_indices(0, num_samples, num_samples, distribution)
    return torch.tensor(chosen)[labels_for_indices(0, num_samples, num_samples, torch.ones(len(chosen)))]


def generate(ckpt_path: str, num_samples: int = 64, output: str | None = None, grid: str | None = None,
             interpolate: str | None = None, seed: int | None = None, truncation_psi: float | None = None,
             interpolate_seeds: tuple[int, int] = (0, 1), frames: int = 30, labels: Sequence[str] = ()) -> None:
    CheckpointInfo.load(ckpt_path)
    config = RunConfig.read(RunLayout.of_checkpoint(ckpt_path))
    require(num_samples >= 1, "--num_samples", num_samples, "use an integer >= 1")
    require(output or grid or interpolate, "--output", output, "name a folder, an .npz file, --grid or --interpolate")
    model = config.load_technique(ckpt_path)
    if seed is None:
        seed = (config.toy_protocol if len(model.data_shape) == 1 else config.fid_protocol).seed
    write_samples(model, num_samples, output, grid, interpolate, seed, truncation_psi, interpolate_seeds, frames, labels)


def write_samples(model, num_samples: int, output: str | None, grid: str | None, interpolate: str | None, seed: int,
                  truncation_psi: float | None = None, interpolate_seeds: tuple[int, int] = (0, 1), frames: int = 30,
                  labels: Sequence[str] = ()) -> None:
    """What `generate` writes, from a loaded model. A conditional model's sample i has the evaluation's label, or
    with `labels` (class names or indices) the named classes in equal shares; its grid has one row per class (the
    named ones, else all), num_samples // rows samples each, the same z down each column; its walk stays in one
    class (the one named, else class 0). Every bad input is refused before anything is written."""
    kwargs = {}
    if truncation_psi is not None:
        if "truncation_psi" not in inspect.signature(model.sample).parameters:
            raise ConfigError(f"--truncation_psi does not apply to {type(model).__name__}",
                              "drop it (only StyleGANADA truncates its latent space)")
        kwargs["truncation_psi"] = truncation_psi
    chosen = resolve_labels(labels, model)
    require(not (interpolate and len(chosen) > 1), "--label", ",".join(labels),
            "--interpolate walks within one class: name one --label")
    is_toy = len(model.data_shape) == 1
    if is_toy:
        require(not grid and not interpolate, "--grid/--interpolate", grid or interpolate,
                "a toy run writes points: use --output FILE.npz")
        require(output.endswith(".npz"), "--output", output, "a toy run writes its points to an .npz file")
    latent_dim = model.latent_dim

    def sample(z: torch.Tensor, y: Optional[torch.Tensor]) -> torch.Tensor:
        label_batches = y.split(BATCH) if y is not None else [None] * len(z.split(BATCH))
        return torch.cat([draw(partial(model.sample, **kwargs), batch, batch_labels).cpu()
                          for batch, batch_labels in zip(z.split(BATCH), label_batches)])

    if output:
        samples = sample(latents_for_indices(0, num_samples, latent_dim, seed), sample_labels(model, num_samples, chosen))
        if is_toy:
            np.savez(output, samples.float().numpy())
            return
        images = to_uint8(samples)
        if output.endswith(".npz"):
            np.savez(output, images)
        else:
            Path(output).mkdir(parents=True, exist_ok=True)
            for i, image in enumerate(images):
                to_pil(image).save(Path(output) / f"{i:06d}.png")
    if grid:
        write_grid(grid, sample, model, num_samples, chosen, seed)
    if interpolate:
        a, b = (latents_for_indices(0, 1, latent_dim, s)[0] for s in interpolate_seeds)
        path = torch.stack([slerp(a, b, i / (frames - 1)) for i in range(frames)])
        walk_labels = None if label_distribution_of(model) is None else torch.full((frames,), (chosen or [0])[0])
        pictures = [to_pil(image) for image in to_uint8(sample(path, walk_labels))]
        pictures[0].save(interpolate, save_all=True, append_images=pictures[1:], duration=80, loop=0)


def write_grid(path: str, sample, model, num_samples: int, chosen: list[int], seed: int) -> None:
    """The grid PNG: samples 0..num_samples-1 in a square, or for a conditional model one row per class."""
    if label_distribution_of(model) is None:
        samples, nrow = sample(latents_for_indices(0, num_samples, model.latent_dim, seed), None), None
    else:
        classes = chosen or range(model.num_classes)
        nrow = max(1, num_samples // len(classes))
        samples = sample(*class_grid_inputs(classes, nrow, model.latent_dim, seed))
    nrow = nrow or max(1, round(num_samples**0.5))
    to_pil(to_uint8(make_grid(samples, nrow=nrow, padding=2, pad_value=-1)[None])[0]).save(path)


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
    parser.add_argument("--label", action="append", default=[], metavar="CLASS",
                        help="conditional models: samples of this class, a name (any case) or an index; repeatable "
                             "(default: the evaluation's labels; --interpolate walks within this class, else class 0)")
    args = parser.parse_args(argv)
    require(args.frames >= 2, "--frames", args.frames, "use an integer >= 2")
    generate(resolve_ckpt_path(args.ckpt_path, args.run_dir), args.num_samples, args.output, args.grid,
             args.interpolate, args.seed, args.truncation_psi, tuple(args.interpolate_seeds), args.frames, args.label)
    print(f"lightning-gans generate: wrote {', '.join(p for p in (args.output, args.grid, args.interpolate) if p)}")
