"""The offline verifier against an export of 10,000 records and every way to spoil it.

A byte flipped anywhere, a file cut anywhere, entries swapped, rewritten or added, a forked
log, a wrong key: each must be caught, and said where. A rotated key must not be mistaken
for a forgery.
"""

from __future__ import annotations

import bisect
import io
import random
from functools import cache
from pathlib import Path
from typing import Any

import orjson
import pytest

from gateway.audit import checkpoint, export, merkle
from gateway.audit.checkpoint import Checkpoint, VerifierKey, sign
from gateway.audit.export import Header, write_export
from gateway.audit.verify import Verdict, verify_export
from gateway.canonical.json import canonical_json
from tests.audit import logs

COUNT, EVERY = 10_000, 500


@cache
def leaves() -> list[dict[str, Any]]:
    return logs.entries(COUNT)


@cache
def notes() -> list[str]:
    return logs.checkpoints(leaves(), logs.every(EVERY, COUNT))


@cache
def data() -> bytes:
    return logs.export(leaves(), notes())


KEY = logs.signer().verifier_key


def check(content: bytes, keys: list[VerifierKey] | None = None, **kwargs: Any) -> Verdict:
    return verify_export(io.BytesIO(content), [KEY] if keys is None else keys, **kwargs)


def lines() -> list[bytes]:
    return data().splitlines(keepends=True)


def entry_line(index: int) -> int:
    """The line number of entry `index`: after the header and the checkpoints before it."""
    return 2 + index + index // EVERY


def at(index: int) -> int:
    """The position of entry `index` in `lines()`."""
    return entry_line(index) - 1


CHECKPOINT_LINE = entry_line(EVERY - 1) + 1
"""The line of the first checkpoint, right after entry 499."""


def test_the_export_verifies() -> None:
    verdict = check(data())
    assert verdict.ok, verdict.lines()
    assert (verdict.entries, verdict.checkpoints, verdict.tree_size) == (COUNT, 20, COUNT)
    leaf_hashes = [merkle.leaf_hash(canonical_json(e)) for e in leaves()]
    assert verdict.root == merkle.root_of(leaf_hashes)
    assert verdict.signed_by == (KEY.label,)
    said = verdict.lines()
    assert said[0].startswith("OK: ")
    assert any("10000 (0 to 9999)" in line for line in said)
    assert said[-1] == (
        "keys: only the keys you gave were trusted, not the 1 key the export's header lists"
        " (a file cannot vouch for itself)"
    )
    assert check(data(), parse_entries=True).ok


