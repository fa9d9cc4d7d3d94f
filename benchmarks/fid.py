"""Seconds of an FID evaluation of SN-GAN (lenet-fmnist features, test split, CPU) as `lightning-gans evaluate`
runs it (a `FIDProtocol`'s extractor built, its real statistics loaded or computed, the generator measured) with a
cold and then a warm real-statistics cache, and our feature extraction + FID against torch-fidelity 0.4's
`calculate_metrics` with the same network on the same uint8 images. Reports the times, their ratios and the FIDs.

    .venv/bin/python benchmarks/fid.py [--num_samples 2000] [--batch_size 250] [--rounds 3]
        [--ckpt_path runs/sngan/RUN/checkpoints/last.ckpt] [--root FASHION_MNIST_DIR] [--weights CLASSIFIER.pt]

`make bench-fid` runs it (after `make evaluator`); `ARGS="--num_samples 256 --rounds 1"` is a quick check.
"""

import argparse
import os
import tempfile
import time

import pytorch_lightning as pl
import torch
from torch.utils.data import Dataset
from torch_fidelity import calculate_metrics, register_feature_extractor
from torch_fidelity.feature_extractor_base import FeatureExtractorBase
from torch_fidelity.helpers import vassert

from lightning_gans import SNGAN, ImageDataModule
from lightning_gans.data import to_float
from lightning_gans.metrics.extractor_classifier import default_weights_path
from lightning_gans.metrics.extractor_inception import to_uint8
from lightning_gans.metrics.fid import extract_features, fid_features_to_statistics, fid_metric
from lightning_gans.metrics.keys import MetricKey
from lightning_gans.metrics.protocol import FIDProtocol
from lightning_gans.metrics.sampling import latents_for_indices

EXTRACTOR, DATASET, SPLIT = "lenet-fmnist", "fashion_mnist", "test"
SEED = FIDProtocol.seed  # the protocol's default: its latent codes and its choice of real images


def timed(function, *args):
    """(seconds, result) of one call."""
    start = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - start, result


# ------------------------------------------------------------------------- evaluation, cold and warm cache
def evaluation_fid(model, protocol: FIDProtocol, data: ImageDataModule) -> float:
    """FID of one evaluation as `lightning-gans evaluate` runs it on one CPU process: the protocol's extractor
    built, its real statistics read from the cache or computed into it, the fakes scored (FID, KID, precision and
    recall, class coverage)."""
    extractor = protocol.build_extractor()
    real = protocol.reference(data).load_or_compute(extractor, protocol.batch_size, "cpu")
    metrics = protocol.measure(model.sample, extractor, real, model.hparams.latent_dim)
    return metrics[str(MetricKey.of("fid", protocol.extractor, protocol.num_samples, protocol.reference_split))]


def cold_and_warm_evaluations(model, protocol: FIDProtocol, data: ImageDataModule):
    """(seconds, FID) of an evaluation with an empty real-statistics cache (a fresh directory), then of one reading
    what it cached."""
    with tempfile.TemporaryDirectory() as cache:
        os.environ["LIGHTNING_GANS_CACHE"] = cache
        try:
            cold = timed(evaluation_fid, model, protocol, data)
            warm = timed(evaluation_fid, model, protocol, data)
        finally:
            del os.environ["LIGHTNING_GANS_CACHE"]
    return cold, warm


# ----------------------------------------------------------------- our FID against torch-fidelity's
class UInt8Images(Dataset):
    """uint8 images (N, C, H, W) as a Dataset of tensors, an input `calculate_metrics` takes."""

    def __init__(self, images: torch.Tensor):
        self.images = images

    def __len__(self):
        return len(self.images)

    def __getitem__(self, index):
        return self.images[index]


def torch_fidelity_extractor(extractor) -> type:
    """Our extractor as a torch-fidelity extractor class (torch-fidelity instantiates registered classes itself)."""

    class Lenet(FeatureExtractorBase):
        def __init__(self, name, features_list, **kwargs):
            super().__init__(name, features_list)
            self.extractor = extractor

        @staticmethod
        def get_provided_features_list():
            return ("penultimate",)

        @staticmethod
        def get_default_feature_layer_for_metric(metric):
            return "penultimate"

        @staticmethod
        def can_be_compiled():
            return False

        def forward(self, images):
            # torch-fidelity passes the Dataset's batches through unchanged and checks neither dtype nor channels
            # (its own extractors take uint8 Bx3xHxW): the 1-channel uint8 batches go to [-1, 1] floats here.
            vassert(images.dtype == torch.uint8, f"expecting uint8 images, not {images.dtype}")
            return (self.extractor(to_float(images)),)

    return Lenet


@torch.no_grad()
def generated_images(model, num_samples, batch_size) -> torch.Tensor:
    """The evaluation's fakes (its latent codes), quantised to uint8 as an image file would hold them."""
    z = latents_for_indices(0, num_samples, model.hparams.latent_dim, SEED)
    return torch.cat([to_uint8(model.sample(batch)) for batch in z.split(batch_size)])


