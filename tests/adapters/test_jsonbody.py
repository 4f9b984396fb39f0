"""Decoding message bodies: whatever parses is Unicode text the gateway can write back out."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.kit.jsonbody import load_object
from gateway.canonical.json import canonical_json
from gateway.errors import ParseError, Problem


def _refused(body: bytes) -> Problem:
    with pytest.raises(ParseError, match="message is not acceptable") as caught:
        load_object(body)
    [problem] = caught.value.problems
    json.dumps(problem.as_dict(), ensure_ascii=False).encode()  # the answer can be written
    return problem


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (rb'{"name": "\ud800"}', "/name"),
        (rb'{"name": "Achol \uDBFF"}', "/name"),
        (rb'{"people": [{"given": ["Achol", "\udc00Nyibol"]}]}', "/people/0/given/1"),
        (rb'{"name": "\ude00\ud83d"}', "/name"),  # a pair in the wrong order is two lone ones
        (rb'{"name": "\\\ud800"}', "/name"),  # an escaped backslash, then the escape
    ],
)
def test_a_lone_surrogate_is_refused_where_it_is(body: bytes, where: str) -> None:
    assert _refused(body) == Problem(where, "string holds a lone surrogate")


def test_a_second_byte_order_mark_is_named_not_left_invisible() -> None:
    bom = "\ufeff".encode()
    assert load_object(bom + b'{"a": 1}') == {"a": 1}  # one is allowed
    with pytest.raises(ParseError, match="message is not JSON") as caught:
        load_object(bom + bom + b'{"a": 1}')
    assert caught.value.problems == [Problem("/", "body has two byte-order marks")]


def test_a_key_with_a_lone_surrogate_is_refused_without_echoing_it() -> None:
    assert _refused(rb'{"people": [{"\ud800": 1}]}') == Problem(
        "/people/0", "a key holds a lone surrogate"
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (rb'{"name": "\ud83d\ude00"}', {"name": "\U0001f600"}),  # a pair is one character
        (rb'{"name": "\\ud800"}', {"name": "\\ud800"}),  # backslash and text, not an escape
        ('{"name": "\U0001f600 D\u00e9ng"}'.encode(), {"name": "\U0001f600 D\u00e9ng"}),
    ],
)
def test_unicode_text_is_accepted(body: bytes, expected: dict[str, Any]) -> None:
    assert load_object(body) == expected


# Escapes from anywhere in UTF-16, surrogates included, among ordinary text.
pieces = st.one_of(
    st.integers(0, 0xFFFF).map(lambda c: f"\\u{c:04x}"),
    st.integers(0xD800, 0xDFFF).map(lambda c: f"\\u{c:04X}"),
    st.text(st.characters(codec="utf-8", exclude_characters='"\\'), max_size=3),
    st.just("\\\\"),
)
strings = st.lists(pieces, max_size=6).map(lambda parts: '"' + "".join(parts) + '"')


@settings(max_examples=300, deadline=None, database=None)
@given(key=strings, value=strings)
def test_whatever_is_accepted_can_be_written_as_utf8(key: str, value: str) -> None:
    body = f'{{"a": [{value}], {key}: {{"b": {value}}}}}'.encode()
    try:
        doc = load_object(body)
    except ParseError as exc:
        # Where the value is, or the key (named by its object, "/"), or the value under it.
        assert all(p.location in ("/", "/a/0") or p.location.endswith("/b") for p in exc.problems)
        return
    json.dumps(doc, ensure_ascii=False).encode()


# -- canonical bytes -------------------------------------------------------------------------

# Every UTF-8 character, with the ones JSON writers treat specially made likely: controls,
# quotes, backslashes, DEL, the JavaScript line separators, a BOM and astral characters.
tricky = st.one_of(
    st.characters(codec="utf-8"),
    st.sampled_from(['"', "\\", "/", "\x00", "\x1f", "\x7f", "\u2028", "\u2029", "\ufeff"]),
    st.characters(min_codepoint=0x10000, codec="utf-8"),
)
texts = st.text(tricky, max_size=8)
json_ready = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=25,
)


def _json_dumps(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@settings(max_examples=300, deadline=None, database=None)
@given(data=json_ready)
def test_canonical_json_writes_the_bytes_json_dumps_writes(data: Any) -> None:
    assert canonical_json(data) == _json_dumps(data)


# -- control characters ----------------------------------------------------------------------

# Every refused class, written as JSON may carry it: escaped (C0 must be), or raw.
REFUSED = [
    *[(f"\\u{c:04x}", c) for c in [*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20)]],
    ("\\b", 0x08),
    ("\\f", 0x0C),
    ("\x7f", 0x7F),
    ("\\u007F", 0x7F),
    *[(chr(c), c) for c in range(0x80, 0xA0)],
    ("\\u0085", 0x85),
    *[(chr(c), c) for c in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]],
    ("\\u202E", 0x202E),
    ("\\u2069", 0x2069),
]


@pytest.mark.parametrize(("written", "code"), REFUSED, ids=[hex(c) for _, c in REFUSED])
def test_a_control_character_in_a_string_is_refused_where_it_is(written: str, code: int) -> None:
    body = f'{{"people": [{{"given": ["Nyandeng", "Ach{written}ol"]}}]}}'.encode()

    assert _refused(body) == Problem(
        "/people/0/given/1", f"string holds control character U+{code:04X}"
    )


@pytest.mark.parametrize(("written", "code"), REFUSED, ids=[hex(c) for _, c in REFUSED])
def test_a_control_character_in_a_key_is_refused_without_echoing_it(
    written: str, code: int
) -> None:
    problem = _refused(f'{{"people": [{{"Ach{written}ol": 1}}]}}'.encode())

    assert problem == Problem("/people/0", f"a key holds control character U+{code:04X}")


def test_every_string_holding_one_is_named() -> None:
    body = b'{"a": "\\u0000", "b": {"c": ["x", "\\u001b"]}, "d\\u007f": 1}'

    with pytest.raises(ParseError, match="message is not acceptable") as caught:
        load_object(body)

    assert caught.value.problems == [  # an object's keys first, then what it holds, in order
        Problem("/", "a key holds control character U+007F"),
        Problem("/a", "string holds control character U+0000"),
        Problem("/b/c/1", "string holds control character U+001B"),
    ]


def test_a_raw_c0_control_is_not_json() -> None:
    with pytest.raises(ParseError, match="message is not JSON") as caught:
        load_object(b'{"name": "Ach\x1bol"}')
    assert "Invalid control character" in caught.value.problems[0].message


@pytest.mark.parametrize(
    "body",
    [
        b'{"place": "Kakuma 4,\\tblock 2\\r\\nTurkana"}',
        b'{"place": "Kakuma\\u0009\\u000a\\u000d"}',  # the same, escaped otherwise
        b'{"path": "C:\\\\u0000\\\\b\\\\f"}',  # backslashes and letters, not escapes
        '{"name": "\u0645\u062d\u0645\u062f \u200f\u200e\u061c"}'.encode(),  # marks, not controls
    ],
    ids=["tab-cr-lf", "escaped-tab-cr-lf", "escaped-backslashes", "bidi-marks"],
)
def test_what_looks_like_a_control_character_but_is_text_is_accepted(body: bytes) -> None:
    assert load_object(body) == json.loads(body)
