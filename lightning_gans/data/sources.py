"""Image datasets as uint8 tensors (N, C, H, W) with their int64 class labels (N,): Fashion-MNIST (IDX files or
torchvision), MNIST and CIFAR-10 (torchvision), and folders or `.zip` files of images (`folders.py`)."""

from functools import partial
from pathlib import Path
from typing import Callable, NamedTuple, Optional

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps
from torchvision import datasets as torchvision_datasets

from lightning_gans.data.folders import ImageFiles
from lightning_gans.data.idx import read_idx
from lightning_gans.errors import ConfigError, first_line, require

DOWNLOAD_ROOT = "data"  # where torchvision datasets are downloaded to (relative to the working directory)
# Where Fashion-MNIST's IDX files are looked for after an explicit `root`, in order (Debian: dataset-fashion-mnist).
FASHION_MNIST_DIRS = [Path("data/fashion-mnist"), Path("data"), Path("/usr/share/datasets/fashion-mnist")]
TORCHVISION_CLASSES = {"fashion_mnist": "FashionMNIST", "mnist": "MNIST", "cifar10": "CIFAR10"}
# torchvision's class names (MNIST's are its digits)
FASHION_MNIST_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                         "Ankle boot"]
MNIST_CLASSES = [str(digit) for digit in range(10)]
CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


class ImageSource(NamedTuple):
    """`load(root, train, resolution)` gives uint8 (N, C, H, W) at native size, or already at `resolution` when
    the images have no common size (image_folder); `labels(root, train)` their int64 labels (N,). `channels` and
    `classes(root)` (the class names) are known without loading images."""

    channels: int
    load: Callable[[Optional[str], bool, int], torch.Tensor]
    classes: Callable[[Optional[str]], list[str]]
    labels: Callable[[Optional[str], bool], torch.Tensor]


def load_images(
    dataset: str, root: Optional[str], train: bool, resolution: int, limit: Optional[int] = None, seed: int = 0
) -> torch.Tensor:
    """uint8 (N, C, resolution, resolution) of a split; `limit` keeps a seeded choice of that many images.

    The choice for a larger limit contains the one for a smaller limit (both are prefixes of one permutation).
    """
    require(dataset in DATASETS, "data.dataset", dataset, f"choose one of {', '.join(DATASETS)}")
    images = DATASETS[dataset].load(root, train, resolution)
    if limit is not None:
        images = images[limit_choice(len(images), limit, seed)]
    return resize_images(images, resolution)


def limit_choice(n: int, limit: int, seed: int) -> torch.Tensor:
    """The indices of the `limit` images of `n` that `load_images` keeps: a prefix of a seeded permutation."""
    require(limit <= n, "data.limit", limit, f"the dataset has {n} images; use at most that")
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed))[:limit]


def class_names(dataset: str, root: Optional[str]) -> list[str]:
    """The class names of a dataset, without loading its images; a ConfigError for images without labels."""
    require(dataset in DATASETS, "data.dataset", dataset, f"choose one of {', '.join(DATASETS)}")
    return DATASETS[dataset].classes(root)


def load_labels(dataset: str, root: Optional[str], train: bool) -> torch.Tensor:
    """int64 class labels (N,) of a split, in the order of `load_images` without `limit`."""
    require(dataset in DATASETS, "data.dataset", dataset, f"choose one of {', '.join(DATASETS)}")
    return DATASETS[dataset].labels(root, train)


def resize_images(images: torch.Tensor, resolution: int) -> torch.Tensor:
    """uint8 (N, C, H, W) -> uint8 (N, C, resolution, resolution), bilinear with antialiasing."""
    if images.shape[-2:] == (resolution, resolution):
        return images
    # In chunks: the float copies of a whole dataset at a large resolution would not fit in memory.
    return torch.cat([
        F.interpolate(chunk.float(), size=(resolution, resolution), mode="bilinear", antialias=True)
        .round().clamp(0, 255).to(torch.uint8)
        for chunk in images.split(4096)
    ])



def torchvision_dataset(name: str, root: str, train: bool):
    """torchvision's dataset `name` (fashion_mnist, mnist, cifar10), downloaded into `root` unless already there.

    The only function here that may use the network; tests replace it.
    """
    return getattr(torchvision_datasets, TORCHVISION_CLASSES[name])(root, train=train, download=True)



