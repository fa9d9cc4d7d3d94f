"""Shared test data: small Fashion-MNIST-format IDX files and image folders written by the tests themselves (no
network), and a small feature extractor."""

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from lightning_gans.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
TOY_CONFIG = str(REPO / "experiments" / "toy" / "wgan_gp.yaml")
# CLI flags of a quiet single-process CPU run
QUIET = ["--trainer.accelerator", "cpu", "--trainer.devices", "1", "--trainer.enable_progress_bar", "false",
         "--trainer.enable_model_summary", "false"]


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write `array` (uint8) in the IDX format of (Fashion-)MNIST, gzipped."""
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def write_fashion_mnist(root: Path, n_train: int, n_test: int = 64, seed: int = 0) -> Path:
    """Blobs of random brightness on a dark background: enough structure for a GAN to start learning."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("t10k", n_test)):
        yy, xx = np.mgrid[:28, :28]
        centres = rng.uniform(8, 20, size=(n, 2, 1, 1))
        radius = rng.uniform(3, 8, size=(n, 1, 1))
        blobs = ((yy - centres[:, 0]) ** 2 + (xx - centres[:, 1]) ** 2 < radius**2) * rng.uniform(120, 255, (n, 1, 1))
        write_idx(root / f"{split}-images-idx3-ubyte.gz", blobs.astype(np.uint8))
        write_idx(root / f"{split}-labels-idx1-ubyte.gz", rng.integers(0, 10, n).astype(np.uint8))
    return root


def write_image_folder(root: Path, colour: tuple[int, int, int], n: int = 12, seed: int = 0) -> Path:
    """`n` 16x16 RGB PNGs around `colour` with seeded noise: folders of other colours hold other images."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        pixels = np.clip(np.array(colour) + rng.normal(0, 40, (16, 16, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(root / f"{i:03d}.png")
    return root


class ChannelMoments(nn.Module):
    """An extractor of each channel's mean and standard deviation that counts the images it is given."""

    name, weights_hash = "moments", "0" * 16

    def __init__(self, channels: int = 3):
        super().__init__()
        self.num_features, self.images_seen = 2 * channels, 0

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        self.images_seen += len(images)
        return torch.cat([images.mean((2, 3)), images.std((2, 3))], dim=1)


def one_line_config_error(call) -> str:
    """The message of the ConfigError that `call()` raises, asserted to be one line."""
    with pytest.raises(ConfigError) as error:
        call()
    message = str(error.value)
    assert "\n" not in message
    return message


@pytest.fixture(scope="session")
def fashion_root(tmp_path_factory) -> Path:
    """512 training images in Fashion-MNIST's on-disk format."""
    return write_fashion_mnist(tmp_path_factory.mktemp("fashion-mnist"), n_train=512)


@pytest.fixture(scope="session", autouse=True)
def no_wandb_by_default():
    """Starting W&B costs seconds per run: tests (and session fixtures that train) log to metrics.csv only,
    except those that test W&B and change the environment themselves."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("WANDB_MODE", "disabled")
        yield
