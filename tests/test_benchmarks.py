"""benchmarks/ kept from going stale: every script's `--help` runs (it imports what the script imports, so a module
that moved or went fails here), `benchmarks/fid.py` and `benchmarks/gpu_check.py --smoke` run end to end on small
data, and the layer contract puts benchmarks/ on top of lightning_gans."""

import importlib.util
import itertools
import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import torch
from conftest import REPO, write_fashion_mnist

from lightning_gans.metrics.extractor_classifier import DomainClassifier, save_weights
from lightning_gans.nets.standard import build_cnn
from lightning_gans.techniques import TECHNIQUES

# The scripts: the modules with a main block (the others, like syncs.py, are what scripts share).
SCRIPTS = sorted(path.name for path in (REPO / "benchmarks").glob("*.py") if '__name__ == "__main__"' in path.read_text())
BIN = Path(sys.executable).parent


def benchmark_module(name: str):
    """benchmarks/<name>.py as a module: the checkout is not on the path of an installed test run (`make test`)."""
    spec = importlib.util.spec_from_file_location(f"benchmarks.{name}", REPO / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_script(name: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """`python benchmarks/<name> ARGS` from the repository root, as the README and the Makefile run it."""
    return subprocess.run([sys.executable, f"benchmarks/{name}", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "WANDB_MODE": "disabled"})


@pytest.fixture(scope="module")
def helps() -> dict[str, subprocess.CompletedProcess]:
    """Every script's `--help`, run a few at a time: each one mostly waits on its imports."""
    with ThreadPoolExecutor(max(2, os.cpu_count() or 2)) as pool:
        return dict(zip(SCRIPTS, pool.map(lambda name: run_script(name, "--help"), SCRIPTS)))


def test_there_are_scripts_to_check():
    assert "fid.py" in SCRIPTS and len(SCRIPTS) >= 5


@pytest.mark.parametrize("name", SCRIPTS)
def test_the_script_imports_and_prints_its_usage(helps, name):
    result = helps[name]
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith(f"usage: {name}"), result.stdout[:500]


def test_the_fid_benchmark_runs_end_to_end_on_small_data(tmp_path, monkeypatch):
    """`make bench-fid`'s script with 256 fakes and 256 real images, a classifier at initialisation and a fresh
    cache: every evaluation gives one FID, and ours and torch-fidelity's agree on the same features."""
    root = write_fashion_mnist(tmp_path / "fashion-mnist", n_train=8, n_test=300)
    torch.manual_seed(0)
    weights = tmp_path / "classifier.pt"
    save_weights(DomainClassifier(), "fashion_mnist", 0.0, weights)
    monkeypatch.setenv("LIGHTNING_GANS_CACHE", str(tmp_path / "cache"))  # left empty: the cold caches are temporary
    result = run_script("fid.py", "--num_samples", "256", "--batch_size", "128", "--rounds", "1", "--root", str(root),
                        "--weights", str(weights))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "256 fakes vs 256 test images" in result.stdout
    assert "in every evaluation" in result.stdout
    difference = float(result.stdout.split("relative FID difference: ")[1].split()[0])
    assert difference < 1e-3, result.stdout
    assert not (tmp_path / "cache").exists()


def test_lightning_gans_importing_benchmarks_breaks_the_contract(tmp_path):
    for package in ("lightning_gans", "benchmarks"):
        shutil.copytree(REPO / package, tmp_path / package, symlinks=True)
    errors = tmp_path / "lightning_gans" / "errors.py"
    errors.write_text("import benchmarks.fid  # upward\n" + errors.read_text())
    result = subprocess.run([str(BIN / "lint-imports"), "--config", str(REPO / "pyproject.toml"), "--no-cache"],
                            cwd=tmp_path, env={"PYTHONPATH": str(tmp_path), "PATH": str(BIN)}, capture_output=True,
                            text=True)
    assert result.returncode != 0
    assert "lightning_gans is not allowed to import benchmarks" in result.stdout
    assert "lightning_gans.errors -> benchmarks.fid" in result.stdout


def test_the_gpu_check_smoke_run_writes_one_row_per_cell(tmp_path):
    """`gpu_check.py --smoke` on the CPU, the eager axis only: a JSON row per technique x precision x memory format,
    each with the LightningModule's numbers and, in the contiguous format, the plain loop's; the FID evaluation
    timed with the lenet at initialisation; the markdown table beside it."""
    result = run_script("gpu_check.py", "--smoke", "--compile", "none", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "gpu_check.json").read_text())
    cells = {(row["technique"], row["precision"], row["compile"], row["memory_format"]) for row in report["cells"]}
    assert len(report["cells"]) == len(cells) == len(TECHNIQUES) * 2 * 2
    assert cells == set(itertools.product(TECHNIQUES, ("32-true", "bf16-mixed"), ("none",),
                                          ("contiguous", "channels_last")))
    for row in report["cells"]:
        assert row["Lightning"]["img_per_s"] > 0 and row["Lightning"]["syncs_per_batch"] >= 0
        assert isinstance(row["plain"], dict) == (row["memory_format"] == "contiguous")
    assert report["fid"]["extractor"].startswith("lenet-random") and report["fid"]["seconds"] > 0
    table = (tmp_path / "gpu_check.md").read_text()
    assert table.count("\n| sngan |") == 4 and "| FID evaluation |" in table


def test_the_gpu_check_compiles_a_cell_and_compiling_adds_no_host_sync(tmp_path):
    """The compiled axis passes `compile=default` to the technique (one small cell beside its eager twin: compiling
    every cell would take minutes on a CPU), and the compiled step synchronises no more than the eager one (both
    count the reads of their logging step; between logging steps `tests/training/test_host_syncs.py` finds none)."""
    result = run_script("gpu_check.py", "--smoke", "--compile", "none", "default", "--techniques", "sngan",
                        "--precisions", "32-true", "--formats", "contiguous", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    rows = {row["compile"]: row["Lightning"] for row in json.loads((tmp_path / "gpu_check.json").read_text())["cells"]}
    assert set(rows) == {"none", "default"} and rows["default"]["img_per_s"] > 0
    assert rows["default"]["syncs_per_batch"] == rows["none"]["syncs_per_batch"]


def test_the_gpu_check_reports_a_missing_extractor_as_skipped(tmp_path):
    """An extractor that cannot be built (its weights file is missing) is a 'skipped: <why>' in the FID row, not a
    crash and not a silent omission."""
    result = run_script("gpu_check.py", "--smoke", "--compile", "none", "--techniques", "wgan", "--precisions",
                        "32-true", "--formats", "contiguous", "--fid-extractor", "lenet-fmnist", "--fid-weights",
                        str(tmp_path / "absent.pt"), "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    fid = json.loads((tmp_path / "gpu_check.json").read_text())["fid"]
    assert fid["seconds"].startswith("skipped: ") and "absent.pt" in fid["seconds"]
    assert "| lenet-fmnist | 64 | skipped: " in (tmp_path / "gpu_check.md").read_text()


def test_the_benchmarks_build_wgan_without_critic_bursts_so_a_g_step_is_n_critic_critic_steps_as_in_the_plain_loop():
    throughput = benchmark_module("throughput")
    model = throughput.build("wgan", True, width=8)
    assert not model.hparams.critic_burst and model.n_critic_at(0) == model.n_critic == 5
    assert throughput.build("wgan", True, width=8, critic_burst=True).n_critic_at(0) == 100  # options still rule


def test_the_plain_loop_takes_stylegan_ada_through_its_p_updates_and_its_dreg_steps():
    """The plain loop that the LightningModule is compared with does a StyleGANADA critic step's work beyond the
    losses: ADA moves p every ada_interval critic steps (its sums go through an idle one-device Trainer, so the loop
    needs no fit) and D takes its own R1 step every regularization_interval critic steps."""
    throughput = benchmark_module("throughput")
    model = throughput.build("stylegan_ada", False, architecture="stylegan", width=8, augment_p=0.5, ada_interval=2,
                             ada_kimg=0.001, regularization_interval=2)
    dreg_due, critic_regularization = [], model.critic_regularization

    def spy(*args, **kwargs):
        terms = critic_regularization(*args, **kwargs)
        dreg_due.append(terms is not None)
        return terms

    model.critic_regularization = spy
    timing = throughput.plain_timing(model, batch_size=4, warmup=0, g_steps=4, precision="32-true")
    assert timing.batches == 4
    assert dreg_due == [True, False, True, False]  # d_step 0 and 2 of 0..3
    # Two updates of p by +-(8 images) / (0.001 kimg): never 0.5 again, since r_t (a multiple of 1/4) is never 0.6.
    assert model.critic.augment.p.item() != 0.5 and model.ada.steps == 0


def test_the_gpu_check_counts_a_host_sync_per_item_call():
    """`HostSyncCounter` counts each call of a synchronising Tensor method while entered and none after, and a
    CPU tensor's `.cpu()` not at all."""
    x = torch.ones(3)
    with benchmark_module("syncs").HostSyncCounter() as counter:
        x.sum().item(), x.tolist(), bool(x[0]), float(x[0]), int(x[0]), x.cpu()
    x.sum().item()
    assert counter.calls == 5
    with counter:
        x[0].item()
    assert counter.calls == 6


def test_the_conditioning_speed_reads_how_far_each_class_gain_and_bias_moved_from_its_label_blind_start(tmp_path, capsys):
    speed = benchmark_module("conditioning_speed")
    generator, _ = build_cnn((1, 32, 32), latent_dim=8, width=4, dropout=0.0, num_classes=3)
    state = {f"generator.{key}": value for key, value in generator.state_dict().items()}
    norms = speed.conditional_norms(state)
    assert len(norms) == 4  # the CNN generator's BatchNorms: after the dense layer and after each deconvolution
    state[f"{norms[0]}.gain.weight"][1] += 0.25  # class 1's gains in the first: a change and a spread
    state[f"{norms[0]}.bias.weight"][:, 0] = -0.5  # every class's first bias: a change, no spread
    (tmp_path / "checkpoints").mkdir()
    torch.save({"state_dict": state, "hyper_parameters": {"lr_g": 2e-4}}, tmp_path / "checkpoints" / "g0000010.ckpt")
    speed.main([str(tmp_path)])
    # per channel of the first: class 1 is 0.25 - 0.25 / 3 from the classes' mean, the other two 0.25 / 3 each
    channels, entries = state[f"{norms[0]}.gain.weight"].shape[1], sum(state[f"{n}.gain.weight"].numel() for n in norms)
    spread = channels * (0.25 - 0.25 / 3 + 2 * 0.25 / 3) / entries
    assert capsys.readouterr().out.splitlines()[-1] == f"| 10 | 0.002 | 0.2500 | 0.5000 | {spread:.4f} | 0.0000 |"
