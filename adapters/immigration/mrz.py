"""Read a travel document's machine-readable zone (ICAO Doc 9303), every check digit verified.

Formats (Doc 9303 Parts 4-7), told apart by line count, line length and document code:

    TD1   3 x 30   identity cards; a document number over 9 characters overflows into the
                   optional data (Part 5): '<' where its check digit would be, then the
                   rest of the number, then its check digit
    TD2   2 x 36   (same overflow rule)
    TD3   2 x 44   passports; the personal number has a check digit, '<' or '0' when empty
    MRVA  2 x 44   visas (document code V...): no composite or optional data check digit
    MRVB  2 x 36

Why every check digit, and a whole-zone check: a zone read by OCR or typed by hand with one
character wrong must never become another person's document number or date of birth, so a
zone is refused unless every check digit agrees (weights 7-3-1; '<' = 0, A-Z = 10..35).
Errors name the line and the field ("line 2, expiry check digit"), never the value: a
machine-readable zone is personal data from the first to the last character.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal

from gateway.canonical.countries import UnknownCountryError, icao_special_codes, normalise_country
from gateway.canonical.person import Sex
from gateway.errors import ParseError, Problem

MrzFormat = Literal["TD1", "TD2", "TD3", "MRVA", "MRVB"]

MAX_CHARS = 200
"""Longer than any zone with its line breaks: a longer text is refused before it is read."""
_CHARSET = re.compile(r"[A-Z0-9<]*", re.ASCII)
_DIGITS = re.compile(r"[0-9]{6}", re.ASCII)
_PARTLY_KNOWN = re.compile(r"[0-9<]{6}", re.ASCII)
_LETTERS = re.compile(r"[A-Z]{3}", re.ASCII)
_WEIGHTS = (7, 3, 1)
_SEX = {"F": Sex.FEMALE, "M": Sex.MALE, "X": Sex.OTHER, "<": Sex.UNKNOWN}
_EXPIRY_AHEAD = 50
"""A two-digit expiry year is read as at most this many years ahead, else as in the past."""


@dataclass(frozen=True)
class MachineReadableZone:
    """What a machine-readable zone says, every check digit verified; fillers removed."""

    format: MrzFormat
    document_code: str  # "P", "I", "ID", "AC", "V"...
    issuing_state: str  # ISO 3166-1 alpha-3 or an ICAO special code ("D" is read as DEU)
    surname: str  # the primary identifier, '<' read as a space
    given_names: str  # the secondary identifier, "" when the zone has none
    document_number: str  # overflow included
    nationality: str
    birth_date: dt.date | None  # None when the zone writes part of it as unknown ('<')
    sex: Sex
    expiry: dt.date
    optional_data: str  # TD3 personal number, TD1/TD2 optional data (after any overflow)
    optional_data_2: str = ""  # TD1 line 2 only


def check_digit(field: str) -> int:
    """Return the ICAO 9303 check digit of a field: weights 7-3-1, '<' = 0, A-Z = 10..35."""
    total = 0
    for index, char in enumerate(field):
        value = 0 if char == "<" else int(char) if char.isdigit() else ord(char) - 55
        total += value * _WEIGHTS[index % 3]
    return total % 10


def parse_mrz(
    text: str, *, where: str = "mrz", today: dt.date | None = None
) -> MachineReadableZone:
    """Read a zone (lines parted by line breaks) or raise ParseError listing every problem.

    `where` prefixes each problem's location (the element the zone came in); `today` decides
    the century of two-digit years (a birth date is never in the future).
    """
    lines = _lines(text, where)
    reader = _Reader(lines, where, today or dt.date.today())
    zone = reader.read()
    if reader.problems:
        raise ParseError("invalid machine-readable zone", reader.problems)
    assert zone is not None
    return zone


def _lines(text: str, where: str) -> list[str]:
    """Split a zone into lines of one format, or raise: the shape is checked before any field."""
    if len(text) > MAX_CHARS:
        raise _error(where, "zone", f"is longer than any format ({MAX_CHARS} characters)")
    lines = [line.strip(" \t\r") for line in text.strip(" \t\r\n").split("\n")]
    shape = (len(lines), len(lines[0]) if lines else 0)
    if shape not in ((3, 30), (2, 36), (2, 44)) or any(len(ln) != shape[1] for ln in lines):
        raise _error(where, "zone", "must be 3 lines of 30, or 2 lines of 36 or 44 characters")
    bad = [
        Problem(_at(where, n), "holds a character other than A-Z, 0-9 and <")
        for n, line in enumerate(lines, 1)
        if not _CHARSET.fullmatch(line)
    ]
    if bad:
        raise ParseError("invalid machine-readable zone", bad)
    return lines


def _error(where: str, field: str, message: str) -> ParseError:
    return ParseError("invalid machine-readable zone", [Problem(f"{where}: {field}", message)])


def _at(where: str, line: int, field: str = "") -> str:
    return f"{where}: line {line}" + (f", {field}" if field else "")


class _Reader:
    """Read one zone's fields, collecting every problem rather than stopping at the first."""

    def __init__(self, lines: list[str], where: str, today: dt.date) -> None:
        self.lines = lines
        self.where = where
        self.today = today
        self.problems: list[Problem] = []

    def problem(self, line: int, field: str, message: str) -> None:
        self.problems.append(Problem(_at(self.where, line, field), message))

    def read(self) -> MachineReadableZone | None:
        first, second = self.lines[0], self.lines[1]
        width = len(first)
        if width == 30:
            return self._td1()
        visa = first.startswith("V")
        fmt: MrzFormat = ("MRVA" if visa else "TD3") if width == 44 else ("MRVB" if visa else "TD2")
        if fmt == "TD3":
            number, _ = self._number(2, second[0:9], second[9], "", spills=False)
            optional = self._checked(2, "personal number", second[28:42], second[42])
            self._check(2, "composite", second[0:10] + second[13:20] + second[21:43], second[43])
        elif fmt == "TD2":
            number, optional = self._number(2, second[0:9], second[9], second[28:35])
            self._check(2, "composite", second[0:10] + second[13:20] + second[21:35], second[35])
        else:  # a visa: no composite, its optional data unchecked (Part 7)
            number, _ = self._number(2, second[0:9], second[9], "", spills=False)
            optional = second[28:].rstrip("<")
        surname, given = _names(first[5:])
        return self._zone(
            fmt,
            first,
            surname,
            given,
            number,
            nationality=(2, second[10:13]),
            birth=(2, second[13:19], second[19]),
            sex=(2, second[20]),
            expiry=(2, second[21:27], second[27]),
            optional=optional,
        )

    def _td1(self) -> MachineReadableZone | None:
        first, second, third = self.lines
        number, optional = self._number(1, first[5:14], first[14], first[15:30])
        self._check(
            2, "composite", first[5:30] + second[0:7] + second[8:15] + second[18:29], second[29]
        )
        surname, given = _names(third)
        return self._zone(
            "TD1",
            first,
            surname,
            given,
            number,
            nationality=(2, second[15:18]),
            birth=(2, second[0:6], second[6]),
            sex=(2, second[7]),
            expiry=(2, second[8:14], second[14]),
            optional=optional,
            optional_2=second[18:29].rstrip("<"),
        )

    def _zone(
        self,
        fmt: MrzFormat,
        first: str,
        surname: str,
        given: str,
        number: str,
        *,
        nationality: tuple[int, str],
        birth: tuple[int, str, str],
        sex: tuple[int, str],
        expiry: tuple[int, str, str],
        optional: str,
        optional_2: str = "",
    ) -> MachineReadableZone | None:
        code = first[0:2].rstrip("<")
        if not code or not code[0].isalpha():
            self.problem(1, "document code", "must start with a letter")
        state = self._country(1, "issuing state", first[2:5])
        nation = self._country(nationality[0], "nationality", nationality[1])
        born = self._date(birth[0], "birth date", birth[1], birth[2], unknown_ok=True)
        expires = self._date(expiry[0], "expiry", expiry[1], expiry[2], unknown_ok=False)
        if sex[1] not in _SEX:
            self.problem(sex[0], "sex", "must be F, M, X or <")
        if not surname:
            self.problem(3 if fmt == "TD1" else 1, "name", "has no primary identifier")
        if self.problems or expires is None:
            return None
        return MachineReadableZone(
            format=fmt,
            document_code=code,
            issuing_state=state,
            surname=surname,
            given_names=given,
            document_number=number,
            nationality=nation,
            birth_date=born,
            sex=_SEX[sex[1]],
            expiry=expires,
            optional_data=optional,
            optional_data_2=optional_2,
        )

    def _number(
        self, line: int, field: str, digit: str, optional: str, *, spills: bool = True
    ) -> tuple[str, str]:
        """Return the document number and the optional data after it, overflow resolved."""
        if not spills or digit != "<" or field.endswith("<"):
            self._check(line, "document number", field, digit)
            return field.rstrip("<"), optional.rstrip("<")
        overflow = optional.split("<", 1)[0]
        if len(overflow) < 2 or not overflow[-1].isdigit():
            self.problem(line, "document number check digit", "is missing")
            return field, ""
        number = field + overflow[:-1]
        self._check(line, "document number", number, overflow[-1])
        return number, optional[len(overflow) :].strip("<")

    def _checked(self, line: int, field: str, value: str, digit: str) -> str:
        """Check an optional field; when it is empty its check digit may be '<' (or '0')."""
        if not (digit == "<" and value.strip("<") == ""):
            self._check(line, field, value, digit)
        return value.rstrip("<")

    def _check(self, line: int, field: str, value: str, digit: str) -> bool:
        if not digit.isdigit():
            self.problem(line, f"{field} check digit", "must be a digit")
            return False
        if check_digit(value) != int(digit):
            self.problem(line, f"{field} check digit", "does not match the field")
            return False
        return True

    def _country(self, line: int, field: str, value: str) -> str:
        """Read a three-letter code, or ICAO's "D<<"; never a name or number the gateway knows."""
        code = value.rstrip("<")
        try:
            if _LETTERS.fullmatch(code) or code in icao_special_codes():
                return normalise_country(code)
        except UnknownCountryError:
            pass
        self.problem(line, field, "is not an ISO 3166-1 alpha-3 or ICAO 9303 code")
        return ""

    def _date(
        self, line: int, field: str, value: str, digit: str, *, unknown_ok: bool
    ) -> dt.date | None:
        """Read YYMMDD; an unknown part ('<') is None where allowed."""
        checked = self._check(line, field, value, digit)
        if unknown_ok and "<" in value and _PARTLY_KNOWN.fullmatch(value):
            return None
        if not _DIGITS.fullmatch(value):
            self.problem(line, field, "must be six digits YYMMDD")
            return None
        year, month, day = int(value[0:2]), int(value[2:4]), int(value[4:6])
        if field == "expiry":
            ahead = (year - self.today.year) % 100
            centuries = [self.today.year + ahead - (0 if ahead <= _EXPIRY_AHEAD else 100)]
        else:  # the latest century that puts the birth date no later than today
            centuries = [2000 + year, 1900 + year]
        for full_year in centuries:
            try:
                found = dt.date(full_year, month, day)
            except ValueError:
                continue
            if field == "expiry" or found <= self.today:
                return found if checked else None
        self.problem(line, field, "is not a date")
        return None


def _names(field: str) -> tuple[str, str]:
    """Split the name field: primary and secondary identifiers part at '<<', words at '<'."""
    primary, _, secondary = field.rstrip("<").partition("<<")
    return _words(primary), _words(secondary)


def _words(part: str) -> str:
    return " ".join(part.replace("<", " ").split())
