"""results.md of an image bench from synthetic runs (no training): precision/recall columns, ties within seed
noise, the real-data row and FID as a ratio to it; presets with variants and the ADA plots."""

import json
from types import SimpleNamespace

import pytest
import yaml
from conftest import ChannelMoments, write_fashion_mnist
from PIL import Image

from lightning_gans.bench.presets import PRESETS
from lightning_gans.bench.reference import real_data_reference
from lightning_gans.bench.report import metric_stats, ranking, seed_noise_ranks, separated, write_report, write_table
from lightning_gans.bench.runner import fit_command, plan_runs
from lightning_gans.metrics import protocol
from lightning_gans.run.layout import RunLayout

PROTOCOL = "lenet-fmnist_2k_train"
KEYS = [(f"fid/{PROTOCOL}", "min"), (f"kid/{PROTOCOL}", "min"), (f"precision/{PROTOCOL}", "max"),
        (f"recall/{PROTOCOL}", "max"), ("classes/covered_lenet-fmnist_2000", "max")]
FIDS = {"a": [10.0, 12.0], "b": [11.5, 13.5], "c": [30.0, 31.0]}  # a and b overlap (11 ± 1.4, 12.5 ± 1.4); c apart
REFERENCE = {"images": "2,000 fashion_mnist test images", "fid/lenet-fmnist_2k_train": 2.5,
             "kid/lenet-fmnist_2k_train": 0.001, "kid_std/lenet-fmnist_2k_train": 0.0001,
             "precision/lenet-fmnist_2k_train": 0.75, "recall/lenet-fmnist_2k_train": 0.7,
             "classes/kl_uniform_lenet-fmnist_2000": 0.01, "classes/covered_lenet-fmnist_2000": 10.0}


def synthetic_run(technique, seed, fid):
    row = {"technique": technique, "seed": seed, f"final fid/{PROTOCOL}": fid, f"best fid/{PROTOCOL}": fid - 1,
           f"final kid/{PROTOCOL}": fid / 1000, f"final precision/{PROTOCOL}": 0.5, f"final recall/{PROTOCOL}": 0.4,
           "final classes/covered_lenet-fmnist_2000": 9.0,
           "kimg": 19.2, "wall_time_s": 100.0, "img_per_s": 190.0, "peak_rss_mb": 900.0}
    return SimpleNamespace(keys=KEYS, summary=lambda: row)


@pytest.fixture
def results_md(tmp_path):
    runs = [synthetic_run(t, seed, fid) for t, fids in FIDS.items() for seed, fid in enumerate(fids)]
    write_table(tmp_path, "fmnist-cpu", PRESETS["fmnist-cpu"], runs, [], 1, REFERENCE)
    table = [line for line in (tmp_path / "results.md").read_text().splitlines() if line.startswith("| ")]
    header, *rows = ([cell.strip() for cell in line.strip("|").split("|")] for line in table)
    return header, {row[0]: dict(zip(header, row)) for row in rows}, (tmp_path / "results.md").read_text()


def test_image_presets_report_precision_and_recall_and_classifier_presets_the_classes_drawn():
    for name in ("fmnist-cpu", "fmnist-2k", "cifar10"):
        assert [key for key, _ in PRESETS[name].metrics][:4] == ["fid", "kid", "precision", "recall"]
        assert dict(PRESETS[name].metrics)["precision"] == dict(PRESETS[name].metrics)["recall"] == "max"
    assert PRESETS["fmnist-cpu"].metrics[4:] == PRESETS["fmnist-2k"].metrics[4:] == (("classes/covered", "max"),)
    assert len(PRESETS["cifar10"].metrics) == 4  # Inception features name no classes


def test_overlapping_intervals_share_a_rank_and_separate_ones_do_not():
    assert seed_noise_ranks([[(10, 1)], [(11.5, 0.5)], [(20, 1)]]) == ["1=", "1=", "3"]  # |10 - 11.5| <= 1 + 0.5
    assert seed_noise_ranks([[(10, 0.5)], [(11.5, 0.5)], [(20, 1)]]) == ["1", "2", "3"]
    assert seed_noise_ranks([[(10, 0)], [(10, 0)], [(10, 1)], [(13, 1)]]) == ["1=", "1=", "1=", "4"]


