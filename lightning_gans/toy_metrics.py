"""Mode coverage of 2-D toy mixtures, per the VEEGAN / PacGAN protocol (Srivastava et al. 2017; Lin et al. 2018).

Each sample is assigned to its nearest mode; it is high quality when within 3 standard deviations of it.
A mode is covered when at least `min_samples_per_mode` high-quality samples fall on it (PacGAN: 20 of 2,500).
"""

import torch


def mode_statistics(
    samples: torch.Tensor, modes: torch.Tensor, std: float, min_samples_per_mode: int = 20
) -> dict[str, float]:
    """Returns `modes_covered`, `high_quality` (fraction of samples within 3 std of their nearest mode) and
    `reverse_kl`, KL(q || uniform) of the histogram q of high-quality samples over modes."""
    samples, modes = samples.float().cpu(), modes.float().cpu()
    distance, nearest = torch.cdist(samples, modes).min(dim=1)
    good = distance <= 3 * std
    counts = torch.bincount(nearest[good], minlength=len(modes)).float()
    histogram = counts / counts.sum().clamp(min=1)
    present = histogram > 0
    reverse_kl = (histogram[present] * (histogram[present] * len(modes)).log()).sum()
    return {
        "modes_covered": float((counts >= min_samples_per_mode).sum()),
        "high_quality": float(good.float().mean()),
        "reverse_kl": float(reverse_kl),
    }
