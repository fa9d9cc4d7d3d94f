"""Loggers: W&B offline without a key (read back from its files), csv / tensorboard / none, the toy picture."""

import csv
import io
import json
import os
import struct

import numpy as np
import pytest
import torch
import wandb
from conftest import QUIET, REPO, one_line_config_error
from PIL import Image
from tensorboardX.proto import event_pb2
from wandb_records import history_rows, read_records

from lightning_gans.commands.fit import GANCLI
from lightning_gans.training.loggers import MetricsFile, RunCSVLogger, previous_wandb_id, wandb_mode
from lightning_gans.training.sample_grids import save_critic_contour

# ring8 and a constant learning rate, whatever the toy config's own: the tests below expect them in the logs.
TOY = ["--config", str(REPO / "experiments/toy/wgan_gp.yaml"), "--model.width", "32", "--data.batch_size", "64",
       "--data.distribution", "ring8", "--model.lr_schedule", "constant",
       "--trainer.log_every_n_steps", "5", "--model.diagnostics_every", "5", "--samples.every_n_g_steps", "10",
       "--samples.num_samples", "200", "--toy_metrics.every_n_g_steps", "1000", "--checkpoint.every_n_g_steps", "1000"]


def metrics_rows(run_dir):
    with open(run_dir / "metrics.csv") as f:
        return list(csv.DictReader(f))


def test_wandb_logs_offline_without_a_key_or_a_prompt_and_a_resume_continues_its_run(tmp_path, monkeypatch, capsys):
    # No API key, no WANDB_MODE, and a home of its own so that a developer's netrc or settings cannot leak in.
    # Under pytest stdin is not a terminal and raises when read, so a login prompt would fail the test.
    for key in [key for key in os.environ if key.startswith("WANDB_")]:
        monkeypatch.delenv(key)
    home = tmp_path / "home"
    for key, value in {"HOME": home, "NETRC": home / ".netrc", "WANDB_CONFIG_DIR": home / "config",
                       "WANDB_DIR": home / "wandb", "WANDB_CACHE_DIR": home / "cache"}.items():
        monkeypatch.setenv(key, str(value))
    command = ["fit", *TOY, *QUIET, "--runs_root", str(tmp_path / "runs"), "--run_name", "offline",
               "--wandb_group", "bench-1", "--wandb_tags", "[extra]"]
    GANCLI(args=[*command, "--model.max_g_steps", "20"])
    first_summary = capsys.readouterr().out
    GANCLI(args=[*command, "--model.max_g_steps", "30", "--ckpt_path", "last"])
    wandb.teardown()  # wandb-core writes the run files asynchronously: wait for it as the end of a process would

    run_dir = tmp_path / "runs" / "wgan_gp" / "offline"
    offline_runs = sorted((run_dir / "wandb").glob("offline-run-*"))
    assert f"  view           wandb sync {offline_runs[0]}\n" in first_summary  # the run finished with its fit
    assert len(offline_runs) == 2 and len({path.name.rsplit("-", 1)[1] for path in offline_runs}) == 1  # one W&B run
    first_log = next(offline_runs[0].glob("run-*.wandb"))
    records = read_records(first_log)
    run = next(record.run for record in records if record.HasField("run"))
    assert (run.project, run.display_name, run.run_group) == ("lightning-gans", "wgan_gp-offline", "bench-1")
    assert set(run.tags) == {"wgan_gp", "ring8", "extra"}
    config = {item.key: json.loads(item.value_json)  # wandb.init's config, then Lightning's hyperparameters
              for record in records for item in [*record.run.config.update, *record.config.update]}
    assert (config["technique"], config["seed"], config["data"]["distribution"], config["lr_d"]) == ("wgan_gp", 0, "ring8", 1e-3)

    rows = history_rows(first_log)
    losses = [float(row["loss/d"]) for row in rows if "loss/d" in row]
    assert len(losses) == 4 and all(np.isfinite(losses))  # g_step 5, 10, 15, 20
    assert float(rows[0]["lr/d"]) == 1e-3
    assert {"critic/grad_norm_interp", "critic/sigma_max/head", "critic/wasserstein", "perf/img_per_s"} <= set(rows[0])
    assert any("toy/modes_covered" in row for row in rows)  # evaluation callbacks reach W&B too
    images = [json.loads(row["samples/filenames"]) for row in rows if "samples/filenames" in row]
    assert len(images) == 2  # g_step 10 and 20
    assert all(Image.open(offline_runs[0] / "files" / files[0]).size == (560, 500) for files in images)
    # Charts against the G step: every row carries progress/g_step (the evaluations' rows kimg as well).
    metrics = [record.metric for record in records if record.WhichOneof("record_type") == "metric"]
    assert ("*", "progress/g_step") in {(metric.glob_name, metric.step_metric) for metric in metrics}
    assert all("progress/g_step" in row for row in rows)
    assert all("progress/kimg" in row for row in rows if "toy/modes_covered" in row)
    assert [float(row["progress/g_step"]) for row in rows if "samples/filenames" in row][-1] == 20  # the last image
    # The run's summary holds the final metrics and those of the best evaluation (best.ckpt), for W&B's runs table.
    summary = {item.key or "/".join(item.nested_key): json.loads(item.value_json)
               for record in records if record.WhichOneof("record_type") == "summary" for item in record.summary.update}
    final = [row for row in rows if "toy/modes_covered" in row][-1]
    assert summary["toy/frechet_xy"] == json.loads(final["toy/frechet_xy"]) and summary["best/g_step"] == 20
    assert {"best/toy/modes_covered", "best/toy/high_quality", "best/toy/frechet_xy"} <= set(summary)
    resumed_rows = history_rows(next(offline_runs[1].glob("run-*.wandb")))
    assert [float(row["trainer/global_step"]) for row in resumed_rows if "loss/d" in row] == [25, 30]
    assert [row["progress/g_step"] for row in metrics_rows(run_dir) if row.get("loss/d")] == ["5", "10", "15", "20", "25", "30"]


