"""Improved precision and recall (Kynkaanniemi et al. 2019) of a fake feature set against a real one, computed by
torch-fidelity's own function: precision is the share of fakes inside the real manifold (the union of balls around
each real feature reaching its k-th nearest real neighbour), recall the share of reals inside the fake manifold."""

import torch
from torch_fidelity.metric_prc import KEY_METRIC_PRECISION, KEY_METRIC_RECALL, prc_features_to_metric

NEIGHBORHOOD = 3  # k of the paper


def precision_recall(fake: torch.Tensor, real: torch.Tensor, neighborhood: int = NEIGHBORHOOD) -> tuple[float, float]:
    """(precision, recall) of features (N, D) against (M, D); both sets need more than `neighborhood` rows. The
    distances are computed in blocks of 10,000 rows (torch-fidelity's `save_cpu_ram` path)."""
    result = prc_features_to_metric(fake.float(), real.float(), prc_neighborhood=neighborhood, save_cpu_ram=True,
                                    verbose=False)
    return result[KEY_METRIC_PRECISION], result[KEY_METRIC_RECALL]
