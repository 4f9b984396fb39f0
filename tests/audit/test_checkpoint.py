"""Signed checkpoints: Go's published signed-note vectors, the C2SP examples, rotation, faults.

The vectors are those of golang.org/x/mod/sumdb/note (note.go's package doc and
note_test.go): the PeterNeumann signer key, its verifier key and the signature Go's Sign
writes, and the EnochRoot co-signature. Ed25519 is deterministic, so a byte-identical note
here means Go's note.Open accepts ours.
"""

from __future__ import annotations

import base64
import hashlib
import re

import pytest

from gateway.audit import checkpoint
from gateway.audit.checkpoint import (
    Checkpoint,
    CheckpointError,
    SignatureError,
    Signer,
    VerifierKey,
    parse,
    sign,
    sign_note,
    signer_for,
    verify,
    verify_note,
)
from tests.audit.logs import MASTER, ORIGIN

# golang.org/x/mod/sumdb/note, note_test.go
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_SIG_B64 = (
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="
)
PETER_SIG = f"— PeterNeumann {PETER_SIG_B64}\n"
ENOCH_SIG = (
    "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnW"
    "Lox33WWd1RvMc+QQ=\n"
)

# c2sp.org/tlog-checkpoint, the example (its key is not published: parsed, not verified)
C2SP_CHECKPOINT = (
    "example.com/behind-the-sofa\n"
    "20852163\n"
    "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    "\n"
    "— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5"
    "/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
)

ROOT = hashlib.sha256(b"a root").digest()


def peter() -> Signer:
    seed = base64.b64decode(PETER_SKEY.split("+", 4)[4])
    assert seed[0] == checkpoint.ED25519
    return Signer(seed[1:], "PeterNeumann")


def test_go_signer_key_gives_go_verifier_key_and_go_signature() -> None:
    signer = peter()
    assert str(signer.verifier_key) == PETER_VKEY
    assert signer.key_id.hex() == "c74f20a3"
    assert sign_note(TEXT, [signer]) == TEXT + "\n" + PETER_SIG


def test_go_notes_verify_with_either_of_their_keys() -> None:
    peter_key, enoch_key = VerifierKey.parse(PETER_VKEY), VerifierKey.parse(ENOCH_VKEY)
    both = TEXT + "\n" + PETER_SIG + ENOCH_SIG
    note, signed = verify_note(both, [peter_key])
    assert (note.text, signed) == (TEXT, (peter_key,))
    assert verify_note(both, [enoch_key])[1] == (enoch_key,)
    assert verify_note(both, [enoch_key, peter_key])[1] == (peter_key, enoch_key)
    with pytest.raises(SignatureError, match="no signature by a key given"):
        verify_note(TEXT + "\n" + ENOCH_SIG, [peter_key])


def test_a_go_signature_with_bytes_changed_is_refused_as_go_refuses_it() -> None:
    tampered = TEXT + "\n" + PETER_SIG[:60] + "ABCD" + PETER_SIG[60:]
    with pytest.raises(SignatureError, match="line 4: the signature by key PeterNeumann"):
        verify_note(tampered, [VerifierKey.parse(PETER_VKEY)])


@pytest.mark.parametrize(
    "message",
    [
        TEXT,
        TEXT + "\n",
        TEXT + "\n" + PETER_SIG[:-1],
        "\x01" + TEXT + "\n" + PETER_SIG,
        b"\xff" + (TEXT + "\n" + PETER_SIG).encode(),
        TEXT + "\n" + f"— Bad Name {PETER_SIG_B64}",
        TEXT + "\n" + PETER_SIG + "Unexpected line.\n",
    ],
)
def test_go_malformed_notes_are_malformed_here(message: str | bytes) -> None:
    with pytest.raises(CheckpointError) as raised:
        verify_note(message, [VerifierKey.parse(PETER_VKEY)])
    assert not isinstance(raised.value, SignatureError)
    assert "line" in str(raised.value) or "blank line" in str(raised.value)


def test_every_mangling_of_a_go_verifier_key_is_refused() -> None:
    b = PETER_VKEY.encode()
    refused = 0
    for i in range(len(b) + 1):
        for j in range(i + 1, len(b) + 1):
            if (i, j) != (0, len(b)):
                with pytest.raises(CheckpointError):
                    VerifierKey.parse(b[i:j].decode())
                refused += 1
    for i in range(len(b)):
        changed = bytearray(b)
        changed[i] += 1
        with pytest.raises(CheckpointError):
            VerifierKey.parse(changed.decode())
    assert refused > 2000
    # Go's wrong-length key, refused here already for its non-canonical base64 padding.
    with pytest.raises(CheckpointError, match="not canonical base64"):
        VerifierKey.parse(
            "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="
        )
    short = b"\x01" + bytes(31)
    short_id = hashlib.sha256(b"PeterNeumann\n" + short).digest()[:4].hex()
    with pytest.raises(CheckpointError, match="32 bytes, not 31"):
        VerifierKey.parse(f"PeterNeumann+{short_id}+{base64.b64encode(short).decode()}")
    with pytest.raises(CheckpointError, match="signature type 0x65 is not Ed25519"):
        VerifierKey.parse("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")


