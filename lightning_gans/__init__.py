"""lightning-gans: PyTorch Lightning experiment suite for stable GAN training.

The public API, imported on first use so that `lightning-gans --help` does not load Lightning:
techniques (`WGAN`, `WGANGP`, `SNGAN`, `R1GAN`, `StyleGANADA`, their base `GANTechnique` and registry
`TECHNIQUES`), data modules (`ImageDataModule`, `Toy2DDataModule`) and the subpackages `nets`, `objectives`,
`data`, `metrics`.
"""

import importlib

PUBLIC = {
    **{name: "lightning_gans.techniques" for name in ("GANTechnique", "TECHNIQUES", "WGAN", "WGANGP", "SNGAN", "R1GAN",
                                                      "StyleGANADA")},
    **{name: "lightning_gans.data" for name in ("ImageDataModule", "Toy2DDataModule")},
}
__all__ = list(PUBLIC)


def __getattr__(name: str):
    if name in PUBLIC:
        return getattr(importlib.import_module(PUBLIC[name]), name)
    raise AttributeError(f"module 'lightning_gans' has no attribute {name!r}")
