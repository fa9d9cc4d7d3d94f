"""Lightning data modules: toy 2-D mixtures and image datasets, served as the infinite stream of `stream.py`.

Images are float NCHW in [-1, 1] (kept in memory as uint8); toy data is float (N, 2). With `on_device` the training
set is copied once to the training device and every batch is indexed and converted to float there. With
`conditional` the stream yields (samples, labels) with int64 labels 0..num_classes-1, on the samples' device.
"""

from typing import Literal, Optional, Union

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader

from lightning_gans.data.sources import DATASETS, class_names, limit_choice, load_labels, resize_images
from lightning_gans.data.stream import InfiniteBatchStream
from lightning_gans.data.toy import TOY_DISTRIBUTIONS
from lightning_gans.errors import ConfigError, require

OnDevice = Union[bool, Literal["auto"]]
# Share of a GPU's free memory the training set may take: the rest is for the networks and their activations.
DEVICE_MEMORY_SHARE = 0.5


def device_memory_for_data(device: torch.device) -> Optional[int]:
    """Bytes of `device` memory the training set may take: None (no limit) on the CPU, where it already is; on CUDA
    DEVICE_MEMORY_SHARE of the free memory; 0 on devices whose free memory is unknown."""
    if device.type == "cpu":
        return None
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0] * DEVICE_MEMORY_SHARE)
    return 0


class GANDataModule(pl.LightningDataModule):
    """Base of the data modules: `data_shape` and `class_names` (None unless conditional) are known at construction,
    samples and labels are loaded on first use."""

    data_shape: tuple[int, ...]

    def __init__(self, batch_size: int, seed: int, num_workers: int, on_device: OnDevice = "auto",
                 conditional: bool = False):
        super().__init__()
        require(batch_size >= 1, "data.batch_size", batch_size, "use an integer >= 1 (per process)")
        require(num_workers >= 0, "data.num_workers", num_workers, "use an integer >= 0")
        require(on_device in (True, False, "auto"), "data.on_device", on_device, "use auto, true or false")
        require(not (on_device is True and num_workers), "data.num_workers", num_workers,
                "use 0 with data.on_device true: batches are indexed on the device, without worker processes")
        self.batch_size, self.seed, self.num_workers, self.on_device = batch_size, seed, num_workers, on_device
        self.conditional = conditional
        self.class_names: Optional[list[str]] = None  # a conditional subclass names its classes at construction
        self._train_samples: Optional[torch.Tensor] = None
        self._train_labels: Optional[torch.Tensor] = None
        self._device_set: Optional[tuple] = None  # (samples, labels) on the training device, copied once
        self.start = 0  # samples all processes consumed before the stream starts: the technique's `seek`

    @property
    def num_classes(self) -> Optional[int]:
        """The number of classes of a conditional module; None unless conditional."""
        return None if self.class_names is None else len(self.class_names)

    def load_train_samples(self) -> torch.Tensor:
        """uint8 images (N, C, H, W) or float32 points (N, 2); subclasses implement it or `load_train_set`."""
        raise NotImplementedError

    def load_train_set(self) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
        """The training samples and, when conditional, their int64 labels (N,) (else None)."""
        return self.load_train_samples(), None

    def prepare_data(self) -> None:
        # Lightning runs this on one process per node before any setup(): a download happens once, not in parallel.
        self.setup()

    def setup(self, stage: Optional[str] = None) -> None:
        if self._train_samples is None:
            self._train_samples, self._train_labels = self.load_train_set()

    @property
    def train_samples(self) -> torch.Tensor:
        self.setup()
        return self._train_samples

    @property
    def train_labels(self) -> Optional[torch.Tensor]:
        """The int64 labels of `train_samples` (None unless conditional)."""
        self.setup()
        return self._train_labels

    def label_distribution(self) -> torch.Tensor:
        """The training labels' class frequencies, float (num_classes,), summing to 1."""
        require(self.conditional, "data.conditional", self.conditional, "the class frequencies need labels: set it true")
        return torch.bincount(self.train_labels, minlength=self.num_classes).float() / len(self.train_labels)

    def seek(self, images_seen: int) -> None:
        """Start the stream after `images_seen` samples (summed over processes), where a resumed run stopped."""
        self.start = images_seen

    def train_dataloader(self) -> DataLoader:
        return self.dataloader(self.trainer.strategy.root_device if self.trainer else torch.device("cpu"))

    def dataloader(self, device: torch.device) -> DataLoader:
        """The training stream for a model on `device`: from the training set on `device` when `serves_from(device)`
        (no workers; the batches are already there), else from the host copy (with `num_workers` workers)."""
        on_device = self.serves_from(device)
        if on_device and (self._device_set is None or self._device_set[0].device != torch.device(device)):
            self._device_set = tuple(None if t is None else t.to(device) for t in (self.train_samples, self.train_labels))
        samples, labels = self._device_set if on_device else (self.train_samples, self.train_labels)
        stream = InfiniteBatchStream(samples, self.batch_size, self.seed, self.start, labels)
        # Its own generator: otherwise the DataLoader draws a worker seed from the global RNG on every iter().
        return DataLoader(stream, batch_size=None, num_workers=0 if on_device else self.num_workers,
                          generator=torch.Generator().manual_seed(self.seed))

    def serves_from(self, device: torch.device) -> bool:
        """Whether batches are indexed from a copy of the training set on `device` (`on_device`): always with
        true (a ConfigError when it does not fit), never with false, with auto when it fits and no workers are set."""
        if self.on_device is False:
            return False
        budget = device_memory_for_data(torch.device(device))
        nbytes = self.train_samples.nbytes + (0 if self.train_labels is None else self.train_labels.nbytes)
        fits = budget is None or nbytes <= budget
        if self.on_device is True:
            require(fits, "data.on_device", True,
                    f"the training set ({nbytes / 2**20:.0f} MB) exceeds the "
                    f"{(budget or 0) / 2**20:.0f} MB of {device} memory it may take: use data.on_device auto or false")
            return True
        return fits and not self.num_workers


