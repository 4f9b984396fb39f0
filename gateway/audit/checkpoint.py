"""Signed checkpoints: C2SP tlog-checkpoint bodies in C2SP signed notes, signed with Ed25519.

Why these formats: a data protection officer should be able to check the log's signed tree
heads with tools that owe nothing to us. A checkpoint is the text

    <origin>\\n<tree size, decimal>\\n<base64 root hash>\\n[extension lines]

(c2sp.org/tlog-checkpoint), signed as a note (c2sp.org/signed-note): the text, a blank line,
then one line per signature, "— <key name> <base64(4-byte key id || 64-byte signature)>".
The key id of an Ed25519 key is SHA-256(key name || 0x0A || 0x01 || public key)[:4], and a
verifier key is written "<name>+<8 hex key id>+<base64(0x01 || public key)>", as Go's
golang.org/x/mod/sumdb/note writes and reads them; the tests check Go's published vector.

Key rotation needs nothing special: a verifier ignores signatures by keys it does not know,
so a checkpoint signed by an older key still verifies with that key's verifier key, and a
checkpoint signed by both the old and the new key verifies with either. A signature by a key
the verifier does know must verify, or the whole note is rejected.

The log's key name is its origin (the spec says it SHOULD be), e.g.
"exchange-gateway.example/log": `signer_for` derives the key of each generation from the
gateway's master secret, named so.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from Crypto.PublicKey.ECC import EccKey
from Crypto.Signature import eddsa

from gateway.crypto import derive_key

MAX_NOTE_BYTES = 1 << 20
"""A note longer than this (1 MiB) is refused before it is read further."""
MAX_SIGNATURES = 100
"""Go's limit; the spec asks verifiers to accept at least 16."""
ED25519 = 0x01
"""The signature type byte of Ed25519 in the signed-note spec."""
MAX_TREE_SIZE = (1 << 63) - 1

_DASH = "\u2014 "
_SIZE = re.compile(r"0|[1-9][0-9]*")
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")
_HEX_ID = re.compile(r"[0-9a-f]{8}")


class CheckpointError(ValueError):
    """A note, checkpoint or key that is malformed: the message says what and on which line."""


class SignatureError(CheckpointError):
    """A well-formed note whose signatures do not make it trustworthy with the keys given."""


def valid_key_name(name: str) -> bool:
    """Non-empty, no Unicode space, no "+" (the spec's rule, and Go's isValidName)."""
    return bool(name) and "+" not in name and not any(c.isspace() for c in name)


def key_id(name: str, public_key: bytes) -> bytes:
    """Return the 4-byte key id of an Ed25519 key: SHA-256(name || 0x0A || 0x01 || key)[:4]."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([ED25519]) + public_key).digest()[:4]


def _b64decode(text: str) -> bytes | None:
    """Decode standard base64, or return None unless `text` is exactly its canonical form.

    Canonical only (no stray characters, zero padding bits): one string per value, so a
    changed character can never leave a value unchanged.
    """
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if base64.b64encode(raw).decode() == text else None


@functools.lru_cache(maxsize=64)
def _ed25519(public_key: bytes) -> eddsa.EdDSASigScheme:
    return eddsa.new(eddsa.import_public_key(public_key), "rfc8032")


@dataclass(frozen=True)
class VerifierKey:
    """A public key that checkpoints are checked with: name, key id and Ed25519 key."""

    name: str
    key_id: bytes
    public_key: bytes

    @classmethod
    def of(cls, name: str, public_key: bytes) -> VerifierKey:
        """Make the verifier key of an Ed25519 public key named `name`."""
        if not valid_key_name(name):
            raise CheckpointError(f"key name {name!r} is empty or holds a space or a '+'")
        if len(public_key) != 32:
            raise CheckpointError(f"an Ed25519 public key has 32 bytes, not {len(public_key)}")
        return cls(name, key_id(name, public_key), public_key)

    @classmethod
    def parse(cls, text: str) -> VerifierKey:
        """Read "<name>+<8 hex key id>+<base64(0x01 || 32-byte public key)>", strictly."""
        shown = text if len(text) <= 200 else text[:200] + "..."
        parts = text.split("+", 2)
        if len(parts) != 3:
            raise CheckpointError(
                f"verifier key {shown!r} is not <name>+<8 hex key id>+<base64 key>"
            )
        name, hex_id, encoded = parts
        if not valid_key_name(name):
            raise CheckpointError(f"verifier key {shown!r}: the name is empty or holds a space")
        if not _HEX_ID.fullmatch(hex_id):
            raise CheckpointError(
                f"verifier key {shown!r}: the key id must be 8 lowercase hex digits"
            )
        raw = _b64decode(encoded)
        if raw is None or not raw:
            raise CheckpointError(f"verifier key {shown!r}: the key is not canonical base64")
        if raw[0] != ED25519:
            raise CheckpointError(
                f"verifier key {shown!r}: signature type 0x{raw[0]:02x} is not Ed25519 (0x01)"
            )
        if len(raw) != 33:
            raise CheckpointError(
                f"verifier key {shown!r}: an Ed25519 key has 32 bytes, not {len(raw) - 1}"
            )
        if key_id(name, raw[1:]).hex() != hex_id:
            raise CheckpointError(
                f"verifier key {shown!r}: the key id does not match the name and key"
                " (a character was changed, or the key belongs to another name)"
            )
        try:
            _ed25519(raw[1:])
        except ValueError:
            raise CheckpointError(f"verifier key {shown!r}: not a point of Ed25519") from None
        return cls(name, bytes.fromhex(hex_id), raw[1:])

    def __str__(self) -> str:
        encoded = base64.b64encode(bytes([ED25519]) + self.public_key).decode()
        return f"{self.name}+{self.key_id.hex()}+{encoded}"

    @property
    def label(self) -> str:
        """Name and key id, "<name>+<hex id>": how messages name a key."""
        return f"{self.name}+{self.key_id.hex()}"

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Report whether `signature` is this key's Ed25519 signature of `message`."""
        try:
            _ed25519(self.public_key).verify(message, signature)
        except ValueError:
            return False
        return True


