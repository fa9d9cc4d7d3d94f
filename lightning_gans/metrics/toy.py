"""Mode coverage of 2-D toy mixtures, per the VEEGAN / PacGAN protocol (Srivastava et al. 2017; Lin et al. 2018).

Each sample is assigned to its nearest mode; it is high quality when within 3 standard deviations of it.
A mode is covered when at least `covered_threshold(N)` of the N samples are high quality on it: PacGAN's 20 of
2,500 (Lin et al. 2018), scaled as 20 per 2,500 to other N. VEEGAN (Srivastava et al. 2017) counts a mode with at
least 1; that count is logged as `toy/modes_any`.
For a conditional generator, whose label k asks for mode k, `toy/class_accuracy` is the share of the high-quality
samples whose mode is their own label's.
Besides, `toy/frechet_xy` is the Frechet distance between generated and real points on their raw 2-D coordinates
(FID's formula without a feature network): one continuous number per step, for curves and rankings.
"""

import torch


def covered_threshold(num_samples: int) -> int:
    """High-quality samples a mode needs among `num_samples` to count as covered: PacGAN's 20 of 2,500, scaled to
    `num_samples` and rounded, at least 1. The one rule of the logged metrics and of the toy pictures' titles."""
    return max(1, round(20 * num_samples / 2500))


def high_quality_counts(samples: torch.Tensor, modes: torch.Tensor, std: float) -> torch.Tensor:
    """(K,) number of samples within 3 std of each mode (assigned to their nearest mode). Counts add across
    processes, so a distributed evaluation sums them before `mode_statistics_from_counts`."""
    distance, nearest = torch.cdist(samples.float(), modes.float().to(samples.device)).min(dim=1)
    return torch.bincount(nearest[distance <= 3 * std], minlength=len(modes)).float()


def own_mode_counts(samples: torch.Tensor, labels: torch.Tensor, modes: torch.Tensor, std: float) -> torch.Tensor:
    """(K,) number of high-quality samples (as `high_quality_counts`) on each mode whose label is that mode's index.
    Counts add across processes."""
    distance, nearest = torch.cdist(samples.float(), modes.float().to(samples.device)).min(dim=1)
    return torch.bincount(nearest[(distance <= 3 * std) & (nearest == labels)], minlength=len(modes)).float()


def class_accuracy_from_counts(own_counts: torch.Tensor, counts: torch.Tensor) -> float:
    """`toy/class_accuracy`: high-quality samples in their own label's mode (`own_mode_counts`) over all high-quality
    samples (`high_quality_counts`); 0 when there is no high-quality sample, so such a generator never scores best."""
    return float(own_counts.sum() / counts.sum()) if counts.sum() > 0 else 0.0


def mode_statistics_from_counts(counts: torch.Tensor, num_samples: int) -> dict[str, float]:
    """`modes_covered` (modes with >= `covered_threshold(num_samples)` high-quality samples, PacGAN's rule), `modes_any`
    (with >= 1, VEEGAN's rule), `high_quality` (fraction of all samples within 3 std of their mode) and
    `reverse_kl`, KL(q || uniform) of the histogram q of high-quality samples over modes: +inf when there is no
    high-quality sample, so a generator that misses every mode never scores best."""
    if counts.sum() == 0:
        reverse_kl = float("inf")
    else:
        histogram = counts / counts.sum()
        present = histogram > 0
        reverse_kl = float((histogram[present] * (histogram[present] * len(counts)).log()).sum())
    return {
        "modes_covered": float((counts >= covered_threshold(num_samples)).sum()),
        "modes_any": float((counts >= 1).sum()),
        "high_quality": float(counts.sum() / num_samples),
        "reverse_kl": reverse_kl,
    }


def mode_statistics(samples: torch.Tensor, modes: torch.Tensor, std: float) -> dict[str, float]:
    """The statistics of one sample set (see `mode_statistics_from_counts`)."""
    return mode_statistics_from_counts(high_quality_counts(samples, modes, std), len(samples))
