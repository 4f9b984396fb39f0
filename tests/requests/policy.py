"""The policy the request tests run under: the shipped files, with specific requests enabled.

The shipped default.csv holds the rules only as a commented example (policies/default.csv):
here they are in force, the test requesters are in `foreign-state`, and agreements.toml adds
an agreement covering them and one that has expired.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

RULES = "".join(
    f"{line}\n"
    for line in (
        "",
        "p, registration-authority, foreign-state, specific-request, asylum-procedure, "
        "public-interest, identity|nationality|identifiers|legal_status",
        "p, registration-authority, foreign-state, specific-request, family-reunification, "
        "consent, identity|identifiers|family",
        "g, uga-dra, foreign-state",
        "g, ssd-dnpi, foreign-state",
    )
)
AGREEMENT = "ken-foreign-asylum"
EXPIRED = "ken-uga-2020"
AGREEMENTS = f"""
[[agreement]]
id = "{AGREEMENT}"
version = 1
title = "Asylum cooperation: specific requests between states"
parties = ["registration-authority", "foreign-state"]
purposes = ["asylum-procedure", "family-reunification"]
categories = ["identity", "nationality", "identifiers", "legal_status", "family"]
legal_bases = ["public-interest", "consent"]
valid_from = 2024-01-01
onward_transfer = "forbidden"
dpo_approval = false

[[agreement]]
id = "{EXPIRED}"
version = 1
title = "An arrangement that has run its course"
parties = ["registration-authority", "foreign-state"]
purposes = ["asylum-procedure"]
categories = ["identity", "identifiers"]
legal_bases = ["public-interest"]
valid_from = 2020-01-01
valid_until = 2021-01-01
onward_transfer = "forbidden"
dpo_approval = false
"""


def request_policy(directory: Path) -> Path:
    """Write the shipped policy with specific requests enabled into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    shipped = files("policies")
    for name, added in (
        ("model.conf", ""),
        ("default.csv", RULES),
        ("agreements.toml", AGREEMENTS),
    ):
        text = shipped.joinpath(name).read_text("utf-8")
        (directory / name).write_text(text + added, "utf-8")
    return directory
