"""A training step between two logging steps never waits for the device: no `.item()`, `.tolist()`, `bool()`,
`float()`, `int()`, `.cpu()`, `.numpy()` of a tensor, for every technique (penalties, lazy regularisation, weight
clipping, ADA moving p, D's diagnostics included). On the CPU these calls do not wait, so the test counts them: every
CPU tensor stands in for a device tensor. (Syncs inside C++ kernels, such as the convergence check of D's diagnostics'
eigvalsh on CUDA, are not seen here.)"""

import traceback

import pytest
import pytorch_lightning as pl
import torch

from lightning_gans import R1GAN, SNGAN, WGAN, WGANGP, StyleGANADA
from lightning_gans.data.modules import ImageDataModule, Toy2DDataModule

SYNCHRONISING = ("item", "tolist", "__bool__", "__float__", "__int__", "__index__", "cpu", "numpy")
TOY = {"data_shape": (2,), "architecture": "mlp", "latent_dim": 2, "width": 16}
# D's diagnostics every 3 G steps, so that the counted steps include some
CHECKED = {"diagnostics_every": 3, "max_g_steps": 10_000}
CASES = {
    "sngan": lambda: SNGAN(**TOY, **CHECKED),
    "wgan clipping": lambda: WGAN(**TOY, **CHECKED, critic_burst=False, n_critic=2),
    "wgan clipping after the step": lambda: WGAN(**TOY, **CHECKED, critic_burst=False, clip_before_critic_step=False),
    "wgan_gp": lambda: WGANGP(**TOY, **CHECKED, n_critic=2),
    "wgan_gp consistency": lambda: WGANGP(**TOY, **CHECKED, critic_dropout=0.5, consistency_weight=2.0),
    "r1gan lazy folded": lambda: R1GAN(**TOY, **CHECKED, r2_gamma=1.0, regularization_interval=2),
    "r1gan lazy separate": lambda: R1GAN(**TOY, **CHECKED, regularization_interval=2, lazy_regularization="separate"),
    "r1gan linear lr schedule": lambda: R1GAN(**TOY, **CHECKED, lr_schedule="linear"),
    "stylegan_ada": lambda: StyleGANADA(data_shape=(1, 32, 32), width=8, latent_dim=8, mbstd_group_size=4,
                                        augment_p=0.2, ada_interval=2, regularization_interval=2, **CHECKED),
}
WARM_UP, COUNTED = 4, 24  # training steps (batches) before counting, and counted


class SyncCounter(pl.Callback):
    """Counts synchronising calls from the start of batch WARM_UP to the start of batch WARM_UP + COUNTED (so the
    counted batches' own end-of-batch callbacks are included), then stops the run."""

    def __init__(self):
        self.counting, self.calls = False, []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self.counting = WARM_UP <= batch_idx < WARM_UP + COUNTED
        if batch_idx == WARM_UP + COUNTED:
            trainer.should_stop = True

    def on_train_end(self, trainer, pl_module):
        self.counting = False


@pytest.fixture
def counter(monkeypatch):
    """A SyncCounter whose `calls` list (method, where) for every synchronising call while it counts."""
    counter = SyncCounter()

    def counted(name, original):
        def wrapper(self, *args, **kwargs):
            if counter.counting and self.device.type != "meta":
                counter.calls.append((name, "".join(traceback.format_stack(limit=6)[:-1])))
            return original(self, *args, **kwargs)
        return wrapper

    for name in SYNCHRONISING:
        monkeypatch.setattr(torch.Tensor, name, counted(name, getattr(torch.Tensor, name)))
    return counter


def data_for(model, fashion_root):
    if model.data_shape == (2,):
        return Toy2DDataModule(batch_size=16, num_samples=512)
    return ImageDataModule(root=str(fashion_root), batch_size=8, limit=64)


@pytest.mark.parametrize("case", list(CASES))
def test_training_steps_between_logging_steps_make_no_synchronising_call(case, counter, fashion_root, tmp_path):
    torch.manual_seed(0)
    model = CASES[case]()
    trainer = pl.Trainer(accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, log_every_n_steps=10_000,
                         callbacks=[counter], default_root_dir=tmp_path)
    trainer.fit(model, datamodule=data_for(model, fashion_root))
    assert model.progress.d_step == WARM_UP + COUNTED + 1
    assert not counter.calls, f"{len(counter.calls) / COUNTED:.2f} synchronising calls per step; the first:\n" + (
        "\n".join(f"{name} at\n{where}" for name, where in counter.calls[:3]))