def test_the_c2sp_example_checkpoint_parses() -> None:
    cp = parse(C2SP_CHECKPOINT)
    assert (cp.origin, cp.size) == ("example.com/behind-the-sofa", 20852163)
    assert cp.root == base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
    (sig,) = cp.signatures
    assert (sig.name, len(sig.signature), sig.line) == ("example.com/behind-the-sofa", 64, 5)
    assert cp.checkpoint.body() + "\n" + C2SP_CHECKPOINT.split("\n\n")[1] == C2SP_CHECKPOINT


def test_a_checkpoint_round_trips() -> None:
    signer = signer_for(MASTER, 1, ORIGIN)
    cp = Checkpoint(ORIGIN, 12345, ROOT, ("extension one", "two"))
    note = signer.sign(cp)
    root64 = base64.b64encode(ROOT).decode()
    assert note.startswith(f"{ORIGIN}\n12345\n{root64}\nextension one\ntwo\n\n— {ORIGIN} ")
    assert note.count("\n") == 7
    parsed = parse(note)
    assert (parsed.checkpoint, parsed.verified_by) == (cp, ())
    verified = verify(note, [signer.verifier_key])
    assert (verified.checkpoint, verified.verified_by) == (cp, (signer.verifier_key,))
    assert (verified.origin, verified.size, verified.root) == (ORIGIN, 12345, ROOT)
    raw = base64.b64decode(note.rstrip("\n").rsplit(" ", 1)[1])
    assert raw[:4] == checkpoint.key_id(ORIGIN, signer.verifier_key.public_key)
    assert signer.verifier_key.verify(cp.body().encode(), raw[4:])
    assert verify(note.encode(), [signer.verifier_key]).checkpoint == cp
    assert verify(sign(Checkpoint(ORIGIN, 0, ROOT), signer), [signer.verifier_key]).size == 0


def test_key_ids_follow_the_signed_note_spec() -> None:
    key = signer_for(MASTER, 1, ORIGIN).verifier_key
    expected = hashlib.sha256(ORIGIN.encode() + b"\n\x01" + key.public_key).digest()[:4]
    assert key.key_id == expected
    encoded = base64.b64encode(b"\x01" + key.public_key).decode()
    assert str(key) == f"{ORIGIN}+{expected.hex()}+{encoded}"
    assert VerifierKey.parse(str(key)) == key


def test_signers_derive_from_the_master_secret_per_generation() -> None:
    one, again, two = (
        signer_for(MASTER, 1, ORIGIN),
        signer_for(MASTER, 1, ORIGIN),
        signer_for(MASTER, 2, ORIGIN),
    )
    assert one.verifier_key == again.verifier_key
    assert one.verifier_key != two.verifier_key
    assert one.verifier_key != signer_for(b"another master secret", 1, ORIGIN).verifier_key
    assert one.name == ORIGIN
    assert "seed" not in repr(one) and ORIGIN in repr(one)
    for bad in (-1, True, 1.0):
        with pytest.raises(ValueError, match="generation"):
            signer_for(MASTER, bad, ORIGIN)  # type: ignore[arg-type]
    for bad_name in ("", "has space", "a+b"):
        with pytest.raises(ValueError, match="key name"):
            signer_for(MASTER, 1, bad_name)


def test_rotation_old_checkpoints_verify_with_the_old_key_and_both_signed_with_either() -> None:
    old, new = signer_for(MASTER, 1, ORIGIN), signer_for(MASTER, 2, ORIGIN)
    old_key, new_key = old.verifier_key, new.verifier_key
    by_old = old.sign(Checkpoint(ORIGIN, 10, ROOT))
    assert verify(by_old, [old_key, new_key]).verified_by == (old_key,)
    assert verify(by_old, [old_key]).verified_by == (old_key,)
    with pytest.raises(
        SignatureError, match=re.escape(f"signed by {old_key.label}; keys given: {new_key.label}")
    ):
        verify(by_old, [new_key])
    by_both = sign(Checkpoint(ORIGIN, 11, ROOT), old, new)
    assert verify(by_both, [old_key]).verified_by == (old_key,)
    assert verify(by_both, [new_key]).verified_by == (new_key,)
    assert verify(by_both, [new_key, old_key]).verified_by == (old_key, new_key)


def test_signatures_by_unknown_keys_are_ignored_but_a_known_keys_must_verify() -> None:
    signer = signer_for(MASTER, 1, ORIGIN)
    note = signer.sign(Checkpoint(ORIGIN, 3, ROOT))
    stranger = "— witness.example/w1 " + base64.b64encode(b"\x00" * 68).decode() + "\n"
    assert verify(note + stranger, [signer.verifier_key]).size == 3
    # A known key's second, bad signature rejects the note, not only the line.
    bad_line = f"— {ORIGIN} " + base64.b64encode(signer.key_id + b"\x01" * 64).decode() + "\n"
    with pytest.raises(SignatureError, match="line 6: the signature by key"):
        verify(note + bad_line, [signer.verifier_key])


def test_a_wrong_key_and_a_forged_signature_are_refused() -> None:
    signer, other = signer_for(MASTER, 1, ORIGIN), signer_for(MASTER, 7, ORIGIN)
    note = signer.sign(Checkpoint(ORIGIN, 500, ROOT))
    with pytest.raises(SignatureError, match="no signature by a key given"):
        verify(note, [other.verifier_key])
    # A key claiming the same name and id with another public key: the signature fails.
    impostor = VerifierKey(ORIGIN, signer.key_id, other.verifier_key.public_key)
    with pytest.raises(SignatureError, match="line 5: the signature by key .* does not verify"):
        verify(note, [impostor])
    # The size changed, the signature kept: forged.
    with pytest.raises(SignatureError, match="does not verify"):
        verify(note.replace("\n500\n", "\n501\n"), [signer.verifier_key])
    # A signature of another text, under the right name and id.
    other_sig = base64.b64encode(signer.key_id + signer.signature(b"other text\n")).decode()
    forged = note.split("\n\n")[0] + f"\n\n— {ORIGIN} {other_sig}\n"
    with pytest.raises(SignatureError, match="does not verify"):
        verify(forged, [signer.verifier_key])
    with pytest.raises(CheckpointError, match="share the name and key id"):
        verify(note, [signer.verifier_key, impostor])


SIGNATURE = "— exchange-gateway.example/log " + base64.b64encode(b"\x01" * 68).decode() + "\n"
GOOD_ROOT = base64.b64encode(ROOT).decode()


