"""The log's export file: JSON Lines an outsider can check with nothing of ours but this text.

Why this format: a data protection officer downloads the whole log once in a while and
checks it offline (gateway/audit/verify.py, or a program of their own). One JSON object a
line, UTF-8, every line ending in a newline, in this order and exactly as written here:

    {"type":"header","format":"exchange-gateway-log","version":1,"origin":<origin>,
     "keys":[<verifier key>, ...]}
    {"type":"entry","index":<i>,"leaf_hash":"<64 lowercase hex>","entry":<record>}
    {"type":"checkpoint","note":"<signed checkpoint note>"}
    {"type":"end","entries":<N>}

(the header on one line). Entries run 0, 1, 2, ... `entry` is the record as canonical JSON:
sorted keys, no whitespace, UTF-8, which Python writes as json.dumps(entry, sort_keys=True,
separators=(",", ":"), ensure_ascii=False); those bytes, exactly as they stand in the line,
are the Merkle leaf, and `leaf_hash` is SHA-256(0x00 || leaf), RFC 9162's leaf hash. Each
checkpoint (a C2SP signed note, gateway/audit/checkpoint.py) stands right after the entry
that completes its tree size (a checkpoint of size 0 right after the header), so a reader
checks it as it streams. `keys` lists the verifier keys of every key that signed a
checkpoint: information only, since a file cannot vouch for itself; a verifier trusts the
keys it was given by other means. The end line says how many entries there are, so a file
cut short at a line boundary is told from a whole one.

A line is at most 1 MiB. Any other layout of the same values is not an export: the verifier
is strict to the byte, so that no change to a file, however small, goes unnoticed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

import orjson

from gateway.audit import checkpoint, merkle
from gateway.canonical.json import canonical_json

FORMAT = "exchange-gateway-log"
VERSION = 1
MAX_LINE_BYTES = 1 << 20

ENTRY_PREFIX = b'{"type":"entry","index":%d,"leaf_hash":"'
"""An entry line up to its leaf hash, for `%` with the index: the verifier's fast path."""
ENTRY_MIDDLE = b'","entry":'
"""Between the leaf hash (64 hex digits) and the leaf; the line then ends with `}` and a newline."""

_HEX = re.compile(rb"[0-9a-f]{64}")


class ExportFormatError(ValueError):
    """A line that is not what the export format says; `line` counts from 1."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message


@dataclass(frozen=True)
class Header:
    """The first line: which log this is, and the keys it says it was signed with."""

    origin: str
    keys: tuple[str, ...]
    """Verifier keys ("<name>+<hex id>+<base64 key>") of every key that signed: information."""


@dataclass(frozen=True)
class Entry:
    """An entry line: the record at `index`, its bytes and the leaf hash the line lists."""

    index: int
    leaf_hash: str
    """As the line lists it: to be checked against `leaf`, not trusted."""
    leaf: bytes
    """The entry's bytes as they stand in the line: the Merkle leaf."""

    def content(self) -> Any:
        """Return the entry as parsed JSON."""
        return orjson.loads(self.leaf)


@dataclass(frozen=True)
class CheckpointLine:
    """A checkpoint line: the signed note, as gateway.audit.checkpoint reads it."""

    note: str


@dataclass(frozen=True)
class End:
    """The last line: how many entries came before it."""

    entries: int


Item = Header | Entry | CheckpointLine | End


def _checked(line: bytes, what: str) -> bytes:
    """Refuse to write a line the reader would refuse for its length."""
    if len(line) > MAX_LINE_BYTES + 1:
        raise ValueError(f"{what} would make a line longer than {MAX_LINE_BYTES} bytes")
    return line


def header_line(header: Header) -> bytes:
    """Return the header line; ValueError for an empty origin or a malformed key."""
    if not header.origin:
        raise ValueError("the origin must not be empty")
    for key in header.keys:
        checkpoint.VerifierKey.parse(key)
    value = {
        "type": "header",
        "format": FORMAT,
        "version": VERSION,
        "origin": header.origin,
        "keys": list(header.keys),
    }
    return _checked(orjson.dumps(value) + b"\n", "the header")


