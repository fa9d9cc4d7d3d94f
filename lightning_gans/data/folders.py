"""Images in a folder or a `.zip`, and their class labels: stylegan2-ada-pytorch's `dataset.json`, or class subfolders.

The images are named by their paths relative to the root, '/'-separated (as dataset_tool writes them into
dataset.json), and ordered as paths. A `dataset.json` at the root, when there is one, is the labels' only source:
dataset_tool writes its images into subfolders 00000/, 00001/, ... that are not classes. Without one, each image's
top-level subfolder is its class, and the classes are the sorted names of those subfolders.
"""

import json
import zipfile
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import IO, Callable, Iterator, Optional

import torch

from lightning_gans.errors import ConfigError, first_line, require

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp"}
LABELS_FILE = "dataset.json"
LABELS_FORMAT = 'write it as stylegan2-ada\'s dataset_tool does: {"labels": [["dir/image.png", class], ...]}'
NO_LABELS_FIX = "set data.conditional false, or label the images (README, Data)"


class ImageFiles:
    """The image files of a folder or `.zip` at `root`: `names` (sorted relative paths), `top_folders` (the
    names of the root's subfolders) and `files` (every file's name, images or not)."""

    def __init__(self, root: Optional[str]):
        require(root is not None, "data.root", root, "image_folder needs the folder or .zip of images: pass data.root=PATH")
        self.root = Path(root)
        if self.root.is_dir():
            self.is_zip = False
            self.files = {path.relative_to(self.root).as_posix() for path in self.root.rglob("*") if path.is_file()}
            self.top_folders = {path.name for path in self.root.iterdir() if path.is_dir()}
        else:
            require(self.root.suffix.lower() == ".zip" and self.root.is_file(), "data.root", root,
                    "neither a directory nor a .zip file: pass the folder or .zip that holds the images")
            self.is_zip = True
            entries = self._zip_entries()
            self.files = {name for name in entries if not name.endswith("/")}
            self.top_folders = {name.split("/")[0] for name in entries if "/" in name}
        # Ordered as paths (by their parts), as image_folder has always ordered a folder's images.
        self.names = sorted((name for name in self.files if PurePosixPath(name).suffix.lower() in IMAGE_SUFFIXES),
                            key=PurePosixPath)
        require(bool(self.names), "data.root", root, f"no images found: add {', '.join(sorted(IMAGE_SUFFIXES))} files")

    def _zip_entries(self) -> list[str]:
        try:
            with zipfile.ZipFile(self.root) as archive:
                return archive.namelist()
        except (OSError, zipfile.BadZipFile) as error:
            raise ConfigError(f"cannot read {self.root} ({first_line(error)})", "pass a valid .zip file") from error

    @contextmanager
    def opened(self) -> Iterator[Callable[[str], IO[bytes]]]:
        """A function that opens a file by its name, in binary mode, while the block runs (a zip stays open)."""
        if not self.is_zip:
            yield lambda name: open(self.root / name, "rb")
            return
        with zipfile.ZipFile(self.root) as archive:
            yield archive.open

    def labels(self) -> tuple[list[str], torch.Tensor]:
        """(class names, int64 labels of `names`) from dataset.json if the root holds one, else from class subfolders;
        a ConfigError when the images are not labelled, or not all of them, or some class has no image."""
        return self._dataset_json_labels() if LABELS_FILE in self.files else self._class_folder_labels()

    def _class_folder_labels(self) -> tuple[list[str], torch.Tensor]:
        loose = [name for name in self.names if "/" not in name]
        if loose:
            raise ConfigError(f"{self.root}: labels come from class subfolders, but {len(loose)} images lie outside "
                              f"them (first: {loose[0]})", f"move each image into its class's subfolder, or add a "
                              f"{LABELS_FILE}, or {NO_LABELS_FIX}")
        classes = sorted(self.top_folders)
        counts = dict.fromkeys(classes, 0)
        for name in self.names:
            counts[name.split("/")[0]] += 1
        empty = [name for name, count in counts.items() if not count]
        if empty:
            raise ConfigError(f"class folder {self.root / empty[0]} holds no images", "add its images or remove it")
        index = {name: k for k, name in enumerate(classes)}
        return classes, torch.tensor([index[name.split("/")[0]] for name in self.names], dtype=torch.int64)

    def _dataset_json_labels(self) -> tuple[list[str], torch.Tensor]:
        where = f"{self.root}/{LABELS_FILE}" if not self.is_zip else f"{LABELS_FILE} in {self.root}"
        try:
            with self.opened() as open_file, open_file(LABELS_FILE) as file:
                content = json.load(file)
        except (OSError, ValueError) as error:
            raise ConfigError(f"cannot read {where} ({first_line(error)})", LABELS_FORMAT) from error
        if not isinstance(content, dict) or "labels" not in content:
            raise ConfigError(f'{where} has no "labels"', LABELS_FORMAT)
        if content["labels"] is None:
            raise ConfigError(f'{where} says "labels": null (the images are unlabelled)', NO_LABELS_FIX)
        entries = content["labels"]
        if not isinstance(entries, list) or not all(
                isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str) for entry in entries):
            raise ConfigError(f'{where}: "labels" is not a list of ["path", class] pairs', LABELS_FORMAT)
        by_name = dict(entries)  # a later entry for the same image wins, as in stylegan2-ada's loader
        missing = [name for name in self.names if name not in by_name]
        if missing:
            raise ConfigError(f"{where} has no label for {len(missing)} of the {len(self.names)} images "
                              f"(first: {missing[0]})", 'add a ["path", class] entry for each image')
        labels = [by_name[name] for name in self.names]
        for name, label in zip(self.names, labels):
            # bool is an int in Python, but `true` is not a class index
            if not isinstance(label, int) or isinstance(label, bool) or label < 0:
                raise ConfigError(f"{where} gives {name} the label {json.dumps(label)}",
                                  "labels are class indices 0..C-1 (integers)")
        num_classes = max(labels) + 1
        absent = sorted(set(range(num_classes)) - set(labels))
        if absent:
            raise ConfigError(f"{where} labels no image with class {absent[0]} of 0..{num_classes - 1}",
                              "number the classes 0..C-1 without gaps: every class needs images")
        return [str(k) for k in range(num_classes)], torch.tensor(labels, dtype=torch.int64)
