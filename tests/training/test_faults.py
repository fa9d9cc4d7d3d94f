"""Runs that fail stop cleanly and keep what they had: divergence, pre-emption by SIGTERM, a failing DDP rank."""

import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from conftest import REPO

from lightning_gans import SNGAN
from lightning_gans.commands.main import main
from lightning_gans.training.checkpoints import check_checkpoint

TOY = str(REPO / "experiments" / "toy" / "sngan.yaml")
# n_critic 1: a critic step per G step, so the steps these tests name are both (the toy config holds 5)
FAST = ["--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false", "--model.width", "32",
        "--model.n_critic", "1"]


def test_nan_in_the_critic_loss_stops_at_that_step_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch, capsys):
    poisoned_step = 12
    critic_loss = SNGAN.critic_loss

    def poisoned(self, real, fake):
        terms = critic_loss(self, real, fake)
        if self.d_step == poisoned_step:
            terms["loss/d"] = terms["loss/d"] * float("nan")
        return terms

    monkeypatch.setattr(SNGAN, "critic_loss", poisoned)
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", "--config", TOY, "--runs_root", str(tmp_path), "--run_name", "nan", *FAST,
              "--model.max_g_steps", "100", "--checkpoint.every_n_g_steps", "5"])
    assert exit_info.value.code == 3
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("lightning-gans: error:")]
    assert errors == ["lightning-gans: error: loss/d not finite at critic step 12 (generator step 12): training "
                      "stopped and the last good checkpoint kept; lower the learning rates, or allow skips with "
                      "model.max_nonfinite_skips"]
    last = tmp_path / "sngan" / "nan" / "checkpoints" / "last.ckpt"
    check_checkpoint(str(last))
    state = torch.load(last, weights_only=True)
    assert state["lightning_gans"]["g_step"] == 10 < poisoned_step
    assert all(torch.isfinite(v).all() for v in state["state_dict"].values() if v.is_floating_point())


def test_skips_allowed_by_max_nonfinite_skips_continue_training(tmp_path, monkeypatch):
    critic_loss = SNGAN.critic_loss

    def poisoned(self, real, fake):
        terms = critic_loss(self, real, fake)
        if self.d_step in (3, 7):
            terms["loss/d"] = terms["loss/d"] * float("inf")
        return terms

    monkeypatch.setattr(SNGAN, "critic_loss", poisoned)
    main(["fit", "--config", TOY, "--runs_root", str(tmp_path), "--run_name", "skip", *FAST,
          "--model.max_g_steps", "10", "--model.max_nonfinite_skips", "2"])
    state = torch.load(tmp_path / "sngan" / "skip" / "checkpoints" / "last.ckpt", weights_only=True)
    assert state["lightning_gans"]["g_step"] == 10 and state["lightning_gans"]["nonfinite_skips"] == 2


def cli(*args):
    return [sys.executable, "-m", "lightning_gans.commands.main", "fit", "--config", TOY, *FAST, *args]


# The fault-injection callbacks, loaded by class path in the runs' processes
WITH_TEST_CALLBACKS = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "tests"), os.environ.get("PYTHONPATH", "")])}
LONG = ("--model.max_g_steps", "100000")
# A process still running this many seconds after it should have stopped hangs (subprocess.TimeoutExpired fails the
# test); generous, so that a loaded machine is not mistaken for a hang. Also the wait for a run's first checkpoint.
HANG = 300
EVERY = ("--checkpoint.every_n_g_steps", "10", "--trainer.log_every_n_steps", "1")
# The interrupted run waits at G step 11 for the signal, which the test sends once g0000010.ckpt is written
PAUSED = ("--trainer.callbacks+=fault_injection.PauseUntilSignal", "--trainer.callbacks.g_step=11")


