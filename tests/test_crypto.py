"""Sealing: bytes sealed before the switch to OpenSSL's AES-GCM still open, and the other way.

Until issue 14, pycryptodome sealed the outbox's bodies and the destinations' credentials;
rows it sealed are in databases today. Both write AES-256-GCM as nonce | tag | ciphertext.
"""

from __future__ import annotations

import base64

import pytest
from Crypto.Cipher import AES

from gateway.crypto import AesGcmSealer, Keyring, derive_key, key_id
from gateway.errors import SealError

KEY = derive_key(b"m" * 32, "seal-outbox-bodies")
EXCHANGE = b"6f1c2a9e-3b7d-4c55-9a0e-2d8b4f6e1a37"


def sealed_as_before(plaintext: bytes, associated: bytes) -> bytes:
    """What gateway/crypto.py wrote with pycryptodome, as it wrote it."""
    cipher = AES.new(KEY, AES.MODE_GCM, nonce=b"\x07" * 12)
    cipher.update(associated)
    text, tag = cipher.encrypt_and_digest(plaintext)
    return b"\x07" * 12 + tag + text


def open_as_before(sealed: bytes, associated: bytes) -> bytes:
    cipher = AES.new(KEY, AES.MODE_GCM, nonce=sealed[:12])
    cipher.update(associated)
    return cipher.decrypt_and_verify(sealed[28:], sealed[12:28])


def test_a_body_sealed_before_opens_and_one_sealed_now_opens_as_before() -> None:
    keyring = Keyring({key_id(KEY): KEY}, key_id(KEY))
    body = b'{"individuals": []}' * 50

    assert keyring.open(key_id(KEY), sealed_as_before(body, EXCHANGE), EXCHANGE) == body
    _, sealed = keyring.seal(body, EXCHANGE)
    assert open_as_before(sealed, EXCHANGE) == body


def test_a_credential_sealed_before_opens() -> None:
    old = base64.b64encode(sealed_as_before(b"outbound-token", b"")).decode()
    assert AesGcmSealer(KEY).open(old) == "outbound-token"


@pytest.mark.parametrize("cut", [0, 5, 12, 27, 28])
def test_altered_moved_or_cut_bytes_never_open(cut: int) -> None:
    keyring = Keyring({key_id(KEY): KEY}, key_id(KEY))
    _, sealed = keyring.seal(b"body", EXCHANGE)
    flipped = sealed[:-1] + bytes([sealed[-1] ^ 1])
    for broken, associated in (
        (flipped, EXCHANGE),
        (sealed, b"another-exchange"),
        (sealed[:cut], EXCHANGE),
    ):
        with pytest.raises(SealError):
            keyring.open(key_id(KEY), broken, associated)
