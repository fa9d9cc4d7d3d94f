"""Labelled image folders written by the tests: class subfolders, and dataset_tool's layout with its dataset.json
(as a folder or a .zip); and every bad-label case of an image folder, for the data tests and the CLI tests."""

import json
import zipfile

import numpy as np
from PIL import Image


def write_png(path, value: int) -> None:
    """A 12x12 grey PNG of brightness `value`: its label can be read back from its pixels."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((12, 12, 3), value, dtype=np.uint8)).save(path)


def write_dataset_tool_folder(root, n: int = 8, labels=True) -> dict:
    """Images as dataset_tool writes them (00000/img00000000.png, ...) of brightness 10 * i, labelled i % 3, with
    their dataset.json (labels null when `labels` is false); returns that file's content."""
    content = {"labels": [] if labels else None}
    for i in range(n):
        name = f"{i // 5:05d}/img{i:08d}.png"  # five images a subfolder, so that there are two
        write_png(root / name, 10 * i)
        if labels:
            content["labels"].append([name, i % 3])
    (root / "dataset.json").write_text(json.dumps(content))
    return content


def zipped(folder, path):
    """`folder` as a .zip, with entries for its directories as well as its files (as zip tools write them)."""
    with zipfile.ZipFile(path, "w") as archive:
        for file in sorted(folder.rglob("*")):
            archive.write(file, file.relative_to(folder).as_posix())
    return path


def bad_dataset_json(root, change) -> None:
    """A dataset_tool folder whose dataset.json `change` alters."""
    content = write_dataset_tool_folder(root)
    change(content)
    (root / "dataset.json").write_text(json.dumps(content))


def set_label(index, value):
    return lambda content: content["labels"][index].__setitem__(1, value)


def class_folders(root, layout: dict) -> None:
    for name, count in layout.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            write_png(root / name / f"{i}.png", i)


# Every bad-label case of an image folder: how to make it, and what the one line says (tests/data/test_labels.py checks them
# at the data module, tests/commands/test_conditional_fit.py through `lightning-gans fit`).
BAD_LABELS = {
    "missing dataset.json entry": (lambda root: bad_dataset_json(root, lambda c: c["labels"].pop(3)),
                                   "has no label for 1 of the 8 images (first: 00000/img00000003.png)"),
    "negative label": (lambda root: bad_dataset_json(root, set_label(2, -1)), "gives 00000/img00000002.png the label -1"),
    "non-integer label": (lambda root: bad_dataset_json(root, set_label(0, 1.5)), "the label 1.5: labels are class indices"),
    "label as a string": (lambda root: bad_dataset_json(root, set_label(0, "1")), 'the label "1"'),
    "a class without images": (lambda root: bad_dataset_json(root, lambda c: [entry.__setitem__(1, 2 * (i == 0))
                                                                              for i, entry in enumerate(c["labels"])]),
                               "labels no image with class 1 of 0..2"),
    "labels null": (lambda root: write_dataset_tool_folder(root, labels=False), '"labels": null'),
    "no labels key": (lambda root: bad_dataset_json(root, lambda c: c.pop("labels")), 'has no "labels"'),
    "no class subfolders": (lambda root: [write_png(root / f"{i}.png", i) for i in range(3)],
                            "3 images lie outside them"),
    "images beside class subfolders": (lambda root: (class_folders(root, {"a": 2}), write_png(root / "loose.png", 0)),
                                       "1 images lie outside them (first: loose.png)"),
    "empty class folder": (lambda root: class_folders(root, {"a": 2, "b": 0, "c": 1}), "holds no images"),
}