def entry_line(index: int, entry: Mapping[str, Any], leaf_hash: bytes | None = None) -> bytes:
    """Return the line of entry `index`: its leaf is `canonical_json(entry)`.

    `leaf_hash` is the hash the log's tree holds for the entry (the one it was sealed with);
    without it, the entry's own. Listing the tree's lets the verifier name an entry whose
    record was changed after it was sealed.
    """
    leaf = canonical_json(entry)
    digest = (leaf_hash or merkle.leaf_hash(leaf)).hex().encode()
    line = (ENTRY_PREFIX % index) + digest + ENTRY_MIDDLE + leaf + b"}\n"
    return _checked(line, f"entry {index}")


def checkpoint_line(note: str) -> bytes:
    line = orjson.dumps({"type": "checkpoint", "note": note}) + b"\n"
    return _checked(line, "the checkpoint")


def end_line(entries: int) -> bytes:
    return orjson.dumps({"type": "end", "entries": entries}) + b"\n"


def write_export(
    out: BinaryIO,
    header: Header,
    entries: Iterable[Mapping[str, Any] | tuple[Mapping[str, Any], bytes]],
    checkpoints: Iterable[str],
) -> int:
    """Write an export, streaming; return the number of entries written.

    `entries` are the records' canonical JSON objects in index order, each alone or with the
    leaf hash the tree holds for it (`entry_line`); `checkpoints` are
    signed notes in increasing size order (their sizes are read from them), each written
    right after the entry that completes its size. ValueError if a checkpoint is out of
    order or larger than the number of entries.
    """
    out.write(header_line(header))
    pending = iter(checkpoints)
    count = 0
    waiting: tuple[int, str] | None = None

    def next_checkpoint() -> tuple[int, str] | None:
        for note in pending:
            size = checkpoint.parse(note).size
            if size < count:
                raise ValueError(
                    f"the checkpoint of size {size} comes after entry {count - 1}: checkpoints"
                    " must come in increasing size order"
                )
            return size, note
        return None

    def flush() -> tuple[int, str] | None:
        nonlocal waiting
        while waiting is not None and waiting[0] == count:
            out.write(checkpoint_line(waiting[1]))
            waiting = next_checkpoint()
        return waiting

    waiting = next_checkpoint()
    flush()
    for given in entries:
        entry, leaf_hash = given if isinstance(given, tuple) else (given, None)
        out.write(entry_line(count, entry, leaf_hash))
        count += 1
        if waiting is not None and waiting[0] == count:
            flush()
    if waiting is not None:
        raise ValueError(f"the checkpoint of size {waiting[0]} is beyond the {count} entries")
    out.write(end_line(count))
    return count


def looks_like_entry(raw: bytes) -> bool:
    """Whether a line that failed to parse was most likely an entry line (for messages)."""
    return raw.startswith(b'{"type":"entry"') or b'"leaf_hash":"' in raw


def _json(raw: bytes, number: int) -> dict[str, Any]:
    try:
        text = raw.decode()
    except UnicodeDecodeError as exc:
        raise ExportFormatError(number, f"not UTF-8 (byte {exc.start + 1} of the line)") from None
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise ExportFormatError(
            number, f"not valid JSON ({exc.msg} at character {exc.pos + 1} of the line)"
        ) from None
    if not isinstance(value, dict):
        raise ExportFormatError(number, "not a JSON object")
    return value


def _fields(value: dict[str, Any], number: int, kind: str, names: Sequence[str]) -> None:
    if list(value) != list(names):
        raise ExportFormatError(
            number,
            f"a line of type {kind!r} holds the fields {', '.join(names)} in that order,"
            f" not {', '.join(map(str, value))}",
        )


def _natural(value: object) -> bool:
    return type(value) is int and value >= 0


