"""`model.compile`: a compiled step computes what an eager step computes, the state_dict (so every checkpoint) holds
the eager modules' names, a bad mode is a one-line error, and the CUDA backend flags follow the options."""

import pytest
import pytorch_lightning as pl
import torch
from conftest import one_line_config_error

from lightning_gans import R1GAN, SNGAN, WGAN, WGANGP, StyleGANADA
from lightning_gans.data.modules import ImageDataModule, Toy2DDataModule
from lightning_gans.techniques.acceleration import apply_backend_flags

TOY = {"data_shape": (2,), "architecture": "mlp", "latent_dim": 2, "width": 16, "max_g_steps": 1}
CASES = {  # every technique, with its penalties due in the compared steps
    "sngan": lambda **kw: SNGAN(**TOY, **kw),
    "wgan": lambda **kw: WGAN(**TOY, critic_burst=False, n_critic=1, **kw),
    "wgan_gp": lambda **kw: WGANGP(**TOY, n_critic=1, **kw),
    "r1gan": lambda **kw: R1GAN(**TOY, r2_gamma=1.0, **kw),
    # StyleGAN's graphs take minutes to compile on a CPU: the smallest networks, ADA moving p from 0 (after the compared step)
    "stylegan_ada": lambda **kw: StyleGANADA(data_shape=(1, 8, 8), width=4, latent_dim=4, mbstd_group_size=4,
                                             mapping_layers=1, d_architecture="orig", ada_interval=2,
                                             regularization_interval=1, max_g_steps=1, **kw),
}
# float32 on the CPU: inductor fuses and reorders the same operations, so losses agree to about float32 rounding
# accumulated over a few layers and two updates.
TOLERANCE = {"rtol": 1e-4, "atol": 1e-5}


class Terms(pl.Callback):
    def __init__(self):
        self.steps = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if outputs is not None:
            self.steps.append({key: value.clone() for key, value in outputs.items()})


def train(case, fashion_root, tmp_path, **options):
    torch.manual_seed(0)
    model = CASES[case](**options)
    data = (Toy2DDataModule(batch_size=16, num_samples=256) if model.data_shape == (2,)
            else ImageDataModule(root=str(fashion_root), resolution=model.data_shape[-1], batch_size=8, limit=32))
    terms = Terms()
    trainer = pl.Trainer(accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, callbacks=[terms],
                         default_root_dir=tmp_path)
    trainer.fit(model, datamodule=data)
    return model, terms.steps


@pytest.mark.parametrize("case", list(CASES))
def test_compiled_steps_give_the_eager_steps_losses_and_eager_state_dict_names(case, fashion_root, tmp_path):
    torch._dynamo.reset()
    eager, eager_steps = train(case, fashion_root, tmp_path)
    # Inductor's random numbers then come from the eager generator: StyleGAN's noise and ADA's draws match.
    with torch._inductor.config.patch(fallback_random=True):
        compiled, compiled_steps = train(case, fashion_root, tmp_path, compile="default")
    assert compiled.plain_pass("critic") is not compiled.critic  # the compiled wrapper, not the module
    assert len(compiled_steps) == len(eager_steps) == 1
    for eager_terms, compiled_terms in zip(eager_steps, compiled_steps):
        assert eager_terms.keys() == compiled_terms.keys()
        for key in eager_terms:
            torch.testing.assert_close(compiled_terms[key], eager_terms[key], **TOLERANCE, msg=key)
    assert compiled.state_dict().keys() == eager.state_dict().keys()
    assert not any("_orig_mod" in key for key in compiled.state_dict())


def test_an_unknown_compile_mode_is_a_one_line_error():
    message = one_line_config_error(lambda: SNGAN(**TOY, compile="fast"))
    assert "model.compile" in message and "reduce-overhead" in message


@pytest.mark.parametrize("benchmark, tf32", [(True, False), (False, True)])
def test_cuda_backend_flags_follow_the_options_on_cuda_and_stay_elsewhere(benchmark, tf32):
    saved = (torch.backends.cudnn.benchmark, torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32)
    try:
        torch.backends.cudnn.benchmark = not benchmark
        torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = not tf32
        apply_backend_flags(torch.device("cpu"), benchmark, tf32)
        assert torch.backends.cudnn.benchmark is not benchmark and torch.backends.cuda.matmul.allow_tf32 is not tf32
        apply_backend_flags(torch.device("cuda"), benchmark, tf32)  # setting the flags needs no GPU
        assert torch.backends.cudnn.benchmark is benchmark
        assert torch.backends.cuda.matmul.allow_tf32 is tf32 and torch.backends.cudnn.allow_tf32 is tf32
    finally:
        torch.backends.cudnn.benchmark, torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved
