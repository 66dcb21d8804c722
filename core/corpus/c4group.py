"""Read OpenClonk's group files (.ocg, .ocd): a gzip stream whose magic bytes are changed, holding a
scrambled 204-byte header, a table of 316-byte entries, then the entries' data; an entry may itself
be a group (a folder). Only reading is needed: the corpus takes the sounds out."""

from __future__ import annotations

import gzip
import struct
from collections.abc import Iterator
from pathlib import Path

MAGIC = b"\x1e\x8c"  # gzip's 1f 8b, changed
HEADER_SIZE, ENTRY_SIZE = 204, 316
HEADER_ID = b"RedWolf Design GrpFolder"
SCRAMBLE_KEY = 237


class C4GroupError(ValueError):
    pass


def unscramble(header: bytes) -> bytes:
    """The group header is XORed with 237 and every third byte swapped with the one two after it."""
    out = bytearray(b ^ SCRAMBLE_KEY for b in header)
    for i in range(0, len(out) - 2, 3):
        out[i], out[i + 2] = out[i + 2], out[i]
    return bytes(out)


def read_group(path: str | Path) -> bytes:
    raw = Path(path).read_bytes()
    if raw[:2] != MAGIC:
        raise C4GroupError(f"{path}: not an OpenClonk group file")
    return gzip.decompress(b"\x1f\x8b" + raw[2:])


def members(buf: bytes, base: int = 0, prefix: str = "") -> Iterator[tuple[str, bytes]]:
    """(path inside the group, bytes) of every file, folders walked depth first."""
    header = unscramble(buf[base:base + HEADER_SIZE])
    if not header.startswith(HEADER_ID):
        raise C4GroupError(f"no group header at offset {base}")
    (n_entries,) = struct.unpack("<i", header[36:40])
    table = base + HEADER_SIZE
    data = table + n_entries * ENTRY_SIZE
    for k in range(n_entries):
        entry = buf[table + k * ENTRY_SIZE: table + (k + 1) * ENTRY_SIZE]
        name = entry[:260].split(b"\0")[0].decode("latin-1")
        _packed, child, size, _reserved, offset = struct.unpack("<5i", entry[260:280])
        if child:
            yield from members(buf, data + offset, f"{prefix}{name}/")
        else:
            yield prefix + name, buf[data + offset: data + offset + size]
