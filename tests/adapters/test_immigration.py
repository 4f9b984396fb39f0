"""The immigration adapter: document requests, their status, and validity checks in XML."""

from __future__ import annotations

import datetime as dt
import re
from functools import cache
from pathlib import Path

import pytest
from lxml import etree

from adapters.immigration import ImmigrationAdapter, schema
from adapters.immigration.mrz import check_digit
from adapters.kit.conformance.shape import ERROR_BODY_LIMIT, optional_protocols
from adapters.kit.contract import Adapter, Rendered, WireErrors, check_content_type
from adapters.kit.mapping import FieldMap, load_mapping_set
from adapters.kit.xml import parse_xml
from adapters.registry import AdapterRegistry
from gateway.canonical import DataCategory, IdentityDocument, LegalStatus
from gateway.canonical.documents import (
    DOCUMENT_REQUEST,
    DOCUMENT_STATUS,
    DOCUMENT_VALIDITY_ANSWER,
    DOCUMENT_VALIDITY_CHECK,
    DocumentKind,
    DocumentRequest,
    DocumentStatus,
    DocumentValidity,
    DocumentValidityCheck,
    RequestStatus,
)
from gateway.errors import (
    COUNT_LIMIT,
    MAX_PROBLEMS,
    ConfigurationError,
    EnvelopeError,
    InvalidInput,
    ParseError,
    PolicyDeniedError,
    Problem,
)

FIXTURES = Path(schema.__file__).parent / "fixtures"
TODAY = dt.date(2026, 12, 1)
SAMPLES = {
    "document-request/with-mrz.xml": DOCUMENT_REQUEST,
    "document-request/written-out.xml": DOCUMENT_REQUEST,
    "document-status/issued.xml": DOCUMENT_STATUS,
    "document-validity-check/refugee-id.xml": DOCUMENT_VALIDITY_CHECK,
    "document-validity-answer/valid.xml": DOCUMENT_VALIDITY_ANSWER,
}
MARKER = "MARKER-51be0c"


@cache
def adapter() -> ImmigrationAdapter:
    return ImmigrationAdapter(today=lambda: TODAY)


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def request_text() -> str:
    return fixture("document-request/written-out.xml").decode()


def problems(message_type: str, body: str | bytes) -> list[Problem]:
    raw = body.encode() if isinstance(body, str) else body
    with pytest.raises(ParseError) as caught:
        adapter().parse(message_type, raw)
    return caught.value.problems


def located(found: list[Problem]) -> list[tuple[str, str]]:
    return [(p.location, p.message) for p in found]


def test_every_fixture_is_a_sample_and_parses() -> None:
    found = [p.relative_to(FIXTURES).as_posix() for p in FIXTURES.glob("*/*.xml")]
    assert sorted(found) == sorted(SAMPLES)
    for name, message_type in SAMPLES.items():
        adapter().parse(message_type, fixture(name))


def test_a_request_with_a_machine_readable_zone_reads_the_travel_document() -> None:
    request = adapter().parse(DOCUMENT_REQUEST, fixture("document-request/with-mrz.xml"))
    assert isinstance(request, DocumentRequest)
    assert request.kind is DocumentKind.REFUGEE_ID
    person = request.person
    assert person.names[0].family == "Haddad" and person.names[0].given == ["Amina"]
    assert person.legal_status is LegalStatus.REFUGEE
    assert [(i.scheme, i.value) for i in person.identifiers] == [
        ("progres-individual", "KKM-25-001234")
    ]
    assert person.documents == [
        IdentityDocument(
            type="P", number="N12345678", issuing_country="SYR", expiry=dt.date(2030, 6, 30)
        )
    ]
    assert request.subjects() == [person]
    assert DataCategory.LEGAL_STATUS in request.categories()


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_round_trip_canonical_native_canonical(name: str) -> None:
    message_type = SAMPLES[name]
    payload = adapter().parse(message_type, fixture(name))
    rendered = adapter().render(message_type, payload)
    assert rendered.content_type == "application/xml"
    assert schema.xmlschema_schema().is_valid(rendered.body)  # a second validator agrees
    assert adapter().parse(message_type, rendered.body) == payload


def test_the_native_fields_are_the_xsds_and_every_one_is_mapped_or_dropped() -> None:
    natives = adapter().native_fields
    assert set(natives) == set(schema.ROOTS)
    assert "person/birthDate/@estimated" in natives[DOCUMENT_REQUEST]
    for message_type, spec in adapter().mappings.specs.items():
        covered = {f.native for f in spec.fields} | {d.native for d in spec.dropped}
        assert covered == natives[message_type], message_type


