"""The real-statistics cache: an entry is keyed by the images it was computed from, so other images (another
folder under the same dataset name, changed files, another seeded choice) never reuse it, and the same images do."""

import shutil

import pytest
import torch
from conftest import ChannelMoments, write_image_folder

from lightning_gans.data import load_images, to_float
from lightning_gans.metrics.fid import fid_features_to_statistics, fid_metric
from lightning_gans.metrics.reference import RealStatistics

FACES, CATS = (200, 150, 120), (90, 90, 90)  # the colours of two folders of different images


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LIGHTNING_GANS_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "fid-stats"


def statistics(root, extractor, num_samples=50, seed=0) -> dict[str, torch.Tensor]:
    """The cached statistics of the image folder `root` at 16 px."""
    return RealStatistics("image_folder", str(root), "train", 16, num_samples, seed).load_or_compute(extractor, 5, "cpu")


def test_two_folders_of_different_images_get_two_cache_entries_and_different_fids_of_one_generator(tmp_path, cache):
    extractor = ChannelMoments()
    fakes = extractor(torch.rand(12, 3, 16, 16, generator=torch.Generator().manual_seed(0)) * 2 - 1)
    fids = []
    for name, colour in (("faces", FACES), ("cats", CATS)):
        root = write_image_folder(tmp_path / name, colour)
        real = statistics(root, extractor)
        own = fid_features_to_statistics(extractor(to_float(load_images("image_folder", str(root), True, 16))))
        assert torch.equal(real["mean"], own["mean"]) and torch.equal(real["cov"], own["cov"])
        fids.append(float(fid_metric(real, fakes).compute()))
    assert len(list(cache.glob("*.pt"))) == 2
    assert fids[0] != pytest.approx(fids[1])


def test_the_same_images_are_one_cache_entry_wherever_they_lie(tmp_path, cache):
    extractor = ChannelMoments()
    faces = write_image_folder(tmp_path / "faces", FACES)
    statistics(faces, extractor)
    statistics(write_image_folder(tmp_path / "cats", CATS), extractor)
    statistics(faces, extractor)
    statistics(shutil.copytree(faces, tmp_path / "faces-copy"), extractor)
    assert extractor.images_seen == 2 * 12 and len(list(cache.glob("*.pt"))) == 2


def test_a_folder_whose_images_changed_gets_a_new_entry(tmp_path, cache):
    extractor = ChannelMoments()
    faces = write_image_folder(tmp_path / "faces", FACES)
    before = statistics(faces, extractor)
    write_image_folder(faces, CATS, n=1)  # 000.png rewritten
    after = statistics(faces, extractor)
    assert len(list(cache.glob("*.pt"))) == 2 and not torch.equal(before["mean"], after["mean"])


def test_another_seeded_choice_of_n_images_gets_another_entry(tmp_path, cache):
    extractor = ChannelMoments()
    faces = write_image_folder(tmp_path / "faces", FACES)
    statistics(faces, extractor, num_samples=6, seed=0)
    statistics(faces, extractor, num_samples=6, seed=1)
    assert len(list(cache.glob("*.pt"))) == 2


def test_the_entry_name_reads_dataset_split_resolution_extractor_weights_n_and_the_images_fingerprint(tmp_path, cache):
    statistics(write_image_folder(tmp_path / "faces", FACES), ChannelMoments(), num_samples=6)
    (entry,) = cache.glob("*.pt")
    assert entry.name.startswith(f"image_folder-train-16px-moments-{'0' * 16}-6-") and len(entry.stem.split("-")[-1]) == 16
