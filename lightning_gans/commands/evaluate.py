"""`lightning-gans evaluate --ckpt_path PATH|best|last [--run_dir DIR] [--devices N] [--num_samples K] [--extractor NAME]`.

Scores a checkpoint with its run's protocol: FID/KID (and class coverage) with the `fid` section of the run's
config.yaml for image runs, the toy metrics with its `toy_metrics` section for 2-D runs (`--num_samples` and
`--extractor` override them). Prints the metrics and writes `metrics.json` into the run directory. With N devices
it runs N processes (Lightning Fabric, DDP); since sample i has the same z on any number of processes, the numbers
do not depend on N.
"""

import argparse
import importlib
import json
import os
from pathlib import Path
from typing import Optional

import yaml
from lightning_fabric import Fabric

from lightning_gans.commands.arguments import OneLineParser
from lightning_gans.data import Toy2DDataModule
from lightning_gans.errors import ConfigError, require
from lightning_gans.metrics import build_feature_extractor
from lightning_gans.metrics.evaluation import image_metrics, toy_metrics
from lightning_gans.metrics.reference import RealStatistics
from lightning_gans.training.checkpoints import check_checkpoint


def import_class(class_path: str):
    module, name = class_path.rsplit(".", 1)
    return getattr(importlib.import_module(module), name)


def run_config(ckpt_path: str) -> tuple[Path, dict]:
    """The run directory of a checkpoint (`<run>/checkpoints/x.ckpt`) and its config.yaml."""
    run_dir = Path(ckpt_path).resolve().parent.parent
    config_path = run_dir / "config.yaml"
    if not config_path.is_file():
        raise ConfigError(f"{config_path} not found",
                          "evaluate a checkpoint inside its run directory (runs/<technique>/<run>/checkpoints/)")
    return run_dir, yaml.safe_load(config_path.read_text())


def resolve_ckpt_path(ckpt_path: str, run_dir: Optional[str]) -> str:
    """`best` and `last` name `<run_dir>/checkpoints/best.ckpt` and `last.ckpt`; any other value is a path."""
    if ckpt_path not in ("best", "last"):
        require(run_dir is None, "--run_dir", run_dir, "give either --ckpt_path FILE or --ckpt_path best|last --run_dir DIR")
        return ckpt_path
    if run_dir is None:
        raise ConfigError(f"--ckpt_path {ckpt_path} needs the run", "add --run_dir runs/<technique>/<run_name>")
    return str(Path(run_dir) / "checkpoints" / f"{ckpt_path}.ckpt")


def load_technique(ckpt_path: str, config: dict):
    """The technique of a checkpoint, on the CPU, built by the class its run's config.yaml names."""
    return import_class(config["model"]["class_path"]).load_from_checkpoint(ckpt_path, map_location="cpu",
                                                                            weights_only=True)


def evaluate(ckpt_path: str, devices: int = 1, num_samples: Optional[int] = None, extractor: Optional[str] = None,
             accelerator: str = "auto", show_progress: bool = False) -> dict[str, float]:
    check_checkpoint(ckpt_path)
    run_dir, config = run_config(ckpt_path)
    require(num_samples is None or num_samples >= 2, "--num_samples", num_samples, "use an integer >= 2")
    data = import_class(config["data"]["class_path"])(**config["data"].get("init_args", {}))
    is_toy = isinstance(data, Toy2DDataModule)
    require(not (is_toy and extractor), "--extractor", extractor, "a toy run is scored by the toy metrics: drop it")
    fid = {**(config.get("fid") or {}), **({"extractor": extractor} if extractor else {})}
    if not is_toy and not fid.get("extractor"):
        raise ConfigError("the run's config has fid.extractor=null", "pass --extractor NAME (e.g. lenet-fmnist or inception)")

    fabric = Fabric(accelerator=accelerator, devices=devices, strategy="ddp" if devices > 1 else "auto")
    fabric.launch()
    progress = show_progress and fabric.is_global_zero
    model = load_technique(ckpt_path, config).to(fabric.device)
    latent_dim = model.hparams.latent_dim
    if is_toy:
        toy = config.get("toy_metrics") or {}
        results = toy_metrics(model.sample, data.modes, data.mode_std, data.train_samples,
                              num_samples or toy.get("num_samples", 2500), latent_dim, toy.get("seed", 0))
    else:
        num_samples, seed = num_samples or fid.get("num_samples", 10_000), fid.get("seed", 0)
        split, batch_size = fid.get("reference_split", "train"), fid.get("batch_size", 250)
        network = build_feature_extractor(fid["extractor"], fid.get("feature_extractor_weights_path")).to(fabric.device)
        reference = RealStatistics(data.dataset, data.root, split, data.resolution, num_samples, seed)
        real = reference.load_or_compute_once(network, batch_size, fabric.device, progress)
        results = image_metrics(model.sample, network, real, split, num_samples, latent_dim, seed,
                                batch_size, fid.get("kid_subset_size", 1000), fabric.device, progress)
    if fabric.is_global_zero:
        record = {"checkpoint": str(Path(ckpt_path).resolve()), "g_step": model.g_step, "devices": devices, **results}
        tmp = run_dir / f"metrics.json.tmp{os.getpid()}"
        tmp.write_text(json.dumps(record, indent=2) + "\n")
        os.replace(tmp, run_dir / "metrics.json")
    return results


def evaluation_summary(ckpt_path: str) -> str:
    """Where the numbers went, and how to see the checkpoint's samples."""
    run_dir = Path(ckpt_path).resolve().parent.parent
    lines = [f"lightning-gans: evaluated {ckpt_path}",
             f"  metrics        {run_dir / 'metrics.json'}",
             f"  samples        lightning-gans generate --ckpt_path {ckpt_path} --grid samples.png"]
    if (run_dir / "tensorboard").is_dir():
        lines.append(f"  training       tensorboard --logdir {run_dir / 'tensorboard'}")
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    parser = OneLineParser(prog="lightning-gans evaluate", description=__doc__.split("\n\n")[1].replace("\n", " "))
    parser.add_argument("--ckpt_path", required=True, help="a checkpoint inside its run directory, or best or last")
    parser.add_argument("--run_dir", help="the run of --ckpt_path best|last (runs/<technique>/<run_name>)")
    parser.add_argument("--devices", type=int, default=1, help="processes to share the samples (default: 1)")
    parser.add_argument("--num_samples", type=int, help="samples to score (default: the run's protocol)")
    parser.add_argument("--extractor", help="FID feature extractor of image runs (default: the run's fid.extractor)")
    parser.add_argument("--accelerator", default="auto", help="cpu, gpu or auto (default)")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True,
                        help="bars counting the samples generated and the real features extracted (default: on)")
    args = parser.parse_args(argv)
    results = evaluate(resolve_ckpt_path(args.ckpt_path, args.run_dir), args.devices, args.num_samples, args.extractor,
                       args.accelerator, args.progress)
    if int(os.environ.get("LOCAL_RANK", "0")) == 0:
        for name, value in results.items():
            print(f"{name} {value!r}")
        print(evaluation_summary(resolve_ckpt_path(args.ckpt_path, args.run_dir)))