def test_a_later_metric_separates_what_the_first_cannot_and_orders_it():
    """Modes covered overlap (25 ± 0 and 24.5 ± 0.7), high quality does not: it decides the order even against the
    first metric's means, and the two get ranks of their own; a pair no metric separates shares a rank."""
    keys = [("toy/modes_covered", "max"), ("toy/high_quality", "max")]
    finals = {"more_modes": [(25, 0.40), (25, 0.44)], "sharper": [(25, 0.88), (24, 0.86)],
              "close": [(25, 0.42), (25, 0.46)]}
    rows = [{"technique": t, "seed": seed, "final toy/modes_covered": modes, "final toy/high_quality": quality}
            for t, seeds in finals.items() for seed, (modes, quality) in enumerate(seeds)]
    stats = metric_stats(rows, keys)
    order = ranking(stats, keys)
    assert order == ["sharper", "close", "more_modes"]
    assert seed_noise_ranks([stats[t] for t in order]) == ["1", "2=", "2="]
    assert separated((0.87, 0.014), (0.44, 0.028)) and not separated((0.44, 0.028), (0.42, 0.028))
    assert separated((0.4, 0.1), (float("inf"), 0.0)) and not separated((float("inf"), 0.0), (float("inf"), 0.0))


def test_a_protocol_changed_by_extra_overrides_is_reported_as_the_presets_with_the_overrides(tmp_path):
    runs = [synthetic_run("a", 0, 10.0)]
    write_table(tmp_path, "fmnist-cpu", PRESETS["fmnist-cpu"], runs, [], 1, REFERENCE)
    assert f"- Protocol: {PRESETS['fmnist-cpu'].protocol}." in (tmp_path / "results.md").read_text()
    write_table(tmp_path, "fmnist-cpu", PRESETS["fmnist-cpu"], runs, ["--model.width", "16"], 1, REFERENCE)
    text = (tmp_path / "results.md").read_text()
    assert "- Protocol as the preset sets it (the extra overrides on the next line replace what they name): " in text
    assert "extra overrides: --model.width 16." in text and "- Protocol: " not in text


def test_table_has_the_real_data_row_ratio_and_ties(results_md):
    header, rows, text = results_md
    assert header[-1] == "rank" and f"final precision/{PROTOCOL}" in header and f"final recall/{PROTOCOL}" in header
    assert list(rows) == ["a", "b", "c", "real data"]
    assert [rows[t]["rank"] for t in "abc"] == ["1=", "1=", "3"]
    assert rows["a"]["final fid / real"] == "4.4 ± 0.57"  # (10 / 2.5, 12 / 2.5): 4.4 ± 0.566
    assert rows["c"]["final fid / real"] == "12.2 ± 0.28"
    real = rows["real data"]
    assert real[f"final fid/{PROTOCOL}"] == "2.5" and real[f"final precision/{PROTOCOL}"] == "0.75"
    assert real["final fid / real"] == "1" and real["kimg"] == real["rank"] == "—"
    assert real["final classes/covered_lenet-fmnist_2000"] == "10"  # not the kl_uniform key that shares its prefix
    assert "2,000 fashion_mnist test images" in text and "do not overlap" in text


def finished_run(run_dir, root) -> SimpleNamespace:
    """A run whose config.yaml holds Fashion-MNIST-format data at `root` and a protocol of 40 images."""
    run_dir.mkdir(parents=True)
    config = {"data": {"class_path": "lightning_gans.data.ImageDataModule", "init_args": {"root": str(root)}},
              "fid": {"extractor": "moments", "num_samples": 40, "kid_subset_size": 10}}
    (run_dir / "config.yaml").write_text(yaml.safe_dump(config))
    return SimpleNamespace(run_dir=run_dir)


def test_the_real_data_row_is_computed_once_per_bench_and_again_for_other_images(tmp_path, monkeypatch):
    """settings.json pins the preset and overrides, not what the data root holds: reference.json keeps its key."""
    monkeypatch.setenv("LIGHTNING_GANS_CACHE", str(tmp_path / "cache"))
    extractor = ChannelMoments(channels=1)
    monkeypatch.setattr(protocol, "build_feature_extractor", lambda name, weights_path: extractor)
    bench_dir = tmp_path / "bench"
    bench_dir.mkdir()
    first_root = write_fashion_mnist(tmp_path / "first", n_train=40, n_test=40, seed=0)
    first = real_data_reference(bench_dir, [finished_run(tmp_path / "run", first_root)])
    seen = extractor.images_seen
    assert real_data_reference(bench_dir, [finished_run(tmp_path / "rerun", first_root)]) == first
    assert extractor.images_seen == seen
    other_root = write_fashion_mnist(tmp_path / "other", n_train=40, n_test=40, seed=1)
    other = real_data_reference(bench_dir, [finished_run(tmp_path / "other-run", other_root)])
    assert extractor.images_seen == 2 * seen and other["fid/moments_40_train"] != first["fid/moments_40_train"]
    assert json.loads((bench_dir / "reference.json").read_text()) == other


