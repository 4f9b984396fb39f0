"""Withdrawal notices as each adapter writes them: the consent, the exchanges, the time, and
nothing that names a person."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from fhir.resources.STU3.consent import Consent as Stu3Consent
from pydantic import ValidationError

from adapters.kit.mapping import FieldMap, MappingSet, load_mapping_set
from adapters.opencrvs import OpenCrvsAdapter
from gateway.canonical import CONSENT_WITHDRAWAL, ConsentWithdrawal, DataCategory
from gateway.errors import ConfigurationError

CONSENT = "05be38c0-1310-4d04-889e-caa2b0ec3e86"
EXCHANGES = ["6f1c2a9e-3b7d-4c55-9a0e-2d8b4f6e1a37", "0b3c6f52-1d2e-4c8f-9a57-1c8f2d9e7a10"]
AT = dt.datetime(2026, 12, 1, 18, 26, 13, 864670, tzinfo=dt.timezone(dt.timedelta(hours=3)))
NOTICE = ConsentWithdrawal(consent_id=CONSENT, exchange_ids=EXCHANGES, withdrawn_at=AT)


def test_progres_gets_the_consent_the_exchanges_and_the_time_in_its_attributes(
    progres: Any,
) -> None:
    rendered = progres.render(CONSENT_WITHDRAWAL, NOTICE)

    assert rendered.content_type == "application/json"
    assert json.loads(rendered.body) == {
        "progres_consentid": CONSENT,
        "progres_exchangeids": EXCHANGES,
        "progres_consentwithdrawaldate": "2026-12-01T15:26:13.864Z",
    }
    assert progres.render(CONSENT_WITHDRAWAL, NOTICE).body == rendered.body  # same bytes


def test_opencrvs_gets_an_inactive_stu3_consent_that_names_nobody(opencrvs: Any) -> None:
    rendered = opencrvs.render(CONSENT_WITHDRAWAL, NOTICE)

    resource = json.loads(rendered.body)
    Stu3Consent.model_validate(resource)  # the reference validator agrees it is STU3
    assert (resource["resourceType"], resource["status"]) == ("Consent", "inactive")
    assert resource["identifier"] == {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{CONSENT}"}
    assert resource["dateTime"] == "2026-12-01T15:26:13Z"
    assert [d["reference"]["identifier"]["value"] for d in resource["data"]] == [
        f"urn:uuid:{e}" for e in EXCHANGES
    ]
    assert set(resource["patient"]) == {"display"}  # STU3 wants a patient; none is named


def test_a_notice_is_about_nobody_and_carries_no_category() -> None:
    assert NOTICE.subjects() == []
    assert NOTICE.categories() == frozenset()
    assert NOTICE.minimised(frozenset({DataCategory.BIRTH})) is NOTICE


@pytest.mark.parametrize(
    "change",
    [
        {"consent_id": "not-a-gateway-id"},
        {"exchange_ids": []},
        {"exchange_ids": ["KKM-25-001234"]},
        {"withdrawn_at": dt.datetime(2026, 12, 1)},  # no time zone
    ],
)
def test_a_notice_holds_only_gateway_ids_and_an_aware_time(change: dict[str, Any]) -> None:
    fields = {"consent_id": CONSENT, "exchange_ids": EXCHANGES, "withdrawn_at": AT, **change}
    with pytest.raises(ValidationError):
        ConsentWithdrawal(**fields)


@pytest.mark.parametrize("adapter", ["progres", "opencrvs"])
def test_a_notice_type_renders_notices_only(adapter: str, request: pytest.FixtureRequest) -> None:
    built = request.getfixturevalue(adapter)
    with pytest.raises(TypeError):
        built.render(CONSENT_WITHDRAWAL, object())


def test_an_opencrvs_spec_that_moves_a_consent_field_fails_at_start_up() -> None:
    shipped = load_mapping_set("adapters.opencrvs", "opencrvs")
    spec = shipped.spec(CONSENT_WITHDRAWAL)
    natives = {f.canonical: f.native for f in spec.fields}
    swap = {"withdrawal.consent_id": "withdrawal.withdrawn_at"}
    swap |= {v: k for k, v in swap.items()}  # each put in the other's place
    swapped = [FieldMap(canonical=c, native=natives[swap.get(c, c)]) for c in natives]
    specs = {**shipped.specs, CONSENT_WITHDRAWAL: spec.model_copy(update={"fields": swapped})}

    with pytest.raises(ConfigurationError, match="withdrawal.withdrawn_at -> Consent.identifier"):
        OpenCrvsAdapter(MappingSet("opencrvs", specs, shipped.codelists))
