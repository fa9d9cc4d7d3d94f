"""Metrics of a generator as plain functions of a sample function: `image_metrics` (FID, KID, precision and recall,
class coverage; `held_out_metrics` gives the same for real images in place of the fakes) and `toy_metrics` (modes,
high quality, reverse KL, Frechet distance on raw coordinates). The training callbacks and `lightning-gans
evaluate` both call them.

Under torch.distributed every process must call them together: each generates its share of the samples (sample i
has the same z on 1 and on N processes, `sampling.latents_for_indices`), sums and metric states are reduced across
processes, the fake features are gathered for precision and recall, and every process returns the same numbers,
equal to a single process's.

A conditional generator (`label_distribution` given) is sampled as `sample(z, labels=y)`, sample i's label being
`sampling.labels_for_indices` of the distribution (as independent of the number of processes as its z); its
metrics add the intra-class FID and the domain classifier's accuracy on the labels (`class_metrics`), and
`toy/class_accuracy` for toy data.
"""

from typing import Callable, Optional

import torch
from torch import nn

from lightning_gans.data.stream import to_float
from lightning_gans.errors import ConfigError
from lightning_gans.metrics.fid import (
    FeatureSums,
    FrechetDistanceOverProcesses,
    fid_features_to_statistics,
    fid_metric,
    kid_metric,
)
from lightning_gans.metrics.fidelity import ISC_SPLITS, NEIGHBORHOOD, inception_score, precision_recall
from lightning_gans.metrics.keys import MetricKey
from lightning_gans.metrics.progress import counted
from lightning_gans.metrics.reference import real_class_sums
from lightning_gans.metrics.sampling import labels_for_indices, latents_for_indices, rank_share
from lightning_gans.metrics.toy import (
    class_accuracy_from_counts,
    high_quality_counts,
    mode_statistics_from_counts,
    own_mode_counts,
)
from lightning_gans.processes import all_gather_rows, all_reduce_sum, rank_and_world_size

# latent codes (N, latent_dim) -> samples (N, ...); a conditional generator's also takes `labels=` (N,) int64
Sampler = Callable[..., torch.Tensor]


def label_distribution_of(model) -> Optional[torch.Tensor]:
    """The class frequencies that a conditional model's evaluation labels follow (its `label_distribution`);
    None for an unconditional model."""
    return model.label_distribution if model.num_classes is not None else None


def this_process_latents(num_samples: int, latent_dim: int, seed: int) -> torch.Tensor:
    """z of this process's share of samples 0 .. num_samples - 1."""
    rank, world_size = rank_and_world_size()
    return latents_for_indices(*rank_share(num_samples, rank, world_size), latent_dim, seed)


def this_process_labels(num_samples: int, label_distribution: Optional[torch.Tensor]) -> Optional[torch.Tensor]:
    """Labels of this process's share of samples 0 .. num_samples - 1 (None when unconditional)."""
    if label_distribution is None:
        return None
    rank, world_size = rank_and_world_size()
    return labels_for_indices(*rank_share(num_samples, rank, world_size), num_samples, label_distribution)


def draw(sample: Sampler, z: torch.Tensor, labels: Optional[torch.Tensor]) -> torch.Tensor:
    """`sample(z)`, or `sample(z, labels=labels)` for a conditional generator."""
    return sample(z) if labels is None else sample(z, labels=labels)


@torch.no_grad()
def features_and_class_counts(extractor: nn.Module, batches, device) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
    """Features of this process's image batches, and the counts of predicted classes (summed over all processes)
    when the extractor classifies."""
    classifies = hasattr(extractor, "classify_features")
    features, counts = [], torch.zeros(getattr(extractor, "num_classes", 0), device=device)
    for images in batches:
        features.append(extractor(images.to(device)).float())
        if classifies:
            counts += torch.bincount(extractor.classify_features(features[-1]).argmax(1), minlength=len(counts)).float()
    all_features = torch.cat(features) if features else torch.empty(0, extractor.num_features, device=device)
    return all_features, all_reduce_sum(counts) if classifies else None


def generate_features(sample: Sampler, extractor: nn.Module, num_samples: int, latent_dim: int, seed: int,
                      batch_size: int, device, progress: bool = False,
                      labels: Optional[torch.Tensor] = None) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
    """This process's share of the fakes as features, and the class counts (`features_and_class_counts`); `labels`
    (this process's, `this_process_labels`) condition the samples; with `progress`, a bar counts the samples
    generated."""
    latents = this_process_latents(num_samples, latent_dim, seed)
    label_batches = labels.split(batch_size) if labels is not None else [None] * len(latents.split(batch_size))
    batches = (draw(sample, z, y) for z, y in
               zip(counted(latents.split(batch_size), len(latents), "generating samples", progress), label_batches))
    return features_and_class_counts(extractor, batches, device)


