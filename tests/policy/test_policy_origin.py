"""The origin guard: nothing reaches a state where the person is at risk."""

import datetime as dt

import pytest

from gateway.canonical import BirthEvent, FamilyLink, LegalBasis, Person, PersonName, Relationship
from gateway.policy import check_origin, inherited_risk
from tests.policy.factories import HOST, consent, request, subject


def denials(decision) -> list[str]:
    return [f.stage for f in decision.trace if f.outcome == "deny"]


def test_parents_country_of_origin_is_denied_even_with_consent_and_a_matching_rule(
    engine,
) -> None:
    # The embassy is a civil registry to the rules and has every subject's consent.
    req = request(destination="embassy-syr")
    assert engine.rules.match(req.envelope).rule is not None
    assert req.consents[0].recipient == "embassy-syr"

    decision = engine.decide(req)

    assert not decision.allowed
    assert decision.reasons == ("origin.risk_country",)
    assert decision.categories == frozenset()
    assert decision.rule is None
    assert denials(decision) == ["origin"]
    assert not [f for f in decision.trace if f.stage in ("rules", "consent")]


@pytest.mark.parametrize(
    "field",
    ["nationalities", "country_of_origin", "former_habitual_residences", "feared_countries"],
)
def test_every_kind_of_risk_country_blocks(engine, field) -> None:
    value = "SYR" if field == "country_of_origin" else ["Syria"]
    person = Person(ref="p1", **{field: value})
    risk = inherited_risk([person])["p1"]

    decision = engine.decide(request(destination="embassy-syr", subjects=[subject(risk=risk)]))

    assert risk == {"SYR"}
    assert decision.reasons == ("origin.risk_country",)


def test_an_embassy_is_the_state_that_controls_it_not_where_it_stands(engine) -> None:
    # Standing in the host state does not make the embassy of Syria part of the host state:
    # a person with no known risk countries is still kept from it.
    decision = engine.decide(request(destination="embassy-syr", subjects=[subject(risk=())]))

    assert decision.reasons == ("origin.unknown_risk_countries",)
    assert "foreign state SYR" in decision.trace[0].detail


def test_jurisdiction_codes_are_normalised_before_comparing(engine) -> None:
    decision = engine.decide(request(destination="embassy-syr", jurisdiction="SY"))

    assert decision.reasons == ("origin.risk_country",)


def test_a_child_inherits_its_parents_risk_countries(engine) -> None:
    mother = Person(ref="mother", names=[PersonName(given=["A"])], country_of_origin="SYR")
    father = Person(ref="father", nationalities=["IRQ"])
    child = Person(
        ref="child",
        family_links=[
            FamilyLink(relationship=Relationship.MOTHER, person_ref="mother"),
            FamilyLink(relationship=Relationship.FATHER, person_ref="father"),
        ],
    )
    birth = BirthEvent(
        child=child, mother=mother, father=father, date=dt.date(2025, 5, 1), country="JOR"
    )

    risk = inherited_risk(birth.subjects())
    assert risk == {"child": {"SYR", "IRQ"}, "mother": {"SYR"}, "father": {"IRQ"}}

    # Even alone in the message, the child may not be reported to the mother's country.
    decision = engine.decide(
        request(destination="embassy-syr", subjects=[subject("pseudo-child", risk=risk["child"])])
    )
    assert decision.reasons == ("origin.risk_country",)
    assert "pseudo-child" in decision.trace[0].detail


def test_inheritance_is_transitive_and_follows_child_links() -> None:
    grandmother = Person(
        ref="gm",
        feared_countries=["ERI"],
        family_links=[FamilyLink(relationship=Relationship.CHILD, person_ref="mum")],
    )
    mother = Person(ref="mum", nationalities=["SDN"])
    baby = Person(
        ref="baby",
        former_habitual_residences=["ETH"],
        family_links=[
            FamilyLink(relationship=Relationship.MOTHER, person_ref="mum"),
            FamilyLink(relationship=Relationship.FATHER, person_ref="not-in-message"),
            FamilyLink(relationship=Relationship.SIBLING, person_ref="gm"),
        ],
    )

    risk = inherited_risk([baby, mother, grandmother])

    assert risk["gm"] == {"ERI"}
    assert risk["mum"] == {"SDN", "ERI"}
    assert risk["baby"] == {"ETH", "SDN", "ERI"}


def test_inheritance_survives_cycles() -> None:
    a = Person(
        ref="a",
        nationalities=["SYR"],
        family_links=[FamilyLink(relationship="mother", person_ref="b")],
    )
    b = Person(
        ref="b",
        nationalities=["IRQ"],
        family_links=[FamilyLink(relationship="mother", person_ref="a")],
    )

    assert inherited_risk([a, b]) == {"a": {"SYR", "IRQ"}, "b": {"SYR", "IRQ"}}


def test_no_risk_countries_to_a_foreign_state_is_denied(engine) -> None:
    decision = engine.decide(request(destination="crvs-turkey", subjects=[subject(risk=())]))

    assert decision.reasons == ("origin.unknown_risk_countries",)


