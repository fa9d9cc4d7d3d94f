"""Planning and training a bench's runs. Each run is a subprocess `lightning-gans fit` into
`<bench>/runs/<technique>/[<variant>-]seed<seed>/` (subprocesses isolate runs and let N run at once, one per GPU when
there are GPUs), its console output in `<bench>/logs/<row>-seed<seed>.log`. A run that finished holds the layout's
finished marker and is never retrained; one that was interrupted is resumed from its last checkpoint."""

import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from queue import Queue

import torch
import yaml

from lightning_gans.bench.presets import Preset
from lightning_gans.builtin import EXPERIMENTS
from lightning_gans.errors import ConfigError, require
from lightning_gans.run.layout import RunLayout
from lightning_gans.techniques import technique_name

QUIET = ("--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false")


@dataclass(frozen=True)
class BenchRun:
    technique: str  # the table's row: the technique, or <technique>-<variant>
    seed: int
    config: Path
    run_dir: Path
    log: Path
    overrides: tuple[str, ...] = ()  # the preset's for this technique, then the variant's (or extra row's)

    @property
    def layout(self) -> RunLayout:
        return RunLayout(self.run_dir)

    @property
    def finished(self) -> bool:
        return self.layout.finished_marker.is_file()

    @property
    def peak_rss_mb(self) -> float:
        return json.loads(self.layout.finished_marker.read_text())["peak_rss_mb"]


def preset_configs(preset: Preset) -> dict[str, Path]:
    """technique name -> config file, for every config the preset's glob matches."""
    configs = {}
    for path in sorted(EXPERIMENTS.glob(preset.configs)):
        class_path = yaml.safe_load(path.read_text())["model"]["class_path"]
        configs[technique_name(class_path)] = path
    return configs


def plan_runs(preset: Preset, techniques: list[str] | None, seeds: int, bench_dir: Path) -> list[BenchRun]:
    configs = preset_configs(preset)
    unknown = sorted(set(techniques or []) - set(configs))
    require(not unknown, "--techniques", ",".join(unknown), f"choose from {','.join(configs)}")
    chosen = [t for t in configs if techniques is None or t in techniques]
    rows = [(t, variant, overrides) for t in chosen for variant, overrides in preset.variants or (("", ()),)]
    rows += [row for row in preset.extra_rows if row[0] in chosen]
    runs = []
    for t, variant, overrides in rows:
        row, prefix = (f"{t}-{variant}", f"{variant}-") if variant else (t, "")
        # fit writes a run to <runs_root>/<technique>/<run_name>: a variant (or extra row) is in the run's name
        runs += [BenchRun(row, seed, configs[t], RunLayout.under(bench_dir / "runs", t, f"{prefix}seed{seed}").root,
                          bench_dir / "logs" / f"{row}-seed{seed}.log", (*preset.technique_overrides.get(t, ()), *overrides))
                 for seed in range(seeds)]
    return runs


def fit_command(run: BenchRun, preset: Preset, extra: list[str]) -> list[str]:
    """The one place a run's command is built. An interrupted run resumes with its own config.yaml."""
    fit = [sys.executable, "-m", "lightning_gans.commands.main", "fit"]
    target = ["--runs_root", str(run.run_dir.parents[1]), "--run_name", run.run_dir.name]
    group = ["--wandb_group", run.run_dir.parents[2].name]  # the bench name: W&B pages group its runs
    if run.layout.last_checkpoint.is_file():
        return [*fit, "--config", str(run.layout.config), *target, "--ckpt_path", "last", *QUIET]
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


def train(run: BenchRun, preset: Preset, extra: list[str], env: dict[str, str]) -> bool:
    """Train (or resume) one run to its budget; True when it finished."""
    layout = run.layout
    if not layout.last_checkpoint.is_file() and layout.root.exists():
        # Stopped before its first checkpoint: nothing to resume, and fit refuses an existing directory.
        shutil.rmtree(layout.root)
    elif layout.metrics_csv.is_file():
        # Set the earlier session's rows aside: the report drops those that the resumed session repeats.
        layout.metrics_csv.rename(layout.session_csv(len(layout.session_csvs())))
    code, peak_rss_mb = launch(fit_command(run, preset, extra), run.log, env)
    if code != 0:
        print(f"lightning-gans bench: {run.technique} seed {run.seed} failed (exit {code}): see {run.log}", file=sys.stderr)
        return False
    layout.finished_marker.write_text(json.dumps({"peak_rss_mb": peak_rss_mb}))  # of the last session
    return True


def train_all(runs: list[BenchRun], preset: Preset, extra: list[str], parallel: int) -> list[BenchRun]:
    """Train the unfinished runs, `parallel` at a time (each on its own GPU when there are GPUs); return the
    runs that failed."""
    pending = [run for run in runs if not run.finished]
    gpus = torch.cuda.device_count()
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // parallel)))  # parallel runs share the cores
    slots: Queue = Queue()
    for slot in range(parallel):
        slots.put(slot % gpus if gpus else None)

    def train_on_a_free_device(run: BenchRun) -> bool:
        device = slots.get()
        try:
            return train(run, preset, extra, env if device is None else dict(env, CUDA_VISIBLE_DEVICES=str(device)))
        finally:
            slots.put(device)

    with ThreadPoolExecutor(max_workers=parallel) as pool:
        results = list(pool.map(train_on_a_free_device, pending))
    return [run for run, ok in zip(pending, results) if not ok]


def check_same_bench(bench_dir: Path, settings: dict) -> None:
    """A bench directory holds one protocol: resuming it with other settings would mix incomparable runs."""
    path = bench_dir / "settings.json"
    if path.is_file() and json.loads(path.read_text()) != settings:
        raise ConfigError(f"{bench_dir} holds a bench with another preset or overrides", "choose another --name")
    bench_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(settings))