def tensorboard_values(directory):
    """The summary values of the TFRecord event files in `directory` (length, CRC, event, CRC per record)."""
    values = []
    for path in directory.glob("events.out.tfevents.*"):
        data, offset = path.read_bytes(), 0
        while offset < len(data):
            (length,) = struct.unpack("<Q", data[offset:offset + 8])
            values += event_pb2.Event.FromString(data[offset + 12:offset + 12 + length]).summary.value
            offset += 12 + length + 4
    return values


@pytest.mark.parametrize("logger", ["none", "csv", "tensorboard", "explicit"])
def test_every_logger_choice_writes_its_files_beside_metrics_csv(logger, tmp_path):
    choice = (["--trainer.logger.class_path", "pytorch_lightning.loggers.TensorBoardLogger",
               "--trainer.logger.init_args.save_dir", str(tmp_path / "explicit")]
              if logger == "explicit" else ["--logger", logger])
    GANCLI(args=["fit", *TOY, *QUIET, "--runs_root", str(tmp_path), "--run_name", logger, "--model.max_g_steps", "10",
                 "--model.lr_g", "2e-3", "--model.lr_d", "3e-3", *choice])
    run_dir = tmp_path / "wgan_gp" / logger
    rows = metrics_rows(run_dir)
    assert [row["progress/g_step"] for row in rows if row.get("loss/d")] == ["5", "10"]
    assert {(float(row["lr/g"]), float(row["lr/d"])) for row in rows if row.get("lr/g")} == {(2e-3, 3e-3)}
    assert not (run_dir / "wandb").exists()
    tensorboard_dir = {"tensorboard": run_dir / "tensorboard", "explicit": tmp_path / "explicit" / "lightning_logs" / "version_0"}
    if logger in tensorboard_dir:
        values = tensorboard_values(tensorboard_dir[logger])
        assert {"loss/d", "critic/sigma_max/head", "lr/g"} <= {value.tag for value in values}
        images = [Image.open(io.BytesIO(value.image.encoded_image_string)) for value in values if value.tag == "samples"]
        assert [image.size for image in images] == [(560, 500)]  # the toy picture of G step 10
    else:
        assert not (run_dir / "tensorboard").exists()


