"""`lightning-gans bench`: every technique on the same data, budget, seeds and evaluation protocol, one command.

    lightning-gans bench --preset toy --seeds 2 [--techniques wgan,sngan] [--name NAME] [--results_root results]
                         [--parallel N] [-- extra fit overrides]

A preset (`PRESETS`) names the technique configs, the overrides that put them on one dataset and budget, and the
metrics to report. Each run is a subprocess `lightning-gans fit` into `<results_root>/<name>/runs/<technique>/
seed<seed>/` (`<variant>-seed<seed>/` for a preset's variants; subprocesses isolate runs and let N run at once, one
per GPU when there are GPUs); its output goes to `logs/<row>-seed<seed>.log`, the row being the technique or
`<technique>-<variant>`. A run that finished holds `bench.json` and is never retrained; one that was
interrupted is resumed from its last checkpoint. Image benches also score held-out real images under the runs'
protocol once (`real_data_reference`, kept in reference.json). `bench_report.py` then writes the table and the plots.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from queue import Queue

import torch
import yaml

from lightning_gans.commands.arguments import OneLineParser
from lightning_gans.commands.bench_report import write_report
from lightning_gans.commands.configs import EXPERIMENTS
from lightning_gans.commands.evaluate import import_class
from lightning_gans.data.sources import load_images
from lightning_gans.errors import ConfigError, require
from lightning_gans.metrics import build_feature_extractor
from lightning_gans.metrics.cache import fingerprint
from lightning_gans.metrics.evaluation import held_out_metrics
from lightning_gans.metrics.reference import RealStatistics
from lightning_gans.techniques import technique_name

FINISHED = "bench.json"  # written into a run directory when its fit exited successfully
REFERENCE = "reference.json"  # the real-data row of an image bench, computed once per key of its images


@dataclass(frozen=True)
class Preset:
    configs: str  # glob under experiments/: a new technique's config joins the bench by being there
    overrides: tuple[str, ...]  # fit overrides that put every config on the same data, budget and protocol
    protocol: str  # the protocol in words, for results.md
    # (metric key or key prefix, "min" or "max"); the first ranks the table, each next one breaks its ties
    metrics: tuple[tuple[str, str], ...]
    # (name, fit overrides) of each variant of every config, e.g. one technique with and without augmentation;
    # runs are named <technique>-<variant>. Empty: one run per config.
    variants: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # technique -> fit overrides of that technique's runs only (after `overrides`): its reference code's setting
    # where it has options the others lack
    technique_overrides: dict[str, tuple[str, ...]] = field(default_factory=dict)


QUIET = ("--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false")
# Coverage first: frechet_xy compares means and covariances only, so a spread that misses modes can score well.
TOY_METRICS = (("toy/modes_covered", "max"), ("toy/high_quality", "max"), ("toy/reverse_kl", "min"),
               ("toy/modes_any", "max"), ("toy/frechet_xy", "min"))
# The toy configs' shared settings (experiments/toy/*.yaml; the sweep behind them: benchmarks/toy_sweep.md).
TOY_NETWORKS = "MLP 4 x 256, latent dim 2, batch 256, learning rates decayed linearly to 0, EMA decay 0.99"
TOY_G_STEPS, RING_G_STEPS = "4000", "1000"
TOY_EVALUATION = ("--toy_metrics.every_n_g_steps", "100", "--toy_metrics.num_samples", "2500",
                  "--samples.num_samples", "2500", "--trainer.log_every_n_steps", "50")
TOY_COMMON = (
    "(each technique's own n_critic, optimiser and penalty weight); every 100 G steps 2,500 EMA-generator samples, "
    "each assigned to its nearest mode and high quality within 3 std of it (VEEGAN/PacGAN protocol): a mode is "
    "covered at >= 20 high-quality samples of 2,500 (PacGAN, Lin et al. 2018; toy/modes_any counts >= 1 as VEEGAN, "
    "Srivastava et al. 2017), reverse KL is KL(high-quality histogram || uniform), inf without a high-quality sample; "
    "toy/frechet_xy is the Frechet distance to 2,500 real points on raw (x, y) coordinates (no feature network)"
)
FMNIST_KIMG = "64"
FID_METRICS = (("fid/", "min"), ("kid/", "min"), ("precision/", "max"), ("recall/", "max"))
CLASSIFIER_METRICS = (*FID_METRICS, ("classes/covered", "max"))  # a domain classifier also counts the classes drawn

PRESETS = {
    "toy": Preset(
        "toy/*.yaml",
        ("--data.distribution", "grid25", "--model.max_g_steps", TOY_G_STEPS, *TOY_EVALUATION),
        f"grid25 (5x5 Gaussians, spacing 2, std 0.05), {TOY_NETWORKS}, {TOY_G_STEPS} G steps each {TOY_COMMON}",
        TOY_METRICS,
    ),
    "toy-ring": Preset(
        "toy/*.yaml",
        ("--data.distribution", "ring8", "--model.max_g_steps", RING_G_STEPS, *TOY_EVALUATION),
        f"ring8 (8 Gaussians on a circle of radius 2, std 0.02), {TOY_NETWORKS}, {RING_G_STEPS} G steps each "
        f"{TOY_COMMON}",
        TOY_METRICS,
    ),
    "fmnist-cpu": Preset(
        "*.yaml",
        ("--model.width", "32", "--data.batch_size", "64", "--model.max_g_steps", "null", "--model.max_kimg", FMNIST_KIMG,
         "--trainer.accelerator", "cpu", "--trainer.devices", "1", "--fid.extractor", "lenet-fmnist",
         "--fid.num_samples", "2000", "--fid.every_n_g_steps", "100", "--samples.every_n_g_steps", "250",
         "--checkpoint.every_n_g_steps", "250"),
        f"Fashion-MNIST 32x32, CNN width 32, batch 64, {FMNIST_KIMG} kimg each (the same real images for every technique: "
        "1,000 G steps at n_critic 1, 200 at n_critic 5; each technique's own n_critic and optimiser; WGAN without "
        "its reference code's 100-critic-step bursts, which would spend the budget in 10 G steps); every 100 G "
        "steps and at the end FID/KID/precision/recall of 2,000 EMA-generator samples in the features of the "
        "lenet-fmnist domain classifier against 2,000 training images",
        CLASSIFIER_METRICS,
        technique_overrides={"wgan": ("--model.critic_burst", "false")},
    ),
    "fmnist-2k": Preset(
        "stylegan_ada.yaml",
        ("--model.max_g_steps", "null", "--model.max_kimg", "2000", "--model.ada_kimg", "100",
         "--fid.extractor", "lenet-fmnist", "--fid.num_samples", "10000", "--fid.every_n_g_steps", "2500",
         "--samples.every_n_g_steps", "2500", "--checkpoint.every_n_g_steps", "2500"),
        "ADA's data-efficiency experiment (Karras et al. 2020, fig. 1) at Fashion-MNIST 32x32: StyleGANADA as in "
        "experiments/stylegan_ada.yaml (width 128, batch 64), 2,000 kimg each, p moving 0 -> 1 in 100 kimg at most; "
        "2k-noaug: a seeded 2,000-image slice, no augmentation (p = 0, r_t still measured); 2k-ada: the slice with "
        "ADA (r_t target 0.6); full-ada: all 60,000 images with ADA. Every 2,500 G steps FID/KID/precision/recall of "
        "10,000 EMA-generator samples in lenet-fmnist features against 10,000 images of the full training split. "
        "Expected from the paper: without augmentation D overfits the slice (r_t rises toward 1) and FID rises after "
        "an early minimum; ADA keeps r_t near 0.6 and the slice's FID closer to the full data's",
        CLASSIFIER_METRICS,
        variants=(("2k-noaug", ("--data.limit", "2000", "--model.ada_heuristic", "fixed", "--model.augment_p", "0")),
                  ("2k-ada", ("--data.limit", "2000")),
                  ("full-ada", ())),
    ),
    "cifar10": Preset(
        "*.yaml",
        ("--data.dataset", "cifar10", "--model.max_g_steps", "100000", "--model.max_kimg", "null",
         "--fid.extractor", "inception", "--fid.num_samples", "50000", "--fid.reference_split", "train",
         "--fid.every_n_g_steps", "5000"),
        "CIFAR-10 32x32, 100k G steps each, the reference codes' settings where this suite has them (README, "
        "'Presets against their reference code'): SN-GAN and WGAN-GP as ResNets with n_critic 5, a generator batch "
        "of 2 x 64, separate real and fake D passes and learning rates decayed linearly to 0 (SN-GAN: 50k G steps, "
        "as sn_cifar10_unconditional.yml); StyleGANADA as ADA's cifar preset (D 'orig', z and w 512, width 512, "
        "EMA 500 kimg, lazy R1 in its own step); every 5k G steps FID/KID of 50,000 EMA-generator samples in "
        "Inception-v3 pool features against the 50,000 training images (fid50k_train)",
        FID_METRICS,
        technique_overrides={
            "sngan": ("--model.architecture", "resnet", "--model.n_critic", "5", "--model.g_batch_multiple", "2",
                      "--model.fused_critic", "false", "--model.lr_schedule", "linear", "--model.max_g_steps", "50000"),
            "wgan_gp": ("--model.architecture", "resnet", "--model.width", "128", "--model.g_batch_multiple", "2",
                        "--model.fused_critic", "false", "--model.lr_g", "2e-4", "--model.lr_d", "2e-4",
                        "--model.lr_schedule", "linear"),
            "wgan": ("--model.latent_dim", "100"),
            "r1gan": ("--model.latent_dim", "256"),
            "stylegan_ada": ("--model.d_architecture", "orig", "--model.latent_dim", "512", "--model.width", "512"),
        },
    ),
}


@dataclass(frozen=True)
class Run:
    technique: str  # the table's row: the technique, or <technique>-<variant>
    seed: int
    config: Path
    run_dir: Path
    log: Path
    overrides: tuple[str, ...] = ()  # the preset's for this technique, then the variant's

    @property
    def finished(self) -> bool:
        return (self.run_dir / FINISHED).is_file()

    @property
    def peak_rss_mb(self) -> float:
        return json.loads((self.run_dir / FINISHED).read_text())["peak_rss_mb"]

    @property
    def last_checkpoint(self) -> Path:
        return self.run_dir / "checkpoints" / "last.ckpt"


def preset_configs(preset: Preset) -> dict[str, Path]:
    """technique name -> config file, for every config the preset's glob matches."""
    configs = {}
    for path in sorted(EXPERIMENTS.glob(preset.configs)):
        class_path = yaml.safe_load(path.read_text())["model"]["class_path"]
        configs[technique_name(class_path)] = path
    return configs


