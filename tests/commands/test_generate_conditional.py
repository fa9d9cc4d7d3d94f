"""`generate` of a conditional model, at the function level with a stand-in model (`conditional_doubles`): --label
by name (any case) or index, the class rows of the grid, the walk within one class, and bad labels refused in one
line before anything is written."""

import numpy as np
import pytest
import torch
from conditional_doubles import SIDE, ConditionalModel, conditional_images
from conftest import one_line_config_error
from PIL import Image

from lightning_gans.commands.generate import to_uint8, write_samples
from lightning_gans.metrics.sampling import labels_for_indices, latents_for_indices

FASHION = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
LATENT, SEED = 8, 3


@pytest.fixture
def model():
    return ConditionalModel(10, latent_dim=LATENT, class_names=FASHION)


def written(tmp_path, model, labels=(), num_samples=10) -> np.ndarray:
    write_samples(model, num_samples, str(tmp_path / "out.npz"), None, None, SEED, labels=labels)
    return np.load(tmp_path / "out.npz")["arr_0"]


def expected(labels: torch.Tensor) -> np.ndarray:
    return to_uint8(conditional_images(latents_for_indices(0, len(labels), LATENT, SEED), labels))


def test_a_class_named_in_any_case_or_by_index_gets_all_the_samples(model, tmp_path):
    for label in ("shirt", "SHIRT", "6"):
        assert np.array_equal(written(tmp_path, model, [label]), expected(torch.full((10,), 6)))


def test_several_labels_share_the_samples_in_equal_blocks_and_none_gives_the_evaluations_labels(model, tmp_path):
    assert np.array_equal(written(tmp_path, model, ["trouser", "8"]), expected(torch.tensor([1] * 5 + [8] * 5)))
    evaluation = labels_for_indices(0, 20, 20, model.label_distribution)
    assert np.array_equal(written(tmp_path, model, num_samples=20), expected(evaluation))


def test_the_grid_has_one_row_per_class_and_the_same_z_down_each_column(model, tmp_path):
    write_samples(model, 30, None, str(tmp_path / "grid.png"), None, SEED)
    grid = np.asarray(Image.open(tmp_path / "grid.png"))[..., 0]  # make_grid repeats one channel to three
    cell = SIDE + 2
    assert grid.shape == (10 * cell + 2, 3 * cell + 2)  # 10 classes, 30 // 10 = 3 samples each
    first_pixels = grid[2::cell, 2::cell][:10, :3]  # pixel 0 of each cell: its row's class, its column's z
    z = latents_for_indices(0, 3, LATENT, SEED)
    rows = to_uint8(conditional_images(z.repeat(10, 1), torch.arange(10).repeat_interleave(3)))[:, 0, 0, 0]
    assert np.array_equal(first_pixels, rows.reshape(10, 3))
    write_samples(model, 30, None, str(tmp_path / "two.png"), None, SEED, labels=["bag", "0"])
    assert Image.open(tmp_path / "two.png").size == (15 * cell + 2, 2 * cell + 2)


def test_the_walk_keeps_its_class_and_moves_z(model, tmp_path):
    write_samples(model, 1, None, None, str(tmp_path / "walk.gif"), SEED, frames=4, labels=["dress"])
    assert Image.open(tmp_path / "walk.gif").n_frames == 4
    assert torch.equal(model.calls[-1], torch.full((4,), 3))
    write_samples(model, 1, None, None, str(tmp_path / "walk0.gif"), SEED, frames=4)
    assert torch.equal(model.calls[-1], torch.zeros(4, dtype=torch.int64))


@pytest.mark.parametrize("labels, interpolate, message", [
    (["hat"], False, "--label='hat' is invalid: name a class (T-shirt/top, Trouser,"),
    (["10"], False, "--label='10' is invalid: name a class"),
    (["-1"], False, "--label='-1' is invalid"),
    (["bag", "coat"], True, "--label='bag,coat' is invalid: --interpolate walks within one class"),
])
def test_a_bad_label_is_one_line_and_writes_nothing(model, tmp_path, labels, interpolate, message):
    gif = str(tmp_path / "walk.gif") if interpolate else None
    error = one_line_config_error(lambda: write_samples(model, 4, str(tmp_path / "o.npz"), str(tmp_path / "g.png"), gif,
                                                        SEED, labels=labels))
    assert error.startswith(message)
    assert list(tmp_path.iterdir()) == []


def test_a_label_for_an_unconditional_model_is_one_line_and_writes_nothing(tmp_path):
    error = one_line_config_error(lambda: write_samples(ConditionalModel(None), 4, str(tmp_path / "o.npz"), None, None,
                                                        SEED, labels=["3"]))
    assert error.startswith("--label='3' is invalid: the model is unconditional")
    assert list(tmp_path.iterdir()) == []
