"""The real-data row of an image bench: held-out real images scored like the fakes, under the runs' protocol."""

import json
from pathlib import Path

import torch

from lightning_gans.data.sources import load_images
from lightning_gans.metrics.cache import fingerprint
from lightning_gans.metrics.evaluation import held_out_metrics
from lightning_gans.run.config import RunConfig
from lightning_gans.run.layout import RunLayout

REFERENCE = "reference.json"  # in the bench directory: the real-data row, computed once per key of its images


def real_data_reference(bench_dir: Path, run) -> dict:
    """The image metrics of held-out real images against the reference of `run`'s protocol: the split the
    reference does not use, as many images as the protocol's num_samples (a seeded choice; all of the split when
    it is smaller). No generator can be expected to do better than real data under the same protocol. Computed
    once per bench and kept in reference.json with the key of its images and extractor: settings.json pins the
    preset and overrides, not what a data root or the evaluator's weights file holds, so another key recomputes it."""
    config = RunConfig.read(RunLayout(run.run_dir))
    data, fid = config.data_module(), config.fid_protocol
    device = "cuda" if torch.cuda.is_available() else "cpu"
    extractor = fid.build_extractor().to(device)
    real = fid.reference(data)  # as the runs' FIDCallback
    held_out_split = "test" if fid.reference_split == "train" else "train"
    images = load_images(data.dataset, data.root, held_out_split == "train", data.resolution, fid.num_samples, fid.seed)
    key = f"{real.key(extractor)}-held-out-{fingerprint(images, fid.seed)}"
    path = bench_dir / REFERENCE
    if path.is_file() and (kept := json.loads(path.read_text())).get("key") == key:
        return kept
    statistics = real.load_or_compute(extractor, fid.batch_size, device)  # the runs' cached statistics
    metrics = held_out_metrics(images, extractor, statistics, fid.reference_split, fid.seed, fid.batch_size,
                               fid.kid_subset_size, device)
    reference = {"images": f"{len(images):,} {data.dataset} {held_out_split} images", "key": key, **metrics}
    path.write_text(json.dumps(reference, indent=2) + "\n")
    return reference
