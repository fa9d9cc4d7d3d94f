"""The batch stream (order, resume, ranks, workers), the toy distributions and the image loaders, with local data only."""

import gzip
from itertools import islice

import numpy as np
import pytest
import torch
from conftest import write_fashion_mnist, write_idx
from PIL import Image
from torch.utils.data import DataLoader

from lightning_gans.data import (
    GANDataModule,
    ImageDataModule,
    InfiniteBatchStream,
    Toy2DDataModule,
    load_images,
    load_labels,
    modules,
    sources,
    stream,
    toy,
)
from lightning_gans.data.idx import read_idx
from lightning_gans.errors import ConfigError


def indexed_points(n: int) -> torch.Tensor:
    """Points (i, -i): every batch shows which sample indices it holds."""
    index = torch.arange(n, dtype=torch.float32)
    return torch.stack([index, -index], dim=1)


def stream_indices(n: int, batch_size: int, batches: int, seed: int = 0, start: int = 0) -> torch.Tensor:
    stream = InfiniteBatchStream(indexed_points(n), batch_size, seed, start)
    return torch.stack([batch[:, 0].long() for batch in islice(stream, batches)])


# ------------------------------------------------------------------------------------------------ stream
def test_stream_is_the_concatenation_of_seeded_epoch_permutations():
    n, batch_size, batches = 10, 4, 12  # batches straddle epoch boundaries
    epochs = [torch.randperm(n, generator=torch.Generator().manual_seed(7 + e)) for e in range(5)]
    expected = torch.cat(epochs)[: batch_size * batches].view(batches, batch_size)
    assert torch.equal(stream_indices(n, batch_size, batches, seed=7), expected)
    assert torch.equal(stream_indices(n, batch_size, batches, seed=7), expected)  # deterministic
    assert not torch.equal(stream_indices(n, batch_size, batches, seed=8), expected)


@pytest.mark.parametrize("consumed_batches", [1, 3, 7])
def test_stream_resumed_at_start_equals_the_tail_of_an_uninterrupted_stream(consumed_batches):
    n, batch_size = 10, 4
    full = stream_indices(n, batch_size, 12)
    resumed = stream_indices(n, batch_size, 12 - consumed_batches, start=consumed_batches * batch_size)
    assert torch.equal(resumed, full[consumed_batches:])


def test_ranks_take_disjoint_slices_of_the_single_process_global_batch(monkeypatch):
    n, batch_size, world_size = 24, 3, 2  # global batches do not straddle epochs, so no index repeats in one
    single = stream_indices(n, batch_size * world_size, 10, start=12)
    per_rank = []
    for rank in range(world_size):
        monkeypatch.setattr(stream, "rank_and_world_size", lambda rank=rank: (rank, world_size))
        per_rank.append(stream_indices(n, batch_size, 10, start=12))
    rank0, rank1 = per_rank
    for step in range(10):
        assert not set(rank0[step].tolist()) & set(rank1[step].tolist())
    assert torch.equal(torch.cat([rank0, rank1], dim=1), single)


def test_workers_do_not_change_the_order():
    stream = InfiniteBatchStream(indexed_points(10), 4, seed=3)
    one_process = list(islice(DataLoader(stream, batch_size=None), 8))
    two_workers = list(islice(DataLoader(stream, batch_size=None, num_workers=2), 8))
    assert all(torch.equal(a, b) for a, b in zip(one_process, two_workers, strict=True))


def test_uint8_images_become_float32_in_minus_one_to_one():
    images = torch.tensor([0, 51, 255], dtype=torch.uint8).view(3, 1, 1, 1).expand(3, 1, 4, 4).contiguous()
    batch = next(iter(InfiniteBatchStream(images, 3)))
    assert batch.dtype == torch.float32 and batch.shape == (3, 1, 4, 4)
    assert sorted(batch[:, 0, 0, 0].tolist()) == pytest.approx([-1.0, 51 / 127.5 - 1, 1.0])