@pytest.mark.parametrize(
    ("note", "message"),
    [
        (f"{ORIGIN}\n\n{SIGNATURE}", "line 2: the tree size is missing"),
        (f"{ORIGIN}\n5\n\n{SIGNATURE}", "line 3: the root hash is missing"),
        (f"\n5\n{GOOD_ROOT}\n\n{SIGNATURE}", "line 1: the origin is empty"),
        (f"{ORIGIN}\n12a\n{GOOD_ROOT}\n\n{SIGNATURE}", "line 2: the tree size '12a'"),
        (f"{ORIGIN}\n-1\n{GOOD_ROOT}\n\n{SIGNATURE}", "line 2: the tree size '-1'"),
        (f"{ORIGIN}\n012\n{GOOD_ROOT}\n\n{SIGNATURE}", "line 2: .*leading"),
        (f"{ORIGIN}\n+5\n{GOOD_ROOT}\n\n{SIGNATURE}", "line 2"),
        (f"{ORIGIN}\n 5\n{GOOD_ROOT}\n\n{SIGNATURE}", "line 2"),
        (f"{ORIGIN}\n\u0665\n{GOOD_ROOT}\n\n{SIGNATURE}", "line 2"),  # an Arabic-Indic five
        (f"{ORIGIN}\n{2**63}\n{GOOD_ROOT}\n\n{SIGNATURE}", "line 2: .*below 2\\^63"),
        (
            f"{ORIGIN}\n5\nnot base64!\n\n{SIGNATURE}",
            "line 3: the root hash is not canonical base64",
        ),
        (f"{ORIGIN}\n5\n{GOOD_ROOT[:-2]}B=\n\n{SIGNATURE}", "line 3: .*not canonical base64"),
        (
            f"{ORIGIN}\n5\n{base64.b64encode(ROOT[:31]).decode()}\n\n{SIGNATURE}",
            "line 3: the root hash has 31 bytes, not 32",
        ),
        (f"{ORIGIN}\n5\n{GOOD_ROOT}\n\next\n\n{SIGNATURE}", "line 4: an extension line is empty"),
        (f"{ORIGIN}\n5\n{GOOD_ROOT}\n{SIGNATURE}", "no blank line separates"),
        (f"{ORIGIN}\n5\n{GOOD_ROOT}\n\n", "line 5: no signature line"),
        (
            f"{ORIGIN}\n5\n{GOOD_ROOT}\n\n{SIGNATURE[:-1]}",
            "line 5: the last signature line does not end",
        ),
        (
            f"{ORIGIN}\n5\n{GOOD_ROOT}\n\n{SIGNATURE.replace('—', '-')}",
            "line 5: a signature line starts with an em dash",
        ),
        (f"{ORIGIN}\n5\n{GOOD_ROOT}\n\n{SIGNATURE.replace('—', '——')}", "line 5"),
        (f"{ORIGIN}\n5\n{GOOD_ROOT}\n\n— a+b AAAAAAAA\n", "line 5: the key name"),
        (
            f"{ORIGIN}\n5\n{GOOD_ROOT}\n\n— name AAA\n",
            "line 5: the signature is not canonical base64",
        ),
        (f"{ORIGIN}\n5\n{GOOD_ROOT}\n\n— name AAAAAA==\n", "line 5: the signature is too short"),
        (f"{ORIGIN}\n5\n{GOOD_ROOT}\n\n{SIGNATURE}junk\n", "line 6: a signature line starts"),
        (f"{ORIGIN}\n5\n{GOOD_ROOT}\n\n{SIGNATURE * 101}", "more than 100 signature lines"),
        (f"{ORIGIN}\n5\t\n{GOOD_ROOT}\n\n{SIGNATURE}", "line 2: control character U\\+0009"),
        (f"{ORIGIN}\n5\n{GOOD_ROOT}\r\n\n{SIGNATURE}", "line 3: control character U\\+000D"),
        (f"{ORIGIN}\x00\n5\n{GOOD_ROOT}\n\n{SIGNATURE}", "line 1: control character U\\+0000"),
        (
            f"{ORIGIN}\n5\n{GOOD_ROOT}\n\ud800\n\n{SIGNATURE}",
            "line 4: the note holds a lone surrogate",
        ),
        (
            f"{ORIGIN}\n5\n{GOOD_ROOT}\n{'x' * (1 << 20)}\n\n{SIGNATURE}",
            "larger than 1048576 bytes",
        ),
    ],
)
def test_malformed_checkpoints_say_what_is_wrong_and_where(note: str, message: str) -> None:
    with pytest.raises(CheckpointError, match=message):
        parse(note)
    with pytest.raises(CheckpointError, match=message):
        verify(note, [signer_for(MASTER, 1, ORIGIN).verifier_key])


def test_malformed_bytes_say_where() -> None:
    note = f"{ORIGIN}\n5\n{GOOD_ROOT}\n\n{SIGNATURE}".encode()
    with pytest.raises(CheckpointError, match="line 2: the note is not UTF-8"):
        parse(note.replace(b"\n5\n", b"\n\xff\n"))
    with pytest.raises(CheckpointError, match="larger than"):
        parse(b"x" * ((1 << 20) + 1))
    with pytest.raises(CheckpointError, match="line 5"):
        parse(note.replace("—".encode(), b"\xe2\x80\x93"))  # an en dash


def test_read_keys_skips_comments_and_names_the_bad_line() -> None:
    one, two = (
        signer_for(MASTER, 1, ORIGIN).verifier_key,
        signer_for(MASTER, 2, ORIGIN).verifier_key,
    )
    text = f"# the log's keys\n\n{one}\n  {two}  \n"
    assert checkpoint.read_keys(text) == [one, two]
    with pytest.raises(CheckpointError, match="line 3: verifier key"):
        checkpoint.read_keys(f"{one}\n{two}\n{str(two)[:-2]}\n")
    assert checkpoint.distinct_keys([one, two, one]) == [one, two]


def test_the_writers_refuse_what_the_readers_would() -> None:
    signer = signer_for(MASTER, 1, ORIGIN)
    with pytest.raises(ValueError, match="end in a newline"):
        sign_note("no newline", [signer])
    with pytest.raises(ValueError, match="control character"):
        sign_note("a\tb\n", [signer])
    with pytest.raises(ValueError, match="signers"):
        sign_note("a\n", [])
    for bad in (
        lambda: Checkpoint("", 1, ROOT),
        lambda: Checkpoint("two\nlines", 1, ROOT),
        lambda: Checkpoint(ORIGIN, -1, ROOT),
        lambda: Checkpoint(ORIGIN, 2**63, ROOT),
        lambda: Checkpoint(ORIGIN, 1, ROOT[:31]),
        lambda: Checkpoint(ORIGIN, 1, ROOT, ("",)),
    ):
        with pytest.raises(CheckpointError):
            bad()
    with pytest.raises(ValueError, match="32 bytes"):
        Signer(b"short", ORIGIN)