def _enumerations(type_name: str) -> set[str]:
    types = etree.parse(str(schema.SCHEMA_DIR / "immigration-types-1.xsd"))
    ns = {"xs": "http://www.w3.org/2001/XMLSchema"}
    path = f"//xs:simpleType[@name='{type_name}']//xs:enumeration/@value"
    return {str(v) for v in types.xpath(path, namespaces=ns)}


@pytest.mark.parametrize(
    ("type_name", "codelist"),
    [
        ("Sex", "sex"),
        ("LegalStatus", "legal-status"),
        ("DocumentKind", "document-kind"),
        ("RequestStatus", "request-status"),
    ],
)
def test_the_xsds_codes_are_the_code_lists(type_name: str, codelist: str) -> None:
    table = adapter().mappings.codelists[codelist].systems["immigration"]
    assert _enumerations(type_name) == set(map(str, table.values()))


def test_a_wrong_namespace_is_named_never_echoed() -> None:
    body = request_text().replace("urn:exchange-hub:immigration:1", f"urn:{MARKER}")
    found = problems(DOCUMENT_REQUEST, body)
    assert located(found) == [
        ("/documentRequest", "element must be in namespace urn:exchange-hub:immigration:1")
    ]
    assert MARKER not in repr(found)


def test_a_body_of_another_message_type_names_the_root() -> None:
    found = problems(DOCUMENT_STATUS, fixture("document-validity-check/refugee-id.xml"))
    assert located(found) == [
        (
            "/documentValidityCheck",
            "root element must be documentStatus in namespace urn:exchange-hub:immigration:1",
        )
    ]


def test_invalid_codes_and_missing_elements_are_named_by_element() -> None:
    body = (
        request_text()
        .replace("<documentKind>ASID</documentKind>", f"<documentKind>{MARKER}</documentKind>")
        .replace("<sex>M</sex>", "<sex>Q</sex>")
        .replace("<legalStatus>ASY</legalStatus>", "")
    )
    found = problems(DOCUMENT_REQUEST, body)
    assert located(found) == [
        ("/documentRequest/documentKind", "value is not one of the allowed codes"),
        ("/documentRequest/person/sex", "value is not one of the allowed codes"),
        (
            "/documentRequest/person/registrationId[1]",
            "This element is not expected. Expected is ( legalStatus )",
        ),
    ]
    assert MARKER not in repr(found)


def test_an_unknown_country_is_a_problem_at_its_element() -> None:
    body = request_text().replace(
        "<nationality>SOM</nationality>", "<nationality>ZZZ</nationality>"
    )
    assert located(problems(DOCUMENT_REQUEST, body)) == [
        ("/documentRequest/person/nationality[1]", "value is not a known code")
    ]


def test_a_date_that_is_no_calendar_day_is_a_problem() -> None:
    body = request_text().replace("2029-11-30", "2029-02-30")
    found = located(problems(DOCUMENT_REQUEST, body))
    assert [where for where, _ in found] == ["/documentRequest/travelDocument/expiryDate"]


def test_schema_versions_1x_are_read_and_2_is_refused() -> None:
    body = request_text().replace('schemaVersion="1.2"', 'schemaVersion="1.17"')
    adapter().parse(DOCUMENT_REQUEST, body.encode())
    body = request_text().replace('schemaVersion="1.2"', 'schemaVersion="2.0"')
    assert located(problems(DOCUMENT_REQUEST, body)) == [
        ("/documentRequest/@schemaVersion", "value does not have the required form")
    ]


def _zone(birth: str = "900415", number: str = "N12345678") -> list[str]:
    first = "P<SYRHADDAD<<AMINA".ljust(44, "<")
    second = f"{number}{check_digit(number)}SYR{birth}{check_digit(birth)}F"
    second += f"3006302{'<' * 14}0"
    composite = second[0:10] + second[13:20] + second[21:43]
    return [first, second + str(check_digit(composite))]


def _with_zone(lines: list[str], birth: str = "1990-04-15") -> str:
    escaped = "".join(f"<line>{line.replace('<', '&lt;')}</line>" for line in lines)
    text = fixture("document-request/with-mrz.xml").decode()
    text = re.sub(r"<mrz>.*</mrz>", f"<mrz>{escaped}</mrz>", text, flags=re.DOTALL)
    return text.replace("<birthDate>1990-04-15</birthDate>", f"<birthDate>{birth}</birthDate>")