def test_the_format_is_what_the_docstring_says() -> None:
    first, entry, *_ = lines()
    assert orjson.loads(first) == {
        "type": "header",
        "format": "exchange-gateway-log",
        "version": 1,
        "origin": logs.ORIGIN,
        "keys": [str(KEY)],
    }
    value = orjson.loads(entry)
    assert list(value) == ["type", "index", "leaf_hash", "entry"]
    # An outsider recomputes the leaf with the standard library alone.
    import hashlib
    import json

    leaf = json.dumps(value["entry"], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert hashlib.sha256(b"\x00" + leaf.encode()).hexdigest() == value["leaf_hash"]
    assert value["entry"] == leaves()[0]
    assert lines()[CHECKPOINT_LINE - 1].startswith(b'{"type":"checkpoint","note":"')
    assert checkpoint.parse(orjson.loads(lines()[CHECKPOINT_LINE - 1])["note"]).size == EVERY
    assert lines()[-1] == b'{"type":"end","entries":10000}\n'
    items = list(export.read_export(io.BytesIO(data())))
    assert len(items) == 1 + COUNT + 20 + 1
    entries = [i for i in items if isinstance(i, export.Entry)]
    assert [e.content() for e in entries[:50]] == leaves()[:50]


def test_any_byte_flipped_anywhere_is_caught_and_placed() -> None:
    content = data()
    starts = [0] + [i + 1 for i, byte in enumerate(content) if byte == 10][:-1]
    rng = random.Random(20250302)
    for _ in range(300):
        at = rng.randrange(len(content))
        flipped = content[:at] + bytes([content[at] ^ rng.randrange(1, 256)]) + content[at + 1 :]
        verdict = check(flipped)
        assert not verdict.ok, f"a flip at byte {at} went unnoticed"
        assert verdict.problem is not None
        line = bisect.bisect_right(starts, at)
        assert verdict.problem.line == line, (at, verdict.problem)
        if content[starts[line - 1] :].startswith(b'{"type":"entry"'):
            index = orjson.loads(lines()[line - 1])["index"]
            assert verdict.problem.index == index, (at, verdict.problem)
            assert f"entry {index}" in verdict.lines()[0]


def test_a_file_cut_anywhere_is_caught() -> None:
    content = data()
    rng = random.Random(7)
    boundaries = [i + 1 for i, byte in enumerate(content) if byte == 10][:-1]
    for cut in [0, *rng.sample(boundaries, 60), *(rng.randrange(len(content)) for _ in range(60))]:
        verdict = check(content[:cut])
        assert not verdict.ok, f"cut at byte {cut} went unnoticed"
        assert verdict.problem is not None
        assert any(
            words in verdict.problem.message
            for words in ("cut short", "export is empty", "no checkpoint")
        ), verdict.problem


def test_a_cut_with_a_forged_end_line_shows_against_a_saved_checkpoint() -> None:
    # Cut at a checkpoint and given an end line, a shorter log is a consistent one: nothing
    # in the file can tell. A checkpoint saved from an earlier, longer download can.
    kept = lines()[: entry_line(4999) + 1]
    shorter = b"".join(kept) + export.end_line(5000)
    assert check(shorter).ok
    verdict = check(shorter, saved_checkpoint=notes()[-1])
    assert not verdict.ok
    assert verdict.problem is not None
    assert "saved checkpoint is of tree size 10000, but the export holds 5000 entries" in (
        verdict.problem.message
    )


def test_entries_after_the_last_checkpoint_are_not_vouched_for() -> None:
    extra = export.entry_line(COUNT, leaves()[0])
    content = b"".join(lines()[:-1]) + extra + export.end_line(COUNT + 1)
    verdict = check(content)
    assert verdict.problem is not None
    assert "entries 10000 to 10000 come after the last checkpoint" in verdict.problem.message


def test_two_entries_swapped_are_caught() -> None:
    swapped = lines()
    a, b = at(1200), at(1300)
    swapped[a], swapped[b] = swapped[b], swapped[a]
    verdict = check(b"".join(swapped))
    assert verdict.problem is not None
    assert (verdict.problem.line, verdict.problem.index) == (entry_line(1200), 1200)
    assert "holds entry 1300 where entry 1200 was expected" in verdict.problem.message


def test_two_entries_swapped_and_renumbered_are_caught_by_the_checkpoint() -> None:
    renumbered = lines()
    renumbered[at(1200)] = export.entry_line(1200, leaves()[1300])
    renumbered[at(1300)] = export.entry_line(1300, leaves()[1200])
    verdict = check(b"".join(renumbered))
    assert verdict.problem is not None
    assert (verdict.problem.index, verdict.problem.last) == (1000, 1499)
    assert verdict.problem.line == entry_line(1499) + 1
    assert "one of entries 1000 to 1499" in verdict.problem.message
    assert verdict.checkpoints == 2


def test_an_entry_rewritten_with_its_hash_is_caught_by_the_checkpoint() -> None:
    rewritten = lines()
    edited = dict(leaves()[4321], decision="allowed", reasons=[], policy_rule="by-hand")
    assert edited != leaves()[4321]
    rewritten[at(4321)] = export.entry_line(4321, edited)
    verdict = check(b"".join(rewritten))
    assert verdict.problem is not None
    assert (verdict.problem.index, verdict.problem.last) == (4000, 4499)


def test_an_entry_edited_without_its_hash_is_named() -> None:
    edited = lines()
    edited[at(77)] = edited[at(77)].replace(b'"decision":"', b'"decision":"x')
    verdict = check(b"".join(edited))
    assert verdict.problem is not None
    assert (verdict.problem.line, verdict.problem.index) == (entry_line(77), 77)
    assert "does not hash to its listed leaf hash" in verdict.problem.message


def test_an_entry_removed_is_caught() -> None:
    removed = lines()
    del removed[at(2500)]
    verdict = check(b"".join(removed))
    assert verdict.problem is not None
    assert "holds entry 2501 where entry 2500 was expected" in verdict.problem.message


def test_a_saved_checkpoint_of_the_same_log_holds_at_any_size() -> None:
    for size in (0, 1, 1234, EVERY, COUNT):
        saved = logs.checkpoints(leaves()[:size], [size])[0]
        verdict = check(data(), saved_checkpoint=saved)
        assert verdict.ok, (size, verdict.lines())
        assert verdict.saved_size == size
        assert any("saved checkpoint" in line for line in verdict.lines())


def test_a_saved_checkpoint_from_a_forked_log_is_caught() -> None:
    forked = [*leaves()[:6000], *logs.entries(1000, seed=99)]
    saved = logs.checkpoints(forked, [6500])[0]
    verdict = check(data(), saved_checkpoint=saved)
    assert verdict.problem is not None
    assert "saved checkpoint of tree size 6500 does not match this export" in (
        verdict.problem.message
    )
    assert (verdict.problem.index, verdict.problem.last) == (0, 6499)
    assert verdict.problem.line == entry_line(6499)


def test_a_wrong_key_is_caught() -> None:
    other = logs.signer(5).verifier_key
    verdict = check(data(), [other])
    assert verdict.problem is not None
    assert verdict.problem.line == CHECKPOINT_LINE
    assert "no signature by a key given" in verdict.problem.message
    assert "the export's header lists" in verdict.problem.message  # a hint, not trust
    assert verdict.lines()[0].startswith(f"FAILED: line {CHECKPOINT_LINE}: ")


def rotated() -> tuple[bytes, list[str]]:
    """A log whose key 1 signed up to 5000 entries, both keys at 5000, key 2 after."""
    old, new = logs.signer(1), logs.signer(2)

    def signers(size: int) -> list[checkpoint.Signer]:
        return [old] if size < 5000 else [old, new] if size == 5000 else [new]

    signed = logs.checkpoints(leaves(), logs.every(EVERY, COUNT), signers)
    keys = (str(old.verifier_key), str(new.verifier_key))
    return logs.export(leaves(), signed, keys), signed


def test_after_a_rotation_both_keys_verify_the_log_and_old_saved_checkpoints() -> None:
    content, signed = rotated()
    old, new = logs.signer(1).verifier_key, logs.signer(2).verifier_key
    verdict = check(content, [old, new])
    assert verdict.ok, verdict.lines()
    assert verdict.signed_by == (old.label, new.label)
    saved_by_old = signed[3]
    assert checkpoint.parse(saved_by_old).signatures[0].label == old.label
    assert check(content, [old, new], saved_checkpoint=saved_by_old).ok
    only_new = check(content, [new])
    assert only_new.problem is not None
    assert only_new.problem.line == CHECKPOINT_LINE
    assert str(old) in only_new.problem.message  # the header's key, named as a hint
    only_old = check(content, [old])
    assert only_old.problem is not None
    assert only_old.checkpoints == 10  # up to 5000, where both signed
    assert check(content, [new], saved_checkpoint=saved_by_old).problem is not None


def replace_line(number: int, new: bytes) -> bytes:
    changed = lines()
    changed[number - 1] = new
    return b"".join(changed)


def note_at(size: int, origin: str = logs.ORIGIN, root: bytes | None = None) -> bytes:
    tree = merkle.root_of(merkle.leaf_hash(canonical_json(e)) for e in leaves()[:size])
    note = sign(Checkpoint(origin, size, root or tree), logs.signer())
    return export.checkpoint_line(note)


@pytest.mark.parametrize(
    ("content", "line", "message"),
    [
        (lambda: b"", None, "the export is empty"),
        (lambda: b"".join(lines()[1:]), 1, "the first line is not the export's header"),
        (lambda: replace_line(3, b"{not json\n"), 3, "not valid JSON"),
        (lambda: replace_line(3, b"[1,2]\n"), 3, "not a JSON object"),
        (lambda: replace_line(3, b"\xff\xfe\n"), 3, "not UTF-8"),
        (lambda: replace_line(3, b"x" * (2 << 20) + b"\n"), 3, "longer than 1048576 bytes"),
        (
            lambda: replace_line(3, lines()[2].replace(b'"index":1,', b'"index":"1",')),
            3,
            "the entry index is not a whole number",
        ),
        (
            lambda: replace_line(3, lines()[2].replace(b'"index":1,', b'"index":true,')),
            3,
            "the entry index is not a whole number",
        ),
        (
            lambda: replace_line(3, lines()[2].replace(b'"entry":{', b'"entry":[{')[:-2] + b"]}\n"),
            3,
            "the entry is not a JSON object",
        ),
        (
            lambda: replace_line(3, lines()[2].replace(b'{"type":"entry",', b'{"type": "entry",')),
            3,
            "not laid out exactly",
        ),
        (
            lambda: replace_line(
                3, lines()[2].replace(b'"entry":{"agreement"', b'"entry":{ "agreement"')
            ),
            3,
            "not written as canonical JSON",
        ),
        (lambda: replace_line(3, b'{"type":"other"}\n'), 3, "unknown line type 'other'"),
        (
            lambda: replace_line(1, lines()[0].replace(b'"version":1', b'"version":2')),
            1,
            "format version 2",
        ),
        (
            lambda: replace_line(1, lines()[0].replace(b'"keys":["', b'"keys":["x')),
            1,
            "malformed key",
        ),
        (lambda: replace_line(3, lines()[0]), 3, "a second header"),
        (lambda: data() + lines()[2], len(lines()) + 1, "a line after the end line"),
        (
            lambda: replace_line(len(lines()), b'{"type":"end","entries":9999}\n'),
            len(lines()),
            "says 9999 entries, but 10000",
        ),
        (
            lambda: replace_line(len(lines()), b'{"type":"end","entries":-1}\n'),
            len(lines()),
            "not a whole number",
        ),
        (
            lambda: replace_line(CHECKPOINT_LINE, note_at(EVERY, "elsewhere.example/log")),
            CHECKPOINT_LINE,
            "of the log 'elsewhere.example/log'",
        ),
        (
            lambda: replace_line(CHECKPOINT_LINE, note_at(EVERY - 1)),
            CHECKPOINT_LINE,
            "tree size 499 stands after entry 499; it belongs right after entry 498",
        ),
        (
            lambda: replace_line(CHECKPOINT_LINE, note_at(EVERY, root=bytes(32))),
            CHECKPOINT_LINE,
            "one of entries 0 to 499",
        ),
        (
            lambda: replace_line(CHECKPOINT_LINE, b'{"type":"checkpoint","note":"x\\n"}\n'),
            CHECKPOINT_LINE,
            "the checkpoint is malformed: no blank line",
        ),
        (
            lambda: b"".join(x for x in lines() if not x.startswith(b'{"type":"checkpoint"')),
            len(lines()) - 20,
            "holds no checkpoint",
        ),
    ],
)
def test_malformed_lines_are_problems_with_their_line_number(
    content: Any, line: int | None, message: str
) -> None:
    verdict = check(content())
    assert verdict.problem is not None
    assert message in verdict.problem.message, verdict.problem
    assert verdict.problem.line == line


def test_no_key_an_unreadable_file_and_a_bad_saved_checkpoint_are_verdicts(tmp_path: Path) -> None:
    assert "no verifier key" in str(verify_export(io.BytesIO(data()), []).lines())
    missing = verify_export(tmp_path / "missing.jsonl", [KEY])
    assert missing.problem is not None and "cannot read" in missing.problem.message
    saved = check(data(), saved_checkpoint="not a checkpoint")
    assert saved.problem is not None and "saved checkpoint does not verify" in saved.problem.message
    by_other = sign(Checkpoint(logs.ORIGIN, 3, bytes(32)), logs.signer(9))
    assert check(data(), saved_checkpoint=by_other).problem is not None
    path = tmp_path / "log.jsonl"
    path.write_bytes(data())
    assert verify_export(path, [KEY]).ok
    assert verify_export(str(path), [KEY]).ok


def test_the_writer_places_checkpoints_and_refuses_them_out_of_order() -> None:
    few = leaves()[:10]
    at = logs.checkpoints(few, [0, 3, 3, 10])
    out = io.BytesIO()
    assert write_export(out, Header(logs.ORIGIN, (str(KEY),)), few, at) == 10
    kinds = [orjson.loads(line)["type"] for line in out.getvalue().splitlines()]
    h, c, e = "header", "checkpoint", "entry"
    assert kinds == [h, c, e, e, e, c, c, e, e, e, e, e, e, e, c, "end"]
    assert check(out.getvalue()).ok
    with pytest.raises(ValueError, match="increasing size order"):
        write_export(io.BytesIO(), Header(logs.ORIGIN, ()), few, [at[1], at[0]])
    with pytest.raises(ValueError, match="beyond the 9 entries"):
        write_export(io.BytesIO(), Header(logs.ORIGIN, ()), few[:9], at)


def test_two_checkpoints_of_one_size_with_different_roots_are_a_fork() -> None:
    forked = lines()
    forked.insert(CHECKPOINT_LINE, note_at(EVERY, root=bytes(32)))
    verdict = check(b"".join(forked))
    assert verdict.problem is not None
    assert verdict.problem.line == CHECKPOINT_LINE + 1
    assert "two checkpoints of tree size 500 have different roots" in verdict.problem.message


def test_parsing_entries_also_finds_leaves_the_log_itself_signed_malformed() -> None:
    # Leaf bytes that are JSON but not canonical, signed as they are: the file is the log,
    # byte for byte, so integrity holds; only parsing the entries shows the log's own fault.
    leaf = b'{"v":1,"b":2,"a":1}'
    line = export.ENTRY_PREFIX % 0 + merkle.leaf_hash(leaf).hex().encode()
    line += export.ENTRY_MIDDLE + leaf + b"}\n"
    note = sign(Checkpoint(logs.ORIGIN, 1, merkle.root_of([merkle.leaf_hash(leaf)])), logs.signer())
    content = lines()[0] + line + export.checkpoint_line(note) + export.end_line(1)
    assert check(content).ok
    verdict = check(content, parse_entries=True)
    assert verdict.problem is not None
    assert (verdict.problem.line, verdict.problem.index) == (2, 0)
    assert "not written as canonical JSON" in verdict.problem.message


def test_the_verifier_runs_without_the_server_or_the_database() -> None:
    import subprocess
    import sys

    probe = (
        "import sys, gateway.audit.verify, gateway.audit.export, gateway.audit.merkle;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in"
        " ('sqlalchemy', 'fastapi', 'starlette', 'celery', 'psycopg')"
        " or m.startswith(('gateway.store', 'gateway.api'))))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert loaded.stdout.strip() == "[]"


def test_the_reader_and_writer_keep_to_the_line_limit() -> None:
    with pytest.raises(ValueError, match="entry 7 would make a line longer than 1048576 bytes"):
        export.entry_line(7, {"v": 1, "note": "x" * (1 << 20)})
    with pytest.raises(ValueError, match="origin"):
        export.header_line(Header("", ()))
    with pytest.raises(export.ExportFormatError, match="line 2: longer than 1048576 bytes"):
        list(export.read_export(io.BytesIO(lines()[0] + b"x" * (2 << 20))))
    with pytest.raises(export.ExportFormatError, match="line 3: no newline at its end"):
        list(export.read_export(io.BytesIO(b"".join(lines()[:2]) + lines()[2][:-1])))
    with pytest.raises(export.ExportFormatError, match="line 1: unknown line type 'x'"):
        list(export.read_export(io.BytesIO(b'{"type":"x"}\n')))


def test_keys_come_as_verifier_keys_or_key_files(tmp_path: Path) -> None:
    from gateway.audit.verify import load_keys

    old, new = logs.signer(1).verifier_key, logs.signer(2).verifier_key
    keyfile = tmp_path / "log.keys"
    keyfile.write_text(f"# exchange-gateway.example/log, generations 1 and 2\n{old}\n\n{new}\n")
    assert load_keys([str(keyfile)]) == [old, new]
    assert load_keys([str(new), str(keyfile)]) == [new, old, new]
    with pytest.raises(checkpoint.CheckpointError, match="cannot read the key file"):
        load_keys([str(tmp_path / "missing")])
    keyfile.write_text(f"{old}\n{str(new)[:-3]}\n")
    with pytest.raises(checkpoint.CheckpointError, match=r"log.keys, line 2: verifier key"):
        load_keys([str(keyfile)])
    keyfile.write_text("# nothing\n")
    with pytest.raises(checkpoint.CheckpointError, match="holds no key"):
        load_keys([str(keyfile)])
    with pytest.raises(checkpoint.CheckpointError, match="not canonical base64|key id"):
        load_keys([str(old)[:-2] + "AA"])


def test_an_empty_log_verifies_with_its_checkpoint_of_size_zero() -> None:
    empty = logs.export([], logs.checkpoints([], [0]))
    verdict = check(empty)
    assert verdict.ok, verdict.lines()
    assert (verdict.entries, verdict.tree_size, verdict.root) == (0, 0, merkle.EMPTY_ROOT)
    assert "entries: none" in verdict.lines()
    unsigned = logs.export([], [])
    assert "holds no checkpoint" in " ".join(check(unsigned).lines())
