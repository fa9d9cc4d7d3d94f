"""The `inception` extractor: generator-range images -> uint8 -> torch-fidelity's InceptionV3 -> 2048 features,
weights found in the documented order, and one-line errors when none can be had. No network: the weights are a
randomly initialised state dict of the same architecture, and downloads are faked."""

import hashlib
import os
from urllib.error import URLError

import pytest
import torch
import torch_fidelity.feature_extractor_inceptionv3 as torch_fidelity_inception
from conftest import one_line_config_error
from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3, FeatureExtractorInceptionV3

from lightning_gans.metrics import FEATURE_EXTRACTORS, build_feature_extractor
from lightning_gans.metrics.extractor_inception import (
    WEIGHTS_ENV_VAR,
    check_inception_available,
    hub_cache_path,
    resolve_inception_weights,
    to_uint8,
)


@pytest.fixture(scope="module")
def random_weights(tmp_path_factory) -> str:
    """A randomly initialised state dict of torch-fidelity's InceptionV3, saved as its weights file is."""
    with pytest.MonkeyPatch.context() as patch:
        # Build the graph without any weights: no download, and the (empty) state dict is not loaded.
        patch.setattr(torch_fidelity_inception, "load_state_dict_from_url", lambda *args, **kwargs: None)
        patch.setattr(FeatureExtractorInceptionV3, "load_state_dict", lambda self, state_dict: None)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            network = FeatureExtractorInceptionV3("inception-v3-compat", ["2048"])
    path = tmp_path_factory.mktemp("inception") / "random-inception.pth"
    torch.save(network.state_dict(), path)
    return str(path)


@pytest.fixture(scope="module")
def extractor(random_weights):
    return build_feature_extractor("inception", random_weights)


@pytest.fixture
def empty_hub(tmp_path, monkeypatch):
    """An empty torch hub directory and no environment variable: only a download could supply weights."""
    monkeypatch.delenv(WEIGHTS_ENV_VAR, raising=False)
    previous = torch.hub.get_dir()
    torch.hub.set_dir(str(tmp_path / "hub"))
    yield tmp_path / "hub"
    torch.hub.set_dir(previous)


def test_to_uint8_maps_generator_range_exactly():
    images = torch.tensor([-1.0, 1.0, 0.0, -1.001, 1.001, -3.0, 3.0])
    mapped = to_uint8(images)
    assert mapped.dtype == torch.uint8
    # 0 -> 127.5 rounds half to even: 128. Values outside [-1, 1] saturate instead of wrapping around.
    assert mapped.tolist() == [0, 255, 128, 0, 255, 0, 255]


def test_extractor_gives_2048_float_features_for_grey_and_rgb(extractor):
    grey = torch.rand(2, 1, 32, 32) * 2 - 1
    with torch.no_grad():
        grey_features, rgb_features = extractor(grey), extractor(grey.repeat(1, 3, 1, 1))
    assert extractor.name == "inception" and extractor.num_features == 2048
    assert grey_features.shape == (2, 2048) and grey_features.dtype == torch.float32
    assert torch.isfinite(grey_features).all()
    torch.testing.assert_close(grey_features, rgb_features)  # grey is repeated to RGB


def test_inception_score_logits_come_from_the_pool_features_as_torch_fidelity_computes_them(extractor, random_weights):
    images = torch.rand(2, 3, 32, 32) * 2 - 1
    both = FeatureExtractorInceptionV3("inception-v3-compat", ["2048", "logits_unbiased"],
                                       feature_extractor_weights_path=random_weights)
    with torch.no_grad():
        features, logits = both(to_uint8(images))
        torch.testing.assert_close(extractor.logits_from_features(extractor(images)), logits)


def test_weights_hash_is_the_files_sha256(extractor, random_weights):
    with open(random_weights, "rb") as file:
        assert extractor.weights_hash == hashlib.sha256(file.read()).hexdigest()[:16]


def test_environment_variable_supplies_the_weights(random_weights, extractor, monkeypatch):
    monkeypatch.setenv(WEIGHTS_ENV_VAR, random_weights)
    assert FEATURE_EXTRACTORS["inception"](None).weights_hash == extractor.weights_hash


