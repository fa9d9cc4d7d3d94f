"""The bench's outputs from its finished runs' metrics.csv files: results.csv (one row per run), results.md (mean ±
std per technique, best first, ties within seed noise marked, with the protocol and, for image benches, a real-data
row and each technique's FID as a ratio to it; conditional runs add their intra-class FID and class accuracy),
<metric>_vs_kimg.png and <metric>_vs_time.png of the ranking metric (a line per technique: the mean over seeds, a
band from the smallest to the largest seed; fid_vs_kimg.png for image benches, toy_modes_covered_vs_kimg.png for toy
ones), samples.png (the last grid of each technique's first seed, side by side) and, for StyleGANADA runs,
ada_p_vs_kimg.png and ada_rt_vs_kimg.png.

Evaluation rows (FID, toy metrics) and training rows (kimg, wall time) of metrics.csv share the generator step;
evaluation points get their kimg and wall time by interpolating the training rows at their step.
"""

import csv
import os
import platform
from collections import defaultdict
from functools import cmp_to_key
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from lightning_gans.metrics.keys import MetricKey
from lightning_gans.run.layout import RunLayout

# StyleGANADA's augmentation probability and overfitting signal r_t, plotted over kimg when the runs log them
ADA_CURVES = ("ada/p", "ada/rt")
X_AXES = {"kimg": "kimg", "wall": "time"}  # what a curve is plotted against -> its file name's ending


def plot_file_name(key: str, x_axis: str) -> str:
    """A plot is named after the metric it shows: fid_vs_kimg.png, toy_modes_covered_vs_time.png, ada_p_vs_kimg.png."""
    return f"{MetricKey.parse(key).file_name}_vs_{X_AXES[x_axis]}.png"


def read_csv(path: Path) -> list[dict[str, float]]:
    """The rows of a metrics CSV file, with their non-empty cells as floats."""
    with open(path) as f:
        return [{k: float(v) for k, v in row.items() if v not in ("", None)} for row in csv.DictReader(f)]


def read_metrics(run_dir: Path) -> list[dict[str, float]]:
    """The rows of all sessions of a run: `metrics.session<i>.csv` set aside by the bench before each resume, then
    metrics.csv. A session's rows from its last checkpoint on are dropped: the next session repeats those steps."""
    layout = RunLayout(run_dir)
    sessions = [read_csv(path) for path in layout.session_csvs()]
    rows = read_csv(layout.metrics_csv)
    for earlier in reversed(sessions):
        resumed_at = min((row["step"] for row in rows), default=float("inf"))
        rows = [row for row in earlier if row["step"] < resumed_at] + rows
    return rows


def column(rows: list[dict], key: str) -> tuple[np.ndarray, np.ndarray]:
    """(steps, values) of the rows that hold `key`."""
    held = [row for row in rows if key in row]
    return np.array([row["step"] for row in held]), np.array([row[key] for row in held])


def logged_key(rows: list[dict], name: str) -> str | None:
    """The logged key of the metric `name` (`MetricKey.name`; FID keys carry their protocol), None when not logged."""
    return next((key for key in sorted({k for row in rows for k in row}) if MetricKey.parse(key).name == name), None)


def resolve_key(rows: list[dict], name: str) -> str:
    """`logged_key` of a metric that every run logs."""
    key = logged_key(rows, name)
    if key is None:
        raise KeyError(f"no run logged {name}")
    return key


# Conditional runs' own metrics: columns of the table where some run logged them (an unconditional reference row
# has none), never ranked.
CONDITIONAL_METRICS = ("ifid", "classes/accuracy")