def test_no_risk_countries_to_the_host_state_passes_the_guard(engine) -> None:
    decision = engine.decide(request(subjects=[subject(risk=())]))

    assert decision.allowed
    assert decision.trace[0].stage == "origin"
    assert decision.trace[0].outcome == "allow"
    assert f"jurisdiction {HOST} (host state)" in decision.trace[0].detail


def test_no_risk_countries_to_a_un_system_passes_the_guard(engine) -> None:
    req = request(
        source="crvs-turkey",
        destination="unhcr-progres",
        message_type="birth-registration-confirmation",
        basis=LegalBasis.PUBLIC_INTEREST,
        subjects=[subject(risk=())],
        consents=[],
    )

    result = check_origin(req)

    assert result.reasons == ()
    assert "jurisdiction UNO (not a state)" in result.trace[-1].detail


@pytest.mark.parametrize("jurisdiction", [None, "ZZZ", "", "XXX"])
def test_unknown_jurisdiction_is_denied(engine, jurisdiction) -> None:
    decision = engine.decide(request(jurisdiction=jurisdiction, subjects=[subject(risk=("SYR",))]))

    assert decision.reasons == ("origin.unknown_jurisdiction",)
    assert decision.rule is None


def test_unknown_jurisdiction_is_denied_even_without_subjects(engine) -> None:
    decision = engine.decide(request(jurisdiction=None, subjects=[], consents=[]))

    assert decision.reasons == ("origin.unknown_jurisdiction",)


@pytest.mark.parametrize("codes", [("XXA",), ("XXB",), ("XXX",), ("XXA", "XXB", "XXC", "XXX")])
def test_special_nationality_codes_are_not_risk_countries(engine, codes) -> None:
    # Only person-status codes: as good as no risk countries at all.
    to_host = engine.decide(request(subjects=[subject(risk=codes)]))
    to_foreign_state = engine.decide(
        request(destination="crvs-turkey", subjects=[subject(risk=codes)])
    )

    assert to_host.allowed
    assert to_foreign_state.reasons == ("origin.unknown_risk_countries",)
    notes = [f.detail for f in to_host.trace if f.outcome == "info" and f.stage == "origin"]
    assert notes == [f"subject pseudo-1: non-state codes {', '.join(sorted(codes))} ignored"]


def test_a_stateless_persons_risk_is_their_former_residence(engine) -> None:
    person = Person(
        ref="p", stateless=True, nationalities=["XXA"], former_habitual_residences=["SYR"]
    )
    facts = subject(risk=inherited_risk([person])["p"])

    assert engine.decide(request(destination="embassy-syr", subjects=[facts])).reasons == (
        "origin.risk_country",
    )
    assert engine.decide(request(subjects=[facts])).allowed


def test_an_unreadable_risk_code_blocks_every_state(engine) -> None:
    decision = engine.decide(request(subjects=[subject(risk=("SYR", "Atlantis"))]))

    assert decision.reasons == ("origin.unknown_risk_countries",)
    assert "Atlantis" not in str(decision.trace)


def test_every_subject_is_checked_and_every_reason_reported(engine) -> None:
    subjects = [
        subject("pseudo-safe", "PRG-1", risk=("IRQ",)),
        subject("pseudo-syr", "PRG-2", risk=("SYR",)),
        subject("pseudo-unknown", "PRG-3", risk=()),
    ]
    consents = [consent(v, recipient="embassy-syr") for v in ("PRG-1", "PRG-2", "PRG-3")]

    decision = engine.decide(
        request(destination="embassy-syr", subjects=subjects, consents=consents)
    )

    assert decision.reasons == ("origin.risk_country", "origin.unknown_risk_countries")
    denied = [f.detail.split(":")[0] for f in decision.trace if f.outcome == "deny"]
    assert denied == ["subject pseudo-syr", "subject pseudo-unknown"]


def test_the_host_state_itself_is_denied_when_it_is_a_risk_country(engine) -> None:
    decision = engine.decide(request(subjects=[subject(risk=("JOR",))]))

    assert decision.reasons == ("origin.risk_country",)


@pytest.mark.parametrize(
    ("risk", "jurisdiction"),
    [("GBD", "GBR"), ("GBO", "GBR"), ("GBR", "GBD"), ("XXK", "RKS"), ("RKS", "XK"), ("D", "DEU")],
)
def test_codes_that_belong_to_a_state_count_as_that_state(engine, risk, jurisdiction) -> None:
    decision = engine.decide(request(jurisdiction=jurisdiction, subjects=[subject(risk=(risk,))]))

    assert decision.reasons == ("origin.risk_country",)


def test_remembered_risk_is_merged_and_inherited() -> None:
    # This message omits the mother's origin; the gateway remembered it from an earlier one.
    mother = Person(ref="mother")
    child = Person(
        ref="child",
        family_links=[FamilyLink(relationship=Relationship.MOTHER, person_ref="mother")],
    )

    risk = inherited_risk([child, mother], {"mother": frozenset({"SYR"}), "stranger": {"AFG"}})

    assert risk == {"mother": {"SYR"}, "child": {"SYR"}}


