"""`lightning-gans evaluate --ckpt_path PATH [--devices N] [--num_samples K] [--extractor NAME]`.

Computes the FID/KID of a checkpoint with its run's protocol (the `fid` section of the run's config.yaml,
overridable), prints them, and writes `metrics.json` into the run directory. With N devices it runs N processes
(DDP); since sample i has the same z on any number of ranks, the number does not depend on N.
"""

import argparse
import importlib
import json
import os
from pathlib import Path
from typing import Optional

import pytorch_lightning as pl
import yaml

from lightning_gans.checkpoint import check_checkpoint
from lightning_gans.errors import ConfigError
from lightning_gans.metric_fid import FIDCallback


def import_class(class_path: str):
    module, name = class_path.rsplit(".", 1)
    return getattr(importlib.import_module(module), name)


def evaluate(ckpt_path: str, devices: int = 1, num_samples: Optional[int] = None, extractor: Optional[str] = None,
             accelerator: str = "auto") -> dict[str, float]:
    check_checkpoint(ckpt_path)
    run_dir = Path(ckpt_path).resolve().parent.parent
    config_path = run_dir / "config.yaml"
    if not config_path.is_file():
        raise ConfigError(f"{config_path} not found: evaluate a checkpoint inside its run directory (runs/<technique>/<run>/checkpoints/)")
    config = yaml.safe_load(config_path.read_text())
    fid_args = dict(config.get("fid") or {})
    fid_args.update({k: v for k, v in (("num_samples", num_samples), ("extractor", extractor)) if v is not None})
    if not fid_args.get("extractor"):
        raise ConfigError("the run's config has fid.extractor=null: pass --extractor NAME (e.g. lenet-fmnist or inception)")
    callback = FIDCallback(**fid_args)
    model = import_class(config["model"]["class_path"]).load_from_checkpoint(ckpt_path, map_location="cpu", weights_only=True)
    data = import_class(config["data"]["class_path"])(**config["data"].get("init_args", {}))
    trainer = pl.Trainer(accelerator=accelerator, devices=devices, strategy="ddp" if devices > 1 else "auto",
                         logger=False, enable_progress_bar=False, enable_model_summary=False, callbacks=[callback])
    trainer.validate(model, datamodule=data, verbose=False)
    if trainer.is_global_zero:
        results = {"checkpoint": str(Path(ckpt_path).resolve()), "g_step": model.g_step, "devices": devices, **callback.results}
        tmp = run_dir / f"metrics.json.tmp{os.getpid()}"
        tmp.write_text(json.dumps(results, indent=2) + "\n")
        os.replace(tmp, run_dir / "metrics.json")
    return callback.results


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="lightning-gans evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("--ckpt_path", required=True)
    parser.add_argument("--devices", type=int, default=1)
    parser.add_argument("--num_samples", type=int)
    parser.add_argument("--extractor")
    parser.add_argument("--accelerator", default="auto")
    args = parser.parse_args(argv)
    results = evaluate(args.ckpt_path, args.devices, args.num_samples, args.extractor, args.accelerator)
    if int(os.environ.get("LOCAL_RANK", "0")) == 0:
        for name, value in results.items():
            print(f"{name} {value!r}")
