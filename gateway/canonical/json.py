"""Canonical JSON: the bytes that are hashed, signed or compared, the same on every machine."""

from __future__ import annotations

from typing import Any

import orjson


def canonical_json(value: Any) -> bytes:
    """Encode for hashing, signing or sending: sorted keys, no whitespace, UTF-8.

    The bytes are those of `json.dumps(value, sort_keys=True, separators=(",", ":"),
    ensure_ascii=False).encode()`, written by orjson, for data of strings (keys too),
    integers within 64 bits, booleans, None, lists and dicts: what records, bundles and
    canonical dumps hold (tests/adapters/test_jsonbody.py proves it). A float would be
    spelled otherwise (1e-7, not 1e-07), though the same way every time.
    """
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