class Toy2DDataModule(GANDataModule):
    """A mixture of equal-weight Gaussians in 2-D; `modes` and `mode_std` let metrics count the modes covered."""

    def __init__(
        self,
        distribution: str = "ring8",
        num_samples: int = 100_000,
        batch_size: int = 256,
        seed: int = 0,
        num_workers: int = 0,
        on_device: OnDevice = "auto",
        conditional: bool = False,
    ):
        """
        Args:
            distribution: ring8 (8 Gaussians on a circle of radius 2, std 0.02) or grid25 (5x5 grid, spacing 2, std 0.05).
            num_samples: size of the fixed training set, drawn once with `seed`.
            batch_size: samples per step and process.
            seed: seeds the training set and the order of the stream.
            num_workers: worker processes of the host path (none on the device path).
            on_device: keep the training set on the training device and index batches there (auto: where it fits,
                i.e. always on the CPU and within half the free memory of a GPU, and num_workers is 0).
            conditional: label each point with the index of the mode it was drawn from (classes "mode 0", ...).
        """
        super().__init__(batch_size, seed, num_workers, on_device, conditional)
        require(distribution in TOY_DISTRIBUTIONS, "data.distribution", distribution,
                f"choose one of {', '.join(TOY_DISTRIBUTIONS)}")
        require(num_samples >= 1, "data.num_samples", num_samples, "use an integer >= 1")
        self.distribution, self.num_samples = distribution, num_samples
        modes_fn, self.mode_std = TOY_DISTRIBUTIONS[distribution]
        self.modes = modes_fn()
        self.data_shape = (2,)
        if conditional:
            self.class_names = [f"mode {k}" for k in range(len(self.modes))]

    def load_train_set(self) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
        generator = torch.Generator().manual_seed(self.seed)
        chosen = torch.randint(len(self.modes), (self.num_samples,), generator=generator)
        points = self.modes[chosen] + self.mode_std * torch.randn(self.num_samples, 2, generator=generator)
        return points, chosen if self.conditional else None


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
        on_device: OnDevice = "auto",
        conditional: bool = False,
    ):
        """
        Args:
            dataset: fashion_mnist, mnist, cifar10 or image_folder.
            root: the dataset's directory (image_folder: a folder or .zip of images, required; otherwise searched or
                downloaded).
            resolution: images are resized to resolution x resolution.
            batch_size: images per step and process.
            limit: keep this many training images (a seeded choice), for data-efficiency experiments.
            validation_images: hold out this many training-split images (a seeded choice disjoint from the
                training images) as `validation_samples`, e.g. for ADA's r_v heuristic.
            seed: seeds the `limit` choice and the order of the stream.
            num_workers: worker processes of the host path (none on the device path).
            on_device: keep the uint8 training set on the training device and index batches and convert them to
                float there (auto: where it fits, i.e. always on the CPU and within half the free memory of a GPU,
                and num_workers is 0); false: host path.
            conditional: serve (images, labels) and make the technique conditional on the classes (image_folder:
                from dataset.json, else from one subfolder per class).
        """
        super().__init__(batch_size, seed, num_workers, on_device, conditional)
        require(dataset in DATASETS, "data.dataset", dataset, f"choose one of {', '.join(DATASETS)}")
        require(resolution >= 8, "data.resolution", resolution, "use an integer >= 8")
        require(limit is None or limit >= 1, "data.limit", limit, "use an integer >= 1, or null for all images")
        require(validation_images >= 0, "data.validation_images", validation_images, "use an integer >= 0")
        self.dataset, self.root, self.resolution, self.limit = dataset, root, resolution, limit
        self.validation_images = validation_images
        self._validation_samples: Optional[torch.Tensor] = None
        self._validation_labels: Optional[torch.Tensor] = None
        self.data_shape = (DATASETS[dataset].channels, resolution, resolution)
        if conditional:  # here, so that data without labels stops the run before anything is loaded
            self.class_names = class_names(dataset, root)

    @property
    def validation_samples(self) -> torch.Tensor:
        """The `validation_images` held-out uint8 images (empty when 0), disjoint from the training images."""
        self.setup()
        return self._validation_samples

    @property
    def validation_labels(self) -> Optional[torch.Tensor]:
        """The labels of `validation_samples` (None unless conditional)."""
        self.setup()
        return self._validation_labels

    def load_train_set(self) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
        images = DATASETS[self.dataset].load(self.root, True, self.resolution)  # resized once chosen
        labels = load_labels(self.dataset, self.root, True) if self.conditional else None
        if labels is not None and len(labels) != len(images):
            raise ConfigError(f"the training split of {self.dataset} has {len(images)} images but {len(labels)} labels",
                              "use image and label files that belong together")
        train, held_out = self.split_indices(len(images))
        self._validation_samples = resize_images(images[held_out], self.resolution) if len(held_out) \
            else torch.empty(0, *self.data_shape, dtype=torch.uint8)
        self._validation_labels = None if labels is None else labels[held_out]
        return resize_images(images[train], self.resolution), None if labels is None else labels[train]

    def split_indices(self, n: int) -> tuple[slice | torch.Tensor, torch.Tensor]:
        """The indices of the training and the held-out images of n: all in order without `limit` and
        `validation_images`, else `limit` (or all but the held-out) from the start of a seeded permutation and the
        held-out from its end, so the two never overlap and the training choice is `load_images`' with `limit`."""
        if not self.validation_images:
            return slice(None) if self.limit is None else limit_choice(n, self.limit, self.seed), torch.arange(0)
        n_train = n - self.validation_images
        require(n_train >= (self.limit or 1), "data.validation_images", self.validation_images,
                f"the dataset has {n} images, limit {self.limit} of them for training: hold out fewer")
        order = limit_choice(n, n, self.seed)  # the whole permutation
        return order[: self.limit or n_train], order[n_train:]

