"""Arrow record batches as PostgreSQL binary COPY data, encoded with numpy (no per-row Python).

Why: a publish to PostgreSQL moves millions of rows; text (CSV) COPY makes the server parse every
number from its decimal text, and per-row encoding in Python (psycopg's `write_row`) costs more
than the load itself. The binary format is: a signature, then per row an int16 field count and
per field an int32 length (-1 for NULL) and the value in network byte order; then an int16 -1.

Only the types the published tables use are encoded (`BINARY_TYPES`); `encodable` says whether
a layout can go binary (callers use CSV for any other).
"""

from __future__ import annotations

import struct
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


def _scalar(data: bytes, arrow_type: Any = None) -> Any:
    """`data` as a large_binary (or large_string) scalar, built from buffers: pyarrow imports
    pandas the first time it converts a Python value (pa.scalar, a fill value), and publish
    needs no pandas."""
    import pyarrow as pa

    offsets = struct.pack("<qq", 0, len(data))
    return pa.Array.from_buffers(arrow_type or pa.large_binary(), 1,
                                 [None, pa.py_buffer(offsets), pa.py_buffer(data)])[0]


def _zero(arrow_type: Any) -> Any:
    """The zero (False for booleans) of a fixed-width type, built from buffers (see _scalar)."""
    import pyarrow as pa

    return pa.Array.from_buffers(arrow_type, 1, [None, pa.py_buffer(bytes(16))])[0]


def _numpy(array: Any) -> Any:
    """The values of a boolean, integer or float array without nulls as numpy, read from its
    buffer (its to_numpy goes through pyarrow's pandas shim, which imports pandas; see
    _scalar)."""
    import numpy as np
    import pyarrow as pa

    kind, data = array.type, array.buffers()[1]
    if pa.types.is_boolean(kind):  # bit-packed
        bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8), bitorder="little")
        return bits[array.offset:array.offset + len(array)]
    native = np.dtype(f"{'f' if pa.types.is_floating(kind) else 'i'}{kind.bit_width // 8}")
    return np.frombuffer(data, dtype=native, count=len(array),
                         offset=array.offset * native.itemsize)


def _empty() -> Any:
    return _scalar(b"")


def _field(array: Any, duck_type: str) -> Any:
    """Per row, the field as sent: int32 length (-1 for NULL) then the value, as a binary
    array (Arrow kernels; numpy only for the fixed-width values' byte order)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(array)
    kind = BINARY_TYPES[duck_type]
    if kind == "text":
        value = pc.fill_null(array.cast(pa.large_string()),
                             _scalar(b"", pa.large_string())).cast(pa.large_binary())
        lengths = _numpy(pc.binary_length(value))
        prefix = pa.FixedSizeBinaryArray.from_buffers(
            pa.binary(4), n, [None, pa.py_buffer(lengths.astype(">i4"))])
        field = pc.binary_join_element_wise(prefix.cast(pa.large_binary()), value, _empty())
    else:
        dtype = np.dtype(kind)
        values = pc.fill_null(array, _zero(array.type))
        raw = np.empty((n, 4 + dtype.itemsize), dtype=np.uint8)
        raw[:, :4] = np.frombuffer(np.array([dtype.itemsize], dtype=">i4").tobytes(),
                                   dtype=np.uint8)
        raw[:, 4:] = _numpy(values).astype(dtype).view(
            np.uint8).reshape(n, dtype.itemsize)
        field = pa.FixedSizeBinaryArray.from_buffers(
            pa.binary(4 + dtype.itemsize), n, [None, pa.py_buffer(raw)]
        ).cast(pa.large_binary())
    if array.null_count:
        field = pc.if_else(pc.is_valid(array), field, _scalar(NULL_FIELD))
    return field


NULL_FIELD = b"\xff\xff\xff\xff"


def encode_batch(batch: Any, duck_types: list[str]) -> memoryview:
    """One record batch as binary COPY rows (no signature, no trailer): every row's field
    count and fields joined by Arrow's element-wise binary join, in C++."""
    import pyarrow as pa
    import pyarrow.compute as pc

    columns = [a.combine_chunks() if isinstance(a, pa.ChunkedArray) else a
               for a in batch.columns]
    count = _scalar(len(columns).to_bytes(2, "big"))
    rows = pc.binary_join_element_wise(
        count, *(_field(a, t) for a, t in zip(columns, duck_types, strict=True)), _empty())
    offsets = rows.buffers()[1]
    import numpy as np

    bounds = np.frombuffer(offsets, dtype=np.int64)[rows.offset:rows.offset + len(rows) + 1]
    return memoryview(rows.buffers()[2])[int(bounds[0]):int(bounds[-1])]


def binary_copy_chunks(batches: Iterable[Any], duck_types: list[str]
                       ) -> Iterator[bytes | memoryview]:
    """The whole COPY stream: signature, the batches' rows, trailer."""
    yield SIGNATURE
    for batch in batches:
        if batch.num_rows:
            yield encode_batch(batch, duck_types)
    yield TRAILER
