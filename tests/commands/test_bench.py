"""`lightning-gans bench` on the toy preset with a tiny budget: five output files, a row per technique with mean
and std, plots that are real pictures, no retraining on a second call, and an interrupted run resumed."""

import csv
import math
import re
import shutil

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from lightning_gans.bench import runner
from lightning_gans.bench.presets import PRESETS, TOY_METRICS, Preset, override_values
from lightning_gans.bench.report import mean_std, metric_stats, ranking, read_metrics
from lightning_gans.commands import bench
from lightning_gans.commands.main import main
from lightning_gans.run.config import import_class
from lightning_gans.run.layout import RunLayout

TECHNIQUES = ["sngan", "wgan_gp"]
TINY = ["--", "--model.max_g_steps", "20", "--model.width", "32", "--toy_metrics.every_n_g_steps", "10",
        "--toy_metrics.num_samples", "500", "--samples.every_n_g_steps", "10", "--samples.num_samples", "500",
        "--checkpoint.every_n_g_steps", "10", "--trainer.log_every_n_steps", "10"]
OUTPUTS = ["results.csv", "results.md", "toy_modes_covered_vs_kimg.png", "toy_modes_covered_vs_time.png", "samples.png"]


def run_bench(results_root):
    main(["bench", "--preset", "toy", "--seeds", "2", "--techniques", ",".join(TECHNIQUES), "--name", "tiny",
          "--results_root", str(results_root), "--parallel", "2", *TINY])
    return results_root / "tiny"


@pytest.fixture(scope="module")
def toy_bench(tmp_path_factory):
    return run_bench(tmp_path_factory.mktemp("results"))


def table_cells(results_md, technique):
    row = next(line for line in results_md.splitlines() if line.startswith(f"| {technique} |"))
    return [cell.strip() for cell in row.strip("|").split("|")]


def test_bench_writes_a_table_with_mean_and_std_per_technique(toy_bench):
    assert all((toy_bench / name).is_file() for name in OUTPUTS)
    with open(toy_bench / "results.csv") as f:
        rows = list(csv.DictReader(f))
    assert sorted((r["technique"], r["seed"]) for r in rows) == [(t, s) for t in TECHNIQUES for s in "01"]
    results_md = (toy_bench / "results.md").read_text()
    header = table_cells(results_md.replace("| technique |", "| header |"), "header")
    assert header[1:4] == ["runs", "final toy/modes_covered", "best toy/modes_covered"]
    assert "Ranked by the final toy/modes_covered (higher is better), then toy/high_quality" in results_md
    frechet = header.index("final toy/frechet_xy")
    for technique in TECHNIQUES:
        cells = table_cells(results_md, technique)
        mean, std = map(float, re.fullmatch(r"(\S+) ± (\S+)", cells[frechet]).groups())
        finals = [float(r["final toy/frechet_xy"]) for r in rows if r["technique"] == technique]
        assert cells[1] == "2" and mean == pytest.approx(np.mean(finals), rel=1e-3)
        assert std == pytest.approx(np.std(finals, ddof=1), rel=0.05, abs=1e-3)
        kimg = float(cells[header.index("kimg")].split(" ± ")[0])
        config = yaml.safe_load((toy_bench / "runs" / technique / "seed0" / "config.yaml").read_text())
        n_critic = config["model"]["init_args"]["n_critic"]
        assert kimg == pytest.approx(20 * n_critic * 256 / 1000)  # 20 G steps x n_critic batches of 256


def test_toy_ranking_is_coverage_then_quality_then_reverse_kl():
    """On a made-up results table: the most modes covered wins whatever its frechet_xy; equal coverage goes to
    the higher high-quality fraction, then the lower reverse KL, where inf (no high-quality sample) is worst."""
    finals = {  # technique: per seed (modes_covered, high_quality, reverse_kl, modes_any, frechet_xy)
        "spread": [(0, 0.0, math.inf, 0, 0.01), (0, 0.0, math.inf, 0, 0.01)],
        "covers": [(3, 0.10, 0.40, 5, 9.0), (3, 0.10, 0.40, 6, 9.0)],
        "covers_more": [(4, 0.05, 0.90, 4, 20.0), (4, 0.05, 0.90, 4, 20.0)],
        "sharper": [(3, 0.20, 0.50, 3, 9.0), (3, 0.20, 0.50, 3, 9.0)],
        "lopsided": [(0, 0.01, 1.20, 2, 5.0), (0, 0.01, 1.00, 2, 5.0)],
        "uniform": [(0, 0.01, 0.30, 2, 5.0), (0, 0.01, 0.50, 2, 5.0)],
    }
    rows = [{"technique": technique, "seed": seed, **{f"final {key}": value for (key, _), value in zip(
            TOY_METRICS, values)}} for technique, seeds in finals.items() for seed, values in enumerate(seeds)]
    keys, reverse_kl = list(TOY_METRICS), [("toy/reverse_kl", "min")]
    assert ranking(metric_stats(rows, keys), keys) == ["covers_more", "sharper", "covers", "uniform", "lopsided",
                                                       "spread"]
    assert ranking(metric_stats(rows, reverse_kl), reverse_kl)[-1] == "spread"
    assert mean_std([math.inf, 0.4]) == "inf" and mean_std([1.0, 3.0]) == "2 ± 1.4"


