"""Training data as an infinite, resumable stream of batches, plus the datasets it draws from.

Images are float NCHW in [-1, 1] (kept in memory as uint8); toy data is float (N, 2).

The stream's order is a function of the seed alone: epoch e is `randperm(N)` seeded with `seed + e`, epochs are
concatenated, and every step takes the next `batch_size * world_size` samples, one slice per process. A run that
resumes at the model's `images_seen` therefore sees exactly the batches an uninterrupted run would have seen.
"""

import gzip
import math
import zlib
from functools import partial
from pathlib import Path
from typing import Callable, Iterator, NamedTuple, Optional

import numpy as np
import pytorch_lightning as pl
import torch
import torch.distributed as dist
import torch.nn.functional as F
from PIL import Image, ImageOps
from torch.utils.data import DataLoader, IterableDataset, get_worker_info
from torchvision import datasets as torchvision_datasets

from lightning_gans.errors import ConfigError, require

DOWNLOAD_ROOT = "data"  # where torchvision datasets are downloaded to (relative to the working directory)
# Where Fashion-MNIST's IDX files are looked for after an explicit `root`, in order (Debian: dataset-fashion-mnist).
FASHION_MNIST_DIRS = [Path("data/fashion-mnist"), Path("data"), Path("/usr/share/datasets/fashion-mnist")]
TORCHVISION_CLASSES = {"fashion_mnist": "FashionMNIST", "mnist": "MNIST", "cifar10": "CIFAR10"}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp"}


