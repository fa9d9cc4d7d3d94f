"""Image datasets as uint8 tensors (N, C, H, W): Fashion-MNIST (IDX files or torchvision), MNIST and CIFAR-10
(torchvision), and folders of images."""

from functools import partial
from pathlib import Path
from typing import Callable, NamedTuple, Optional

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps
from torchvision import datasets as torchvision_datasets

from lightning_gans.data.idx import read_idx
from lightning_gans.errors import ConfigError, first_line, require

DOWNLOAD_ROOT = "data"  # where torchvision datasets are downloaded to (relative to the working directory)
# Where Fashion-MNIST's IDX files are looked for after an explicit `root`, in order (Debian: dataset-fashion-mnist).
FASHION_MNIST_DIRS = [Path("data/fashion-mnist"), Path("data"), Path("/usr/share/datasets/fashion-mnist")]
TORCHVISION_CLASSES = {"fashion_mnist": "FashionMNIST", "mnist": "MNIST", "cifar10": "CIFAR10"}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp"}

class ImageSource(NamedTuple):
    """`load(root, train, resolution)` gives uint8 (N, C, H, W) at native size, or already at `resolution` when
    the images have no common size (image_folder); `channels` is known without loading."""

    channels: int
    load: Callable[[Optional[str], bool, int], torch.Tensor]


def load_images(
    dataset: str, root: Optional[str], train: bool, resolution: int, limit: Optional[int] = None, seed: int = 0
) -> torch.Tensor:
    """uint8 (N, C, resolution, resolution) of a split; `limit` keeps a seeded choice of that many images.

    The choice for a larger limit contains the one for a smaller limit (both are prefixes of one permutation).
    """
    require(dataset in DATASETS, "data.dataset", dataset, f"choose one of {', '.join(DATASETS)}")
    images = DATASETS[dataset].load(root, train, resolution)
    if limit is not None:
        require(limit <= len(images), "data.limit", limit, f"the dataset has {len(images)} images; use at most that")
        images = images[torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))[:limit]]
    return resize_images(images, resolution)


def load_labels(dataset: str, root: Optional[str], train: bool) -> torch.Tensor:
    """int64 class labels (N,) of fashion_mnist or mnist, in the order of `load_images` without `limit`."""
    if dataset == "fashion_mnist":
        return _fashion_mnist(root, train, "labels").long()
    require(dataset == "mnist", "dataset", dataset, "labels are available for fashion_mnist and mnist only")
    return _downloaded("mnist", root, train).targets.long()


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


def _torchvision_images(name: str, root: Optional[str], train: bool, resolution: int) -> torch.Tensor:
    data = torch.as_tensor(_downloaded(name, root, train).data)
    # MNIST stores (N, H, W), CIFAR-10 (N, H, W, C).
    return data.unsqueeze(1) if data.ndim == 3 else data.permute(0, 3, 1, 2).contiguous()


def _image_folder(root: Optional[str], train: bool, resolution: int) -> torch.Tensor:
    """Every image under `root` (recursively, sorted by path) as RGB, resized on its shorter side and
    center-cropped to `resolution`. A folder has no splits, so `train` is ignored."""
    require(root is not None, "data.root", root, "image_folder needs the folder of images: pass data.root=DIR")
    require(Path(root).is_dir(), "data.root", root, "not a directory: pass the folder that holds the images")
    paths = sorted(path for path in Path(root).rglob("*") if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file())
    require(bool(paths), "data.root", root, f"no images found: add {', '.join(sorted(IMAGE_SUFFIXES))} files")
    return torch.from_numpy(np.stack([_square_rgb(path, resolution) for path in paths])).permute(0, 3, 1, 2).contiguous()


def _square_rgb(path: Path, resolution: int) -> np.ndarray:
    try:
        with Image.open(path) as image:
            return np.asarray(ImageOps.fit(image.convert("RGB"), (resolution, resolution), Image.Resampling.BILINEAR))
    except OSError as error:
        raise ConfigError(f"cannot read image {path} ({first_line(error)})", "delete or replace it") from error


DATASETS: dict[str, ImageSource] = {
    "fashion_mnist": ImageSource(1, _fashion_mnist_images),
    "mnist": ImageSource(1, partial(_torchvision_images, "mnist")),
    "cifar10": ImageSource(3, partial(_torchvision_images, "cifar10")),
    "image_folder": ImageSource(3, _image_folder),
}
