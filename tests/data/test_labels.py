"""Class labels (data.conditional): through the stream and its resume on 1 and 2 processes, aligned with the samples
after `limit` and the validation split, from every labelled source, and every bad-label case as a one-line error."""

from itertools import islice
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from conftest import one_line_config_error, write_idx
from labelled_data import BAD_LABELS, write_dataset_tool_folder, write_png, zipped

from lightning_gans.data import ImageDataModule, InfiniteBatchStream, Toy2DDataModule, load_images, load_labels, sources, stream
from lightning_gans.data.sources import CIFAR10_CLASSES, FASHION_MNIST_CLASSES


def indexed_points(n: int) -> torch.Tensor:
    """Points (i, -i): every batch shows which sample indices it holds."""
    index = torch.arange(n, dtype=torch.float32)
    return torch.stack([index, -index], dim=1)


def labelled_batches(n: int, batch_size: int, batches: int, start: int = 0) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Batches of a stream over indexed points labelled i % 3."""
    labels = torch.arange(n) % 3
    return list(islice(InfiniteBatchStream(indexed_points(n), batch_size, seed=2, start=start, labels=labels), batches))


# ------------------------------------------------------------------------------------------------ the stream
def test_a_labelled_stream_yields_each_samples_own_label_beside_the_unlabelled_streams_batches():
    unlabelled = islice(InfiniteBatchStream(indexed_points(10), 4, seed=2), 8)
    for (points, labels), expected in zip(labelled_batches(10, 4, 8), unlabelled, strict=True):
        assert torch.equal(points, expected)
        assert labels.dtype == torch.int64 and torch.equal(labels, points[:, 0].long() % 3)


@pytest.mark.parametrize("world_size", [1, 2])
@pytest.mark.parametrize("start", [4, 12, 24])  # 24: past the first epoch boundary
def test_a_labelled_stream_resumed_at_start_equals_the_tail_of_an_uninterrupted_one(monkeypatch, world_size, start):
    batch_size = 2
    skipped = start // (batch_size * world_size)
    for rank in range(world_size):
        monkeypatch.setattr(stream, "rank_and_world_size", lambda rank=rank: (rank, world_size))
        full, resumed = labelled_batches(10, batch_size, 12), labelled_batches(10, batch_size, 12 - skipped, start=start)
        for (points, labels), (full_points, full_labels) in zip(resumed, full[skipped:], strict=True):
            assert torch.equal(points, full_points) and torch.equal(labels, full_labels)
            assert torch.equal(labels, points[:, 0].long() % 3)


def test_two_processes_take_disjoint_halves_of_the_single_process_labelled_batches(monkeypatch):
    single = labelled_batches(24, 6, 10)
    halves = []
    for rank in range(2):
        monkeypatch.setattr(stream, "rank_and_world_size", lambda rank=rank: (rank, 2))
        halves.append(labelled_batches(24, 3, 10))
    for (points, labels), (points0, labels0), (points1, labels1) in zip(single, *halves, strict=True):
        assert torch.equal(torch.cat([points0, points1]), points) and torch.equal(torch.cat([labels0, labels1]), labels)


DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("start", [0, 24, 40])
def test_the_device_path_serves_the_host_paths_labels_on_the_device(device, start):
    def batches(module):
        module.seek(start)
        return list(islice(module.dataloader(torch.device(device)), 5))

    host = batches(Toy2DDataModule(num_samples=30, batch_size=8, conditional=True, on_device=False, num_workers=2))
    on_device = batches(Toy2DDataModule(num_samples=30, batch_size=8, conditional=True, on_device=True))
    assert all(isinstance(batch, tuple) for batch in host + on_device)  # not the list a DataLoader makes of a tuple
    for (points, labels), (device_points, device_labels) in zip(host, on_device, strict=True):
        assert device_labels.device.type == device_points.device.type == device
        assert torch.equal(points, device_points.cpu()) and torch.equal(labels, device_labels.cpu())


# ------------------------------------------------------------------------------------------------------ toy
@pytest.mark.parametrize("distribution, modes", [("grid25", 25), ("ring8", 8)])
def test_toy_labels_are_the_nearest_mode(distribution, modes):
    module = Toy2DDataModule(distribution, num_samples=2000, conditional=True)
    assert module.num_classes == modes and module.class_names == [f"mode {k}" for k in range(modes)]
    assert torch.equal(module.train_labels, torch.cdist(module.train_samples, module.modes).argmin(dim=1))
    expected = torch.bincount(module.train_labels, minlength=modes).float() / 2000
    assert torch.allclose(module.label_distribution(), expected) and module.label_distribution().sum() == pytest.approx(1)
    assert torch.equal(module.train_samples, Toy2DDataModule(distribution, num_samples=2000).train_samples)


def test_an_unconditional_module_has_no_classes_and_yields_samples_alone():
    module = Toy2DDataModule(num_samples=30, batch_size=8)
    assert module.num_classes is module.class_names is module.train_labels is None
    assert isinstance(next(iter(module.train_dataloader())), torch.Tensor)
    assert "data.conditional" in one_line_config_error(module.label_distribution)


# ---------------------------------------------------------------------------------------------- fashion_mnist
@pytest.fixture
def numbered_fashion_mnist(monkeypatch, tmp_path):
    """Fashion-MNIST files whose image i is filled with the value i and labelled i % 10 (no default directory)."""
    monkeypatch.setattr(sources, "FASHION_MNIST_DIRS", [])
    for split, n in (("train", 40), ("t10k", 10)):
        images = np.broadcast_to(np.arange(n, dtype=np.uint8)[:, None, None], (n, 28, 28))
        write_idx(tmp_path / f"{split}-images-idx3-ubyte.gz", images)
        write_idx(tmp_path / f"{split}-labels-idx1-ubyte.gz", np.arange(n, dtype=np.uint8) % 10)
    return str(tmp_path)


@pytest.mark.parametrize("limit, validation_images", [(None, 0), (7, 0), (None, 9), (7, 9)])
def test_fashion_mnist_labels_stay_with_their_images_after_limit_and_validation_split(
        numbered_fashion_mnist, limit, validation_images):
    module = ImageDataModule(root=numbered_fashion_mnist, resolution=28, limit=limit,
                             validation_images=validation_images, conditional=True)
    assert module.class_names == FASHION_MNIST_CLASSES and module.num_classes == 10
    images = module.train_samples
    assert len(images) == (limit or 40 - validation_images) and len(module.validation_samples) == validation_images
    assert torch.equal(module.train_labels, images[:, 0, 0, 0].long() % 10)
    assert torch.equal(module.validation_labels, module.validation_samples[:, 0, 0, 0].long() % 10)
    assert torch.equal(images, ImageDataModule(root=numbered_fashion_mnist, resolution=28, limit=limit,
                                               validation_images=validation_images).train_samples)
    assert torch.equal(load_labels("fashion_mnist", numbered_fashion_mnist, False), torch.arange(10))


def test_fashion_mnist_labels_that_do_not_match_the_images_are_one_line(numbered_fashion_mnist, tmp_path):
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(39, dtype=np.uint8))
    module = ImageDataModule(root=numbered_fashion_mnist, resolution=28, conditional=True)
    assert "has 40 images but 39 labels" in one_line_config_error(module.setup)


# --------------------------------------------------------------------------------------- mnist and cifar10
@pytest.mark.parametrize("dataset, classes, shape", [("mnist", [str(k) for k in range(10)], (28, 28)),
                                                     ("cifar10", CIFAR10_CLASSES, (32, 32, 3))])
def test_torchvision_labels_stay_with_their_images(monkeypatch, dataset, classes, shape):
    n = 30
    data = np.arange(n, dtype=np.uint8).reshape(n, *[1] * len(shape)).repeat(shape[0], 1).repeat(shape[1], 2)
    if len(shape) == 3:  # CIFAR-10: numpy (N, H, W, C) with a list of targets, as torchvision gives them
        data, targets = data.repeat(3, 3), [i % 10 for i in range(n)]
    else:
        data, targets = torch.from_numpy(data), torch.arange(n) % 10
    monkeypatch.setattr(sources, "torchvision_dataset", lambda name, root, train: SimpleNamespace(data=data, targets=targets))
    module = ImageDataModule(dataset, resolution=shape[0], limit=12, validation_images=5, conditional=True)
    assert module.class_names == classes
    assert torch.equal(module.train_labels, module.train_samples[:, 0, 0, 0].long() % 10)


# ------------------------------------------------------------------------------------ folders, dataset.json
def brightness(module) -> list[int]:
    return module.train_samples[:, 0, 0, 0].tolist()


def test_class_folders_label_each_image_with_its_sorted_subfolder(tmp_path):
    for k, name in enumerate(["cat", "dog", "emu"]):
        for i in range(3):
            write_png(tmp_path / name / ("nested" if i == 2 else "") / f"{i}.png", 50 * k + i)
    (tmp_path / "notes.txt").write_text("not an image")
    module = ImageDataModule("image_folder", root=str(tmp_path), resolution=12, conditional=True)
    assert module.class_names == ["cat", "dog", "emu"] and module.num_classes == 3
    assert module.train_labels.tolist() == [value // 50 for value in brightness(module)]
    assert torch.equal(module.label_distribution(), torch.full((3,), 1 / 3))
    assert brightness(ImageDataModule("image_folder", root=str(tmp_path), resolution=12)) == brightness(module)


@pytest.mark.parametrize("as_zip", [False, True])
def test_dataset_json_labels_a_folder_or_zip_whatever_its_subfolders(tmp_path, as_zip):
    write_dataset_tool_folder(tmp_path / "images")
    root = str(zipped(tmp_path / "images", tmp_path / "images.zip") if as_zip else tmp_path / "images")
    module = ImageDataModule("image_folder", root=root, resolution=12, conditional=True)
    assert module.class_names == ["0", "1", "2"]
    assert brightness(module) == [10 * i for i in range(8)]
    assert module.train_labels.tolist() == [i % 3 for i in range(8)]


@pytest.mark.parametrize("labels", [True, False])
def test_a_zip_serves_the_same_images_as_its_folder_unconditionally(tmp_path, labels):
    write_dataset_tool_folder(tmp_path / "images", labels=labels)
    from_zip = ImageDataModule("image_folder", root=str(zipped(tmp_path / "images", tmp_path / "a.zip")), resolution=12)
    assert torch.equal(from_zip.train_samples, ImageDataModule("image_folder", root=str(tmp_path / "images"),
                                                               resolution=12).train_samples)
    assert from_zip.train_labels is None


def test_not_a_folder_nor_a_zip_is_one_line(tmp_path):
    (tmp_path / "broken.zip").write_bytes(b"not a zip")
    (tmp_path / "images.tar").write_bytes(b"")
    for name, expected in (("broken.zip", "cannot read"), ("images.tar", "neither a directory nor a .zip")):
        assert expected in one_line_config_error(lambda: load_images("image_folder", str(tmp_path / name), True, 12))


@pytest.mark.parametrize("case", list(BAD_LABELS))
def test_bad_labels_are_one_line_before_any_image_is_loaded(tmp_path, case):
    make, expected = BAD_LABELS[case]
    make(tmp_path)
    assert expected in one_line_config_error(lambda: ImageDataModule("image_folder", root=str(tmp_path), conditional=True))
    assert ImageDataModule("image_folder", root=str(tmp_path), resolution=12).train_samples.dtype == torch.uint8
