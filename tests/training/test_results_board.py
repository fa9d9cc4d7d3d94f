"""Evaluation by composition: evaluators publish results on a board, one best-checkpoint callback ranks them."""

import math
from types import SimpleNamespace

from lightning_gans.training import best_checkpoint
from lightning_gans.training.best_checkpoint import BestCheckpoint, rank
from lightning_gans.training.results import Evaluation, ResultsBoard


def fid(value):
    return {"fid/lenet-fmnist_2k_train": value, "kid/lenet-fmnist_2k_train": value / 1000}


def test_the_best_checkpoint_writes_when_a_published_result_improves_and_the_board_keeps_latest_and_best(
        tmp_path, monkeypatch):
    written = []
    monkeypatch.setattr(best_checkpoint, "write_checkpoint", lambda trainer, path: written.append((trainer.step, path.name)))
    monkeypatch.setattr(best_checkpoint, "summarize", lambda loggers, values: None)
    board = ResultsBoard()
    best = BestCheckpoint(board)
    for step, value in ((1, 30.0), (2, 20.0), (3, 25.0), (4, math.nan), (5, 10.0)):
        trainer = SimpleNamespace(step=step, checkpoint_callback=None, default_root_dir=str(tmp_path),
                                  is_global_zero=True, loggers=[])
        board.publish(trainer, Evaluation(step, fid(value)))
    assert written == [(1, "best.ckpt"), (2, "best.ckpt"), (5, "best.ckpt")]
    assert board.latest.g_step == 5 and board.best.as_row()["g_step"] == 5 and best.best_rank == [10.0]
    assert (tmp_path / "checkpoints").is_dir()


def test_the_best_survives_in_the_callbacks_state():
    board = ResultsBoard()
    board.best = Evaluation(4, fid(12.0))
    state = BestCheckpoint(board).state_dict()
    restored_board = ResultsBoard()
    restored = BestCheckpoint(restored_board)
    restored.load_state_dict(state)
    assert restored_board.best == Evaluation(4, fid(12.0)) and restored.best_rank == state["best"]


def test_results_with_no_ranking_rule_are_published_but_never_best():
    assert rank({"toy/frechet_xy": 1.0}) is None
    assert rank({"toy/modes_covered": 3, "toy/high_quality": 0.5, "toy/reverse_kl": 0.2}) == (-3, -0.5, 0.2)
