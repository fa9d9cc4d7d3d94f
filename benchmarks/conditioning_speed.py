"""How far a conditional run's generator has moved from label-blind: at each of the run's checkpoints, the largest
change of the class-conditional BatchNorms' per-class gains and biases from their start, and their mean spread
across the classes, beside lr_g x G steps.

    .venv/bin/python benchmarks/conditioning_speed.py results/cond-long/sngan/cond

A `ConditionalBatchNorm2d` starts every class at gain 1 and bias 0 (sngan_projection's init), so G's samples start
independent of the label, and the class spread (the mean over entries of |value - its mean over the classes|) is
what conditions them. Adam moves a parameter whose gradient keeps its sign by about lr per step, whatever the
gradient's size: when the largest change stays near lr_g x G steps, the conditioning is bound by the step count.
"""

import argparse
import re
from pathlib import Path

import torch

STARTS = {"gain": 1.0, "bias": 0.0}  # ConditionalBatchNorm2d's initial values, the same for every class
CHECKPOINT = re.compile(r"g(\d+)\.ckpt")  # checkpoints/g0000250.ckpt: the run's checkpoint after G step 250


def conditional_norms(state_dict: dict[str, torch.Tensor]) -> list[str]:
    """The prefixes of the live generator's ConditionalBatchNorm2d layers (a `norm` and per-class `gain`, `bias`)."""
    return sorted(key.removesuffix(".gain.weight") for key in state_dict
                  if key.startswith("generator.") and key.endswith(".gain.weight")
                  and key.replace(".gain.weight", ".norm.running_mean") in state_dict)


def class_parameter_changes(state_dict: dict[str, torch.Tensor]) -> dict[str, float]:
    """"<gain|bias> max": the largest |value - start| over every class and channel of every conditional BatchNorm,
    "<gain|bias> spread": the mean over their entries of |value - its mean over the classes|."""
    prefixes = conditional_norms(state_dict)
    if not prefixes:
        raise SystemExit("no class-conditional BatchNorm in this checkpoint's generator: is the run conditional?")
    changes = {}
    for kind, start in STARTS.items():
        tables = [state_dict[f"{prefix}.{kind}.weight"].float() for prefix in prefixes]
        changes[f"{kind} max"] = max(float((table - start).abs().max()) for table in tables)
        spread = torch.cat([(table - table.mean(0)).abs().flatten() for table in tables])
        changes[f"{kind} spread"] = float(spread.mean())
    return changes


def checkpoints(run_dir: Path) -> list[tuple[int, Path]]:
    """(G step, path) of the run's step checkpoints, in step order."""
    found = [(int(match.group(1)), path) for path in (run_dir / "checkpoints").glob("g*.ckpt")
             if (match := CHECKPOINT.fullmatch(path.name))]
    if not found:
        raise SystemExit(f"no checkpoints/g<step>.ckpt in {run_dir}")
    return sorted(found)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path, help="a conditional run's directory (runs/<technique>/<run>)")
    args = parser.parse_args(argv)
    columns = ["gain max", "bias max", "gain spread", "bias spread"]
    rows = []
    for step, path in checkpoints(args.run_dir):
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
        changes = class_parameter_changes(checkpoint["state_dict"])
        bound = checkpoint["hyper_parameters"]["lr_g"] * step
        rows.append(f"| {step} | {bound:.3f} | " + " | ".join(f"{changes[column]:.4f}" for column in columns) + " |")
    print("\n".join(["| G step | lr_g x G steps | " + " | ".join(columns) + " |", "|---" * (len(columns) + 2) + "|",
                     *rows]))


if __name__ == "__main__":
    main()
