"""benchmarks/ kept from going stale: every script's `--help` runs (it imports what the script imports, so a module
that moved or went fails here), `benchmarks/fid.py` runs end to end on small data, and the layer contract puts
benchmarks/ on top of lightning_gans."""

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

SCRIPTS = sorted(path.name for path in (REPO / "benchmarks").glob("*.py") if path.name != "__init__.py")
BIN = Path(sys.executable).parent


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