def test_a_zone_with_a_wrong_check_digit_names_the_line_and_field() -> None:
    lines = _zone()
    lines[1] = lines[1][:9] + str((int(lines[1][9]) + 1) % 10) + lines[1][10:]
    found = problems(DOCUMENT_REQUEST, _with_zone(lines))
    assert found and all(
        p.location.startswith("/documentRequest/travelDocument/mrz: line 2") for p in found
    )
    assert "N12345678" not in repr(found)


def test_a_zone_of_another_birth_date_is_refused() -> None:
    found = problems(DOCUMENT_REQUEST, _with_zone(_zone(), birth="1991-04-15"))
    assert located(found) == [
        ("/documentRequest/travelDocument/mrz", "date of birth differs from person/birthDate")
    ]


def test_the_zones_nationality_is_added_to_the_persons() -> None:
    body = _with_zone(_zone()).replace("<nationality>SYR</nationality>", "")
    body = body.replace("<countryOfOrigin>SYR</countryOfOrigin>", "")
    request = adapter().parse(DOCUMENT_REQUEST, body.encode())
    assert isinstance(request, DocumentRequest)
    assert request.person.nationalities == ["SYR"]  # a risk country the guard must see
    assert "SYR" in request.person.risk_countries()


HOSTILE = {
    "entity bomb": '<!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><r>&b;</r>',
    "external entity": f'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/{MARKER}">]><r>&x;</r>',
    "deep": "<r>" * 10_000 + "</r>" * 10_000,
    "xinclude": '<r xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include href="/x"/></r>',
    "malformed": "<documentRequest",
    "empty": "",
}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_hostile_xml_is_a_parse_error(kind: str) -> None:
    found = problems(DOCUMENT_REQUEST, HOSTILE[kind])
    assert len(found) == 1 and MARKER not in repr(found)


def test_a_body_of_too_many_elements_is_refused_before_validation() -> None:
    many = "<givenName>A</givenName>" * 5_000
    body = request_text().replace("<givenName>Hodan</givenName>", many)
    assert located(problems(DOCUMENT_REQUEST, body)) == [
        ("/documentRequest", "holds more than 2000 elements")
    ]


def test_an_issued_status_needs_its_document_and_only_it_has_one() -> None:
    text = fixture("document-status/issued.xml").decode()
    issued = re.sub(r"<document>.*</document>", "", text, flags=re.DOTALL)
    assert [p.location for p in problems(DOCUMENT_STATUS, issued)] == ["/documentStatus"]
    received = text.replace("<status>ISSUED</status>", "<status>RECEIVED</status>")
    assert [p.location for p in problems(DOCUMENT_STATUS, received)] == ["/documentStatus"]


def test_the_validity_answer_says_nothing_about_the_holder() -> None:
    answer = DocumentValidity(
        check_ref="CHK-1", valid=True, kind=DocumentKind.RESIDENCE_PERMIT, expiry=TODAY
    )
    root = etree.fromstring(adapter().render(DOCUMENT_VALIDITY_ANSWER, answer).body)
    assert [etree.QName(e).localname for e in root] == [
        "checkReference",
        "valid",
        "documentKind",
        "expiryDate",
    ]
    assert answer.subjects() == []
    invalid = DocumentValidity(check_ref="CHK-2", valid=False, kind=DocumentKind.REFUGEE_ID)
    assert (
        adapter().parse(
            DOCUMENT_VALIDITY_ANSWER, adapter().render(DOCUMENT_VALIDITY_ANSWER, invalid).body
        )
        == invalid
    )


def test_a_validity_check_names_its_holder_by_the_document_only() -> None:
    body = fixture("document-validity-check/refugee-id.xml")
    check = adapter().parse(DOCUMENT_VALIDITY_CHECK, body)
    assert isinstance(check, DocumentValidityCheck)
    [holder] = check.subjects()
    assert [(i.scheme, i.value) for i in holder.identifiers] == [("refugee-id", "RID-0042-7781")]
    assert holder.names == [] and check.categories() == {DataCategory.IDENTIFIERS}


def _request() -> DocumentRequest:
    request = adapter().parse(DOCUMENT_REQUEST, fixture("document-request/written-out.xml"))
    assert isinstance(request, DocumentRequest)
    return request