def plan_runs(preset: Preset, techniques: list[str] | None, seeds: int, bench_dir: Path) -> list[Run]:
    configs = preset_configs(preset)
    unknown = sorted(set(techniques or []) - set(configs))
    require(not unknown, "--techniques", ",".join(unknown), f"choose from {','.join(configs)}")
    chosen = [t for t in configs if techniques is None or t in techniques]
    runs = []
    for t in chosen:
        for variant, overrides in preset.variants or (("", ()),):
            row, prefix = (f"{t}-{variant}", f"{variant}-") if variant else (t, "")
            # fit writes a run to <runs_root>/<technique>/<run_name>: a variant is in the run's name
            runs += [Run(row, seed, configs[t], bench_dir / "runs" / t / f"{prefix}seed{seed}",
                         bench_dir / "logs" / f"{row}-seed{seed}.log", (*preset.technique_overrides.get(t, ()), *overrides))
                     for seed in range(seeds)]
    return runs


def fit_command(run: Run, preset: Preset, extra: list[str]) -> list[str]:
    """The one place a run's command is built. An interrupted run resumes with its own config.yaml."""
    fit = [sys.executable, "-m", "lightning_gans.commands.main", "fit"]
    target = ["--runs_root", str(run.run_dir.parents[1]), "--run_name", run.run_dir.name]
    group = ["--wandb_group", run.run_dir.parents[2].name]  # the bench name: W&B pages group its runs
    if run.last_checkpoint.is_file():
        return [*fit, "--config", str(run.run_dir / "config.yaml"), *target, "--ckpt_path", "last", *QUIET]
    return [*fit, "--config", str(run.config), "--seed_everything", str(run.seed), *target, *group, *preset.overrides,
            *run.overrides, *QUIET, *extra]


