"""The command line as users meet it: one command list, help for every command, one-line errors with exit 2."""

import re
import subprocess
import sys

import pytest

from lightning_gans.commands.configs import builtin_configs
from lightning_gans.commands.main import COMMANDS, main
from lightning_gans.training import contract

COMMAND_NAMES = ["fit", "evaluate", "generate", "bench", "train-evaluator"]


def lightning_gans(*args, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lightning_gans.commands.main", *args], capture_output=True, text=True,
                          **kwargs)


@pytest.mark.parametrize("args, code", [(["--help"], 0), ([], 2)])
def test_help_and_no_arguments_list_every_command_on_one_line_without_importing_lightning(args, code):
    probe = ("import sys\nfrom lightning_gans.commands.main import main\ntry:\n    main(%r)\nexcept SystemExit as e:\n"
             "    print('exit', e.code)\nprint('imported:', [m for m in ('torch', 'pytorch_lightning') if m in sys.modules])"
             % (args,))
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    lines = result.stdout.splitlines()
    assert lines[-2:] == [f"exit {code}", "imported: []"], result.stdout + result.stderr
    listed = [line.split()[0] for line in lines if line.startswith("  ")]
    assert listed == COMMAND_NAMES == list(COMMANDS)


def test_fit_without_config_is_one_line_naming_the_builtin_configs():
    result = lightning_gans("fit", "--run_name", "x")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("lightning-gans: error: fit needs --config")
    assert all(name in result.stderr for name in builtin_configs()) and "toy/wgan_gp" in result.stderr


def test_an_unknown_command_is_one_line_and_exit_2():
    result = lightning_gans("train")
    assert result.returncode == 2
    assert result.stderr == ("lightning-gans: error: unknown command 'train': choose one of fit, evaluate, generate, "
                             "bench, train-evaluator (see lightning-gans --help)\n")


@pytest.mark.parametrize("command, expected", [("evaluate", "--ckpt_path"), ("generate", "--num_samples"),
                                               ("bench", "[-- fit overrides]"), ("train-evaluator", "--dataset")])
def test_every_plain_command_has_a_help_text(command, expected, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    out = capsys.readouterr().out
    assert exit_info.value.code == 0 and out.startswith(f"usage: lightning-gans {command}") and expected in out


def test_bench_help_explains_the_overrides_after_the_double_dash(capsys):
    with pytest.raises(SystemExit):
        main(["bench", "--help"])
    assert "Everything after `--` is passed to every run's `lightning-gans fit`" in " ".join(capsys.readouterr().out.split())


@pytest.mark.parametrize("technique, own_key", [("SNGAN", "--model.n_power_iterations"), ("WGAN", "--model.clip_value")])
def test_model_help_prints_the_keys_of_the_technique(technique, own_key, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", "--model.help", technique])
    out = capsys.readouterr().out
    assert exit_info.value.code == 0
    assert own_key in out and "--model.max_g_steps" in out and "--model.ema_kimg" in out


def test_fit_is_quiet_by_default_and_verbose_brings_lightnings_messages_back(tmp_path):
    def fit(*extra):
        command = [sys.executable, "-W", "always::DeprecationWarning", "-m", "lightning_gans.commands.main", "fit",
                   "--config", "toy/sngan", "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary",
                   "false", "--model.width", "8", "--model.max_g_steps", "2", "--logger", "none", "--runs_root",
                   str(tmp_path), *extra]
        result = subprocess.run(command, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr[-2000:]
        return result.stdout + result.stderr

    quiet = fit("--run_name", "quiet")
    for noise in ("Tip:", "litlogger", "weights_only", "GPU available", "Seed set", "deprecated", "Deprecation"):
        assert noise not in quiet, quiet
    verbose = fit("--run_name", "verbose", "--verbose")
    assert "GPU available" in verbose and "Tip:" in verbose


TINY_TOY = ["fit", "--config", "toy/wgan_gp", "--model.width", "8", "--trainer.enable_model_summary", "false"]


def test_fit_shows_progress_in_generator_steps_and_ends_with_a_summary(tmp_path):
    result = lightning_gans(*TINY_TOY, "--model.max_g_steps", "3", "--logger", "tensorboard", "--runs_root", str(tmp_path),
                            "--run_name", "shown")
    assert result.returncode == 0, result.stderr[-2000:]
    run_dir = tmp_path / "wgan_gp" / "shown"
    lines = result.stdout.replace("\r", "\n").splitlines()
    bar = [line for line in lines if line.startswith("wgan_gp:")][-1]
    assert "100%|" in bar and "| 3/3 G steps [" in bar and "kimg=3.8" in bar  # 3 x 5 critic steps of 256 images
    assert "Epoch" not in result.stdout
    summary = lines[next(i for i, line in enumerate(lines) if line.startswith("lightning-gans: ")):]
    assert lines.index(bar) < len(lines) - len(summary)  # the bar stays above the summary
    assert re.fullmatch(r"lightning-gans: wgan_gp trained to generator step 3 \(3\.8 kimg\) in \d\d:\d\d:\d\d", summary[0])
    assert f"  run directory  {run_dir}" in summary
    assert f"  checkpoints    {run_dir}/checkpoints/last.ckpt  {run_dir}/checkpoints/best.ckpt" in summary
    assert any(line.startswith("  final metrics  (G step 3) toy/modes_covered ") for line in summary)
    assert f"  view           tensorboard --logdir {run_dir}/tensorboard" in summary


class SteadyClock:
    """A `time` module whose perf_counter advances `seconds_per_reading` at every reading: the rate of training is
    the test's choice, not the machine's."""

    def __init__(self, seconds_per_reading: float):
        self.now, self.seconds_per_reading = 0.0, seconds_per_reading

    def perf_counter(self) -> float:
        self.now += self.seconds_per_reading
        return self.now


# How often the clock is read between the session's start and the 20th G step depends on the machine's speed (the
# progress bar reads it when it redraws, at most every 0.1 s of real time), so the rates are chosen to decide the
# notice at any count of readings: 1e5 s even from a single reading (10 G steps left at 20 per 1e5 s is far over an
# hour), 1e-6 s never reaching an hour at any count.
@pytest.mark.parametrize("seconds_per_reading, says_so", [(1e5, True), (1e-6, False)])
def test_a_cpu_run_says_once_after_20_g_steps_if_its_budget_would_take_over_an_hour(seconds_per_reading, says_so, tmp_path,
                                                                                     monkeypatch, capsys):
    monkeypatch.setattr(contract, "time", SteadyClock(seconds_per_reading))  # the wall clock the rate comes from
    main([*TINY_TOY, "--model.max_g_steps", "30", "--trainer.accelerator", "cpu", "--logger", "none",
          "--runs_root", str(tmp_path)])
    notices = [line for line in capsys.readouterr().out.replace("\r", "\n").splitlines() if "for an hour pass" in line]
    assert len(notices) == (1 if says_so else 0), notices
    if says_so:
        assert notices[0].startswith("lightning-gans: at ")
        assert " G steps/s on the CPU this budget takes about " in notices[0]
        assert re.search(r"pass --model\.max_g_steps \d+$", notices[0])


def test_a_value_of_the_wrong_type_is_one_line_naming_the_value_as_given(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", "--config", "toy/wgan_gp", "--model.n_critic", "abc", "--runs_root", str(tmp_path)])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err == ("lightning-gans: error: model.n_critic=abc is invalid: see `lightning-gans fit "
                                       "--help` for what model.n_critic accepts\n")
    assert list(tmp_path.iterdir()) == []