def image_metrics(sample: Sampler, extractor: nn.Module, real: dict[str, torch.Tensor], reference_split: str,
                  num_samples: int, latent_dim: int, seed: int = 0, batch_size: int = 250,
                  kid_subset_size: int = 1000, device="cpu", progress: bool = False,
                  label_distribution: Optional[torch.Tensor] = None, dataset: Optional[str] = None) -> dict[str, float]:
    """`fid/<protocol>`, `kid/<protocol>`, `kid_std/<protocol>`, `precision/<protocol>` and `recall/<protocol>`
    of `num_samples` samples against the real statistics `real` (`fid.fid_features_to_statistics` of
    `reference_split`), the protocol being `<extractor>_<N>_<split>`; with a classifying extractor also
    `classes/covered_<extractor>_<N>` and `classes/kl_uniform_<extractor>_<N>`. Precision and recall
    (k = 3) compare the N fakes with the first N real features, and are left out when either set has 3 or fewer.
    With the inception extractor also the Inception Score `isc/inception_<N>` and `isc_std/inception_<N>` (N >= 10).
    `progress` shows a bar of the samples generated. A conditional generator (`label_distribution`, its classes'
    frequencies) is sampled with `labels_for_indices` of it, and also gets `class_metrics` (the real side then needs
    the per-class statistics of a conditional `reference.RealStatistics`); the classifier's accuracy on the labels only
    when it was trained on `dataset`, the data the labels come from (`classifies_labels_of`)."""
    labels = this_process_labels(num_samples, label_distribution)
    fake, class_counts = generate_features(sample, extractor, num_samples, latent_dim, seed, batch_size, device,
                                           progress, labels)
    metrics = feature_metrics(fake, class_counts, extractor, real, reference_split, num_samples, seed, kid_subset_size)
    if labels is not None:
        metrics.update(class_metrics(fake, labels.to(fake.device), extractor, real, reference_split, num_samples,
                                     classifies_labels_of(extractor, dataset)))
    return metrics


def classifies_labels_of(extractor: nn.Module, dataset: Optional[str]) -> bool:
    """Whether the extractor classifies images into the classes of `dataset`'s labels: a domain classifier trained on
    that dataset. Another dataset's classifier (lenet-fmnist on a folder of cats and dogs) has other classes under
    the same indices, and its accuracy on the labels would be a number that means nothing."""
    return hasattr(extractor, "classify_features") and dataset is not None and getattr(extractor, "dataset", None) == dataset


def class_metrics(fake: torch.Tensor, labels: torch.Tensor, extractor: nn.Module, real: dict[str, torch.Tensor],
                  reference_split: str, num_samples: int, classifies_labels: bool) -> dict[str, float]:
    """Of this process's fake features and their labels, summed over every process: `ifid/<protocol>`, the
    intra-class FID (StudioGAN's iFID: the mean over classes k of the FID of the fakes of label k against the real
    images of label k), and with `classifies_labels` (`classifies_labels_of`) `classes/accuracy_<extractor>_<N>`, the
    share of fakes that the classifier assigns to their own label."""
    if "class_count" not in real:
        raise ConfigError("the real statistics hold no labels, which a conditional generator's intra-class FID needs",
                          "build the reference with the data's num_classes (a conditional data module)")
    holds_real = rank_and_world_size()[0] == 0  # as in feature_metrics: the real side is counted once
    distances = []
    for k in range(len(real["class_count"])):
        real_sums = real_class_sums(real, k, fake.device) if holds_real else FeatureSums.empty(fake.shape[1], fake.device)
        distances.append(FrechetDistanceOverProcesses(real_sums, FeatureSums.of_features(fake[labels == k])).compute())
    metrics = {str(MetricKey.of("ifid", extractor.name, num_samples, reference_split)): float(torch.stack(distances).mean())}
    if classifies_labels:
        correct = all_reduce_sum((extractor.classify_features(fake).argmax(1) == labels).sum().double())
        metrics[str(MetricKey.of("classes/accuracy", extractor.name, num_samples))] = float(correct / num_samples)
    return metrics


