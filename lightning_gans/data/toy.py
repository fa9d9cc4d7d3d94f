"""2-D toy mixtures of Gaussians: the benchmarks of WGAN-GP (Gulrajani et al. 2017) and PacGAN (Lin et al. 2018)."""

import math
from typing import Callable

import torch


def ring8_modes() -> torch.Tensor:
    """8 points evenly spaced on a circle of radius 2."""
    angles = torch.arange(8, dtype=torch.float64) * (2 * math.pi / 8)
    return (2 * torch.stack([angles.cos(), angles.sin()], dim=1)).float()


def grid25_modes() -> torch.Tensor:
    """The 5x5 grid with coordinates -4, -2, 0, 2, 4."""
    coordinates = torch.arange(-4, 5, 2, dtype=torch.float32)
    return torch.cartesian_prod(coordinates, coordinates)


# The toy benchmarks of WGAN-GP (Gulrajani et al. 2017) and PacGAN (Lin et al. 2018): name -> (modes, std).
TOY_DISTRIBUTIONS: dict[str, tuple[Callable[[], torch.Tensor], float]] = {
    "ring8": (ring8_modes, 0.02),
    "grid25": (grid25_modes, 0.05),
}

