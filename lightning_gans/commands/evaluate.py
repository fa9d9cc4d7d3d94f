"""`lightning-gans evaluate --ckpt_path PATH|best|last [--run_dir DIR] [--devices N] [--num_samples K] [--extractor NAME]`.

Scores a checkpoint with its run's protocol: FID/KID (and class coverage; for a conditional model the intra-class
FID and class accuracy) with the `fid` section of the run's config.yaml for image runs, the toy metrics with its
`toy_metrics` section for 2-D runs (`--num_samples` and `--extractor` override them). Prints the metrics and writes
`metrics.json` into the run directory. With N devices it runs N processes (Lightning Fabric, DDP); since sample i
has the same z (and label) on any number of processes, the numbers do not depend on N.
"""

import argparse
import dataclasses
import json
import os
from pathlib import Path
from typing import Optional

from lightning_fabric import Fabric

from lightning_gans.commands.arguments import OneLineParser, resolve_ckpt_path
from lightning_gans.data import Toy2DDataModule
from lightning_gans.errors import require
from lightning_gans.metrics.evaluation import label_distribution_of
from lightning_gans.run.checkpoint import CheckpointInfo
from lightning_gans.run.config import RunConfig
from lightning_gans.run.layout import RunLayout


def evaluate(ckpt_path: str, devices: int = 1, num_samples: Optional[int] = None, extractor: Optional[str] = None,
             accelerator: str = "auto", show_progress: bool = False) -> dict[str, float]:
    CheckpointInfo.load(ckpt_path)
    run = RunLayout.of_checkpoint(ckpt_path)
    config = RunConfig.read(run)
    require(num_samples is None or num_samples >= 2, "--num_samples", num_samples, "use an integer >= 2")
    data = config.data_module()
    is_toy = isinstance(data, Toy2DDataModule)
    require(not (is_toy and extractor), "--extractor", extractor, "a toy run is scored by the toy metrics: drop it")
    overrides = {"num_samples": num_samples} if num_samples else {}
    if is_toy:
        toy = dataclasses.replace(config.toy_protocol, **overrides)
    else:
        fid = dataclasses.replace(config.fid_protocol, **overrides, **({"extractor": extractor} if extractor else {}))
        network = fid.build_extractor()  # before processes start: a missing extractor is one line

    fabric = Fabric(accelerator=accelerator, devices=devices, strategy="ddp" if devices > 1 else "auto")
    fabric.launch()
    progress = show_progress and fabric.is_global_zero
    model = config.load_technique(ckpt_path).to(fabric.device)
    latent_dim = model.latent_dim
    labels = label_distribution_of(model)
    if is_toy:
        results = toy.measure(model.sample, data, latent_dim, labels)
    else:
        network = network.to(fabric.device)
        real = fid.reference(data, model.num_classes).load_or_compute_once(network, fid.batch_size, fabric.device,
                                                                               progress)
        results = fid.measure(model.sample, network, real, latent_dim, fabric.device, progress, labels, data.dataset)
    if fabric.is_global_zero:
        record = {"checkpoint": str(Path(ckpt_path).resolve()), "g_step": model.progress.g_step, "devices": devices, **results}
        tmp = run.metrics_json.with_name(f"{run.metrics_json.name}.tmp{os.getpid()}")
        tmp.write_text(json.dumps(record, indent=2) + "\n")
        os.replace(tmp, run.metrics_json)
    return results


def evaluation_summary(ckpt_path: str) -> str:
    """Where the numbers went, and how to see the checkpoint's samples."""
    run = RunLayout.of_checkpoint(ckpt_path)
    lines = [f"lightning-gans: evaluated {ckpt_path}",
             f"  metrics        {run.metrics_json}",
             f"  samples        lightning-gans generate --ckpt_path {ckpt_path} --grid samples.png"]
    if run.tensorboard.is_dir():
        lines.append(f"  training       tensorboard --logdir {run.tensorboard}")
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