def test_resolution_order_is_argument_then_environment_then_hub_cache(empty_hub, tmp_path, monkeypatch):
    assert resolve_inception_weights(None) is None  # nothing local: a download is needed
    hub_file = hub_cache_path()
    assert hub_file == empty_hub / "checkpoints" / os.path.basename(URL_INCEPTION_V3)
    hub_file.parent.mkdir(parents=True)
    hub_file.write_bytes(b"cached")
    assert resolve_inception_weights(None) == str(hub_file)
    (tmp_path / "env.pth").write_bytes(b"env")
    monkeypatch.setenv(WEIGHTS_ENV_VAR, str(tmp_path / "env.pth"))
    assert resolve_inception_weights(None) == str(tmp_path / "env.pth")
    (tmp_path / "explicit.pth").write_bytes(b"explicit")
    assert resolve_inception_weights(str(tmp_path / "explicit.pth")) == str(tmp_path / "explicit.pth")


def test_download_goes_to_the_hub_cache(empty_hub, monkeypatch):
    requested = []

    def fake_download(url, destination, hash_prefix=None, progress=True):
        requested.append((url, hash_prefix))
        with open(destination, "wb") as file:
            file.write(b"downloaded")

    monkeypatch.setattr(torch.hub, "download_url_to_file", fake_download)
    assert check_inception_available(None) == str(hub_cache_path())
    assert requested == [(URL_INCEPTION_V3, "6726825d")]  # the sha256 prefix in the file name is checked
    assert check_inception_available(None) == str(hub_cache_path()) and len(requested) == 1  # now cached


def test_missing_explicit_path_is_refused(tmp_path):
    message = one_line_config_error(lambda: FEATURE_EXTRACTORS["inception"](str(tmp_path / "absent.pth")))
    assert "feature_extractor_weights_path" in message and WEIGHTS_ENV_VAR in message


def test_missing_environment_file_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv(WEIGHTS_ENV_VAR, str(tmp_path / "absent.pth"))
    message = one_line_config_error(lambda: check_inception_available(None))
    assert f"{WEIGHTS_ENV_VAR}=" in message and "feature_extractor_weights_path" in message


def test_no_file_and_failed_download_is_refused(empty_hub, monkeypatch):
    def offline(*args, **kwargs):
        raise URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    for call in (lambda: check_inception_available(None), lambda: FEATURE_EXTRACTORS["inception"](None)):
        message = one_line_config_error(call)
        assert "could not be downloaded" in message and "Name or service not known" in message
        assert URL_INCEPTION_V3 in message
        assert "feature_extractor_weights_path" in message and WEIGHTS_ENV_VAR in message


def test_corrupt_or_foreign_weights_are_refused(tmp_path):
    (tmp_path / "random.pth").write_bytes(os.urandom(4096))
    torch.save({"weight": torch.zeros(3)}, tmp_path / "foreign.pth")
    torch.save(torch.zeros(3), tmp_path / "tensor.pth")
    for name in ("random.pth", "foreign.pth", "tensor.pth"):
        message = one_line_config_error(lambda: FEATURE_EXTRACTORS["inception"](str(tmp_path / name)))
        assert "corrupt or not torch-fidelity's InceptionV3" in message


# ------------------------------------------------------------------------------------------- through the CLI
def fit_args(runs, fashion_root, *fid):
    from conftest import REPO

    return ["fit", "--config", str(REPO / "experiments" / "sngan.yaml"), "--runs_root", str(runs), "--run_name", "run",
            "--model.width", "8", "--model.max_g_steps", "2", "--data.root", str(fashion_root),
            "--data.batch_size", "8", "--trainer.enable_progress_bar", "false", "--fid.extractor", "inception", *fid]


def test_offline_inception_without_weights_fails_before_training(empty_hub, fashion_root, tmp_path, monkeypatch,
                                                                 capsys):
    from lightning_gans.commands.main import main

    def offline(*args, **kwargs):
        raise URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    with pytest.raises(SystemExit) as exit_info:
        main(fit_args(tmp_path / "runs", fashion_root))
    assert exit_info.value.code == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("lightning-gans: error:")]
    assert len(errors) == 1 and "feature_extractor_weights_path" in errors[0]
    assert not (tmp_path / "runs").exists()  # nothing was written: it failed before any work


def test_training_evaluates_fid_with_a_local_inception_weights_file(random_weights, fashion_root, tmp_path,
                                                                    monkeypatch):
    import csv

    from lightning_gans.commands.main import main

    monkeypatch.setenv("LIGHTNING_GANS_CACHE", str(tmp_path / "cache"))
    main(fit_args(tmp_path / "runs", fashion_root, "--fid.feature_extractor_weights_path", random_weights,
                  "--fid.num_samples", "8", "--fid.batch_size", "8", "--fid.reference_split", "test"))
    with open(tmp_path / "runs" / "sngan" / "run" / "metrics.csv") as f:
        values = [float(r["fid/inception_8_test"]) for r in csv.DictReader(f) if r.get("fid/inception_8_test")]
    assert len(values) == 1 and values[0] > 0