# A name ordinary usage gives to two states counts as both for a subject, and as no known
# state for a destination.


@pytest.mark.parametrize("jurisdiction", ["KOR", "PRK", "Republic of Korea", "North Korea"])
def test_an_ambiguous_risk_name_blocks_every_state_it_may_mean(engine, jurisdiction) -> None:
    decision = engine.decide(
        request(jurisdiction=jurisdiction, subjects=[subject(risk=("Korea",))])
    )

    assert decision.reasons == ("origin.risk_country",)


@pytest.mark.parametrize("jurisdiction", ["KOR", "PRK"])
def test_an_ambiguous_nationality_blocks_both_states(engine, jurisdiction) -> None:
    person = Person(ref="p", nationalities=["Korea"])
    risk = inherited_risk([person])["p"]

    decision = engine.decide(request(jurisdiction=jurisdiction, subjects=[subject(risk=risk)]))

    assert risk == {"KOR", "PRK"}
    assert decision.reasons == ("origin.risk_country",)
    assert f"destination jurisdiction {jurisdiction} is a risk country" in str(decision.trace)


def test_an_ambiguous_risk_name_is_a_known_risk_not_an_unreadable_one() -> None:
    # Both states it may mean are risks; the host state is neither, so the guard lets it pass.
    result = check_origin(request(subjects=[subject(risk=("Congo",))]))

    assert result.reasons == ()


@pytest.mark.parametrize("jurisdiction", ["Congo", "the Congo", "Korea"])
def test_an_ambiguous_jurisdiction_is_an_unknown_jurisdiction(engine, jurisdiction) -> None:
    # Never resolved to one of its states, not even for a subject at risk in neither.
    for risk in (("SYR",), ("COD",), ()):
        decision = engine.decide(request(jurisdiction=jurisdiction, subjects=[subject(risk=risk)]))

        assert decision.reasons == ("origin.unknown_jurisdiction",)
        assert decision.rule is None


# Holes found while building the property test (test_origin_property.py).


@pytest.mark.parametrize(
    ("jurisdiction", "reason"),
    [
        ("SYR", "origin.unknown_risk_countries"),  # "unknown" says nothing of Syria
        ("RKS", "origin.risk_country"),  # an UNMIK document says Kosovo
        ("Kosovo", "origin.risk_country"),
    ],
)
def test_unk_may_mean_unknown_as_well_as_kosovo(engine, jurisdiction, reason) -> None:
    # Many systems write "UNK" for an unknown nationality; read as Kosovo alone, it let the
    # person go to any other state.
    decision = engine.decide(request(jurisdiction=jurisdiction, subjects=[subject(risk=("UNK",))]))

    assert decision.reasons == (reason,)
    assert "UNK may mean Kosovo or unknown" in str(decision.trace)


def test_unk_says_nothing_against_a_known_risk_country() -> None:
    to_host = check_origin(request(subjects=[subject(risk=("UNK",))]))
    with_syria = check_origin(request(jurisdiction="TUR", subjects=[subject(risk=("UNK", "SYR"))]))

    assert to_host.reasons == ()
    assert with_syria.reasons == ()


@pytest.mark.parametrize(
    "jurisdiction",
    [
        "UNK",  # Kosovo, or unknown
        "XPO",  # INTERPOL: its member states read what it receives
        "EUE",  # the European Union
        "XOM",  # the Sovereign Military Order of Malta
        "IAO",  # ICAO
        "ANT",  # the Netherlands Antilles, a state no longer
        "NTZ",  # the Neutral Zone, no longer
        "UTO",  # Utopia, of specimen documents
    ],
)
def test_a_jurisdiction_is_a_state_or_the_un(engine, jurisdiction) -> None:
    # They passed as "not a state", like the UN: a subject of unknown risk went to them.
    for risk in (("SYR",), ()):
        decision = engine.decide(request(jurisdiction=jurisdiction, subjects=[subject(risk=risk)]))

        assert decision.reasons == ("origin.unknown_jurisdiction",)


def test_a_un_specialised_agency_is_the_un() -> None:
    result = check_origin(request(jurisdiction="UNA", subjects=[subject(risk=())]))

    assert result.reasons == ()
    assert "jurisdiction UNA (not a state)" in result.trace[-1].detail


@pytest.mark.parametrize(
    ("former", "jurisdiction"),
    [("ANT", "CUW"), ("ANT", "SXM"), ("ANT", "BES"), ("NTZ", "IRQ"), ("NTZ", "SAU")],
)
def test_a_former_state_is_a_risk_in_every_state_that_followed(
    engine, former, jurisdiction
) -> None:
    # It was ignored as "not a state": with another risk country known, the person could go
    # to the state that followed it.
    risk = (former, "SYR")

    decision = engine.decide(request(jurisdiction=jurisdiction, subjects=[subject(risk=risk)]))

    assert decision.reasons == ("origin.risk_country",)