def read_keys(text: str) -> list[VerifierKey]:
    """Read verifier keys, one a line; blank lines and lines starting with "#" are skipped.

    The format of a key file a data protection officer keeps (every key the log ever used).
    """
    keys = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            keys.append(VerifierKey.parse(line))
        except CheckpointError as exc:
            raise CheckpointError(f"line {number}: {exc}") from None
    return keys


class Signer:
    """An Ed25519 note signer: a 32-byte seed (RFC 8032 private key) and a key name."""

    def __init__(self, seed: bytes, name: str) -> None:
        if len(seed) != 32:
            raise ValueError(f"an Ed25519 seed has 32 bytes, not {len(seed)}")
        if not valid_key_name(name):
            raise ValueError(f"key name {name!r} is empty or holds a space or a '+'")
        key: EccKey = eddsa.import_private_key(seed)
        self._scheme = eddsa.new(key, "rfc8032")
        public_key = key.public_key().export_key(format="raw")
        assert isinstance(public_key, bytes)
        self.verifier_key = VerifierKey.of(name, public_key)

    @property
    def name(self) -> str:
        return self.verifier_key.name

    @property
    def key_id(self) -> bytes:
        return self.verifier_key.key_id

    def signature(self, message: bytes) -> bytes:
        """Return the 64-byte Ed25519 signature of `message`."""
        signature = self._scheme.sign(message)
        assert isinstance(signature, bytes)
        return signature

    def sign(self, checkpoint: Checkpoint) -> str:
        """Return `checkpoint` as a note signed by this key alone."""
        return sign_note(checkpoint.body(), [self])

    def __repr__(self) -> str:  # never the seed
        return f"Signer({self.verifier_key.label})"


def signer_for(master: bytes, generation: int, origin: str) -> Signer:
    """Return the log's checkpoint signer of key `generation`, named after the log's origin.

    The seed is `derive_key(master, "sign-log-checkpoints/<generation>")`: nothing to store,
    and a rotation is a new generation number. Keep publishing the verifier keys of every
    earlier generation: checkpoints they signed verify with them alone.
    """
    if isinstance(generation, bool) or not isinstance(generation, int) or generation < 0:
        raise ValueError(f"the key generation must be a whole number >= 0, got {generation!r}")
    return Signer(derive_key(master, f"sign-log-checkpoints/{generation}"), origin)


@dataclass(frozen=True)
class Signature:
    """One signature line of a note, not yet verified."""

    name: str
    key_id: bytes
    signature: bytes
    """What the key's algorithm produced (the key id removed)."""
    line: int
    """Its line number in the note, counted from 1."""

    @property
    def label(self) -> str:
        return f"{self.name}+{self.key_id.hex()}"


@dataclass(frozen=True)
class Note:
    """A parsed signed note: the signed text (ending in a newline) and its signature lines."""

    text: str
    signatures: tuple[Signature, ...]


