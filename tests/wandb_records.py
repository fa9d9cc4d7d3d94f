"""Reads a W&B transaction log (`run-<id>.wandb`, what an offline run writes and `wandb sync` uploads).

The file is a 7-byte header (":W&B", magic 0xBEE1, version 0) and then LevelDB-log records in 32 KiB blocks:
4-byte CRC, 2-byte little-endian length, 1-byte type (full, first, middle, last), payload; a block's tail
shorter than a record header is padding. Payloads joined are `wandb_internal_pb2.Record` protos.
"""

import struct
from pathlib import Path

from wandb.proto import wandb_internal_pb2

HEADER, BLOCK, RECORD_HEADER = 7, 32 * 1024, 7
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def read_records(path: Path) -> list[wandb_internal_pb2.Record]:
    data = Path(path).read_bytes()
    assert data[:4] == b":W&B", f"{path} is not a W&B transaction log"
    records, pending, offset = [], b"", HEADER
    while offset + RECORD_HEADER <= len(data):
        if BLOCK - offset % BLOCK < RECORD_HEADER:  # padding at the end of a block
            offset += BLOCK - offset % BLOCK
            continue
        _crc, length, kind = struct.unpack("<IHB", data[offset:offset + RECORD_HEADER])
        payload = data[offset + RECORD_HEADER:offset + RECORD_HEADER + length]
        offset += RECORD_HEADER + length
        if kind == 0 and length == 0:  # zero fill: the writer's unused tail
            break
        pending = payload if kind in (FULL, FIRST) else pending + payload
        if kind in (FULL, LAST):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            records.append(record)
    return records


def history_rows(path: Path) -> list[dict[str, str]]:
    """One dict per logged history row: key -> JSON value."""
    return [
        {item.key or "/".join(item.nested_key): item.value_json for item in record.history.item}
        for record in read_records(path) if record.WhichOneof("record_type") == "history"
    ]