def test_dataloader_starts_where_seek_puts_it_and_leaves_the_global_rng_alone():
    module = Toy2DDataModule(num_samples=50, batch_size=8, seed=1)
    module.setup()
    uninterrupted = list(islice(module.train_dataloader(), 6))
    module.seek(2 * 8)
    rng_before = torch.get_rng_state()
    resumed = list(islice(module.train_dataloader(), 4))
    assert torch.equal(torch.get_rng_state(), rng_before)
    assert all(torch.equal(a, b) for a, b in zip(resumed, uninterrupted[2:], strict=True))


# --------------------------------------------------------------------------------------------------- toy
def test_toy_modes_geometry_and_spread():
    ring = Toy2DDataModule("ring8", num_samples=20_000)
    grid = Toy2DDataModule("grid25", num_samples=20_000)
    assert ring.data_shape == grid.data_shape == (2,)
    assert ring.modes.shape == (8, 2) and torch.allclose(ring.modes.norm(dim=1), torch.full((8,), 2.0))
    assert grid.modes.shape == (25, 2)
    assert sorted(set(grid.modes.flatten().tolist())) == [-4.0, -2.0, 0.0, 2.0, 4.0]
    for module, std in ((ring, 0.02), (grid, 0.05)):
        samples = module.train_samples
        assert samples.shape == (20_000, 2) and samples.dtype == torch.float32
        nearest = torch.cdist(samples, module.modes).argmin(dim=1)
        assert (samples - module.modes[nearest]).std().item() == pytest.approx(std, rel=0.05)
        assert len(nearest.unique()) == len(module.modes)
        assert module.mode_std == toy.TOY_DISTRIBUTIONS[module.distribution][1] == std


def test_toy_samples_depend_on_the_seed_only():
    assert torch.equal(Toy2DDataModule(num_samples=100, seed=4).train_samples,
                       Toy2DDataModule(num_samples=100, seed=4).train_samples)
    assert not torch.equal(Toy2DDataModule(num_samples=100, seed=4).train_samples,
                           Toy2DDataModule(num_samples=100, seed=5).train_samples)


