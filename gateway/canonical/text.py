"""Text: a string that holds no control characters, and the one definition of those.

Refused: the C0 controls but tab, line feed and carriage return; DEL; the C1 controls
(U+0080-U+009F); and the bidirectional embedding, override and isolate controls (U+202A-U+202E,
U+2066-U+2069). Why: FHIR strings forbid controls, a NUL cuts a string short in C and is
refused by PostgreSQL, an escape sequence can rewrite an operator's terminal, and a
right-to-left override makes a name display as another name. Messages name the character's
code point, never the text around it, which may be personal data.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

CONTROL_CHARACTERS = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069"
"""The refused characters, as the inside of a regular-expression character class."""
_CONTROL = re.compile(f"[{CONTROL_CHARACTERS}]")


def control_character(text: str) -> str | None:
    """Name the first control character a string holds ('U+001B'), or None."""
    found = _CONTROL.search(text)
    return None if found is None else f"U+{ord(found.group()):04X}"


def _no_control_characters(text: str) -> str:
    if code := control_character(text):
        raise ValueError(f"holds control character {code}")
    return text


Text = Annotated[str, AfterValidator(_no_control_characters)]
"""A text field: any string without control characters (tab, CR and LF are allowed)."""