class RunMetrics:
    """One run's metrics: curves of each quality metric over steps, with kimg and wall time at those steps."""

    def __init__(self, run, metric_specs):
        rows = read_metrics(run.run_dir)
        self.technique, self.seed, self.run_dir = run.technique, run.seed, run.run_dir
        self.keys = [(resolve_key(rows, key), goal) for key, goal in metric_specs]
        self.shown = [key for key in (logged_key(rows, name) for name in CONDITIONAL_METRICS) if key is not None]
        self.curves = {key: column(rows, key) for key in [key for key, _ in self.keys] + self.shown}
        self.curves.update({key: column(rows, key) for key in ADA_CURVES if any(key in row for row in rows)})
        train_steps, self.train_kimg = column(rows, "progress/kimg")
        _, self.train_wall = column(rows, "progress/wall_time_s")
        self.train_steps = train_steps
        self.img_per_s = float(column(rows, "perf/img_per_s")[1].mean())
        self.peak_rss_mb = run.peak_rss_mb

    def at_steps(self, steps: np.ndarray, what: str) -> np.ndarray:
        """kimg or wall time ("kimg" / "wall") at `steps`, interpolated from the training rows."""
        values = self.train_kimg if what == "kimg" else self.train_wall
        return np.interp(steps, self.train_steps, values)

    def summary(self) -> dict[str, float | str | int]:
        row = {"technique": self.technique, "seed": self.seed}
        for key, goal in self.keys:
            values = self.curves[key][1]
            row[f"final {key}"] = float(values[-1])
            row[f"best {key}"] = float(values.min() if goal == "min" else values.max())
        row.update({f"final {key}": float(self.curves[key][1][-1]) for key in self.shown})
        row.update({"kimg": float(self.train_kimg[-1]), "wall_time_s": float(self.train_wall[-1]),
                    "img_per_s": self.img_per_s, "peak_rss_mb": self.peak_rss_mb})
        return row


def std(values: list[float]) -> float:
    return float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


def mean_std(values: list[float]) -> str:
    mean = float(np.mean(values))
    if not np.isfinite(mean):
        return f"{mean:.4g}"  # e.g. reverse KL inf: no spread to report
    return f"{mean:.4g} ± {std(values):.2g}"


def rows_by_technique(rows: list[dict]) -> dict[str, list[dict]]:
    by_technique = defaultdict(list)
    for row in rows:
        by_technique[row["technique"]].append(row)
    return by_technique


def metric_stats(rows: list[dict], keys: list[tuple[str, str]]) -> dict[str, list[tuple[float, float]]]:
    """technique -> (mean, std) over its seeds of each final metric in `keys`, in order."""
    return {technique: [(float(np.mean(values)), std(values)) for values in
                        ([row[f"final {key}"] for row in group] for key, _ in keys)]
            for technique, group in rows_by_technique(rows).items()}


def separated(a: tuple[float, float], b: tuple[float, float]) -> bool:
    """Whether the mean ± std intervals of `a` and `b` do not overlap (an infinite mean: whether the means differ)."""
    (mean_a, std_a), (mean_b, std_b) = a, b
    if not (np.isfinite(mean_a) and np.isfinite(mean_b)):
        return mean_a != mean_b
    return abs(mean_a - mean_b) > std_a + std_b


def ranking(stats: dict[str, list[tuple[float, float]]], keys: list[tuple[str, str]]) -> list[str]:
    """Techniques of `metric_stats` best first. Two are ordered by the first metric of `keys` on which their mean ±
    std intervals over seeds are `separated`; where none is, by the means of each metric in turn (so an inf reverse KL
    ranks last)."""
    def compare(a: str, b: str) -> int:
        for only_separated in (True, False):
            for (mean_a, spread_a), (mean_b, spread_b), (_, goal) in zip(stats[a], stats[b], keys):
                if mean_a != mean_b and (separated((mean_a, spread_a), (mean_b, spread_b)) or not only_separated):
                    return -1 if (mean_a < mean_b) == (goal == "min") else 1
        return 0

    return sorted(stats, key=cmp_to_key(compare))


def seed_noise_ranks(stats: list[list[tuple[float, float]]]) -> list[str]:
    """Rank labels of techniques listed best first, each as its (mean, std) over seeds of every ranking metric: one
    that no metric `separated` from the technique above it is within seed noise of it and shares its rank, marked
    "=" (so a chain of such neighbours shares one rank)."""
    ranks = []
    for i, metrics in enumerate(stats):
        tied = i > 0 and not any(separated(a, b) for a, b in zip(metrics, stats[i - 1]))
        ranks.append(ranks[-1] if tied else i + 1)
    return [f"{rank}=" if ranks.count(rank) > 1 else str(rank) for rank in ranks]