def sign_note(text: str, signers: Sequence[Signer]) -> str:
    """Sign `text` (which must end in a newline) with each signer, in order."""
    if not text.endswith("\n"):
        raise ValueError("the text of a note must end in a newline")
    if _CONTROL.search(text):
        raise ValueError("the text of a note must hold no control character but the newline")
    if not 0 < len(signers) <= MAX_SIGNATURES:
        raise ValueError(f"a note needs 1 to {MAX_SIGNATURES} signers")
    message = text.encode()
    lines = [
        f"{_DASH}{s.name} {base64.b64encode(s.key_id + s.signature(message)).decode()}\n"
        for s in signers
    ]
    note = text + "\n" + "".join(lines)
    if len(note.encode()) > MAX_NOTE_BYTES:
        raise ValueError(f"the signed note would be larger than {MAX_NOTE_BYTES} bytes")
    return note


def _decode(note: str | bytes) -> str:
    if len(note) > MAX_NOTE_BYTES:
        raise CheckpointError(f"the note is larger than {MAX_NOTE_BYTES} bytes")
    if isinstance(note, str):
        try:
            size = len(note.encode())
        except UnicodeEncodeError as exc:
            line = note.count("\n", 0, exc.start) + 1
            raise CheckpointError(f"line {line}: the note holds a lone surrogate") from None
        if size > MAX_NOTE_BYTES:
            raise CheckpointError(f"the note is larger than {MAX_NOTE_BYTES} bytes")
        return note
    try:
        return note.decode()
    except UnicodeDecodeError as exc:
        line = note.count(b"\n", 0, exc.start) + 1
        raise CheckpointError(f"line {line}: the note is not UTF-8 (byte {exc.start})") from None


