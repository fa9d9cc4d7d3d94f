"""The memory format a technique trains in: `channels_last` true or false as given, null the device's
(`acceleration.default_channels_last`), resolved when fit sets the module up, before its first step."""

import pytest
import pytorch_lightning as pl
import torch

from lightning_gans import SNGAN
from lightning_gans.data.modules import ImageDataModule
from lightning_gans.techniques.acceleration import default_channels_last


def test_null_means_channels_last_on_the_cpu_and_contiguous_on_other_devices():
    assert default_channels_last(torch.device("cpu"))
    assert not default_channels_last(torch.device("cuda")) and not default_channels_last(torch.device("mps"))


@pytest.mark.parametrize("setting, expected", [(None, True), (True, True), (False, False)])
def test_a_cpu_fit_trains_in_channels_last_unless_told_contiguous(setting, expected, fashion_root, tmp_path):
    torch.manual_seed(0)
    model = SNGAN(data_shape=(1, 32, 32), width=8, latent_dim=8, max_g_steps=2, channels_last=setting)
    assert model.channels_last is bool(setting)  # built outside fit: null is contiguous until the device is known
    trainer = pl.Trainer(accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, default_root_dir=tmp_path)
    trainer.fit(model, ImageDataModule(root=str(fashion_root), batch_size=8, limit=64))
    assert model.progress.g_step == 2 and model.channels_last is expected
    weights = [p for p in model.parameters() if p.ndim == 4]
    in_channels_last = [p.is_contiguous(memory_format=torch.channels_last) for p in weights]
    # A weight with one input channel or a 1x1 kernel is contiguous in both formats: some of the others are not.
    assert all(in_channels_last) if expected else all(p.is_contiguous() for p in weights) and not all(in_channels_last)