def our_fid(extractor, fake, real, batch_size) -> float:
    """As the evaluation computes it: features in batches, the real side's statistics, torchmetrics' FID."""

    def features(images):
        return extract_features(extractor, (to_float(batch) for batch in images.split(batch_size)), "cpu")

    return float(fid_metric(fid_features_to_statistics(features(real)), features(fake)).compute())


def torch_fidelity_fid(fake, real, batch_size) -> float:
    """torch-fidelity's FID with our extractor registered as EXTRACTOR; no cache, no GPU, and no DataLoader
    worker processes (save_cpu_ram), so that both sides run in this process."""
    metrics = calculate_metrics(input1=UInt8Images(fake), input2=UInt8Images(real), fid=True,
                                feature_extractor=EXTRACTOR, batch_size=batch_size, cuda=False, cache=False,
                                save_cpu_ram=True, verbose=False)
    return metrics["frechet_inception_distance"]


def seconds(values) -> str:
    return f"{' '.join(f'{v:6.2f}' for v in values)}  mean {sum(values) / len(values):6.2f} s"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num_samples", type=int, default=2000, help="fakes, and real images of the test split")
    parser.add_argument("--batch_size", type=int, default=250, help="of generation and extraction, on both sides")
    parser.add_argument("--ckpt_path", help="an SN-GAN run's checkpoint (default: an untrained SNGAN())")
    parser.add_argument("--rounds", type=int, default=3, help="repeat each comparison this many times, interleaved")
    parser.add_argument("--root", help="Fashion-MNIST's directory (default: where the data module looks)")
    parser.add_argument("--weights", help="the lenet-fmnist classifier (default: the cache's, from `make evaluator`)")
    args = parser.parse_args()
    pl.seed_everything(SEED, verbose=False)
    model = SNGAN.load_from_checkpoint(args.ckpt_path, map_location="cpu", weights_only=True) if args.ckpt_path else SNGAN()
    if model.num_classes is not None:  # the cross-check samples as unconditional FID does; iFID is not compared
        raise SystemExit(f"{args.ckpt_path} is a conditional run ({model.num_classes} classes): pass an unconditional one")
    weights = args.weights or str(default_weights_path(DATASET))  # before LIGHTNING_GANS_CACHE moves to the cold cache
    protocol = FIDProtocol(EXTRACTOR, args.num_samples, SPLIT, args.batch_size, weights, seed=SEED)
    extractor = protocol.build_extractor()  # also: a clear error when the weights are missing
    data = ImageDataModule(DATASET, root=args.root, resolution=model.hparams.data_shape[-1])
    real = protocol.reference(data).images  # the evaluation's seeded choice of real images, loaded once

    # Every round starts from a fresh cache; round 1's cold evaluation is also the process's first.
    cold, warm, fids = [], [], set()
    for _ in range(args.rounds):
        (cold_seconds, cold_fid), (warm_seconds, warm_fid) = cold_and_warm_evaluations(
            model, protocol, data)
        cold.append(cold_seconds)
        warm.append(warm_seconds)
        fids.update((cold_fid, warm_fid))
    assert len(fids) == 1, f"cold and warm evaluations disagree: {sorted(fids)}"

    register_feature_extractor(EXTRACTOR, torch_fidelity_extractor(extractor))
    fake = generated_images(model, args.num_samples, args.batch_size)
    ours, theirs = [], []
    for _ in range(args.rounds):  # interleaved, so warm-up and machine noise fall on both sides
        ours_seconds, ours_fid = timed(our_fid, extractor, fake, real, args.batch_size)
        theirs_seconds, theirs_fid = timed(torch_fidelity_fid, fake, real, args.batch_size)
        ours.append(ours_seconds)
        theirs.append(theirs_seconds)

    print(f"SN-GAN ({args.ckpt_path or 'untrained'}), {EXTRACTOR}, {args.num_samples} fakes vs {len(real)} {SPLIT} "
          f"images, batch {args.batch_size}, CPU, {torch.get_num_threads()} threads, {args.rounds} rounds")
    print(f"evaluation, cold real-statistics cache : {seconds(cold)}")
    print(f"evaluation, warm real-statistics cache : {seconds(warm)}")
    print(f"ratio cold / warm: {sum(cold) / sum(warm):.3f} (round 1: {cold[0] / warm[0]:.3f}); "
          f"FID {fids.pop():.6f} in every evaluation")
    print(f"features + FID of the same images as uint8 ({len(fake)} fake, {len(real)} real; the evaluations above "
          "score the fakes before rounding):")
    print(f"  lightning_gans (torchmetrics) : {seconds(ours)}  FID {ours_fid:.6f}")
    print(f"  torch-fidelity                : {seconds(theirs)}  FID {theirs_fid:.6f}")
    print(f"ratio torch-fidelity / lightning_gans: {sum(theirs) / sum(ours):.3f}")
    print(f"relative FID difference: {abs(theirs_fid - ours_fid) / ours_fid:.2e} (same features; torch-fidelity "
          "averages them in float32; torchmetrics works in float64 and returns float32)")


if __name__ == "__main__":
    main()