# --------------------------------------------------------------------------------------------------- the stream
def rank_and_world_size() -> tuple[int, int]:
    """This process's rank and the number of processes (0 and 1 without torch.distributed)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


class InfiniteBatchStream(IterableDataset):
    """Yields this process's share of every global batch, forever; use with `DataLoader(stream, batch_size=None)`.

    `start` is the number of samples already consumed by all processes together (the model's `images_seen`).
    Only seeded generators are used, never the global RNG, so a resumed run stays bit-exact.
    """

    def __init__(self, samples: torch.Tensor, batch_size: int, seed: int = 0, start: int = 0):
        require(len(samples) > 0, "number of samples", len(samples), "the dataset is empty; check data.root")
        self.samples, self.batch_size, self.seed, self.start = samples, batch_size, seed, start
        # Read here, in the main process: DataLoader workers do not share its process group.
        self.rank, self.world_size = rank_and_world_size()

    def __iter__(self) -> Iterator[torch.Tensor]:
        # A DataLoader with workers gives each one a copy of the stream and takes batches from them in turn,
        # so worker w keeps batches w, w + num_workers, ... and the merged order is unchanged.
        worker = get_worker_info()
        worker_id, num_workers = (worker.id, worker.num_workers) if worker else (0, 1)
        for step, indices in enumerate(self._batch_indices()):
            if step % num_workers == worker_id:
                yield to_float(self.samples[indices])

    def _batch_indices(self) -> Iterator[torch.Tensor]:
        n, global_batch = len(self.samples), self.batch_size * self.world_size
        mine = slice(self.rank * self.batch_size, (self.rank + 1) * self.batch_size)
        epoch, offset = divmod(self.start, n)
        pending = torch.empty(0, dtype=torch.long)
        while True:
            order = torch.randperm(n, generator=torch.Generator().manual_seed(self.seed + epoch))
            pending = torch.cat([pending, order[offset:]])  # a batch may span an epoch boundary
            epoch, offset = epoch + 1, 0
            while len(pending) >= global_batch:
                yield pending[:global_batch][mine]
                pending = pending[global_batch:]


def to_float(samples: torch.Tensor) -> torch.Tensor:
    """uint8 images to float in [-1, 1]; float samples (toy points) to float32 as they are."""
    if samples.dtype == torch.uint8:
        return samples.float() / 127.5 - 1
    return samples.float()


# ------------------------------------------------------------------------------------------- data modules
class GANDataModule(pl.LightningDataModule):
    """Base of the data modules: `data_shape` is known at construction, samples are loaded on first use."""

    data_shape: tuple[int, ...]

    def __init__(self, batch_size: int, seed: int, num_workers: int):
        super().__init__()
        require(batch_size >= 1, "data.batch_size", batch_size, "use an integer >= 1 (per process)")
        require(num_workers >= 0, "data.num_workers", num_workers, "use an integer >= 0")
        self.batch_size, self.seed, self.num_workers = batch_size, seed, num_workers
        self._train_samples: Optional[torch.Tensor] = None

    def load_train_samples(self) -> torch.Tensor:
        """uint8 images (N, C, H, W) or float32 points (N, 2); subclasses implement it."""
        raise NotImplementedError

    def prepare_data(self) -> None:
        # Lightning runs this on one process per node before any setup(): a download happens once, not in parallel.
        self.setup()

    def setup(self, stage: Optional[str] = None) -> None:
        if self._train_samples is None:
            self._train_samples = self.load_train_samples()

    @property
    def train_samples(self) -> torch.Tensor:
        self.setup()
        return self._train_samples

    def train_dataloader(self) -> DataLoader:
        # The model's own counter, not a count of yielded batches: Lightning fetches batches ahead of use.
        start = getattr(self.trainer.lightning_module, "images_seen", 0) if self.trainer else 0
        stream = InfiniteBatchStream(self.train_samples, self.batch_size, self.seed, start)
        # Its own generator: otherwise the DataLoader draws a worker seed from the global RNG on every iter().
        return DataLoader(stream, batch_size=None, num_workers=self.num_workers,
                          generator=torch.Generator().manual_seed(self.seed))

    def val_dataloader(self) -> DataLoader:
        """One placeholder batch per process: evaluation callbacks generate and load their own samples."""
        return DataLoader([0])


def ring8_modes() -> torch.Tensor:
    """8 points evenly spaced on a circle of radius 2."""
    angles = torch.arange(8, dtype=torch.float64) * (2 * math.pi / 8)
    return (2 * torch.stack([angles.cos(), angles.sin()], dim=1)).float()


def grid25_modes() -> torch.Tensor:
    """The 5x5 grid with coordinates -4, -2, 0, 2, 4."""
    coordinates = torch.arange(-4, 5, 2, dtype=torch.float32)
    return torch.cartesian_prod(coordinates, coordinates)


# The toy benchmarks of WGAN-GP (Gulrajani et al. 2017) and PacGAN (Lin et al. 2018): name -> (modes, std).
TOY_DISTRIBUTIONS: dict[str, tuple[Callable[[], torch.Tensor], float]] = {
    "ring8": (ring8_modes, 0.02),
    "grid25": (grid25_modes, 0.05),
}


class Toy2DDataModule(GANDataModule):
    """A mixture of equal-weight Gaussians in 2-D; `modes` and `mode_std` let metrics count the modes covered."""

    def __init__(
        self,
        distribution: str = "ring8",
        num_samples: int = 100_000,
        batch_size: int = 256,
        seed: int = 0,
        num_workers: int = 0,
    ):
        """
        Args:
            distribution: ring8 (8 Gaussians on a circle of radius 2, std 0.02) or grid25 (5x5 grid, spacing 2, std 0.05).
            num_samples: size of the fixed training set, drawn once with `seed`.
            batch_size: samples per step and process.
            seed: seeds the training set and the order of the stream.
        """
        super().__init__(batch_size, seed, num_workers)
        require(distribution in TOY_DISTRIBUTIONS, "data.distribution", distribution,
                f"choose one of {', '.join(TOY_DISTRIBUTIONS)}")
        require(num_samples >= 1, "data.num_samples", num_samples, "use an integer >= 1")
        self.distribution, self.num_samples = distribution, num_samples
        modes_fn, self.mode_std = TOY_DISTRIBUTIONS[distribution]
        self.modes = modes_fn()
        self.data_shape = (2,)

    def load_train_samples(self) -> torch.Tensor:
        generator = torch.Generator().manual_seed(self.seed)
        chosen = torch.randint(len(self.modes), (self.num_samples,), generator=generator)
        return self.modes[chosen] + self.mode_std * torch.randn(self.num_samples, 2, generator=generator)


class ImageDataModule(GANDataModule):
    """Images from `DATASETS`, resized to `resolution` and kept in memory as uint8."""

    def __init__(
        self,
        dataset: str = "fashion_mnist",
        root: Optional[str] = None,
        resolution: int = 32,
        batch_size: int = 64,
        limit: Optional[int] = None,
        validation_images: int = 0,
        seed: int = 0,
        num_workers: int = 0,
    ):
        """
        Args:
            dataset: fashion_mnist, mnist, cifar10 or image_folder.
            root: the dataset's directory (required for image_folder; otherwise searched or downloaded).
            resolution: images are resized to resolution x resolution.
            batch_size: images per step and process.
            limit: keep this many training images (a seeded choice), for data-efficiency experiments.
            validation_images: hold out this many training-split images (a seeded choice disjoint from the
                training images) as `validation_samples`, e.g. for ADA's r_v heuristic.
            seed: seeds the `limit` choice and the order of the stream.
        """
        super().__init__(batch_size, seed, num_workers)
        require(dataset in DATASETS, "data.dataset", dataset, f"choose one of {', '.join(DATASETS)}")
        require(resolution >= 8, "data.resolution", resolution, "use an integer >= 8")
        require(limit is None or limit >= 1, "data.limit", limit, "use an integer >= 1, or null for all images")
        require(validation_images >= 0, "data.validation_images", validation_images, "use an integer >= 0")
        self.dataset, self.root, self.resolution, self.limit = dataset, root, resolution, limit
        self.validation_images = validation_images
        self.validation_samples: Optional[torch.Tensor] = None
        self.data_shape = (DATASETS[dataset].channels, resolution, resolution)

    def load_train_samples(self) -> torch.Tensor:
        if not self.validation_images:
            return load_images(self.dataset, self.root, True, self.resolution, self.limit, self.seed)
        # The held-out images are the end of the permutation whose prefix `limit` keeps, so the two never overlap.
        images = load_images(self.dataset, self.root, True, self.resolution, None, self.seed)
        n_train = len(images) - self.validation_images
        require(n_train >= (self.limit or 1), "data.validation_images", self.validation_images,
                f"the dataset has {len(images)} images, limit {self.limit} of them for training: hold out fewer")
        order = torch.randperm(len(images), generator=torch.Generator().manual_seed(self.seed))
        self.validation_samples = images[order[n_train:]]
        return images[order[: self.limit or n_train]]


# ------------------------------------------------------------------------------------------------ datasets
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


# numpy dtypes of the IDX type codes (big-endian on disk).
IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: Path) -> torch.Tensor:
    """The array in an IDX file, the format of (Fashion-)MNIST, gzipped or not."""
    try:
        raw = Path(path).read_bytes()
        if raw[:2] == b"\x1f\x8b":  # gzip's magic number
            raw = gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as error:
        raise ConfigError(f"cannot read IDX file {path} ({_first_line(error)}): replace it with an intact copy") from error

    def corrupt(problem: str) -> ConfigError:
        return ConfigError(f"{path} is not a valid IDX file ({problem}): replace it with an intact copy")

    # Header: two zero bytes, a type code, the number of dimensions, then each dimension as a big-endian uint32.
    if len(raw) < 4 or raw[:2] != b"\0\0" or raw[2] not in IDX_DTYPES:
        raise corrupt("bad magic number")
    dtype, header_size = np.dtype(IDX_DTYPES[raw[2]]), 4 + 4 * raw[3]
    if len(raw) < header_size:
        raise corrupt("truncated header")
    shape = np.frombuffer(raw, ">u4", count=raw[3], offset=4).tolist()
    expected_size = header_size + math.prod(shape) * dtype.itemsize
    if len(raw) != expected_size:
        raise corrupt(f"{len(raw)} bytes where its header implies {expected_size}")
    values = np.frombuffer(raw, dtype, offset=header_size).reshape(shape)
    return torch.from_numpy(values.astype(dtype.newbyteorder("=")))


def torchvision_dataset(name: str, root: str, train: bool):
    """torchvision's dataset `name` (fashion_mnist, mnist, cifar10), downloaded into `root` unless already there.

    The only function here that may use the network; tests replace it.
    """
    return getattr(torchvision_datasets, TORCHVISION_CLASSES[name])(root, train=train, download=True)


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


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
                raise ConfigError(f"{directory} has Fashion-MNIST images but no {labels_name}(.gz): add that file")
            return read_idx(path)
    try:
        dataset = torchvision_dataset("fashion_mnist", DOWNLOAD_ROOT, train)
    except (OSError, RuntimeError) as error:
        raise ConfigError(
            "dataset 'fashion_mnist' not found: pass data.root=DIR with the IDX files, or `apt-get install "
            f"dataset-fashion-mnist`, or allow a torchvision download into {DOWNLOAD_ROOT}/ ({_first_line(error)})"
        ) from error
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
        raise ConfigError(
            f"dataset {name!r} is not in {root}/ and could not be downloaded ({_first_line(error)}): allow network "
            f"access once, or pass data.root=DIR holding torchvision's {TORCHVISION_CLASSES[name]} files"
        ) from error


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
        raise ConfigError(f"cannot read image {path} ({_first_line(error)}): delete or replace it") from error


DATASETS: dict[str, ImageSource] = {
    "fashion_mnist": ImageSource(1, _fashion_mnist_images),
    "mnist": ImageSource(1, partial(_torchvision_images, "mnist")),
    "cifar10": ImageSource(3, partial(_torchvision_images, "cifar10")),
    "image_folder": ImageSource(3, _image_folder),
}
