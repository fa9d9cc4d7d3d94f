"""`data.conditional: true` is the one switch of a conditional run: the CLI hands the data's classes to the technique
(and refuses them as model options), and bad labels stop `lightning-gans fit` with one line before a run directory
exists."""

import numpy as np
import pytest
from conftest import QUIET, REPO, write_fashion_mnist, write_idx
from labelled_data import BAD_LABELS, class_folders

from lightning_gans.commands.fit import GANCLI
from lightning_gans.commands.main import main

TOY = str(REPO / "experiments" / "toy" / "wgan_gp.yaml")
IMAGES = str(REPO / "experiments" / "sngan.yaml")
NO_FID = ["--fid.extractor", "null"]


class BuildOnly(GANCLI):
    """`fit` up to the point where training would start: the data module and the technique are built and connected."""

    def fit(self, model, **kwargs):
        pass

    def after_fit(self):
        pass


def built(tmp_path, *args) -> GANCLI:
    return BuildOnly(args=["fit", *args, *QUIET, "--logger", "none", "--runs_root", str(tmp_path / "runs")])


def test_the_technique_takes_its_classes_from_conditional_data(tmp_path):
    conditional = built(tmp_path, "--config", TOY, "--data.conditional", "true", "--run_name", "conditional")
    assert conditional.model.num_classes == conditional.datamodule.num_classes == 25
    assert conditional.model.class_names == [f"mode {k}" for k in range(25)]
    unconditional = built(tmp_path, "--config", TOY, "--run_name", "unconditional")
    assert unconditional.model.num_classes is unconditional.model.class_names is None


def test_class_folders_name_the_techniques_classes(tmp_path):
    class_folders(tmp_path / "images", {"shirt": 2, "bag": 3})
    cli = built(tmp_path, "--config", IMAGES, *NO_FID, "--data.dataset", "image_folder", "--data.root",
                str(tmp_path / "images"), "--data.conditional", "true")
    assert cli.model.class_names == ["bag", "shirt"] and cli.model.num_classes == 2


def fit_error(args, runs, capsys) -> str:
    """The one line that `lightning-gans fit ARGS` exits 2 with."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", *args, "--runs_root", str(runs), "--trainer.enable_progress_bar", "false"])
    stderr = capsys.readouterr().err
    assert exit_info.value.code == 2 and "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith("lightning-gans: error:")]
    assert len(errors) == 1 and stderr.rstrip().endswith(errors[0]), stderr
    return errors[0]


@pytest.mark.parametrize("key, value", [("num_classes", "3"), ("class_names", "[a, b]")])
def test_the_classes_are_not_model_options(tmp_path, capsys, key, value):
    error = fit_error(["--config", TOY, f"--model.{key}", value], tmp_path / "runs", capsys)
    assert f"model.{key} is set by the data" in error and "data.conditional" in error
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("case", list(BAD_LABELS))
def test_bad_labels_stop_fit_with_one_line_and_write_no_run(tmp_path, capsys, case):
    make, expected = BAD_LABELS[case]
    (tmp_path / "images").mkdir()
    make(tmp_path / "images")
    args = ["--config", IMAGES, *NO_FID, "--data.dataset", "image_folder", "--data.root", str(tmp_path / "images"),
            "--data.conditional", "true"]
    assert expected in fit_error(args, tmp_path / "runs", capsys)
    assert not (tmp_path / "runs").exists()


def test_labels_found_wrong_only_when_loaded_stop_fit_before_the_run_directory(tmp_path, capsys):
    root = write_fashion_mnist(tmp_path / "fm", n_train=20, n_test=8)
    write_idx(root / "train-labels-idx1-ubyte.gz", np.zeros(19, dtype=np.uint8))
    args = ["--config", IMAGES, *NO_FID, "--data.root", str(root), "--data.conditional", "true"]
    assert "has 20 images but 19 labels" in fit_error(args, tmp_path / "runs", capsys)
    assert not (tmp_path / "runs").exists()