def test_toy_picture_shows_real_and_generated_points_over_the_critic_contour(tmp_path):
    torch.manual_seed(0)
    critic = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1), torch.nn.Flatten(0))
    path = tmp_path / "toy.png"
    save_critic_contour(path, critic, torch.randn(300, 2), torch.randn(300, 2) + 2, title="generator step 7")
    image = np.asarray(Image.open(path).convert("RGB")).astype(int)
    assert image.shape == (500, 560, 3)
    red, green, blue = image[..., 0], image[..., 1], image[..., 2]
    orange = (red > 200) & (green > 100) & (green < 170) & (blue < 80)  # tab:orange is (255, 127, 14)
    greenish = (green > 130) & (red < 90) & (blue < 90)  # tab:green is (44, 160, 44)
    contour_blues = (blue > red + 30) & (blue > 150)
    assert orange.sum() > 500 and greenish.sum() > 500 and contour_blues.sum() > 20_000


def test_wandb_mode_is_online_only_with_a_key_and_an_explicit_mode_wins(tmp_path, monkeypatch):
    for key in [key for key in os.environ if key.startswith("WANDB_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("NETRC", str(tmp_path / ".netrc"))
    assert wandb_mode() == "offline"
    message = one_line_config_error(lambda: (monkeypatch.setenv("WANDB_MODE", "online"), wandb_mode()))
    assert message.startswith("WANDB_MODE=online is invalid: no W&B API key is configured")
    monkeypatch.setenv("WANDB_API_KEY", "0123456789" * 4)  # the format of a key; never sent anywhere
    assert wandb_mode() == "online"
    monkeypatch.delenv("WANDB_MODE")
    assert wandb_mode() == "online"
    monkeypatch.setenv("WANDB_MODE", "disabled")
    assert wandb_mode() == "disabled"


def test_a_resume_continues_the_newest_wandb_run_of_the_run_directory(tmp_path):
    assert previous_wandb_id(tmp_path) is None  # no wandb/ yet
    wandb_dir = tmp_path / "wandb"
    for name in ("offline-run-20260101_120000-first", "run-20260102_090000-newest", "offline-run-20251231_235959-older",
                 "latest-run", "debug.log"):
        (wandb_dir / name).mkdir(parents=True)
    assert previous_wandb_id(tmp_path) == "newest"  # by the time in the name, online or offline


def test_the_metrics_file_appends_rows_and_widens_its_header_for_a_new_key(tmp_path):
    metrics = MetricsFile(tmp_path / "run" / "metrics.csv")
    assert metrics.columns() == [] and metrics.rows() == []
    metrics.append({"step": 1, "loss/d": 0.5})
    metrics.append({"step": 2, "loss/d": 0.25})
    assert metrics.columns() == ["loss/d", "step"]
    metrics.append({"step": 2, "fid/x": 7.0})
    assert metrics.columns() == ["fid/x", "loss/d", "step"]
    assert metrics.rows() == [{"fid/x": "", "loss/d": "0.5", "step": "1"}, {"fid/x": "", "loss/d": "0.25", "step": "2"},
                              {"fid/x": "7.0", "loss/d": "", "step": "2"}]


def test_a_resumed_run_csv_logger_appends_to_the_rows_of_the_earlier_session(tmp_path):
    first = RunCSVLogger(tmp_path)
    first.log_hyperparams({"lr_d": 1e-3})
    first.log_metrics({"loss/d": torch.tensor(0.5), "progress/g_step": 10}, step=10)
    first.finalize("success")
    resumed = RunCSVLogger(tmp_path)
    resumed.log_metrics({"loss/d": 0.25, "progress/g_step": 20}, step=20)
    assert metrics_rows(tmp_path) == [{"loss/d": "0.5", "progress/g_step": "10", "step": "10"},
                                      {"loss/d": "0.25", "progress/g_step": "20", "step": "20"}]
    assert (tmp_path / "hparams.yaml").read_text() == "lr_d: 0.001\n"
    assert resumed.log_dir == resumed.save_dir == str(tmp_path)
