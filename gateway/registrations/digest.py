"""Keyed digests of who a registered person is, compared to find multiple registrations.

Three kinds of evidence, each as strong as it is rare to share by chance:

- `identifier` (strong): an identifier in one scheme, compared as the scheme compares them;
  its digest is the subject's pseudonym (gateway/subjects.py), the audit log's own.
- `name+dob+sex` (probable): a name's tokens, an exact date of birth and the sex.
- `name+year+sex` (possible): a name's tokens, the year of birth and the sex; written for
  every dated person, it counts only where one side's date is an estimate (registration
  often records 1 January of a guessed year), since two exact dates that differ are two
  people.

Why keyed: a digest of a name and a birth date can be tested against guesses by anyone who
holds the hash function; an HMAC under the gateway's pseudonym key cannot. Names are
compared as people write them in Latin script: case, accents, spacing, punctuation and the
order of given and family names do not count ("María José Núñez" is "Nunez, Jose Maria";
"Øzil" is "Ozil", "Çağrı" is "Cagri"). Sex counts as recorded: "unknown" matches "unknown".
Apostrophes join ("O'Brien" is "OBrien"); hyphens and spaces separate tokens, so
"Al-Hassan" is "Al Hassan" but not "Alhassan". A person with no name or no date of birth
has no name digests. Only the first MAX_NAMES names of a person are digested: bounded work.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from gateway.canonical import Person, PersonName
from gateway.crypto import Pseudonymiser
from gateway.subjects import pseudonym_of

IDENTIFIER, NAME_DOB_SEX, NAME_YEAR_SEX = "identifier", "name+dob+sex", "name+year+sex"
EVIDENCE = (IDENTIFIER, NAME_DOB_SEX, NAME_YEAR_SEX)
"""The kinds of evidence, strongest first."""
STRONG, PROBABLE, POSSIBLE = "strong", "probable", "possible"
STRENGTH = {IDENTIFIER: STRONG, NAME_DOB_SEX: PROBABLE, NAME_YEAR_SEX: POSSIBLE}
MAX_NAMES = 8
MAX_TOKENS = 16  # of one name: a hostile name of a thousand words digests as its first 16

# Why a control character: no identifier scheme can hold one (identifiers.py refuses them),
# so a name digest can never be an identifier's pseudonym, whatever a source sends.
_LABEL = {
    NAME_DOB_SEX: "\x1dregistration:name+dob+sex",
    NAME_YEAR_SEX: "\x1dregistration:name+year+sex",
}
_JOINING = re.compile(r"['\u2019\u02bc`\u00b4]")  # apostrophes: part of one token
_SEPARATING = re.compile(r"[\W_]+")  # anything else not a letter or a digit
# Latin letters NFKD leaves whole, written as their bare letters (after case folding).
_BARE = str.maketrans(
    {"ı": "i", "ø": "o", "đ": "d", "ð": "d", "ł": "l", "ħ": "h", "æ": "ae", "œ": "oe", "þ": "th"}
)


@dataclass(frozen=True, order=True)
class Digest:
    """One piece of evidence about a person: its kind, its keyed digest, whether estimated."""

    kind: str
    value: str
    estimated: bool = False  # of a birth year: the date of birth was an estimate


def name_tokens(name: PersonName) -> tuple[str, ...]:
    """Return a name's tokens as compared: folded, without accents, in sorted order."""
    text = " ".join([*name.given, name.family or ""])
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    bare = bare.translate(_BARE)
    words = _SEPARATING.split(_JOINING.sub("", bare))
    return tuple(sorted(w for w in words if w)[:MAX_TOKENS])


def digests(person: Person, pseudonymiser: Pseudonymiser) -> frozenset[Digest]:
    """Return every piece of evidence a person's record gives, keyed."""
    found = {Digest(IDENTIFIER, pseudonym_of(pseudonymiser, i)) for i in person.identifiers}
    born = person.birth_date
    if born is None:
        return frozenset(found)
    for name in person.names[:MAX_NAMES]:
        tokens = " ".join(name_tokens(name))
        if not tokens:
            continue
        year = f"{tokens}\x1f{born.date.year:04d}\x1f{person.sex.value}"
        found.add(Digest(NAME_YEAR_SEX, _keyed(pseudonymiser, NAME_YEAR_SEX, year), born.estimated))
        if not born.estimated:
            exact = f"{tokens}\x1f{born.date.isoformat()}\x1f{person.sex.value}"
            found.add(Digest(NAME_DOB_SEX, _keyed(pseudonymiser, NAME_DOB_SEX, exact)))
    return frozenset(found)


def _keyed(pseudonymiser: Pseudonymiser, kind: str, value: str) -> str:
    return pseudonymiser.pseudonym(_LABEL[kind], value)