def test_plots_are_non_blank_pngs(toy_bench):
    for name in OUTPUTS[2:]:
        image = Image.open(toy_bench / name)
        assert image.format == "PNG"
        assert np.asarray(image.convert("L"), dtype=float).std() > 10


def test_second_call_trains_nothing(toy_bench, monkeypatch):
    launched = []
    monkeypatch.setattr(runner, "launch", lambda command, log, env: launched.append(command) or (1, 0.0))
    before = (toy_bench / "results.csv").read_text()
    run_bench(toy_bench.parent)
    assert launched == [] and (toy_bench / "results.csv").read_text() == before


def test_interrupted_run_resumes_from_its_checkpoint(toy_bench, tmp_path, monkeypatch):
    copy = shutil.copytree(toy_bench, tmp_path / "tiny")
    run_dir = copy / "runs" / "sngan" / "seed1"
    run = RunLayout(run_dir)  # a copied run directory: its config.yaml does not say where it lies
    assert str(toy_bench) not in run.config.read_text()
    # As if killed after the checkpoint of step 10: last.ckpt is that one, and the run never reported success.
    shutil.copy(run.periodic_checkpoint(10), run.last_checkpoint)
    trained_before = torch.load(run.last_checkpoint, weights_only=True)["lightning_gans"]["wall_time_s"]
    run.finished_marker.unlink()
    first_grid = run.sample_grid(10)
    first_grid_mtime = first_grid.stat().st_mtime_ns
    launched = []
    real_launch = runner.launch
    monkeypatch.setattr(runner, "launch", lambda command, log, env: launched.append(command) or real_launch(command, log, env))
    run_bench(tmp_path)
    assert len(launched) == 1 and launched[0][launched[0].index("--ckpt_path") + 1] == "last"
    assert first_grid.stat().st_mtime_ns == first_grid_mtime  # resumed in place, not restarted
    checkpoint = torch.load(run.last_checkpoint, map_location="cpu", weights_only=True)
    assert checkpoint["lightning_gans"]["g_step"] == 20 and run.finished_marker.is_file()
    assert [path.name for path in run.session_csvs()] == ["metrics.session0.csv"]
    # The curve spans both sessions although fit started metrics.csv afresh; training time adds up over them.
    rows = read_metrics(run_dir)
    assert [row["step"] for row in rows if "toy/frechet_xy" in row] == [10, 20]
    assert checkpoint["lightning_gans"]["wall_time_s"] > trained_before > 0
    assert [row["progress/wall_time_s"] for row in rows if "progress/wall_time_s" in row][-1] > trained_before


def test_each_variant_trains_into_its_own_run_with_its_own_overrides(tmp_path, monkeypatch):
    toy = PRESETS["toy"]
    variants = (("slow", ("--model.lr_g", "1e-4")), ("fast", ("--model.lr_g", "2e-4")))
    monkeypatch.setitem(PRESETS, "toy-variants", Preset("toy/wgan.yaml", toy.overrides, toy.protocol, toy.metrics, variants))
    main(["bench", "--preset", "toy-variants", "--seeds", "1", "--name", "variants", "--results_root", str(tmp_path),
          "--parallel", "2", *TINY])
    with open(tmp_path / "variants" / "results.csv") as f:
        assert sorted(row["technique"] for row in csv.DictReader(f)) == ["wgan-fast", "wgan-slow"]
    for variant, lr_g in (("slow", 1e-4), ("fast", 2e-4)):
        config = yaml.safe_load((tmp_path / "variants" / "runs" / "wgan" / f"{variant}-seed0" / "config.yaml").read_text())
        assert config["model"]["init_args"]["lr_g"] == lr_g


@pytest.mark.parametrize("args, message", [
    (["--preset", "mnist"],
     "--preset='mnist' is invalid: choose one of toy, toy-ring, fmnist-cpu, fmnist-cond, fmnist-2k, cifar10"),
    (["--techniques", "wgan,dcgan"], "--techniques='dcgan' is invalid: choose from r1gan,sngan,wgan,wgan_gp"),
    (["--seeds", "0"], "--seeds=0 is invalid: use an integer >= 1"),
])
def test_bad_input_is_one_line_and_leaves_nothing(args, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["bench", "--results_root", str(tmp_path), *args])
    assert exit_.value.code == 2
    assert capsys.readouterr().err == f"lightning-gans: error: {message}\n"
    assert list(tmp_path.iterdir()) == []


