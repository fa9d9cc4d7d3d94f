"""The techniques: the shared loop (`base.GANTechnique`) and one file per paper.

`TECHNIQUES` is the registry behind configs, run directories and the bench: a new technique is one file with a
`GANTechnique` subclass, one line here, and a config in `experiments/`.
"""

from lightning_gans.errors import ConfigError
from lightning_gans.techniques.base import GANTechnique
from lightning_gans.techniques.r1gan import R1GAN
from lightning_gans.techniques.sngan import SNGAN
from lightning_gans.techniques.stylegan_ada import StyleGANADA
from lightning_gans.techniques.wgan import WGAN
from lightning_gans.techniques.wgan_gp import WGANGP

TECHNIQUES: dict[str, type[GANTechnique]] = {
    technique.name: technique for technique in (WGAN, WGANGP, SNGAN, R1GAN, StyleGANADA)
}


def technique_name(class_path: str) -> str:
    """The registry name of a technique given by its class path (`lightning_gans.SNGAN` -> `sngan`)."""
    class_name = class_path.rsplit(".", 1)[-1]
    for name, technique in TECHNIQUES.items():
        if technique.__name__ == class_name:
            return name
    raise ConfigError(f"model={class_path!r} is not a known technique",
                      f"choose one of {', '.join(t.__name__ for t in TECHNIQUES.values())}", "model", class_path)


__all__ = ["GANTechnique", "TECHNIQUES", "WGAN", "WGANGP", "SNGAN", "R1GAN", "StyleGANADA", "technique_name"]