def _fashion_mnist(root: Optional[str], train: bool, kind: str) -> torch.Tensor:
    """The split's 'images' (N, 28, 28) or 'labels' (N,), both from the first of `root`, FASHION_MNIST_DIRS that
    holds its images, else from torchvision (downloaded into DOWNLOAD_ROOT on first use)."""
    split = "train" if train else "t10k"
    images_name, labels_name = f"{split}-images-idx3-ubyte", f"{split}-labels-idx1-ubyte"
    require(root is None or _idx_path(Path(root), images_name) is not None, "data.root", root,
            f"no Fashion-MNIST {images_name}(.gz) there: pass the directory that holds the IDX files")
    for directory in ([Path(root)] if root else []) + [Path(d) for d in FASHION_MNIST_DIRS]:
        if _idx_path(directory, images_name):
            path = _idx_path(directory, images_name if kind == "images" else labels_name)
            if path is None:
                raise ConfigError(f"{directory} has Fashion-MNIST images but no {labels_name}(.gz)", "add that file")
            return read_idx(path)
    try:
        dataset = torchvision_dataset("fashion_mnist", DOWNLOAD_ROOT, train)
    except (OSError, RuntimeError) as error:
        raise ConfigError("dataset 'fashion_mnist' not found",
                          "pass data.root=DIR with the IDX files, or `apt-get install dataset-fashion-mnist`, or allow a "
                          f"torchvision download into {DOWNLOAD_ROOT}/ ({first_line(error)})") from error
    return dataset.data if kind == "images" else dataset.targets


def _idx_path(directory: Path, name: str) -> Optional[Path]:
    return next((path for path in (directory / f"{name}.gz", directory / name) if path.is_file()), None)


def _fashion_mnist_images(root: Optional[str], train: bool, resolution: int) -> torch.Tensor:
    return _fashion_mnist(root, train, "images").unsqueeze(1)


def _downloaded(name: str, root: Optional[str], train: bool):
    """torchvision's `name` from `root` (default DOWNLOAD_ROOT), downloaded there on first use."""
    root = root or DOWNLOAD_ROOT
    try:
        return torchvision_dataset(name, root, train)
    except (OSError, RuntimeError) as error:
        raise ConfigError(f"dataset {name!r} is not in {root}/ and could not be downloaded ({first_line(error)})",
                          f"allow network access once, or pass data.root=DIR holding torchvision's "
                          f"{TORCHVISION_CLASSES[name]} files") from error


def _fashion_mnist_labels(root: Optional[str], train: bool) -> torch.Tensor:
    return _fashion_mnist(root, train, "labels").long()


def _torchvision_images(name: str, root: Optional[str], train: bool, resolution: int) -> torch.Tensor:
    data = torch.as_tensor(_downloaded(name, root, train).data)
    # MNIST stores (N, H, W), CIFAR-10 (N, H, W, C).
    return data.unsqueeze(1) if data.ndim == 3 else data.permute(0, 3, 1, 2).contiguous()


def _torchvision_labels(name: str, root: Optional[str], train: bool) -> torch.Tensor:
    # MNIST's targets are a tensor, CIFAR-10's a list.
    return torch.as_tensor(_downloaded(name, root, train).targets, dtype=torch.int64)


def _image_folder(root: Optional[str], train: bool, resolution: int) -> torch.Tensor:
    """Every image under `root`, a folder or .zip (recursively, sorted by path), as RGB, resized on its shorter
    side and center-cropped to `resolution`. A folder has no splits, so `train` is ignored."""
    files = ImageFiles(root)
    with files.opened() as open_file:
        pixels = [_square_rgb(open_file, name, files.root, resolution) for name in files.names]
    return torch.from_numpy(np.stack(pixels)).permute(0, 3, 1, 2).contiguous()


def _image_folder_labels(root: Optional[str], train: bool) -> torch.Tensor:
    return ImageFiles(root).labels()[1]


def _square_rgb(open_file: Callable, name: str, root: Path, resolution: int) -> np.ndarray:
    try:
        with open_file(name) as file, Image.open(file) as image:
            return np.asarray(ImageOps.fit(image.convert("RGB"), (resolution, resolution), Image.Resampling.BILINEAR))
    except OSError as error:
        raise ConfigError(f"cannot read image {name} in {root} ({first_line(error)})", "delete or replace it") from error


def _fixed(names: list[str]) -> Callable[[Optional[str]], list[str]]:
    return lambda root: list(names)


DATASETS: dict[str, ImageSource] = {
    "fashion_mnist": ImageSource(1, _fashion_mnist_images, _fixed(FASHION_MNIST_CLASSES), _fashion_mnist_labels),
    "mnist": ImageSource(1, partial(_torchvision_images, "mnist"), _fixed(MNIST_CLASSES),
                         partial(_torchvision_labels, "mnist")),
    "cifar10": ImageSource(3, partial(_torchvision_images, "cifar10"), _fixed(CIFAR10_CLASSES),
                           partial(_torchvision_labels, "cifar10")),
    "image_folder": ImageSource(3, _image_folder, lambda root: ImageFiles(root).labels()[0], _image_folder_labels),
}