def test_a_request_cannot_be_minimised_below_what_the_authority_needs() -> None:
    for withheld in (DataCategory.IDENTITY, DataCategory.LEGAL_STATUS, DataCategory.IDENTIFIERS):
        with pytest.raises(ValueError, match=withheld.value):  # the pipeline then withholds it
            _request().minimised(frozenset(DataCategory) - {withheld})
    kept = _request().minimised(frozenset(DataCategory) - {DataCategory.NATIONALITY})
    assert kept.person.nationalities == [] and kept.person.names == _request().person.names


def test_a_request_without_a_name_or_birth_date_cannot_be_written() -> None:
    person = _request().person.model_copy(update={"names": [], "birth_date": None})
    with pytest.raises(InvalidInput) as caught:
        adapter().render(DOCUMENT_REQUEST, _request().model_copy(update={"person": person}))
    assert [p.location for p in caught.value.problems] == [
        "/documentRequest/person/givenName",
        "/documentRequest/person/birthDate",
    ]


def test_more_than_the_xsd_holds_is_refused_not_cut() -> None:
    person = _request().person.model_copy(
        update={"nationalities": ["SOM", "ETH", "KEN", "UGA", "SSD", "SDN"]}
    )
    with pytest.raises(InvalidInput) as caught:
        adapter().render(DOCUMENT_REQUEST, _request().model_copy(update={"person": person}))
    assert located(caught.value.problems) == [
        ("/documentRequest/person/nationality", "at most 5 are written")
    ]


def test_a_value_the_xsd_refuses_is_named_on_render() -> None:
    document = IdentityDocument(type="passport", number="X1234567", issuing_country="SOM")
    person = _request().person.model_copy(update={"documents": [document]})
    with pytest.raises(InvalidInput) as caught:
        adapter().render(DOCUMENT_REQUEST, _request().model_copy(update={"person": person}))
    assert [p.location for p in caught.value.problems] == [
        "/documentRequest/travelDocument/expiryDate"
    ]
    dated = document.model_copy(update={"expiry": TODAY})
    person = person.model_copy(update={"documents": [dated]})
    with pytest.raises(InvalidInput) as caught:
        adapter().render(DOCUMENT_REQUEST, _request().model_copy(update={"person": person}))
    assert located(caught.value.problems) == [
        ("/documentRequest/travelDocument/documentCode", "value does not have the required form")
    ]


def test_a_status_renders_and_a_wrong_payload_or_message_type_is_refused() -> None:
    status = DocumentStatus(
        request_ref="REQ-9",
        status=RequestStatus.IN_PROCESS,
        person=_request().person,
    )
    body = adapter().render(DOCUMENT_STATUS, status).body
    assert b"Abdi" not in body  # a status names the person by identifiers only
    with pytest.raises(TypeError):
        adapter().render(DOCUMENT_STATUS, _request())
    with pytest.raises(EnvelopeError):
        adapter().render("birth-notification", status)
    with pytest.raises(EnvelopeError):
        adapter().parse("birth-notification", b"<r/>")


def test_the_adapter_satisfies_the_contract_and_reads_xml() -> None:
    registry = AdapterRegistry.from_factories({"immigration": ImmigrationAdapter})
    built = registry.get("immigration")
    assert isinstance(built, Adapter)
    check_content_type(built, "application/xml; charset=utf-8")
    check_content_type(built, "text/xml")


def test_a_spec_naming_an_element_the_xsd_lacks_fails_at_construction() -> None:
    mappings = load_mapping_set("adapters.immigration", "immigration")
    spec = mappings.specs[DOCUMENT_VALIDITY_CHECK]
    broken = spec.model_copy(
        update={"fields": [*spec.fields, FieldMap(canonical="validity_check.number", native="nr")]}
    )
    mappings.specs = {**mappings.specs, DOCUMENT_VALIDITY_CHECK: broken}
    with pytest.raises(ConfigurationError, match="unknown native field 'nr'"):
        ImmigrationAdapter(mappings)


def test_check_rendered_names_what_breaks_the_xsd() -> None:
    body = fixture("document-validity-check/refugee-id.xml").replace(b"RID<", b"XX<")
    assert located(adapter().check_rendered(DOCUMENT_VALIDITY_CHECK, body)) == [
        ("/documentValidityCheck/documentKind", "value is not one of the allowed codes")
    ]
    with pytest.raises(ParseError):
        adapter().check_rendered(DOCUMENT_STATUS, body)


EXCHANGE_ID = "6f1c2a9e-3b7d-4c55-9a0e-2d8b4f6e1a37"
ERROR_NS = {"im": schema.NAMESPACE}


