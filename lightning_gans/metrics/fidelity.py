"""torch-fidelity's precision/recall and Inception Score functions on our features.

Improved precision and recall (Kynkaanniemi et al. 2019) of a fake feature set against a real one: precision is the
share of fakes inside the real manifold (the union of balls around each real feature reaching its k-th nearest real
neighbour), recall the share of reals inside the fake manifold. The Inception Score of classifier logits."""

import torch
from torch_fidelity.metric_isc import KEY_METRIC_ISC_MEAN, KEY_METRIC_ISC_STD, isc_features_to_metric
from torch_fidelity.metric_prc import KEY_METRIC_PRECISION, KEY_METRIC_RECALL, prc_features_to_metric

NEIGHBORHOOD = 3  # k of the paper
ISC_SPLITS = 10  # the Inception Score's usual number of splits


def precision_recall(fake: torch.Tensor, real: torch.Tensor, neighborhood: int = NEIGHBORHOOD) -> tuple[float, float]:
    """(precision, recall) of features (N, D) against (M, D); both sets need more than `neighborhood` rows. The
    distances are computed in blocks of 10,000 rows (torch-fidelity's `save_cpu_ram` path)."""
    result = prc_features_to_metric(fake.float(), real.float(), prc_neighborhood=neighborhood, save_cpu_ram=True,
                                    verbose=False)
    return result[KEY_METRIC_PRECISION], result[KEY_METRIC_RECALL]


def inception_score(logits: torch.Tensor, seed: int) -> tuple[float, float]:
    """(mean, std) over `ISC_SPLITS` splits of the Inception Score of the classifier logits (N, classes), the
    samples shuffled with `seed`; N needs to be at least `ISC_SPLITS`."""
    result = isc_features_to_metric(logits, splits=ISC_SPLITS, shuffle=True, rng_seed=seed)
    return result[KEY_METRIC_ISC_MEAN], result[KEY_METRIC_ISC_STD]