# ------------------------------------------------------------------------------------------ fashion_mnist
@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No default Fashion-MNIST directory holds data and a torchvision download fails."""
    monkeypatch.setattr(sources, "FASHION_MNIST_DIRS", [tmp_path / "default-a", tmp_path / "default-b"])

    def no_network(name, root, train):
        raise RuntimeError(f"Error downloading {name}\nmore detail")

    monkeypatch.setattr(sources, "torchvision_dataset", no_network)
    return tmp_path


def test_fashion_mnist_from_idx_files(offline):
    root = write_fashion_mnist(offline / "fm", n_train=20, n_test=8)
    module = ImageDataModule(root=str(root), resolution=32, batch_size=4)
    assert module.data_shape == (1, 32, 32)
    images = module.train_samples
    assert images.shape == (20, 1, 32, 32) and images.dtype == torch.uint8 and images.max() > 100
    assert load_images("fashion_mnist", str(root), train=False, resolution=16).shape == (8, 1, 16, 16)
    labels = load_labels("fashion_mnist", str(root), train=True)
    with gzip.open(root / "train-labels-idx1-ubyte.gz") as f:
        assert labels.tolist() == list(f.read()[8:])
    batch = next(iter(module.train_dataloader()))
    assert batch.shape == (4, 1, 32, 32) and -1 <= batch.min() and batch.max() <= 1


def test_explicit_root_wins_over_the_default_directories(offline, monkeypatch):
    default = write_fashion_mnist(offline / "default", n_train=20, n_test=8)
    explicit = write_fashion_mnist(offline / "explicit", n_train=12, n_test=8)
    monkeypatch.setattr(sources, "FASHION_MNIST_DIRS", [offline / "empty", default])
    assert len(load_images("fashion_mnist", None, True, 32)) == 20
    assert len(load_images("fashion_mnist", str(explicit), True, 32)) == 12


def test_missing_fashion_mnist_is_one_line_naming_the_three_ways(offline):
    with pytest.raises(ConfigError) as error:
        load_images("fashion_mnist", None, True, 32)
    message = str(error.value)
    assert "\n" not in message
    assert all(way in message for way in ("data.root=", "apt-get install dataset-fashion-mnist", "download"))


def test_failed_torchvision_download_is_one_line(offline):
    with pytest.raises(ConfigError, match="^dataset 'cifar10' is not in .*data.root=") as error:
        load_images("cifar10", None, True, 32)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("corruption", ["bad magic", "truncated data", "broken gzip"])
def test_corrupt_idx_file_is_a_config_error(tmp_path, corruption):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    write_idx(path, np.zeros((3, 28, 28), dtype=np.uint8))
    raw = gzip.decompress(path.read_bytes())
    corrupted = {
        "bad magic": gzip.compress(b"\x01" + raw[1:]),
        "truncated data": gzip.compress(raw[:-10]),
        "broken gzip": path.read_bytes()[:30],
    }[corruption]
    path.write_bytes(corrupted)
    with pytest.raises(ConfigError, match="IDX file"):
        read_idx(path)


def test_read_idx_reads_uncompressed_files_too(tmp_path):
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "a.gz", array)
    (tmp_path / "a").write_bytes(gzip.decompress((tmp_path / "a.gz").read_bytes()))
    assert torch.equal(read_idx(tmp_path / "a"), torch.from_numpy(array))


# ------------------------------------------------------------------------------------------- image_folder
def test_image_folder_resizes_and_crops_every_image(tmp_path):
    (tmp_path / "nested").mkdir()
    for name, size in (("a.png", (40, 30)), ("b.png", (20, 50)), ("nested/c.png", (64, 64)), ("d.jpg", (33, 17))):
        grey = Image.new("L", size, 200)  # a.png stays greyscale: it must be converted to RGB
        (grey if name == "a.png" else grey.convert("RGB")).save(tmp_path / name)
    (tmp_path / "notes.txt").write_text("not an image")
    module = ImageDataModule("image_folder", root=str(tmp_path), resolution=16)
    assert module.data_shape == (3, 16, 16)
    images = module.train_samples
    assert images.shape == (4, 3, 16, 16) and images.dtype == torch.uint8
    assert images.float().mean().item() == pytest.approx(200, abs=2)


@pytest.mark.parametrize("root", [None, "missing", "empty"])
def test_image_folder_without_images_is_a_config_error(tmp_path, root):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="data.root"):
        load_images("image_folder", root and str(tmp_path / root), True, 16)


# ------------------------------------------------------------------------------------------ limit, checks
def test_limit_keeps_a_seeded_choice(offline):
    root = str(write_fashion_mnist(offline / "fm", n_train=20, n_test=8))
    first = load_images("fashion_mnist", root, True, 32, limit=5, seed=0)
    assert first.shape == (5, 1, 32, 32)
    assert torch.equal(first, ImageDataModule(root=root, limit=5, seed=0).train_samples)
    assert not torch.equal(first, load_images("fashion_mnist", root, True, 32, limit=5, seed=1))
    with pytest.raises(ConfigError, match="data.limit"):
        load_images("fashion_mnist", root, True, 32, limit=21)


def test_validation_images_are_held_out_and_keep_the_limit_choice(offline):
    root = str(write_fashion_mnist(offline / "fm", n_train=20, n_test=8))
    module = ImageDataModule(root=root, limit=5, validation_images=6, seed=0)
    assert torch.equal(module.train_samples, ImageDataModule(root=root, limit=5, seed=0).train_samples)
    train = {bytes(image.numpy()) for image in module.train_samples}
    held_out = {bytes(image.numpy()) for image in module.validation_samples}
    assert len(held_out) == 6 and not train & held_out
    assert len(ImageDataModule(root=root, validation_images=6).train_samples) == 14
    with pytest.raises(ConfigError, match="data.validation_images"):
        ImageDataModule(root=root, limit=15, validation_images=6).train_samples


@pytest.mark.parametrize("arguments, key", [
    ({"dataset": "imagenet"}, "data.dataset"),
    ({"resolution": 4}, "data.resolution"),
    ({"batch_size": 0}, "data.batch_size"),
    ({"limit": 0}, "data.limit"),
])
def test_invalid_image_options_are_config_errors(arguments, key):
    with pytest.raises(ConfigError, match=key) as error:
        ImageDataModule(**arguments)
    if key == "data.dataset":
        assert all(name in str(error.value) for name in sources.DATASETS)


def test_unknown_toy_distribution_lists_the_known_ones():
    with pytest.raises(ConfigError, match="ring8, grid25"):
        Toy2DDataModule("spiral")


def test_explicit_root_without_idx_files_is_an_error_not_a_fallback(offline, tmp_path):
    with pytest.raises(ConfigError, match="data.root=.*no Fashion-MNIST train-images-idx3-ubyte"):
        load_images("fashion_mnist", str(tmp_path), True, 32)


# ------------------------------------------------------------------------------------------- data on the device
class GivenImages(GANDataModule):
    """A data module serving the uint8 images it is given."""

    def __init__(self, images: torch.Tensor, num_workers: int = 0, on_device="auto"):
        super().__init__(batch_size=4, seed=5, num_workers=num_workers, on_device=on_device)
        self.images, self.data_shape = images, tuple(images.shape[1:])

    def load_train_samples(self) -> torch.Tensor:
        return self.images


def first_batches(datamodule: GANDataModule, device: str, start: int, batches: int = 7) -> list[torch.Tensor]:
    datamodule.seek(start)
    return [batch.cpu() for batch in islice(datamodule.dataloader(torch.device(device)), batches)]


DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("start", [0, 8, 23])  # 23: mid-batch and past the first epoch boundary
def test_on_device_path_yields_the_host_paths_batches_from_any_start(device, start):
    images = torch.randint(0, 256, (10, 1, 3, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    host = first_batches(GivenImages(images, num_workers=2, on_device=False), device, start)
    on_device = GivenImages(images, num_workers=0, on_device=True)
    assert all(torch.equal(a, b) for a, b in zip(host, first_batches(on_device, device, start), strict=True))
    assert host[0].dtype == torch.float32 and host[0].min() >= -1 and host[0].max() <= 1


@pytest.mark.parametrize("device", DEVICES)
def test_on_device_path_indexes_the_stored_uint8_set_without_workers(device):
    images = torch.zeros(10, 1, 3, 3, dtype=torch.uint8)
    datamodule = GivenImages(images)  # on_device auto: on, since the set fits
    loader = datamodule.dataloader(torch.device(device))
    assert loader.num_workers == 0 and loader.dataset.samples.dtype == torch.uint8
    assert loader.dataset.samples.device.type == device and next(iter(loader)).device.type == device
    again = datamodule.dataloader(torch.device(device))  # a second loader reuses the stored copy
    assert again.dataset.samples.data_ptr() == loader.dataset.samples.data_ptr()


def test_on_device_auto_falls_back_to_the_host_where_the_set_does_not_fit(monkeypatch):
    monkeypatch.setattr(modules, "device_memory_for_data", lambda device: 89)  # the set has 90 bytes
    datamodule = GivenImages(torch.zeros(10, 1, 3, 3, dtype=torch.uint8), num_workers=1)
    loader = datamodule.dataloader(torch.device("cpu"))
    assert loader.num_workers == 1 and loader.dataset.samples is datamodule.train_samples
    with pytest.raises(ConfigError) as error:
        GivenImages(torch.zeros(10, 1, 3, 3, dtype=torch.uint8), on_device=True).dataloader(torch.device("cpu"))
    assert error.value.key == "data.on_device"


@pytest.mark.parametrize("options, key", [({"on_device": "yes"}, "data.on_device"),
                                          ({"on_device": True, "num_workers": 2}, "data.num_workers")])
def test_invalid_on_device_options_are_config_errors(options, key):
    with pytest.raises(ConfigError) as error:
        GivenImages(torch.zeros(10, 1, 3, 3, dtype=torch.uint8), **options)
    assert error.value.key == key
