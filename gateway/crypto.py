"""Keys, pseudonyms and sealing, behind small seams.

Pseudonyms are keyed hashes (HMAC-SHA256) so the audit log can link exchanges about the same
person without holding who they are, and nobody without the key can test a guess. Outbound
credentials are sealed with AES-GCM so a copy of the database does not hand out the keys to
the destination systems.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any, Protocol

import orjson
from Crypto.Cipher import AES
from Crypto.Hash import SHA256
from Crypto.Protocol.KDF import HKDF
from Crypto.Random import get_random_bytes


def derive_key(master: bytes, purpose: str) -> bytes:
    """Derive a 32-byte key for one purpose, so one secret never serves two uses."""
    key = HKDF(master, 32, salt=b"exchange-gateway", hashmod=SHA256, context=purpose.encode())
    assert isinstance(key, bytes)
    return key


def canonical_json(value: Any) -> bytes:
    """Encode for hashing, signing or sending: sorted keys, no whitespace, UTF-8.

    The bytes are those of `json.dumps(value, sort_keys=True, separators=(",", ":"),
    ensure_ascii=False).encode()`, written by orjson in a tenth of the time, for data of
    strings (keys too), integers within 64 bits, booleans, None, lists and dicts: what
    records, bundles and canonical dumps hold (tests/adapters/test_jsonbody.py proves it). A
    float would be spelled otherwise (1e-7, not 1e-07), though the same way every time.
    """
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


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


class AesGcmSealer:
    """AES-256-GCM with a random nonce; the output is base64(nonce | tag | ciphertext)."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def seal(self, plaintext: str) -> str:
        nonce = get_random_bytes(12)
        cipher = AES.new(self._key, AES.MODE_GCM, nonce=nonce)
        ciphertext, tag = cipher.encrypt_and_digest(plaintext.encode())
        return base64.b64encode(nonce + tag + ciphertext).decode()

    def open(self, sealed: str) -> str:
        raw = base64.b64decode(sealed)
        cipher = AES.new(self._key, AES.MODE_GCM, nonce=raw[:12])
        return cipher.decrypt_and_verify(raw[28:], raw[12:28]).decode()


def hash_credential(token: str) -> str:
    """Hash a system credential for storage.

    Credentials are 256-bit random tokens made by the gateway, so a plain SHA-256 resists
    guessing as well as a slow hash would, and keeps authentication off the hot path's clock.
    """
    return sha256_hex(token.encode())