def wait_for_file(path, process, stderr_path, limit=HANG) -> None:
    """Return once `path` exists; fail, naming it, if `process` exits first or `limit` seconds pass."""
    deadline = time.monotonic() + limit
    while not path.is_file():
        if process.poll() is not None:
            pytest.fail(f"the run exited with {process.returncode} before writing {path.name}:\n"
                        f"{stderr_path.read_text()[-2000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"the run wrote no {path.name} within {limit} s")
        time.sleep(0.1)


def interrupt_a_run(runs, run_name, signum, run_args=LONG) -> int:
    """Start a toy run (`run_args`, EVERY and PAUSED), send `signum` once its first periodic checkpoint is written,
    check it exits 128 + signum (130 for Ctrl+C, 143 for SIGTERM) with a resumable last.ckpt, and return its
    generator step."""
    stderr_path = runs / f"{run_name}.stderr"
    with open(stderr_path, "w") as stderr_file:  # a file, not a pipe, which a long wait could fill
        process = subprocess.Popen(cli("--runs_root", str(runs), "--run_name", run_name, *run_args, *EVERY, *PAUSED),
                                   stderr=stderr_file, text=True, env=WITH_TEST_CALLBACKS)
        try:
            wait_for_file(runs / "sngan" / run_name / "checkpoints" / "g0000010.ckpt", process, stderr_path)
            process.send_signal(signum)
            process.wait(timeout=HANG)
        finally:
            if process.poll() is None:
                process.kill()
    stderr = stderr_path.read_text()
    assert process.returncode == 128 + signum, stderr[-2000:]
    name = "Ctrl+C" if signum == signal.SIGINT else "SIGTERM"
    assert "Traceback" not in stderr and f"stopped by a signal ({name}) at generator step" in stderr
    stopped_at = torch.load(runs / "sngan" / run_name / "checkpoints" / "last.ckpt", weights_only=True)
    assert stopped_at["lightning_gans"]["g_step"] == 11
    return stopped_at["lightning_gans"]["g_step"]


def test_ctrl_c_stops_at_a_step_boundary_with_a_checkpoint_and_exits_130(tmp_path):
    interrupt_a_run(tmp_path, "interrupted", signal.SIGINT)


def test_after_sigterm_the_identical_resume_auto_command_ends_where_an_uninterrupted_run_ends(tmp_path, capsys):
    """The requeued job's command: `--resume auto` starts the run, continues it after SIGTERM (143), and says a
    finished run is complete. (Only the first start carries the test's callback that waits for the signal.)"""
    budget = 60
    run = ("--resume", "auto", "--model.max_g_steps", str(budget))
    stopped_at = interrupt_a_run(tmp_path, "requeued", signal.SIGTERM, run)
    assert stopped_at < budget
    subprocess.run(cli("--runs_root", str(tmp_path), "--run_name", "requeued", *run, *EVERY), check=True,
                   capture_output=True)
    subprocess.run(cli("--runs_root", str(tmp_path), "--run_name", "straight", "--model.max_g_steps", str(budget), *EVERY),
                   check=True, capture_output=True)
    resumed = torch.load(tmp_path / "sngan" / "requeued" / "checkpoints" / "last.ckpt", weights_only=True)
    straight = torch.load(tmp_path / "sngan" / "straight" / "checkpoints" / "last.ckpt", weights_only=True)
    assert resumed["lightning_gans"]["g_step"] == straight["lightning_gans"]["g_step"] == budget
    assert resumed["lightning_gans"]["images_seen"] == straight["lightning_gans"]["images_seen"]
    for key, value in straight["state_dict"].items():
        torch.testing.assert_close(resumed["state_dict"][key], value, rtol=1e-5, atol=1e-6, msg=key)

    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", "--config", TOY, *FAST, "--runs_root", str(tmp_path), "--run_name", "requeued", *run])
    assert exit_info.value.code == 0
    assert f"requeued is complete (generator step {budget}," in capsys.readouterr().out


def ddp_run_with_nan_on_rank_1(runs, run_name, *args):
    return subprocess.run(
        cli("--runs_root", str(runs), "--run_name", run_name, "--checkpoint.every_n_g_steps", "5",
            "--trainer.accelerator", "cpu", "--trainer.devices", "2", "--trainer.strategy", "ddp",
            "--trainer.callbacks+=fault_injection.NaNBatchOnRank", "--trainer.callbacks.rank=1",
            "--trainer.callbacks.d_step=7", *args),
        capture_output=True, text=True, timeout=HANG, env=WITH_TEST_CALLBACKS, cwd=runs,
    )


def test_nan_on_one_ddp_rank_skips_the_update_on_both_and_stops_every_process_with_exit_3(tmp_path):
    """Rank 1's NaN reaches rank 0 through the gradient all-reduce: both skip the update (rank 0, which writes the
    checkpoints, keeps finite parameters), and without skips allowed both stop at the next checkpoint naming rank 1's
    term, the last checkpoint being the finite one before it."""
    allowed = ddp_run_with_nan_on_rank_1(tmp_path, "skip", "--model.max_g_steps", "10",
                                         "--model.max_nonfinite_skips", "1")
    assert allowed.returncode == 0, allowed.stderr[-2000:]
    state = torch.load(tmp_path / "sngan" / "skip" / "checkpoints" / "last.ckpt", weights_only=True)
    assert state["lightning_gans"]["g_step"] == 10 and state["lightning_gans"]["nonfinite_skips"] == 1

    stopped = ddp_run_with_nan_on_rank_1(tmp_path, "stop", "--model.max_g_steps", "100")
    assert stopped.returncode == 3, stopped.stderr[-2000:]
    assert "loss/d not finite at critic step 7 (generator step 7)" in stopped.stderr
    state = torch.load(tmp_path / "sngan" / "stop" / "checkpoints" / "last.ckpt", weights_only=True)
    assert state["lightning_gans"]["g_step"] == 5
    assert all(torch.isfinite(v).all() for v in state["state_dict"].values() if v.is_floating_point())


@pytest.mark.parametrize("rank", [0, 1])
def test_a_failing_ddp_rank_ends_every_process(rank, tmp_path):
    result = subprocess.run(
        cli("--runs_root", str(tmp_path), "--run_name", "ddp", "--model.max_g_steps", "100000",
            "--trainer.accelerator", "cpu", "--trainer.devices", "2", "--trainer.strategy", "ddp",
            "--trainer.callbacks+=fault_injection.RaiseOnRank", f"--trainer.callbacks.rank={rank}",
            "--trainer.callbacks.g_step=5"),
        capture_output=True, text=True, timeout=HANG, env=WITH_TEST_CALLBACKS, cwd=tmp_path,
    )
    assert result.returncode != 0, result.stderr[-2000:]
    assert f"injected failure on rank {rank}" in result.stderr
    leftover = subprocess.run(["pgrep", "-f", f"{tmp_path}.*run_name ddp"], capture_output=True, text=True)
    assert leftover.stdout.strip() == ""
