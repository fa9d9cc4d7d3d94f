"""The IDX file format of (Fashion-)MNIST."""

import gzip
import math
import zlib
from pathlib import Path

import numpy as np
import torch

from lightning_gans.errors import ConfigError, first_line

# numpy dtypes of the IDX type codes (big-endian on disk).
IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: Path) -> torch.Tensor:
    """The array in an IDX file, the format of (Fashion-)MNIST, gzipped or not."""
    try:
        raw = Path(path).read_bytes()
        if raw[:2] == b"\x1f\x8b":  # gzip's magic number
            raw = gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as error:
        raise ConfigError(f"cannot read IDX file {path} ({first_line(error)})", "replace it with an intact copy") from error

    def corrupt(problem: str) -> ConfigError:
        return ConfigError(f"{path} is not a valid IDX file ({problem})", "replace it with an intact copy")

    # Header: two zero bytes, a type code, the number of dimensions, then each dimension as a big-endian uint32.
    if len(raw) < 4 or raw[:2] != b"\0\0" or raw[2] not in IDX_DTYPES:
        raise corrupt("bad magic number")
    dtype, header_size = np.dtype(IDX_DTYPES[raw[2]]), 4 + 4 * raw[3]
    if len(raw) < header_size:
        raise corrupt("truncated header")
    shape = np.frombuffer(raw, ">u4", count=raw[3], offset=4).tolist()
    expected_size = header_size + math.prod(shape) * dtype.itemsize
    if len(raw) != expected_size:
        raise corrupt(f"{len(raw)} bytes where its header implies {expected_size}")
    values = np.frombuffer(raw, dtype, offset=header_size).reshape(shape)
    return torch.from_numpy(values.astype(dtype.newbyteorder("=")))