def error_document(rendered: Rendered) -> etree._Element:
    """Return an error answer's root, once it is XML in the namespace valid against the XSD."""
    assert rendered.content_type == "application/xml"
    root = parse_xml(rendered.body)
    assert root.tag == schema.tag("exchangeError")
    assert schema.validator().validate(root) == []
    assert schema.xmlschema_schema().is_valid(rendered.body)  # a second validator agrees
    return root


def texts(root: etree._Element, path: str) -> list[str]:
    return [str(e.text) for e in root.iterfind(path, ERROR_NS)]


def problem_count(root: etree._Element) -> tuple[str, str | None]:
    """Return the count and its lowerBound attribute."""
    count = root.find("im:problemCount", ERROR_NS)
    assert count is not None
    return str(count.text), count.get("lowerBound")


def test_an_error_is_an_exchange_error_valid_against_the_xsd() -> None:
    error = ParseError(
        "message breaks the immigration document-request schema",
        [
            Problem("/documentRequest/person/sex", "value is not one of the allowed codes"),
            Problem("/documentRequest/person/birthDate", "value is not a valid xs:date"),
        ],
    )
    error.exchange_id = EXCHANGE_ID

    root = error_document(adapter().render_error(DOCUMENT_REQUEST, error))

    assert texts(root, "im:reason") == ["invalid_message"]
    assert texts(root, "im:status") == ["422"]
    assert texts(root, "im:message") == [error.message]
    assert texts(root, "im:exchangeId") == [EXCHANGE_ID]
    assert texts(root, "im:problems/im:problem/im:location") == [
        "/documentRequest/person/sex",
        "/documentRequest/person/birthDate",
    ]
    assert problem_count(root) == ("2", None)
    assert root.find("im:reasons", ERROR_NS) is None
    assert isinstance(adapter(), WireErrors)
    assert optional_protocols(adapter()) == []  # the conformance kit's own checks


def test_an_error_before_the_message_type_is_known_has_no_problems_element() -> None:
    error = EnvelopeError("the envelope is incomplete")

    root = error_document(adapter().render_error(None, error))

    assert texts(root, "im:reason") == ["invalid_envelope"]
    assert root.find("im:problems", ERROR_NS) is None
    assert root.find("im:exchangeId", ERROR_NS) is None
    assert problem_count(root) == ("0", None)


def test_an_error_of_a_thousand_long_problems_stays_small_and_valid() -> None:
    # Every character escaped to five bytes (&amp;), the worst case for size.
    many = [Problem("&" * 5000, MARKER + "&" * 5000 + "\x00\ud800") for _ in range(COUNT_LIMIT + 5)]
    error = ParseError("&" * 5000, many, reasons=["a.b" * 100] * 500)

    rendered = adapter().render_error(DOCUMENT_STATUS, error)
    root = error_document(rendered)

    assert len(rendered.body) < ERROR_BODY_LIMIT
    assert len(texts(root, "im:problems/im:problem")) == MAX_PROBLEMS
    assert len(texts(root, "im:reasons/im:reason")) == MAX_PROBLEMS
    assert problem_count(root) == (str(COUNT_LIMIT), "true")
    assert all(len(m) <= 256 for m in texts(root, ".//im:message"))
    assert all(m.endswith("…") for m in texts(root, ".//im:message"))


def test_a_policy_denial_lists_the_policys_reasons() -> None:
    hint = Problem("X-Exchange-Purpose", "document-issuance would be accepted")
    error = PolicyDeniedError(
        "the exchange is denied by policy",
        [hint],
        reasons=["origin.risk_country", "consent.missing"],
    )
    error.exchange_id = EXCHANGE_ID

    root = error_document(adapter().render_error(DOCUMENT_REQUEST, error))

    assert texts(root, "im:reason") == ["denied"]
    assert texts(root, "im:status") == ["403"]
    assert texts(root, "im:reasons/im:reason") == ["origin.risk_country", "consent.missing"]
    assert texts(root, "im:problems/im:problem/im:message") == [hint.message]


def test_an_error_writes_only_what_the_error_holds() -> None:
    error = ParseError("invalid immigration document-request", [Problem("/documentRequest", "x")])
    body = adapter().render_error(f"{MARKER}<not-a-type>", error).body

    assert MARKER.encode() not in body  # the message type came from the caller: never written
    with pytest.raises(ParseError):  # an error document is no message: parse refuses it
        adapter().parse(DOCUMENT_REQUEST, body)