def parse_note(note: str | bytes) -> Note:
    """Split a signed note into its text and signature lines, checking the syntax only."""
    text = _decode(note)
    control = _CONTROL.search(text)
    if control:
        at = text.count("\n", 0, control.start()) + 1
        raise CheckpointError(
            f"line {at}: control character U+{ord(control.group()):04X}"
            " (a note holds none but the newline)"
        )
    split = text.rfind("\n\n")
    if split < 0:
        raise CheckpointError("no blank line separates the text from the signatures")
    body, block = text[: split + 1], text[split + 2 :]
    first = body.count("\n") + 2  # the line number of the first signature line
    if not block:
        raise CheckpointError(f"line {first}: no signature line after the blank line")
    if not block.endswith("\n"):
        last = first + block.count("\n")
        raise CheckpointError(f"line {last}: the last signature line does not end in a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise CheckpointError(f"more than {MAX_SIGNATURES} signature lines")
    signatures = []
    for number, line in enumerate(lines, first):
        if not line.startswith(_DASH):
            raise CheckpointError(
                f"line {number}: a signature line starts with an em dash (U+2014) and a space"
            )
        name, _, encoded = line[len(_DASH) :].partition(" ")
        if not valid_key_name(name):
            raise CheckpointError(f"line {number}: the key name is empty or holds a '+'")
        raw = _b64decode(encoded)
        if raw is None:
            raise CheckpointError(f"line {number}: the signature is not canonical base64")
        if len(raw) < 5:
            raise CheckpointError(f"line {number}: the signature is too short to hold a key id")
        signatures.append(Signature(name, raw[:4], raw[4:], number))
    return Note(body, tuple(signatures))


def _known(keys: Iterable[VerifierKey]) -> dict[tuple[str, bytes], VerifierKey]:
    known: dict[tuple[str, bytes], VerifierKey] = {}
    for key in keys:
        seen = known.setdefault((key.name, key.key_id), key)
        if seen.public_key != key.public_key:
            raise CheckpointError(
                f"two of the keys given share the name and key id {key.label}: drop one"
            )
    return known


def distinct_keys(keys: Iterable[VerifierKey]) -> list[VerifierKey]:
    """Return the keys without repeats; CheckpointError if two share name and key id.

    Two keys with the same name and id but different public keys cannot both be trusted:
    a signature line names its key by name and id alone (Go calls this an ambiguous key).
    """
    return list(_known(keys).values())


def verify_note(
    note: str | bytes, keys: Iterable[VerifierKey]
) -> tuple[Note, tuple[VerifierKey, ...]]:
    """Parse a note and check its signatures; return it and the keys that signed it.

    Signatures by keys not given are ignored; one by a key given must verify, or
    SignatureError; at least one must be by a key given, or SignatureError.
    """
    parsed = parse_note(note)
    return parsed, _verify(parsed, keys)


def _verify(parsed: Note, keys: Iterable[VerifierKey]) -> tuple[VerifierKey, ...]:
    known = _known(keys)
    message = parsed.text.encode()
    signed: list[VerifierKey] = []
    for sig in parsed.signatures:
        key = known.get((sig.name, sig.key_id))
        if key is None:
            continue
        if not key.verify(message, sig.signature):
            raise SignatureError(
                f"line {sig.line}: the signature by key {sig.label} does not verify:"
                " the note was altered or the signature forged"
            )
        if key not in signed:
            signed.append(key)
    if not signed:
        by = ", ".join(s.label for s in parsed.signatures)
        given = ", ".join(k.label for k in known.values()) or "none"
        raise SignatureError(f"no signature by a key given: signed by {by}; keys given: {given}")
    return tuple(signed)


@dataclass(frozen=True)
class Checkpoint:
    """A log's tree head: origin, size and root hash (plus opaque extension lines, if any)."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.origin or "\n" in self.origin or _CONTROL.search(self.origin):
            raise CheckpointError("the origin must be one non-empty line")
        if isinstance(self.size, bool) or not 0 <= self.size <= MAX_TREE_SIZE:
            raise CheckpointError(f"tree size {self.size!r} is not in 0 to 2^63-1")
        if len(self.root) != 32:
            raise CheckpointError(f"a root hash has 32 bytes, not {len(self.root)}")
        for ext in self.extensions:
            if not ext or "\n" in ext or _CONTROL.search(ext):
                raise CheckpointError("an extension line must be one non-empty line")

    def body(self) -> str:
        """Return the note text: origin, size, base64 root, extensions, one a line."""
        root = base64.b64encode(self.root).decode()
        return "".join(
            f"{line}\n" for line in (self.origin, str(self.size), root, *self.extensions)
        )


@dataclass(frozen=True)
class SignedCheckpoint:
    """A checkpoint read from a note, its signature lines, and which keys verified it."""

    checkpoint: Checkpoint
    signatures: tuple[Signature, ...]
    verified_by: tuple[VerifierKey, ...]
    """Empty when only parsed (`parse`); the keys whose signatures held (`verify`)."""

    @property
    def origin(self) -> str:
        return self.checkpoint.origin

    @property
    def size(self) -> int:
        return self.checkpoint.size

    @property
    def root(self) -> bytes:
        return self.checkpoint.root


def _checkpoint(text: str) -> Checkpoint:
    lines = text[:-1].split("\n")
    names = ("the origin", "the tree size", "the root hash")
    if len(lines) < 3:
        raise CheckpointError(f"line {len(lines) + 1}: {names[len(lines)]} is missing")
    origin, size, root, *extensions = lines
    if not origin:
        raise CheckpointError("line 1: the origin is empty")
    if not _SIZE.fullmatch(size) or len(size) > 19 or int(size) > MAX_TREE_SIZE:
        raise CheckpointError(
            f"line 2: the tree size {size[:40]!r} is not a decimal number without leading"
            " zeros, below 2^63"
        )
    raw = _b64decode(root)
    if raw is None:
        raise CheckpointError("line 3: the root hash is not canonical base64")
    if len(raw) != 32:
        raise CheckpointError(f"line 3: the root hash has {len(raw)} bytes, not 32")
    for number, ext in enumerate(extensions, 4):
        if not ext:
            raise CheckpointError(f"line {number}: an extension line is empty")
    return Checkpoint(origin, int(size), raw, tuple(extensions))


def sign(checkpoint: Checkpoint, *signers: Signer) -> str:
    """Return `checkpoint` as a note signed by each signer, in order (old and new key, say)."""
    return sign_note(checkpoint.body(), signers)


def parse(text: str | bytes) -> SignedCheckpoint:
    """Read a signed checkpoint without checking its signatures (CheckpointError if malformed)."""
    note = parse_note(text)
    return SignedCheckpoint(_checkpoint(note.text), note.signatures, ())


def verify(text: str | bytes, keys: Iterable[VerifierKey]) -> SignedCheckpoint:
    """Read a signed checkpoint and check it is signed by at least one of `keys`.

    CheckpointError if it is malformed; SignatureError (a CheckpointError) if a signature by
    one of `keys` does not verify or none of `keys` signed it.
    """
    note = parse_note(text)
    checkpoint = _checkpoint(note.text)
    return SignedCheckpoint(checkpoint, note.signatures, _verify(note, keys))