def parse_line(raw: bytes, number: int) -> Item:
    """Read line `number` (without its newline); ExportFormatError names what is wrong.

    Strict to the byte: the line must be exactly what the writer writes for the values it
    holds. For an entry line, ExportFormatError if it is not; that the leaf hash matches the
    leaf is for the verifier to check.
    """
    value = _json(raw, number)
    kind = value.get("type")
    item: Item
    if kind == "entry":
        _fields(value, number, "entry", ("type", "index", "leaf_hash", "entry"))
        index, listed, content = value["index"], value["leaf_hash"], value["entry"]
        if not _natural(index):
            raise ExportFormatError(number, "the entry index is not a whole number >= 0")
        if not isinstance(listed, str) or not _HEX.fullmatch(listed.encode()):
            raise ExportFormatError(number, "the leaf hash is not 64 lowercase hex digits")
        if not isinstance(content, dict):
            raise ExportFormatError(number, "the entry is not a JSON object")
        try:
            leaf = canonical_json(content)
        except orjson.JSONEncodeError as exc:
            raise ExportFormatError(number, f"the entry cannot be canonical JSON ({exc})") from None
        head = (ENTRY_PREFIX % index) + listed.encode() + ENTRY_MIDDLE
        if raw.startswith(head) and raw.endswith(b"}") and raw != head + leaf + b"}":
            raise ExportFormatError(
                number, "the entry is not written as canonical JSON (sorted keys, no spaces)"
            )
        item = Entry(index, listed, leaf)
        expected = head + leaf + b"}"
    elif kind == "checkpoint":
        _fields(value, number, "checkpoint", ("type", "note"))
        if not isinstance(value["note"], str):
            raise ExportFormatError(number, "the checkpoint note is not a string")
        item = CheckpointLine(value["note"])
        expected = checkpoint_line(item.note)[:-1]
    elif kind == "end":
        _fields(value, number, "end", ("type", "entries"))
        if not _natural(value["entries"]):
            raise ExportFormatError(number, "the entry count is not a whole number >= 0")
        item = End(value["entries"])
        expected = end_line(item.entries)[:-1]
    elif kind == "header":
        _fields(value, number, "header", ("type", "format", "version", "origin", "keys"))
        if value["format"] != FORMAT:
            raise ExportFormatError(number, f"the format is not {FORMAT!r}")
        if value["version"] != VERSION or type(value["version"]) is not int:
            raise ExportFormatError(number, f"format version {value['version']!r} is not {VERSION}")
        origin, keys = value["origin"], value["keys"]
        if not isinstance(origin, str) or not origin:
            raise ExportFormatError(number, "the origin is not a non-empty string")
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise ExportFormatError(number, "the keys are not a list of strings")
        for key in keys:
            try:
                checkpoint.VerifierKey.parse(key)
            except checkpoint.CheckpointError as exc:
                raise ExportFormatError(
                    number, f"the header lists a malformed key: {exc}"
                ) from None
        item = Header(origin, tuple(keys))
        expected = header_line(item)[:-1]
    else:
        raise ExportFormatError(number, f"unknown line type {str(kind)[:40]!r}")
    if raw != expected:
        raise ExportFormatError(number, "not laid out exactly as the export format writes it")
    return item


def raw_lines(stream: BinaryIO) -> Iterator[bytes]:
    """Yield the lines of `stream` without their newlines, at most MAX_LINE_BYTES each.

    ExportFormatError for a longer line, or a last line without its newline (a file cut
    short).
    """
    readline = stream.readline
    number = 0
    while raw := readline(MAX_LINE_BYTES + 1):
        number += 1
        if raw[-1:] != b"\n":
            if len(raw) > MAX_LINE_BYTES:
                raise ExportFormatError(number, f"longer than {MAX_LINE_BYTES} bytes")
            raise ExportFormatError(number, "no newline at its end: the file was cut short")
        yield raw[:-1]


def read_export(stream: BinaryIO) -> Iterator[Item]:
    """Yield the items of an export, parsed strictly (ExportFormatError at the first fault).

    The order of lines, entry indexes, hashes and signatures are not checked here: that is
    `gateway.audit.verify.verify_export`.
    """
    for number, raw in enumerate(raw_lines(stream), 1):
        yield parse_line(raw, number)