def real_data_cells(reference: dict, columns: list[str]) -> list[str]:
    """The real-data row: the reference's value under each `final <metric>` column (matched by the metric's
    name: its key carries its own image count), 1 for the FID ratio, a dash elsewhere."""
    cells = []
    for name in columns:
        key = logged_key([reference], MetricKey.parse(name.removeprefix("final ")).name) if name.startswith("final ") else None
        if name == FID_RATIO:
            cells.append("1")
        elif "/" in name and key is not None:
            cells.append(f"{reference[key]:.4g}")
        else:
            cells.append("—")
    return cells


FID_RATIO = "final fid / real"


def technique_cell(group: list[dict], column_name: str, fid_key: str | None, real_fid: float | None) -> str:
    """mean ± std over a technique's runs of a column; — where none of them logged it (a conditional metric)."""
    if column_name == FID_RATIO:
        return mean_std([row[f"final {fid_key}"] / real_fid for row in group])
    values = [row[column_name] for row in group if column_name in row]
    return mean_std(values) if values else "—"


def hardware() -> str:
    if torch.cuda.is_available():
        return f"{torch.cuda.device_count()} x {torch.cuda.get_device_name(0)}"
    return f"CPU only ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"


def write_table(bench_dir: Path, preset_name: str, preset, runs: list[RunMetrics], extra: list[str], parallel: int,
                reference: dict | None = None) -> str:
    """results.csv and results.md; `reference` (metric -> value, and "images": what was scored) adds the real-data
    row of an image bench. Returns the ranking in one line: each technique's mean final and best ranking metric."""
    rows = [run.summary() for run in runs]
    fieldnames = list(dict.fromkeys(name for row in rows for name in row))  # a conditional metric's column: some rows
    with open(bench_dir / "results.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fieldnames)
        writer.writeheader()
        writer.writerows(rows)

    keys = runs[0].keys
    rank_key = keys[0][0]
    by_technique = rows_by_technique(rows)
    stats = metric_stats(rows, keys)
    order = ranking(stats, keys)
    ranks = dict(zip(order, seed_noise_ranks([stats[t] for t in order])))
    shown = [name.removeprefix("final ") for name in fieldnames
             if name.startswith("final ") and MetricKey.parse(name.removeprefix("final ")).name in CONDITIONAL_METRICS]
    columns = [f"final {rank_key}", f"best {rank_key}", *(f"final {key}" for key, _ in keys[1:]),
               *(f"final {key}" for key in shown), *([FID_RATIO] if reference else []), "kimg", "wall_time_s",
               "img_per_s", "peak_rss_mb"]
    fid_key = next((key for key, _ in keys if MetricKey.parse(key).name == "fid"), None)
    seeds = sorted({row["seed"] for row in rows})
    lines = [
        f"# Bench `{bench_dir.name}` (preset `{preset_name}`)",
        "",
        f"- Protocol: {preset.protocol}." if not extra else
        f"- Protocol as the preset sets it (the extra overrides on the next line replace what they name): {preset.protocol}.",
        f"- Seeds: {', '.join(map(str, seeds))} (`--seed_everything`); extra overrides: {' '.join(extra) or 'none'}.",
        "- Ranked by the final " + ", then ".join(f"{key} ({'lower' if goal == 'min' else 'higher'} is better)"
                                                 for key, goal in keys)
        + "; cells are mean ± std over seeds; best = best value seen at any evaluation.",
        *([f"- Not ranked, shown where logged (conditional runs; — elsewhere): {', '.join(shown)}."] if shown else []),
        "- Order and rank: two techniques are ordered by the first of these metrics on which their mean ± std "
        "intervals over seeds do not overlap; a technique for which no metric does so is within seed noise of the "
        "one above it and shares its rank, marked = (with one seed std is 0: only equal means tie).",
        "- wall_time_s: training time of the run, evaluations included, summed over resumes; img_per_s: real "
        "images shown to D per second; peak_rss_mb: peak resident memory of the training process (host RAM; GPU "
        "memory is not measured).",
        f"- Hardware: {hardware()}; {parallel} run(s) at a time (img/s and wall time depend on it).",
    ]
    real_fid = reference[resolve_key([reference], "fid")] if reference else None
    if reference:
        lines.append(f"- real data: {reference['images']} (held out from the reference) scored like the fakes against "
                     f"the same reference: what a generator of the data distribution itself scores under this protocol; "
                     f"{FID_RATIO} = a run's final {fid_key} / the real data's FID ({real_fid:.4g}).")
    lines += ["", "| technique | runs | " + " | ".join(columns) + " | rank |", "|---|---|" + "---|" * (len(columns) + 1)]
    for technique in order:
        group = by_technique[technique]
        cells = [technique_cell(group, c, fid_key, real_fid) for c in columns]
        lines.append(f"| {technique} | {len(group)} | " + " | ".join(cells) + f" | {ranks[technique]} |")
    if reference:
        lines.append("| real data | — | " + " | ".join(real_data_cells(reference, columns)) + " | — |")
    (bench_dir / "results.md").write_text("\n".join(lines) + "\n")
    return f"by final {rank_key} (best in brackets): " + ", ".join(
        f"{ranks[t]} {t} {stats[t][0][0]:.4g} ({np.mean([r[f'best {rank_key}'] for r in by_technique[t]]):.4g})"
        for t in order)


def pyplot():
    """matplotlib.pyplot on the file-only Agg backend, imported when a plot is drawn (not when the bench starts)."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    return plt


def plot_curves(bench_dir: Path, runs: list[RunMetrics], key: str, x_axis: str) -> str:
    """One line per technique: `key`'s mean over seeds at each step it was logged, band = min..max; returns the
    plot's file name (`plot_file_name`)."""
    plt = pyplot()
    figure, axes = plt.subplots(figsize=(7, 4.5))
    by_technique = defaultdict(list)
    for run in runs:
        by_technique[run.technique].append(run)
    for technique, group in sorted(by_technique.items()):
        steps = sorted(set.intersection(*(set(run.curves[key][0]) for run in group)))
        values = np.array([np.interp(steps, *run.curves[key]) for run in group])
        x = np.mean([run.at_steps(np.array(steps), x_axis) for run in group], axis=0)
        line, = axes.plot(x, values.mean(0), label=f"{technique} ({len(group)} seeds)")
        axes.fill_between(x, values.min(0), values.max(0), color=line.get_color(), alpha=0.2)
    if all((run.curves[key][1] > 0).all() for run in runs):
        axes.set_yscale("log")
    axes.set_xlabel("kimg (thousands of real images shown to D)" if x_axis == "kimg" else "training wall time (s)")
    axes.set_ylabel(key)
    axes.set_title(f"{bench_dir.name}: {key}, mean over seeds, band = min..max")
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    filename = plot_file_name(key, x_axis)
    figure.savefig(bench_dir / filename, dpi=120)
    plt.close(figure)
    return filename


def plot_samples(bench_dir: Path, runs: list[RunMetrics]) -> str:
    """The last sample grid of each technique's lowest seed, side by side."""
    first_seed = {}
    for run in sorted(runs, key=lambda r: r.seed):
        first_seed.setdefault(run.technique, run)
    techniques = sorted(first_seed)
    plt = pyplot()
    figure, axes = plt.subplots(1, len(techniques), figsize=(3.2 * len(techniques), 3.8), squeeze=False,
                                layout="constrained")
    for ax, technique in zip(axes[0], techniques):
        run = first_seed[technique]
        grid = RunLayout(run.run_dir).sample_grids()[-1]
        ax.imshow(np.asarray(Image.open(grid).convert("RGB")))
        ax.set_title(f"{technique}\nseed {run.seed}, {grid.stem}")
        ax.axis("off")
    figure.savefig(bench_dir / "samples.png", dpi=120)
    plt.close(figure)
    return "samples.png"


def write_report(bench_dir: Path, preset_name: str, preset, runs, extra: list[str], parallel: int,
                 reference: dict | None = None) -> tuple[str, list[str]]:
    """Writes the table and the plots; returns the ranking line of `write_table` and the plots' file names."""
    metrics = [RunMetrics(run, preset.metrics) for run in runs]
    ranking_line = write_table(bench_dir, preset_name, preset, metrics, extra, parallel, reference)
    rank_key = metrics[0].keys[0][0]
    plots = [plot_curves(bench_dir, metrics, rank_key, x_axis) for x_axis in X_AXES]
    for key in ADA_CURVES:
        if logged := [run for run in metrics if key in run.curves]:
            plots.append(plot_curves(bench_dir, logged, key, "kimg"))
    plots.append(plot_samples(bench_dir, metrics))
    return ranking_line, plots
