"""Synthetic legacy export rows, for tests, the benchmark and trying an import.

Made-up people only: names are drawn from short lists, numbers are sequential, so a sample
file of any size is deterministic and holds no real person.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

COLUMNS = (
    "IndividualID",
    "CaseNumber",
    "GivenName",
    "FamilyName",
    "Sex",
    "DateOfBirth",
    "DOBEstimated",
    "Nationality",
    "CountryOfOrigin",
    "LegalStatus",
    "SpecificNeeds",
    "DocumentType",
    "DocumentNumber",
    "RegistrationDate",
    "Office",
    "Remarks",
    "EnteredBy",
)
GIVEN = ("Achol", "Deng", "Nyandeng", "Abdi", "Amina", "Faduma", "Jean", "Esperance", "Garang")
FAMILY = ("Mabior", "Kuol", "Hassan", "Warsame", "Mugisha", "Uwase", "Lual", "Ahmed", "Nkurunziza")
ORIGINS = ("SSD", "SOM", "COD", "BDI", "ETH", "South Sudan", "Somalia")
NEEDS = ("", "", "", "WR", "DS;SM", "ER", "SP")


def row(n: int) -> dict[str, str]:
    """Return the n-th synthetic row (every cell text, empty cells as '')."""
    born = dt.date(1950, 1, 1) + dt.timedelta(days=(n * 7919) % 20000)
    origin = ORIGINS[n % len(ORIGINS)]
    return {
        "IndividualID": f"LEG-{n:08d}",
        "CaseNumber": f"CASE-{n // 4:07d}",
        "GivenName": GIVEN[n % len(GIVEN)],
        "FamilyName": FAMILY[(n // 3) % len(FAMILY)],
        "Sex": "FM"[n % 2],
        "DateOfBirth": born.isoformat(),
        "DOBEstimated": "Y" if n % 5 == 0 else "N",
        "Nationality": origin,
        "CountryOfOrigin": origin,
        "LegalStatus": ("REF", "ASY")[n % 2],
        "SpecificNeeds": NEEDS[n % len(NEEDS)],
        "DocumentType": "RATION",
        "DocumentNumber": f"R-{n:08d}",
        "RegistrationDate": (dt.date(2012, 1, 1) + dt.timedelta(days=n % 3000)).isoformat(),
        "Office": ("KKM", "DDB", "NBO")[n % 3],
        "Remarks": "",
        "EnteredBy": "clerk01",
    }


def rows(count: int, first: int = 1) -> Iterator[dict[str, str]]:
    return (row(n) for n in range(first, first + count))


def write_csv(path: Path, records: Iterator[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(records)


def write_jsonl(path: Path, records: Iterator[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps({k: v for k, v in record.items() if v}) + "\n")
