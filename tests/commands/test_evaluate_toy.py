"""`lightning-gans evaluate` on a toy run: the run's toy protocol, the same numbers on 1 and 2 processes and as
logged at the end of training."""

import csv
import os
import subprocess
import sys

import pytest
from conftest import QUIET, TOY_CONFIG

from lightning_gans.commands.evaluate import evaluate
from lightning_gans.commands.main import main

KEYS = ("toy/modes_covered", "toy/modes_any", "toy/high_quality", "toy/reverse_kl", "toy/frechet_xy")


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    main(["fit", "--config", TOY_CONFIG, *QUIET, "--runs_root", str(runs), "--run_name", "toy",
          "--model.max_g_steps", "30", "--toy_metrics.num_samples", "501"])
    return runs / "wgan_gp" / "toy"


def test_evaluate_scores_a_toy_checkpoint_as_training_did_on_one_and_two_processes(toy_run):
    checkpoint = toy_run / "checkpoints" / "last.ckpt"
    single = evaluate(str(checkpoint), devices=1, accelerator="cpu")
    assert set(single) == set(KEYS)
    with open(toy_run / "metrics.csv") as f:
        logged = [row for row in csv.DictReader(f) if row.get("toy/frechet_xy")][-1]
    for key in KEYS:
        assert single[key] == pytest.approx(float(logged[key]), rel=1e-6)
    result = subprocess.run(
        [sys.executable, "-m", "lightning_gans.commands.main", "evaluate", "--ckpt_path", str(checkpoint),
         "--devices", "2", "--accelerator", "cpu"], capture_output=True, text=True, timeout=600, env=dict(os.environ))
    assert result.returncode == 0, result.stderr[-3000:]
    printed = dict(line.split() for line in result.stdout.splitlines() if line.startswith("toy/"))
    for key in KEYS:
        assert float(printed[key]) == pytest.approx(single[key], rel=1e-6, abs=1e-9)
    assert f"  metrics        {toy_run / 'metrics.json'}" in result.stdout.splitlines()  # the summary says where


def test_a_toy_run_refuses_an_image_extractor(toy_run):
    with pytest.raises(Exception, match="--extractor='lenet-fmnist' is invalid: a toy run is scored by the toy metrics"):
        evaluate(str(toy_run / "checkpoints" / "last.ckpt"), extractor="lenet-fmnist")
