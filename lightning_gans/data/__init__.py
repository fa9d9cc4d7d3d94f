"""Training data: the infinite resumable stream (`stream.py`), the image sources (`sources.py`, `idx.py`, and
`folders.py` for folders and `.zip` files with their class labels), the 2-D toy mixtures (`toy.py`) and the Lightning
data modules (`modules.py`).

`sources.DATASETS` is the registry of `data.dataset`: a new dataset is one loader function and one line there.
"""

from lightning_gans.data.modules import GANDataModule, ImageDataModule, Toy2DDataModule
from lightning_gans.data.sources import class_names, load_images, load_labels
from lightning_gans.data.stream import InfiniteBatchStream, LabelledBatch, to_float

__all__ = ["GANDataModule", "ImageDataModule", "Toy2DDataModule", "InfiniteBatchStream", "LabelledBatch", "class_names",
           "load_images", "load_labels", "to_float"]
