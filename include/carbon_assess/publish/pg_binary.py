"""Arrow record batches as PostgreSQL binary COPY data, encoded with numpy (no per-row Python).

Why: a publish to PostgreSQL moves millions of rows; text (CSV) COPY makes the server parse every
number from its decimal text, and per-row encoding in Python (psycopg's `write_row`) costs more
than the load itself. The binary format is: a signature, then per row an int16 field count and
per field an int32 length (-1 for NULL) and the value in network byte order; then an int16 -1.

Only the types the published tables use are encoded (`BINARY_TYPES`); `encodable` says whether
a layout can go binary (callers use CSV for any other).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
TRAILER = b"\xff\xff"
# DuckDB type -> numpy big-endian dtype of its PostgreSQL binary form ("text": UTF-8 bytes)
BINARY_TYPES = {
    "VARCHAR": "text",
    "DOUBLE": ">f8",
    "FLOAT": ">f4",
    "BIGINT": ">i8",
    "INTEGER": ">i4",
    "SMALLINT": ">i2",
    "BOOLEAN": "|u1",
}


def encodable(duck_types: Iterable[str]) -> bool:
    """Whether every column type has a binary encoding here."""
    return all(t in BINARY_TYPES for t in duck_types)


def _text_parts(array: Any, valid: Any) -> tuple[Any, Any, Any]:
    """(data bytes, start offsets, lengths) of a string array, lengths 0 where null."""
    import numpy as np
    import pyarrow as pa

    if not pa.types.is_large_string(array.type):
        array = array.cast(pa.large_string())
    n = len(array)
    buffers = array.buffers()
    offsets = np.frombuffer(buffers[1], dtype=np.int64)[array.offset:array.offset + n + 1]
    data = (np.frombuffer(buffers[2], dtype=np.uint8) if buffers[2] is not None
            else np.zeros(0, dtype=np.uint8))
    lengths = np.where(valid, offsets[1:] - offsets[:-1], 0)
    return data, offsets[:-1], lengths


def encode_batch(batch: Any, duck_types: list[str]) -> bytes:
    """One record batch as binary COPY rows (no signature, no trailer)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    n = batch.num_rows
    columns = []
    sizes = np.full(n, 2, dtype=np.int64)  # the int16 field count
    for array, duck_type in zip(batch.columns, duck_types, strict=True):
        if isinstance(array, pa.ChunkedArray):
            array = array.combine_chunks()
        valid = (np.ones(n, dtype=bool) if array.null_count == 0
                 else pc.is_valid(array).to_numpy(zero_copy_only=False))
        kind = BINARY_TYPES[duck_type]
        if kind == "text":
            data, starts, lengths = _text_parts(array, valid)
            columns.append((kind, valid, lengths, (data, starts)))
        else:
            dtype = np.dtype(kind)
            filled = pc.fill_null(array, False if duck_type == "BOOLEAN" else 0)
            values = filled.to_numpy(zero_copy_only=False).astype(dtype)
            lengths = np.where(valid, dtype.itemsize, 0)
            columns.append((kind, valid, lengths, values))
        sizes += 4 + lengths
    ends = np.cumsum(sizes)
    out = np.empty(int(ends[-1]) if n else 0, dtype=np.uint8)
    pos = ends - sizes
    count = np.array([len(columns)], dtype=">i2").view(np.uint8)
    out[pos] = count[0]
    out[pos + 1] = count[1]
    pos = pos + 2
    four = np.arange(4)
    for kind, valid, lengths, payload in columns:
        header = np.where(valid, lengths, -1).astype(">i4").view(np.uint8).reshape(n, 4)
        out[pos[:, None] + four] = header
        pos = pos + 4
        if kind == "text":
            data, starts = payload
            total = int(lengths.sum())
            if total:
                before = np.cumsum(lengths) - lengths
                step = np.arange(total, dtype=np.int64)
                src = np.repeat(starts - before, lengths) + step
                dst = np.repeat(pos - before, lengths) + step
                out[dst] = data[src]
        else:
            width = payload.dtype.itemsize
            raw = payload.view(np.uint8).reshape(n, width)
            rows = valid if not valid.all() else slice(None)
            out[pos[rows][:, None] + np.arange(width)] = raw[rows]
        pos = pos + lengths
    return out.tobytes()


def binary_copy_chunks(batches: Iterable[Any], duck_types: list[str]) -> Iterator[bytes]:
    """The whole COPY stream: signature, the batches' rows, trailer."""
    yield SIGNATURE
    for batch in batches:
        if batch.num_rows:
            yield encode_batch(batch, duck_types)
    yield TRAILER