def test_a_variant_preset_runs_each_config_once_per_variant_with_its_overrides(tmp_path):
    preset = PRESETS["fmnist-2k"]
    runs = plan_runs(preset, None, 2, tmp_path)
    assert [(run.technique, run.seed) for run in runs] == [
        (f"stylegan_ada-{variant}", seed) for variant in ("2k-noaug", "2k-ada", "full-ada") for seed in (0, 1)]
    assert runs[0].run_dir == tmp_path / "runs" / "stylegan_ada" / "2k-noaug-seed0"
    noaug, ada, full = (fit_command(runs[i], preset, ["--model.width", "8"]) for i in (0, 2, 4))
    assert noaug[-2:] == ["--model.width", "8"]  # the user's overrides come last and win
    assert " --data.limit 2000 --model.ada_heuristic fixed --model.augment_p 0 " in " ".join(noaug)
    assert " --data.limit 2000 " in " ".join(ada) and "--model.ada_heuristic" not in ada
    assert "--data.limit" not in full


def write_adaptive_run(run_dir, p_values):
    """A finished StyleGANADA-like run: metrics.csv with training rows (kimg, wall time, ada/p, ada/rt) and FID rows."""
    run = RunLayout(run_dir)
    run.samples.mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(run.sample_grid(20))
    rows = ["step,progress/kimg,progress/wall_time_s,perf/img_per_s,ada/p,ada/rt,"
            "fid/x,kid/x,precision/x,recall/x,classes/covered_x"]
    rows += [f"{step},{step * 0.032},{step * 0.1},320,{p},0.6,,,,," for step, p in zip((10, 20), p_values)]
    rows += [f"{step},,,,,,{50 - step},0.01,0.5,0.4,10" for step in (10, 20)]
    run.metrics_csv.write_text("\n".join(rows) + "\n")
    run.finished_marker.write_text('{"peak_rss_mb": 100}')


def test_adaptive_runs_get_plots_of_p_and_rt_over_kimg(tmp_path):
    runs = plan_runs(PRESETS["fmnist-2k"], None, 1, tmp_path)
    for run, p_values in zip(runs, ((0.0, 0.0), (0.1, 0.3), (0.0, 0.05))):
        write_adaptive_run(run.run_dir, p_values)
    write_report(tmp_path, "fmnist-2k", PRESETS["fmnist-2k"], runs, [], 1)
    for name in ("ada_p_vs_kimg.png", "ada_rt_vs_kimg.png", "fid_vs_kimg.png", "samples.png"):
        assert Image.open(tmp_path / name).size[0] > 300
    toy_like = plan_runs(PRESETS["fmnist-cpu"], ["sngan"], 1, tmp_path / "other")
    write_adaptive_run(toy_like[0].run_dir, (0.0, 0.0))
    metrics_csv = RunLayout(toy_like[0].run_dir).metrics_csv
    metrics_csv.write_text(metrics_csv.read_text().replace("ada/p,ada/rt", "a,b"))
    write_report(tmp_path / "other", "fmnist-cpu", PRESETS["fmnist-cpu"], toy_like, [], 1)
    assert (tmp_path / "other" / "fid_vs_kimg.png").is_file() and not (tmp_path / "other" / "ada_p_vs_kimg.png").exists()


def test_conditional_runs_add_intra_fid_and_class_accuracy_columns_with_a_dash_for_the_unconditional_row(tmp_path):
    ifid, accuracy = f"ifid/{PROTOCOL}", "classes/accuracy_lenet-fmnist_2k"
    runs = []
    for technique, fids in FIDS.items():
        for seed, fid in enumerate(fids):
            run = synthetic_run(technique, seed, fid)
            if technique != "c":  # c is the unconditional reference row
                row = {**run.summary(), f"final {ifid}": 2 * fid, f"final {accuracy}": 0.8 + seed / 10}
                run = SimpleNamespace(keys=KEYS, summary=lambda row=row: row)
            runs.append(run)
    write_table(tmp_path, "fmnist-cond", PRESETS["fmnist-cond"], runs, [], 1, REFERENCE)
    table = [line for line in (tmp_path / "results.md").read_text().splitlines() if line.startswith("| ")]
    header, *rows = ([cell.strip() for cell in line.strip("|").split("|")] for line in table)
    cells = {row[0]: dict(zip(header, row)) for row in rows}
    assert cells["a"][f"final {ifid}"] == "22 ± 2.8" and cells["a"][f"final {accuracy}"] == "0.85 ± 0.071"
    assert cells["c"][f"final {ifid}"] == cells["c"][f"final {accuracy}"] == "—"
    assert cells["real data"][f"final {ifid}"] == "—"  # held-out images are scored without labels
    assert [row[0] for row in rows] == ["a", "b", "c", "real data"]  # still ranked by FID alone
    assert f"final {ifid}" in (tmp_path / "results.csv").read_text().splitlines()[0]
