"""The progress bar in generator steps (or kimg), the long-run notice, the evaluations' bars, titled sample grids
and the run's summary, on given inputs."""

from types import SimpleNamespace

import numpy as np
import torch

from lightning_gans.metrics.progress import counted
from lightning_gans.training import progress as progress_module
from lightning_gans.training.contract import TrainingBudget, TrainingProgress
from lightning_gans.training.progress import GeneratorStepProgressBar, long_run_notice
from lightning_gans.training.sample_grids import titled_grid
from lightning_gans.training.summary import format_metrics


def fake_run(max_g_steps=None, max_kimg=None, g_step=0, device="cpu"):
    """A trainer and what the bar reads of a technique (`training.contract.GANModule`)."""
    module = SimpleNamespace(name="wgan_gp", budget=TrainingBudget(max_g_steps, max_kimg),
                             progress=TrainingProgress(g_step=g_step, images_seen=g_step * 256), device=torch.device(device))
    trainer = SimpleNamespace(lightning_module=module, is_global_zero=True)
    return trainer, module


LOSSES = {"loss/d": torch.tensor(-1.23456), "loss/g": torch.tensor(7.0)}  # a generator step's outputs


def drive(bar, trainer, module, g_steps, n_critic=2):
    """Lightning's calls over `g_steps` generator steps of `n_critic` critic steps each."""
    bar.setup(trainer, module, "fit")
    bar.on_train_start(trainer, module)
    module.progress.clock.start_session()  # the technique's on_train_start, which Lightning calls after the bar's
    bar.on_train_epoch_start(trainer, module)
    for batch in range(g_steps * n_critic):
        module.progress.images_seen += 256
        g_step_done = (batch + 1) % n_critic == 0
        module.progress.g_step += g_step_done
        bar.on_train_batch_end(trainer, module, LOSSES if g_step_done else None, None, batch)
    bar.on_train_epoch_end(trainer, module)
    bar.on_train_end(trainer, module)


def last_line(output: str) -> str:
    return output.replace("\r", "\n").strip().splitlines()[-1]


def test_progress_bar_counts_generator_steps_towards_the_budget_and_stays(capsys):
    trainer, module = fake_run(max_g_steps=40)
    drive(GeneratorStepProgressBar(), trainer, module, 40)
    output = capsys.readouterr().out
    assert output.endswith("\n")  # left on the screen, not erased
    line = last_line(output)
    assert line.startswith("wgan_gp: 100%|") and "| 40/40 G steps [" in line
    assert "kimg=20.5" in line and "loss/d=-1.23" in line and "loss/g=7," not in line and "loss/g=7" in line
    assert "img/s=" in line and "Epoch" not in output and ".00" not in line


def test_a_resumed_run_counts_on_from_its_step_and_a_kimg_budget_counts_kimg(capsys):
    trainer, module = fake_run(max_g_steps=100, g_step=60)
    drive(GeneratorStepProgressBar(), trainer, module, 10)
    assert "| 70/100 G steps [" in last_line(capsys.readouterr().out)
    trainer, module = fake_run(max_kimg=10)
    drive(GeneratorStepProgressBar(), trainer, module, 5)  # 10 batches of 256: 2.56 kimg
    line = last_line(capsys.readouterr().out)
    assert " 26%|" in line and "| 2.6/10 kimg [" in line and "g_step=5," in line


def test_the_bar_reads_the_losses_from_the_device_only_when_it_redraws_them(monkeypatch, capsys):
    """With the clock standing still, once at the first generator step and once for the last line."""
    reads = []
    monkeypatch.setattr(progress_module.time, "monotonic", lambda: 100.0)
    tolist = torch.Tensor.tolist
    monkeypatch.setattr(torch.Tensor, "tolist", lambda self: reads.append(1) or tolist(self))
    trainer, module = fake_run(max_g_steps=40)
    drive(GeneratorStepProgressBar(), trainer, module, 40)
    assert len(reads) == 2 and "loss/d=-1.23" in last_line(capsys.readouterr().out)


def test_long_run_notice_gives_the_estimate_and_the_budget_for_an_hour():
    notice = long_run_notice(seconds_so_far=10.0, done=20, left=100_000, unit="G steps", budget_key="--model.max_g_steps")
    assert notice == ("lightning-gans: at 2 G steps/s on the CPU this budget takes about 13.9 h more; "
                      "for an hour pass --model.max_g_steps 7200")
    assert long_run_notice(10.0, 20, 7000, "G steps", "--model.max_g_steps") is None  # 58 minutes
    assert long_run_notice(0.0, 0, 10, "kimg", "--model.max_kimg") is None


def test_evaluation_bars_count_images_on_stderr_only_when_shown(capsys):
    batches = [torch.zeros(3, 2), torch.zeros(4, 2)]
    assert [len(b) for b in counted(batches, 7, "generating samples", show=False)] == [3, 4]
    assert capsys.readouterr() == ("", "")
    assert [len(b) for b in counted(batches, 7, "generating samples", show=True)] == [3, 4]
    err = capsys.readouterr().err
    assert "generating samples:" in err and "/7 [" in err


def test_sample_grid_has_its_title_above_the_images():
    grid = np.asarray(titled_grid(torch.ones(4, 1, 8, 8), "sngan, G step 7, 1.8 kimg"))
    strip = grid.shape[0] - (2 * 8 + 3 * 2)  # make_grid: 2 rows of 8 px with 2 px padding
    assert grid.shape[1] == 2 * 8 + 3 * 2 and strip > 8
    title = grid[:strip]
    assert (title < 128).any() and (title[:, :, 0] > 250).mean() > 0.5  # dark text on white
    assert (grid[strip + 2:strip + 10, 2:10] == 255).all()  # the images (ones are white) below it


def test_summary_metrics_are_short_and_carry_their_step():
    text = format_metrics({"g_step": 300, "toy/modes_covered": 8.0, "toy/frechet_xy": 0.0123456})
    assert text == "(G step 300) toy/modes_covered 8, toy/frechet_xy 0.01235"
