"""`lightning-gans bench`: every technique on the same data, budget, seeds and evaluation protocol, one command.

    lightning-gans bench --preset toy --seeds 2 [--techniques wgan,sngan] [--name NAME] [--results_root results]
                         [--parallel N] [-- extra fit overrides]

A preset (`bench.presets.PRESETS`) names the technique configs, the overrides that put them on one dataset and budget,
and the metrics to report. Each run is a subprocess `lightning-gans fit` into `<results_root>/<name>/runs/<technique>/
seed<seed>/` (`<variant>-seed<seed>/` for a preset's variants), its output in `logs/<row>-seed<seed>.log`, the row being
the technique or `<technique>-<variant>` (`bench.runner`). Image benches also score held-out real images under the
runs' protocol once (`bench.reference`); `bench.report` then writes the table and the plots.
"""

import argparse
import sys
import time
from pathlib import Path

from lightning_gans.bench.presets import PRESETS
from lightning_gans.bench.reference import real_data_reference
from lightning_gans.bench.report import write_report
from lightning_gans.bench.runner import check_same_bench, plan_runs, train_all
from lightning_gans.commands.arguments import OneLineParser
from lightning_gans.errors import require


def parse_args(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    split = argv.index("--") if "--" in argv else len(argv)
    parser = OneLineParser(
        prog="lightning-gans bench", description=__doc__.split("\n\n")[0],
        usage="lightning-gans bench [--preset P] [--seeds N] [--techniques a,b] [--name NAME] [--results_root DIR] "
              "[--parallel N] [-- fit overrides]",
        epilog="Everything after `--` is passed to every run's `lightning-gans fit`, e.g. "
               "`lightning-gans bench --preset toy -- --model.max_g_steps 200`.")
    parser.add_argument("--preset", default="toy", help=f"one of {', '.join(PRESETS)}")
    parser.add_argument("--seeds", type=int, default=2, help="number of seeds per technique: 0 .. N-1")
    parser.add_argument("--techniques", default=None, help="comma-separated technique names (default: all)")
    parser.add_argument("--name", default=None, help="bench name: results go to <results_root>/<name> (default: the preset)")
    parser.add_argument("--results_root", default="results")
    parser.add_argument("--parallel", type=int, default=1, help="runs at once (one per GPU when there are GPUs)")
    args = parser.parse_args(argv[:split])
    require(args.preset in PRESETS, "--preset", args.preset, f"choose one of {', '.join(PRESETS)}")
    require(args.seeds >= 1, "--seeds", args.seeds, "use an integer >= 1")
    require(args.parallel >= 1, "--parallel", args.parallel, "use an integer >= 1")
    return args, argv[split + 1:]


def bench_summary(bench_dir: Path, ranking_line: str, plots: list[str]) -> str:
    """Where a bench's results are and how to look at them."""
    lines = [f"  ranking        {ranking_line}",
             f"  table          {bench_dir / 'results.md'} (and results.csv)",
             f"  plots          {bench_dir / plots[0]}, {', '.join(plots[1:])}",
             f"  runs           {bench_dir / 'runs'}/<technique>/[<variant>-]seed<N>/ "
             f"(their console output in {bench_dir / 'logs'}/)"]
    if any((bench_dir / "runs").glob("*/*/wandb/offline-run-*")):
        lines.append(f"  view           wandb sync {bench_dir / 'runs'}/*/*/wandb/offline-run-*   (W&B logged offline)")
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    args, extra = parse_args(argv)
    preset = PRESETS[args.preset]
    bench_dir = Path(args.results_root) / (args.name or args.preset)
    techniques = args.techniques.split(",") if args.techniques else None
    runs = plan_runs(preset, techniques, args.seeds, bench_dir)
    check_same_bench(bench_dir, {"preset": args.preset, "overrides": extra})
    start = time.perf_counter()
    failed = train_all(runs, preset, extra, args.parallel)
    finished = [run for run in runs if run.finished]
    report = None
    if finished:
        reference = real_data_reference(bench_dir, finished) if preset.is_image_preset else None
        report = write_report(bench_dir, args.preset, preset, finished, extra, args.parallel, reference)
    print(f"lightning-gans bench: {len(finished)} of {len(runs)} runs finished, {time.perf_counter() - start:.0f} s; "
          f"results in {bench_dir}")
    if report:
        print(bench_summary(bench_dir, *report))
    if failed:
        sys.exit(1)
