"""The policy the request tests run under: the shipped files, with specific requests enabled.

The shipped default.csv holds the rules only as a commented example (policies/default.csv):
here they are in force, the test requesters are in `foreign-state`, and agreements.toml adds
an agreement covering them and one that has expired.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from tests.fixtures.policies import agreement, policy_folder

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
PARTIES = ("registration-authority", "foreign-state")
AGREEMENTS = agreement(
    AGREEMENT,
    PARTIES,
    ("asylum-procedure", "family-reunification"),
    "identity|nationality|identifiers|legal_status|family",
    ("public-interest", "consent"),
    title="Asylum cooperation: specific requests between states",
) + agreement(
    EXPIRED,
    PARTIES,
    "asylum-procedure",
    "identity|identifiers",
    "public-interest",
    title="An arrangement that has run its course",
    valid_from=dt.date(2020, 1, 1),
    valid_until=dt.date(2021, 1, 1),
)


def request_policy(directory: Path) -> Path:
    """Write the shipped policy with specific requests enabled into `directory`."""
    return policy_folder(directory, RULES, AGREEMENTS)
