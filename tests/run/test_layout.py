"""The run directory's layout: every path relative to the run, the bench's session files named and parsed in one
place, and a run's own config.yaml locating its runs root."""

from pathlib import Path

from lightning_gans.run.layout import RunLayout, session_number


def test_every_path_of_a_run_lies_inside_its_directory_relative_to_it():
    run = RunLayout.under("runs", "sngan", "first")
    assert run.root == Path("runs/sngan/first")
    relative = {name: str(getattr(run, name).relative_to(run.root)) for name in (
        "config", "checkpoints", "last_checkpoint", "best_checkpoint", "samples", "metrics_csv", "metrics_json",
        "wandb", "tensorboard", "finished_marker")}
    assert relative == {"config": "config.yaml", "checkpoints": "checkpoints", "last_checkpoint": "checkpoints/last.ckpt",
                        "best_checkpoint": "checkpoints/best.ckpt", "samples": "samples", "metrics_csv": "metrics.csv",
                        "metrics_json": "metrics.json", "wandb": "wandb", "tensorboard": "tensorboard",
                        "finished_marker": "bench.json"}
    assert run.periodic_checkpoint(5000) == run.root / "checkpoints" / "g0005000.ckpt"
    assert run.sample_grid(1000) == run.root / "samples" / "g0001000.png"
    assert run.checkpoint("best") == run.best_checkpoint


def test_a_checkpoint_names_its_run():
    run = RunLayout.under("/tmp/runs", "wgan", "a")
    assert RunLayout.of_checkpoint(run.last_checkpoint).root == run.root.resolve()


def test_session_files_are_named_and_parsed_by_the_layout_in_the_order_they_were_set_aside(tmp_path):
    run = RunLayout(tmp_path)
    for session in (0, 2, 10, 1):
        run.session_csv(session).write_text("step\n")
    (tmp_path / "metrics.sessionx.csv").write_text("not a session\n")
    run.metrics_csv.write_text("step\n")
    assert [session_number(path) for path in run.session_csvs()] == [0, 1, 2, 10]
    assert all(run.session_csv(session_number(path)) == path for path in run.session_csvs())
    assert session_number(run.metrics_csv) is None


def test_a_runs_own_config_yaml_locates_its_runs_root_and_other_configs_do_not(tmp_path):
    run = RunLayout.under(tmp_path / "moved", "sngan", "first")
    assert RunLayout.runs_root_of_config(run.config, "sngan") == (tmp_path / "moved").resolve()
    assert RunLayout.runs_root_of_config(run.config, "wgan") is None  # not a run of this technique
    assert RunLayout.runs_root_of_config(tmp_path / "sngan.yaml", "sngan") is None

