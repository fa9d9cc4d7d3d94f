"""The real-data row of an image bench: held-out real images scored like the fakes, under the runs' protocol."""

import json
from pathlib import Path
from typing import Optional

import torch

from lightning_gans.metrics.cache import fingerprint
from lightning_gans.metrics.evaluation import held_out_metrics
from lightning_gans.metrics.reference import RealStatistics
from lightning_gans.run.config import RunConfig
from lightning_gans.run.layout import RunLayout

REFERENCE = "reference.json"  # in the bench directory: the real-data row, computed once per key of its images


def real_data_reference(bench_dir: Path, runs: list) -> dict:
    """The image metrics of held-out real images against the reference of the `runs`' protocol: the split the
    reference does not use, as many images as the protocol's num_samples (a seeded choice; all of the split when
    it is smaller). No generator can be expected to do better than real data under the same protocol. Where some
    runs are conditional, their labels also give the real images' intra-class FID and the classifier's accuracy on
    them. Computed once per bench and kept in reference.json with the key of its images and extractor:
    settings.json pins the preset and overrides, not what a data root or the evaluator's weights file holds, so
    another key recomputes it."""
    config, data = protocol_of(runs)
    fid = config.fid_protocol
    device = "cuda" if torch.cuda.is_available() else "cpu"
    extractor = fid.build_extractor().to(device)
    real = fid.reference(data, data.num_classes)  # as the runs' FIDCallback
    held_out_split = "test" if fid.reference_split == "train" else "train"
    # The reference's own seeded choice of num_samples images of a split (all of a smaller one), with their labels.
    held_out = RealStatistics(data.dataset, data.root, held_out_split, data.resolution, fid.num_samples, fid.seed)
    images = held_out.images
    key = f"{real.key(extractor)}-held-out-{fingerprint(images, fid.seed)}"
    labels, described = held_out_labels(held_out, data.num_classes) if data.conditional else (None, "")
    if labels is not None:  # conditional runs: the real row gets their intra-class FID and class accuracy too
        key += f"-labels-{fingerprint(labels, fid.seed)}"
    path = bench_dir / REFERENCE
    if path.is_file() and (kept := json.loads(path.read_text())).get("key") == key:
        return kept
    statistics = real.load_or_compute(extractor, fid.batch_size, device)  # the runs' cached statistics
    metrics = held_out_metrics(images, extractor, statistics, fid.reference_split, fid.seed, fid.batch_size,
                               fid.kid_subset_size, device, labels, data.dataset)
    reference = {"images": f"{len(images):,} {data.dataset} {held_out_split} images{described}", "key": key, **metrics}
    path.write_text(json.dumps(reference, indent=2) + "\n")
    return reference


def protocol_of(runs: list):
    """(RunConfig, data module) of the first conditional run, else of the first run: the runs of a bench share one
    image protocol, and a conditional run's data also holds the labels (an unconditional reference row has none)."""
    first = None
    for run in runs:
        config = RunConfig.read(RunLayout(run.run_dir))
        data = config.data_module()
        if data.conditional:
            return config, data
        first = first or (config, data)
    return first


def held_out_labels(held_out: RealStatistics, num_classes: int) -> tuple[Optional[torch.Tensor], str]:
    """The labels of the held-out images, and what the real row's description adds: their class metrics need 2
    images of every class, as the reference's do (`RealStatistics.require_two_a_class`); with fewer, no labels,
    and the description says why."""
    counts = torch.bincount(held_out.labels, minlength=num_classes)
    if counts.min() < 2:
        return None, f" (no class metrics: {int(counts.min())} of class {int(counts.argmin())}, fewer than 2)"
    return held_out.labels, " with their labels"