def test_bench_summary_names_the_table_the_runs_and_how_to_sync_offline_runs(tmp_path):
    (tmp_path / "runs" / "sngan" / "seed0" / "wandb" / "offline-run-1-abc").mkdir(parents=True)
    plots = ["toy_modes_covered_vs_kimg.png", "toy_modes_covered_vs_time.png", "samples.png"]
    lines = bench.bench_summary(tmp_path, "by final toy/modes_covered (best in brackets): 1 sngan 8 (8)", plots).splitlines()
    assert lines[0] == "  ranking        by final toy/modes_covered (best in brackets): 1 sngan 8 (8)"
    assert f"  table          {tmp_path / 'results.md'} (and results.csv)" in lines
    assert f"  plots          {tmp_path / plots[0]}, toy_modes_covered_vs_time.png, samples.png" in lines
    assert lines[-1].startswith(f"  view           wandb sync {tmp_path / 'runs'}/*/*/wandb/offline-run-*")


def override_value(text: str):
    value = yaml.safe_load(text)
    try:
        return float(value) if isinstance(value, str) else value  # PyYAML reads 2e-4 as a string
    except ValueError:
        return value


@pytest.mark.parametrize("preset_name", ["fmnist-cpu", "cifar10"])
def test_a_techniques_own_overrides_reach_its_runs_alone_and_its_model(preset_name, tmp_path, capsys):
    """cifar10's reference settings (SN-GAN's separate passes and G batch 2 x 64, StyleGAN's 'orig' D, ...) and
    fmnist-cpu's WGAN without critic bursts are keys of that technique's config, resolved into its model."""
    preset = PRESETS[preset_name]
    runs = runner.plan_runs(preset, None, 1, tmp_path)
    assert {run.technique for run in runs} >= set(preset.technique_overrides)
    for run in runs:
        own = preset.technique_overrides.get(run.technique, ())
        assert run.overrides == own
        with pytest.raises(SystemExit) as exit_:
            main(["fit", "--config", str(run.config), *preset.overrides, *run.overrides, "--print_config"])
        assert exit_.value.code == 0
        model = yaml.safe_load(capsys.readouterr().out)["model"]
        for key, value in zip(own[::2], own[1::2]):
            assert model["init_args"][key.removeprefix("--model.")] == override_value(value), (run.technique, key)
        import_class(model["class_path"])(**model["init_args"])  # the technique accepts the combination


def test_fmnist_cond_runs_every_technique_conditional_plus_an_unconditional_sngan_row_of_its_own(tmp_path):
    preset = PRESETS["fmnist-cond"]
    runs = {run.technique: run for run in runner.plan_runs(preset, None, 1, tmp_path)}
    assert set(runs) == {*runner.preset_configs(preset), "sngan-uncond"}
    assert runs["sngan-uncond"].config == runs["sngan"].config
    assert runs["sngan-uncond"].run_dir == tmp_path / "runs" / "sngan" / "uncond-seed0" != runs["sngan"].run_dir
    assert runs["sngan-uncond"].overrides[-2:] == ("--data.conditional", "false")
    cpu = override_values(PRESETS["fmnist-cpu"].overrides)
    assert override_values(preset.overrides) == {**cpu, "data.conditional": "true"}  # fmnist-cpu's budget
    assert preset.technique_overrides == PRESETS["fmnist-cpu"].technique_overrides
    assert [run.technique for run in runner.plan_runs(preset, ["wgan"], 1, tmp_path)] == ["wgan"]


def test_fmnist_cond_rows_reach_their_models_with_the_datas_number_of_classes(tmp_path, capsys):
    preset = PRESETS["fmnist-cond"]
    for run in runner.plan_runs(preset, None, 1, tmp_path):
        with pytest.raises(SystemExit) as exit_:
            main(["fit", "--config", str(run.config), *preset.overrides, *run.overrides, "--print_config"])
        assert exit_.value.code == 0
        config = yaml.safe_load(capsys.readouterr().out)
        data = import_class(config["data"]["class_path"])(**config["data"]["init_args"])
        # what the CLI's link of data.num_classes and data.class_names gives the model when it instantiates it
        model = import_class(config["model"]["class_path"])(**config["model"]["init_args"], num_classes=data.num_classes,
                                                            class_names=data.class_names)
        assert model.num_classes == (None if run.technique == "sngan-uncond" else 10), run.technique