def launch(command: list[str], log: Path, env: dict[str, str]) -> tuple[int, float]:
    """Run `command` with its output appended to `log`; return its exit code and peak resident memory in MB."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "a") as out:
        out.write(f"$ {' '.join(command)}\n")
        out.flush()
        child = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
    return child.returncode, usage.ru_maxrss / 1024  # Linux reports kilobytes


def train(run: Run, preset: Preset, extra: list[str], env: dict[str, str]) -> bool:
    """Train (or resume) one run to its budget; True when it finished."""
    if not run.last_checkpoint.is_file() and run.run_dir.exists():
        # Stopped before its first checkpoint: nothing to resume, and fit refuses an existing directory.
        shutil.rmtree(run.run_dir)
    elif (run.run_dir / "metrics.csv").is_file():
        # Set the earlier session's rows aside: the report drops those that the resumed session repeats.
        session = len(list(run.run_dir.glob("metrics.session*.csv")))
        (run.run_dir / "metrics.csv").rename(run.run_dir / f"metrics.session{session}.csv")
    code, peak_rss_mb = launch(fit_command(run, preset, extra), run.log, env)
    if code != 0:
        print(f"lightning-gans bench: {run.technique} seed {run.seed} failed (exit {code}): see {run.log}", file=sys.stderr)
        return False
    (run.run_dir / FINISHED).write_text(json.dumps({"peak_rss_mb": peak_rss_mb}))  # of the last session
    return True


def train_all(runs: list[Run], preset: Preset, extra: list[str], parallel: int) -> list[Run]:
    """Train the unfinished runs, `parallel` at a time (each on its own GPU when there are GPUs); return the
    runs that failed."""
    pending = [run for run in runs if not run.finished]
    gpus = torch.cuda.device_count()
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // parallel)))  # parallel runs share the cores
    slots: Queue = Queue()
    for slot in range(parallel):
        slots.put(slot % gpus if gpus else None)

    def train_on_a_free_device(run: Run) -> bool:
        device = slots.get()
        try:
            return train(run, preset, extra, env if device is None else dict(env, CUDA_VISIBLE_DEVICES=str(device)))
        finally:
            slots.put(device)

    with ThreadPoolExecutor(max_workers=parallel) as pool:
        results = list(pool.map(train_on_a_free_device, pending))
    return [run for run, ok in zip(pending, results) if not ok]


def real_data_reference(bench_dir: Path, run: Run) -> dict:
    """The image metrics of held-out real images against the reference of `run`'s protocol: the split the
    reference does not use, as many images as the protocol's num_samples (a seeded choice; all of the split when
    it is smaller). No generator can be expected to do better than real data under the same protocol. Computed
    once per bench and kept in reference.json with the key of its images and extractor: settings.json pins the
    preset and overrides, not what a data root or the evaluator's weights file holds, so another key recomputes it."""
    config = yaml.safe_load((run.run_dir / "config.yaml").read_text())
    data, fid = import_class(config["data"]["class_path"])(**config["data"].get("init_args", {})), config["fid"]
    device = "cuda" if torch.cuda.is_available() else "cpu"
    extractor = build_feature_extractor(fid["extractor"], fid.get("feature_extractor_weights_path")).to(device)
    split, num_samples, seed = fid.get("reference_split", "train"), fid.get("num_samples", 10_000), fid.get("seed", 0)
    batch_size = fid.get("batch_size", 250)
    real = RealStatistics(data.dataset, data.root, split, data.resolution, num_samples, seed)  # as the runs' FIDCallback
    held_out_split = "test" if split == "train" else "train"
    images = load_images(data.dataset, data.root, held_out_split == "train", data.resolution, num_samples, seed)
    key = f"{real.key(extractor)}-held-out-{fingerprint(images, seed)}"
    path = bench_dir / REFERENCE
    if path.is_file() and (kept := json.loads(path.read_text())).get("key") == key:
        return kept
    statistics = real.load_or_compute(extractor, batch_size, device)  # the runs' cached statistics
    metrics = held_out_metrics(images, extractor, statistics, split, seed, batch_size, fid.get("kid_subset_size", 1000),
                               device)
    reference = {"images": f"{len(images):,} {data.dataset} {held_out_split} images", "key": key, **metrics}
    path.write_text(json.dumps(reference, indent=2) + "\n")
    return reference