def held_out_metrics(images: torch.Tensor, extractor: nn.Module, real: dict[str, torch.Tensor], reference_split: str,
                     seed: int = 0, batch_size: int = 250, kid_subset_size: int = 1000, device="cpu",
                     labels: Optional[torch.Tensor] = None, dataset: Optional[str] = None) -> dict[str, float]:
    """`image_metrics` with real uint8 images (N, C, H, W) in place of N generated samples (the protocol label
    carries N = len(images)): what a generator that reproduces the data distribution scores under this protocol.
    With the images' `labels` (N,) of `dataset` also their `class_metrics`, as a conditional generator's: the
    intra-class FID of real images and the classifier's own accuracy on them."""
    rank, world_size = rank_and_world_size()
    start, stop = rank_share(len(images), rank, world_size)
    batches = (to_float(batch) for batch in images[start:stop].split(batch_size))
    features, class_counts = features_and_class_counts(extractor, batches, device)
    metrics = feature_metrics(features, class_counts, extractor, real, reference_split, len(images), seed,
                              kid_subset_size)
    if labels is not None:
        metrics.update(class_metrics(features, labels[start:stop].to(features.device), extractor, real,
                                     reference_split, len(images), classifies_labels_of(extractor, dataset)))
    return metrics


def feature_metrics(fake: torch.Tensor, class_counts: Optional[torch.Tensor], extractor: nn.Module,
                    real: dict[str, torch.Tensor], reference_split: str, num_samples: int, seed: int,
                    kid_subset_size: int) -> dict[str, float]:
    """The metrics of `image_metrics` from this process's fake features and the summed class counts."""
    # Process 0 alone holds the real side in the metric states, so the cross-process sum counts it once.
    holds_real = rank_and_world_size()[0] == 0
    fid = fid_metric(real if holds_real else None, fake)
    kid = kid_metric(real["features"] if holds_real else fake[:0], fake,
                     subset_size=min(kid_subset_size, num_samples, int(real["n"])))
    fid_value = fid.compute()
    with torch.random.fork_rng(devices=[]):  # KID's subsets: seeded, and the caller's RNG stream is untouched
        torch.manual_seed(seed)
        kid_mean, kid_std = kid.compute()

    def key(name: str, split: Optional[str] = reference_split) -> str:
        return str(MetricKey.of(name, extractor.name, num_samples, split))

    metrics = {key("fid"): float(fid_value), key("kid"): float(kid_mean), key("kid_std"): float(kid_std)}
    all_fakes = all_gather_rows(fake)  # every process's share, in sample order
    real_features = real["features"][:num_samples].to(fake.device)
    if min(len(all_fakes), len(real_features)) > NEIGHBORHOOD:
        precision, recall = precision_recall(all_fakes, real_features)
        metrics.update({key("precision"): precision, key("recall"): recall})
    if hasattr(extractor, "logits_from_features") and len(all_fakes) >= ISC_SPLITS:
        isc_mean, isc_std = inception_score(extractor.logits_from_features(all_fakes), seed)
        metrics.update({key("isc", None): isc_mean, key("isc_std", None): isc_std})
    if class_counts is not None:
        metrics.update(class_coverage(class_counts, extractor.name, num_samples))
    return metrics


def class_coverage(counts: torch.Tensor, extractor: str, num_samples: int) -> dict[str, float]:
    """Classes generated and KL(class histogram || uniform) of the extractor's predictions on the fakes."""
    histogram = counts / counts.sum()
    present = histogram > 0
    kl = (histogram[present] * (histogram[present] * len(counts)).log()).sum()
    return {str(MetricKey.of("classes/covered", extractor, num_samples)): float(present.sum()),
            str(MetricKey.of("classes/kl_uniform", extractor, num_samples)): float(kl)}


@torch.no_grad()
def toy_metrics(sample: Sampler, modes: torch.Tensor, mode_std: float, real_points: torch.Tensor, num_samples: int,
                latent_dim: int, seed: int = 0, label_distribution: Optional[torch.Tensor] = None) -> dict[str, float]:
    """`toy/modes_covered`, `toy/modes_any`, `toy/high_quality`, `toy/reverse_kl` (`toy.mode_statistics_from_counts`) and
    `toy/frechet_xy`, the Frechet distance to the first `num_samples` of `real_points` on raw coordinates. A
    conditional generator (`label_distribution`: its classes are the modes) also gets `toy/class_accuracy`
    (`toy.class_accuracy_from_counts`)."""
    labels = this_process_labels(num_samples, label_distribution)
    samples = draw(sample, this_process_latents(num_samples, latent_dim, seed), labels).float()
    counts = all_reduce_sum(high_quality_counts(samples, modes, mode_std))
    metrics = {f"toy/{key}": value for key, value in mode_statistics_from_counts(counts, num_samples).items()}
    if labels is not None:
        own = all_reduce_sum(own_mode_counts(samples, labels.to(samples.device), modes, mode_std))
        metrics["toy/class_accuracy"] = class_accuracy_from_counts(own, counts)
    holds_real = rank_and_world_size()[0] == 0  # as in image_metrics
    real = fid_features_to_statistics(real_points[:num_samples]) if holds_real else None
    metrics["toy/frechet_xy"] = float(fid_metric(real, samples).compute())
    return metrics
