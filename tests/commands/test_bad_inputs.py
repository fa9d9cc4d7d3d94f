"""Bad inputs give one line naming the problem and the fix, a non-zero exit, no traceback, and leave
an existing run directory untouched."""

import hashlib
import os
import subprocess
import sys

import pytest
from conftest import REPO

from lightning_gans.commands.main import main

TOY = str(REPO / "experiments" / "toy" / "wgan_gp.yaml")
IMAGES = str(REPO / "experiments" / "sngan.yaml")
ADA = str(REPO / "experiments" / "stylegan_ada.yaml")
NO_FID = ["--fid.extractor", "null"]
FAST = ["--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"]


@pytest.fixture(scope="module")
def existing_run(tmp_path_factory):
    """A finished 2-step toy run at <runs>/wgan_gp/existing, plus a corrupt and a truncated checkpoint."""
    runs = tmp_path_factory.mktemp("runs")
    main(["fit", "--config", TOY, "--runs_root", str(runs), "--run_name", "existing", "--model.max_g_steps", "2",
          "--model.width", "16", *FAST])
    checkpoints = runs / "wgan_gp" / "existing" / "checkpoints"
    good = (checkpoints / "last.ckpt").read_bytes()
    (tmp_path_factory.getbasetemp() / "truncated.ckpt").write_bytes(good[: len(good) // 2])
    (tmp_path_factory.getbasetemp() / "random.ckpt").write_bytes(os.urandom(4096))
    return runs


def tree_hash(root):
    digest = hashlib.sha256()
    for directory, _, files in sorted(os.walk(root)):
        for name in sorted(files):
            path = os.path.join(directory, name)
            digest.update(path.encode() + open(path, "rb").read())
    return digest.hexdigest()


CASES = {
    "unknown technique": (["--config", TOY, "--model", "Foo"], "model=Foo is not a known technique: choose one of"),
    "unknown config key": (["--config", TOY, "--model.foo", "1"], "unknown config key model.foo"),
    "n_critic < 1": (["--config", TOY, "--model.n_critic", "0"], "model.n_critic=0 is invalid: use an integer >= 1"),
    "negative learning rate": (["--config", TOY, "--model.lr_d=-1e-4"], "model.lr_d=-0.0001 is invalid"),
    "clip value c <= 0": (["--config", TOY, "--model", "WGAN", "--model.clip_value", "0"], "model.clip_value=0.0 is invalid"),
    "beta out of range": (["--config", TOY, "--model.betas", "[0.5, 1.0]"], "model.betas=(0.5, 1.0) is invalid"),
    "ema half-life 0": (["--config", TOY, "--model.ema_kimg", "0"], "model.ema_kimg=0.0 is invalid"),
    "unknown dataset": (["--config", IMAGES, *NO_FID, "--data.dataset", "imagenet"], "data.dataset='imagenet' is invalid"),
    "dataset not found": (["--config", IMAGES, *NO_FID, "--data.root", "{empty}"], "no Fashion-MNIST train-images-idx3-ubyte"),
    "resolution the net cannot produce": (["--config", IMAGES, *NO_FID, "--data.resolution", "30"],
                                          "data.resolution=30 is invalid: architecture 'cnn' needs a multiple of 8"),
    "image net on 2-D data": (["--config", TOY, "--model.architecture", "cnn"], "it needs image data"),
    "r_v without held-out images": (["--config", ADA, *NO_FID, "--data.root", "{empty}", "--model.ada_heuristic", "rv"],
                                    "model.ada_heuristic='rv' is invalid: r_v needs held-out images"),
    "existing run directory": (["--config", TOY, "--run_name", "existing"], "already exists: choose another --run_name"),
    "resume without a run name": (["--config", TOY, "--ckpt_path", "last"], "--ckpt_path last needs the run to resume"),
    "resume a run that has no checkpoint": (["--config", TOY, "--ckpt_path", "last", "--run_name", "nothing"],
                                            "not found: pass an existing .ckpt file"),
    "checkpoint of other networks": (["--config", TOY, "--model.width", "32", "--ckpt_path",
                                      "{runs}/wgan_gp/existing/checkpoints/last.ckpt"],
                                     "holds other networks than the configuration builds"),
    "fine-tuning other networks": (["--config", TOY, "--model.width", "32", "--init_from",
                                    "{runs}/wgan_gp/existing/checkpoints/last.ckpt"],
                                   "holds other networks than the configuration builds: configure the networks"),
    "fine-tuning from a missing file": (["--config", TOY, "--init_from", "{base}/none.ckpt"], "not found"),
    "truncated checkpoint": (["--config", TOY, "--ckpt_path", "{base}/truncated.ckpt"], "is corrupt or unreadable"),
    "random-bytes checkpoint": (["--config", TOY, "--ckpt_path", "{base}/random.ckpt"], "is corrupt or unreadable"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_one_line_and_leaves_runs_untouched(case, existing_run, tmp_path, capsys):
    args, expected = CASES[case]
    args = [a.format(empty=tmp_path, base=existing_run.parent, runs=existing_run) for a in args]
    before = tree_hash(existing_run)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", *args, "--runs_root", str(existing_run), *FAST])
    stderr = capsys.readouterr().err
    assert exit_info.value.code == 2
    errors = [line for line in stderr.splitlines() if line.startswith("lightning-gans: error:")]
    assert len(errors) == 1 and stderr.rstrip().endswith(errors[0]), stderr
    assert expected in errors[0]
    assert "Traceback" not in stderr
    assert tree_hash(existing_run) == before
    assert sorted(p.name for p in existing_run.iterdir()) == ["wgan_gp"]
    assert sorted(p.name for p in (existing_run / "wgan_gp").iterdir()) == ["existing"]


def test_console_script_exits_non_zero_with_one_line(existing_run):
    result = subprocess.run(
        [sys.executable, "-m", "lightning_gans.commands.main", "fit", "--config", TOY, "--model.n_critic", "0"],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "lightning-gans: error: model.n_critic=0 is invalid: use an integer >= 1"
    )
    assert "Traceback" not in result.stderr