def is_image_preset(preset: Preset) -> bool:
    return any(key == "fid/" for key, _ in preset.metrics)


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


def check_same_bench(bench_dir: Path, settings: dict) -> None:
    """A bench directory holds one protocol: resuming it with other settings would mix incomparable runs."""
    path = bench_dir / "settings.json"
    if path.is_file() and json.loads(path.read_text()) != settings:
        raise ConfigError(f"{bench_dir} holds a bench with another preset or overrides", "choose another --name")
    bench_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(settings))


def bench_summary(bench_dir: Path, ranking_line: str) -> str:
    """Where a bench's results are and how to look at them."""
    lines = [f"  ranking        {ranking_line}",
             f"  table          {bench_dir / 'results.md'} (and results.csv)",
             f"  plots          {bench_dir / 'fid_vs_kimg.png'}, fid_vs_time.png, samples.png",
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
    ranking_line = None
    if finished:
        reference = real_data_reference(bench_dir, finished[0]) if is_image_preset(preset) else None
        ranking_line = write_report(bench_dir, args.preset, preset, finished, extra, args.parallel, reference)
    print(f"lightning-gans bench: {len(finished)} of {len(runs)} runs finished, {time.perf_counter() - start:.0f} s; "
          f"results in {bench_dir}")
    if ranking_line:
        print(bench_summary(bench_dir, ranking_line))
    if failed:
        sys.exit(1)
