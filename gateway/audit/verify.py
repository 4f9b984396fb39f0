"""The offline verifier: is this export exactly the log its signed checkpoints vouch for?

Why it exists: a data protection officer should not have to trust the gateway, its database
or its operators to know that the exchange log was not edited. Given an export
(gateway/audit/export.py), the log's public keys (obtained by other means: a key listed in
the file itself proves nothing) and, optionally, a checkpoint saved from an earlier download,
`verify_export` streams the file once with O(log n) memory and checks that

- every line is exactly in the export format (any changed byte shows);
- entries run 0, 1, 2, ... (none missing, repeated or moved);
- every entry's bytes hash to its listed leaf hash (naming the entry if not);
- every checkpoint is signed by one of the keys given (signatures by other keys are
  ignored; one by a given key must verify), is for the file's origin, stands right after the
  entry that completes its size, and has the root of the entries before it (naming the
  entries since the last checkpoint that matched if not);
- the file ends with its end line, whose count is the number of entries, and the last
  checkpoint covers every entry (a file cut short, or entries added after the last
  signature, show);
- the saved checkpoint, if any, has the root the export's tree has at its size (a log
  rewritten or forked since, or cut below that size, shows).

It stops at the first problem and says where, in a sentence. Each entry's bytes are checked
byte for byte against the signed tree: that is the whole of integrity. Parsing each entry as
JSON as well (`parse_entries`) tells whether the log's own records are well formed, at about
half the speed.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

import orjson

from gateway.audit import checkpoint, export, merkle
from gateway.audit.checkpoint import CheckpointError, SignatureError, VerifierKey
from gateway.canonical.json import canonical_json


@dataclass(frozen=True)
class Problem:
    """The first problem found: a sentence, the line, and the entries it concerns."""

    message: str
    line: int | None = None
    index: int | None = None
    """The entry the problem is in, or the first of the entries it may be in."""
    last: int | None = None
    """The last of the entries it may be in, when it names a range."""

    def where(self) -> str:
        parts = []
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.index is not None:
            if self.last is not None and self.last != self.index:
                parts.append(f"entries {self.index} to {self.last}")
            else:
                parts.append(f"entry {self.index}")
        return ", ".join(parts)


@dataclass(frozen=True)
class Verdict:
    """What `verify_export` found; `lines()` says it to a person."""

    problem: Problem | None
    origin: str | None = None
    entries: int = 0
    """Entry lines read and checked (up to the problem, if any)."""
    checkpoints: int = 0
    """Checkpoints whose signature and root held."""
    tree_size: int = 0
    """The size of the last checkpoint that held: what the signatures vouch for."""
    root: bytes | None = None
    """The root of the last checkpoint that held."""
    signed_by: tuple[str, ...] = ()
    """The keys given that signed at least one checkpoint ("<name>+<hex id>")."""
    saved_size: int | None = None
    """The size of the saved checkpoint given, if any."""
    header_keys: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return self.problem is None

    def lines(self) -> list[str]:
        """Say the verdict in a few lines of plain text, the first the answer."""
        root = base64.b64encode(self.root).decode() if self.root is not None else "none"
        if self.problem is None:
            out = [
                "OK: the export is exactly the log its signed checkpoints vouch for.",
                f"log: {self.origin}",
                f"entries: {self.entries} (0 to {self.entries - 1}), every leaf hash recomputed"
                if self.entries
                else "entries: none",
                f"checkpoints: {self.checkpoints} verified, the last at tree size {self.tree_size}",
                f"root: {root} (base64, as checkpoints write it)",
            ]
        else:
            where = self.problem.where()
            verified = (
                f"{_count(self.checkpoints, 'checkpoint')} verified (the last at tree size"
                f" {self.tree_size}, root {root})"
                if self.checkpoints
                else "no checkpoint verified"
            )
            out = [
                f"FAILED: {where + ': ' if where else ''}{self.problem.message}",
                f"before it: {_count(self.entries, 'entry', 'entries')} read, {verified}",
            ]
        if self.signed_by:
            out.append(f"signed by: {', '.join(self.signed_by)}")
        if self.saved_size is not None and self.problem is None:
            out.append(
                f"saved checkpoint: the export has its root at tree size {self.saved_size}:"
                " nothing up to it was rewritten"
            )
        listed = _count(len(self.header_keys), "key")
        out.append(
            f"keys: only the keys you gave were trusted, not the {listed} the export's header"
            " lists (a file cannot vouch for itself)"
        )
        return out


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"


class _Stop(Exception):
    def __init__(self, problem: Problem) -> None:
        self.problem = problem


class _Verifier:
    """The state of one pass over an export; `run` returns its verdict."""

    def __init__(
        self, keys: list[VerifierKey], saved: checkpoint.SignedCheckpoint | None, parse: bool
    ) -> None:
        self.keys = keys
        self.saved = saved
        self.parse = parse
        self.line = 0
        self.count = 0
        self.stack: list[bytes] = []
        self.header: export.Header | None = None
        self.ended: int | None = None
        self.checkpoints = 0
        self.good_size = 0
        self.good_root: bytes | None = None
        self.signed_by: list[str] = []

    def verdict(self, problem: Problem | None) -> Verdict:
        return Verdict(
            problem,
            origin=None if self.header is None else self.header.origin,
            entries=self.count,
            checkpoints=self.checkpoints,
            tree_size=self.good_size,
            root=self.good_root,
            signed_by=tuple(self.signed_by),
            saved_size=None if self.saved is None else self.saved.size,
            header_keys=() if self.header is None else self.header.keys,
        )

    def run(self, stream: BinaryIO) -> Verdict:
        try:
            self.read(stream)
            self.finish()
        except _Stop as stop:
            return self.verdict(stop.problem)
        return self.verdict(None)

    def read(self, stream: BinaryIO) -> None:
        """Stream the lines: entries in the fast path below, anything else in `other`."""
        readline, limit = stream.readline, export.MAX_LINE_BYTES + 1
        first = readline(limit)
        if not first:
            raise _Stop(Problem("the export is empty"))
        self.line = 1
        self.other(first)
        sha256, hexlify, prefix_of, middle = (
            hashlib.sha256,
            binascii.hexlify,
            export.ENTRY_PREFIX,
            export.ENTRY_MIDDLE,
        )
        skip = len(middle)
        stack, index, number, parse = self.stack, self.count, self.line, self.parse
        saved_at = -1 if self.saved is None else self.saved.size
        while raw := readline(limit):
            number += 1
            prefix = prefix_of % index
            p = len(prefix)
            q = p + 64
            if raw.startswith(prefix) and raw.startswith(middle, q) and raw.endswith(b"}\n"):
                leaf = raw[q + skip : -2]
                digest = sha256(b"\x00" + leaf).digest()
                if hexlify(digest) != raw[p:q] or parse and not self.canonical(leaf):
                    self.count, self.line = index, number
                    self.altered(raw)
                n = index
                while n & 1:
                    digest = sha256(b"\x01" + stack.pop() + digest).digest()
                    n >>= 1
                stack.append(digest)
                index += 1
                if index == saved_at:
                    self.count, self.line = index, number
                    self.check_saved()
                continue
            self.count, self.line = index, number
            self.other(raw)
            if self.ended is not None:
                extra = readline(limit)
                if extra:
                    raise _Stop(Problem("a line after the end line", number + 1))
                return

    @staticmethod
    def canonical(leaf: bytes) -> bool:
        try:
            content = orjson.loads(leaf)
            return isinstance(content, dict) and canonical_json(content) == leaf
        except (orjson.JSONDecodeError, orjson.JSONEncodeError):
            return False

    def altered(self, raw: bytes) -> None:
        """Explain an entry line whose hash does not match: a format fault, or altered."""
        self.parse_line(raw)
        raise _Stop(
            Problem(
                "the entry does not hash to its listed leaf hash: the entry or its hash was"
                " altered",
                self.line,
                self.count,
            )
        )

    def parse_line(self, raw: bytes) -> export.Item:
        number = self.line
        if raw[-1:] != b"\n":
            at = self.count if export.looks_like_entry(raw) else None
            if len(raw) > export.MAX_LINE_BYTES:
                raise _Stop(Problem(f"longer than {export.MAX_LINE_BYTES} bytes", number, at))
            raise _Stop(Problem("no newline at its end: the file was cut short", number, at))
        try:
            return export.parse_line(raw[:-1], number)
        except export.ExportFormatError as exc:
            at = self.count if export.looks_like_entry(raw) else None
            raise _Stop(Problem(exc.message, number, at)) from None

    def other(self, raw: bytes) -> None:
        """Handle a line the fast path did not take: a header, checkpoint, end, or a fault."""
        item = self.parse_line(raw)
        number = self.line
        if self.ended is not None:
            raise _Stop(Problem("a line after the end line", number))
        if isinstance(item, export.Header):
            if number != 1:
                raise _Stop(Problem("a second header", number))
            self.start(item)
        elif number == 1:
            raise _Stop(Problem("the first line is not the export's header", 1))
        elif isinstance(item, export.Entry):
            raise _Stop(
                Problem(
                    f"this line holds entry {item.index} where entry {self.count} was expected:"
                    " entries are missing, repeated or out of order",
                    number,
                    self.count,
                )
            )
        elif isinstance(item, export.CheckpointLine):
            self.check(item.note)
        else:
            self.end(item)

    def start(self, header: export.Header) -> None:
        self.header = header
        if self.saved is not None:
            if self.saved.origin != header.origin:
                raise _Stop(
                    Problem(
                        f"the saved checkpoint is of the log {self.saved.origin!r}, the export"
                        f" of {header.origin!r}",
                        1,
                    )
                )
            if self.saved.size == 0:
                self.check_saved()

    def check(self, note: str) -> None:
        number, size = self.line, self.count
        assert self.header is not None
        try:
            signed = checkpoint.verify(note, self.keys)
        except SignatureError as exc:
            raise _Stop(
                Problem(f"the checkpoint does not verify: {exc}{self.hint(note)}", number)
            ) from None
        except CheckpointError as exc:
            raise _Stop(Problem(f"the checkpoint is malformed: {exc}", number)) from None
        if signed.origin != self.header.origin:
            raise _Stop(
                Problem(
                    f"the checkpoint is of the log {signed.origin!r}, the export of"
                    f" {self.header.origin!r}",
                    number,
                )
            )
        if signed.size != size:
            raise _Stop(
                Problem(
                    f"a checkpoint of tree size {signed.size} stands after entry {size - 1};"
                    f" it belongs right after entry {signed.size - 1}"
                    if size
                    else f"a checkpoint of tree size {signed.size} stands before any entry",
                    number,
                )
            )
        root = merkle.root_from_frontier(self.stack)
        if signed.root != root and self.checkpoints and size == self.good_size:
            raise _Stop(
                Problem(
                    f"two checkpoints of tree size {size} have different roots: the log signed"
                    " two different trees of the same size (a fork)",
                    number,
                )
            )
        if signed.root != root:
            first, last = self.good_size, size - 1
            raise _Stop(
                Problem(
                    f"the checkpoint of tree size {size} does not match the entries: one of"
                    f" entries {first} to {last} (since the last checkpoint that matched) was"
                    " altered, removed, added or moved, its listed leaf hash changed to match",
                    number,
                    first,
                    last,
                )
            )
        self.checkpoints += 1
        self.good_size, self.good_root = size, root
        for key in signed.verified_by:
            if key.label not in self.signed_by:
                self.signed_by.append(key.label)

    def hint(self, note: str) -> str:
        """If a checkpoint is signed by a key the header lists but the caller did not give."""
        assert self.header is not None
        try:
            labels = {s.label for s in checkpoint.parse(note).signatures}
        except CheckpointError:
            return ""
        listed = [k for k in self.header.keys if VerifierKey.parse(k).label in labels]
        if not listed:
            return ""
        return (
            f" (the export's header lists {', '.join(listed)}: if you know it to be the log's,"
            " give it as a key)"
        )

    def check_saved(self) -> None:
        assert self.saved is not None
        root = merkle.root_from_frontier(self.stack)
        if root != self.saved.root:
            size = self.saved.size
            raise _Stop(
                Problem(
                    f"the saved checkpoint of tree size {size} does not match this export: the"
                    f" log was rewritten or forked at or before entry {size - 1} since it was"
                    " saved",
                    self.line,
                    0 if size else None,
                    size - 1 if size else None,
                )
            )

    def end(self, item: export.Item) -> None:
        assert isinstance(item, export.End)
        number, count = self.line, self.count
        if item.entries != count:
            raise _Stop(
                Problem(
                    f"the end line says {item.entries} entries, but {count} came before it",
                    number,
                )
            )
        if self.checkpoints == 0:
            raise _Stop(Problem("the export holds no checkpoint: nothing vouches for it", number))
        if self.good_size != count:
            raise _Stop(
                Problem(
                    f"entries {self.good_size} to {count - 1} come after the last checkpoint:"
                    " no signature covers them",
                    number,
                    self.good_size,
                    count - 1,
                )
            )
        self.ended = item.entries

    def finish(self) -> None:
        if self.ended is None:
            raise _Stop(
                Problem(
                    f"the export stops after line {self.line} without its end line: it was cut"
                    " short",
                    self.line,
                )
            )
        if self.saved is not None and self.saved.size > self.count:
            raise _Stop(
                Problem(
                    f"the saved checkpoint is of tree size {self.saved.size}, but the export"
                    f" holds {self.count} entries: entries were removed since it was saved"
                )
            )


def load_keys(values: Iterable[str]) -> list[VerifierKey]:
    """Read the CLI's --key values: each a verifier key, or a file of them.

    A key file holds one verifier key a line; blank lines and "#" comments are skipped.
    CheckpointError, naming the value (and the line), for anything that is not a key.
    """
    keys: list[VerifierKey] = []
    for value in values:
        if "+" in value and not os.path.exists(value):
            keys.append(VerifierKey.parse(value))
            continue
        try:
            with open(value, encoding="utf-8") as file:
                found = checkpoint.read_keys(file.read(1 << 20))
        except OSError as exc:
            raise CheckpointError(f"cannot read the key file {value}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise CheckpointError(f"the key file {value} is not UTF-8 text") from None
        except CheckpointError as exc:
            raise CheckpointError(f"the key file {value}, {exc}") from None
        if not found:
            raise CheckpointError(f"the key file {value} holds no key")
        keys.extend(found)
    return keys


@contextlib.contextmanager
def _opened(source: str | os.PathLike[str] | BinaryIO) -> Iterator[BinaryIO]:
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb", buffering=1 << 20) as stream:
            yield stream
    else:
        yield source


def verify_export(
    source: str | os.PathLike[str] | BinaryIO,
    keys: Iterable[VerifierKey],
    saved_checkpoint: str | None = None,
    *,
    parse_entries: bool = False,
) -> Verdict:
    """Verify an export file (a path or a binary stream) with the log's verifier keys.

    `keys` are the only ones trusted (the header's are information). `saved_checkpoint` is
    a signed note kept from an earlier download, possibly signed by an older key (give that
    key too). Never raises for a bad file, key or checkpoint: the verdict says what is wrong.
    """
    try:
        keys = checkpoint.distinct_keys(keys)
    except CheckpointError as exc:
        return Verdict(Problem(str(exc)))
    if not keys:
        return Verdict(Problem("no verifier key was given: nothing can be verified"))
    saved = None
    if saved_checkpoint is not None:
        try:
            saved = checkpoint.verify(saved_checkpoint, keys)
        except CheckpointError as exc:
            return Verdict(Problem(f"the saved checkpoint does not verify: {exc}"))
    try:
        with _opened(source) as stream:
            return _Verifier(keys, saved, parse_entries).run(stream)
    except OSError as exc:
        return Verdict(Problem(f"cannot read {source}: {exc.strerror or exc}"))
