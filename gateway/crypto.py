"""Keys, pseudonyms and sealing, behind small seams.

Pseudonyms are keyed hashes (HMAC-SHA256) so the audit log can link exchanges about the same
person without holding who they are, and nobody without the key can test a guess. Outbound
credentials are sealed with AES-GCM so a copy of the database does not hand out the keys to
the destination systems. Message bodies waiting in the outbox are sealed by a `Keyring`, so a
copy of the database (or of a dead row PostgreSQL has not yet vacuumed) holds no payload.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Mapping, Sequence
from typing import Protocol

from Crypto.Hash import SHA256
from Crypto.Protocol.KDF import HKDF
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gateway.errors import SealError, UnknownKeyError

_NONCE, _TAG = 12, 16


def derive_key(master: bytes, purpose: str) -> bytes:
    """Derive a 32-byte key for one purpose, so one secret never serves two uses."""
    key = HKDF(master, 32, salt=b"exchange-gateway", hashmod=SHA256, context=purpose.encode())
    assert isinstance(key, bytes)
    return key


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Pseudonymiser:
    """Turn an identifier into a stable keyed pseudonym."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def pseudonym(self, scheme: str, value: str) -> str:
        digest = hmac.new(self._key, f"{scheme}\x1f{value}".encode(), hashlib.sha256)
        return "ps_" + digest.hexdigest()[:32]


class Sealer(Protocol):
    """Encrypt and decrypt small secrets at rest."""

    def seal(self, plaintext: str) -> str: ...

    def open(self, sealed: str) -> str: ...


def _seal(key: AESGCM, plaintext: bytes, associated: bytes) -> bytes:
    """AES-256-GCM under a random nonce, the associated data authenticated: nonce | tag | text.

    Why `cryptography`'s AESGCM (OpenSSL) and not pycryptodome's, which sealed before with
    the same bytes: it took 120 µs a body against a few, a fifth of a delivery's time and a
    sixth of a bulk import's.
    """
    nonce = secrets.token_bytes(_NONCE)
    text_and_tag = key.encrypt(nonce, plaintext, associated)
    return nonce + text_and_tag[-_TAG:] + text_and_tag[:-_TAG]


def _open(key: AESGCM, sealed: bytes, associated: bytes) -> bytes:
    """Open what `_seal` made; raise SealError if it does not verify."""
    nonce, tag, text = sealed[:_NONCE], sealed[_NONCE : _NONCE + _TAG], sealed[_NONCE + _TAG :]
    try:
        return key.decrypt(nonce, text + tag, associated)
    except (InvalidTag, ValueError) as exc:  # ValueError: a nonce cut short
        raise SealError("sealed data does not verify (altered, or not this row's)") from exc


class AesGcmSealer:
    """AES-256-GCM with a random nonce; the output is base64(nonce | tag | ciphertext)."""

    def __init__(self, key: bytes) -> None:
        self._key = AESGCM(key)

    def seal(self, plaintext: str) -> str:
        return base64.b64encode(_seal(self._key, plaintext.encode(), b"")).decode()

    def open(self, sealed: str) -> str:
        """Open a sealed secret; raise SealError if it is not one this key sealed."""
        try:
            raw = base64.b64decode(sealed, validate=True)
        except ValueError as exc:
            raise SealError("sealed data is not base64") from exc
        return _open(self._key, raw, b"").decode()


class BodySealer(Protocol):
    """Seal bytes bound to associated data; the key id is stored beside what was sealed.

    Why a key id: keys are rotated. Rows sealed under an older key still open, and a rotation
    re-seals them under the current one; the id names which key to open a row with.
    """

    @property
    def current_id(self) -> str: ...

    def seal(self, plaintext: bytes, associated: bytes) -> tuple[str, bytes]: ...

    def open(self, key_id: str, sealed: bytes, associated: bytes) -> bytes: ...


class Keyring:
    """AES-256-GCM under named keys: seal with the current one, open with any one held.

    Sealed bytes are nonce | tag | ciphertext. The associated data (for the outbox, the
    exchange id) is authenticated, not stored: a body copied into another row fails to open.
    """

    def __init__(self, keys: Mapping[str, bytes], current: str) -> None:
        if current not in keys:
            raise ValueError("the current key id is not in the keyring")
        self._keys = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self._current = current

    @classmethod
    def derive(cls, masters: Sequence[bytes], purpose: str) -> Keyring:
        """Derive one key per master secret for `purpose`; the first one seals."""
        keys = [derive_key(master, purpose) for master in masters]
        return cls({key_id(key): key for key in keys}, key_id(keys[0]))

    @property
    def current_id(self) -> str:
        return self._current

    def seal(self, plaintext: bytes, associated: bytes) -> tuple[str, bytes]:
        """Seal under the current key; return its id and the sealed bytes."""
        return self._current, _seal(self._keys[self._current], plaintext, associated)

    def open(self, key_id: str, sealed: bytes, associated: bytes) -> bytes:
        """Open bytes sealed under `key_id`; raise SealError if they do not verify."""
        key = self._keys.get(key_id)
        if key is None:
            raise UnknownKeyError(f"sealed under key id {key_id!r}, which this keyring lacks")
        return _open(key, sealed, associated)


def key_id(key: bytes) -> str:
    """Name a key without revealing it: a keyed hash of a fixed label, 16 hex digits."""
    return hmac.new(key, b"key-id", hashlib.sha256).hexdigest()[:16]


def hash_credential(token: str) -> str:
    """Hash a system credential for storage.

    Credentials are 256-bit random tokens made by the gateway, so a plain SHA-256 resists
    guessing as well as a slow hash would, and keeps authentication off the hot path's clock.
    """
    return sha256_hex(token.encode())
