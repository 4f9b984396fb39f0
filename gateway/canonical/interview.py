"""The identification interview at the border: the answers that decide where a person is referred.

Seed 001, section 5 and Annex 1 ("Sample questions to identify persons in need of international
protection"). Only closed codes: an officer ticks answers, and a free-text account of a
person's story never enters the model (it could not be minimised). Annex 1 marks some answers
with an asterisk (the person could be a refugee: refer to the asylum procedure and inform about
UNHCR) or a cross (the person could be a victim of trafficking: activate the national
protection mechanism); `INDICATOR_MARKS` keeps those marks, so the routing reads them from
one place.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import Field, model_validator

from gateway.canonical.person import Canonical, Person
from gateway.canonical.text import Text

INTERVIEW = "identification-interview"
ADULT_AGE = 18


class Indicator(StrEnum):
    """An Annex 1 answer that points at protection needs (question number in the comment)."""

    FLIGHT_FROM_HARM = "flight_from_harm"  # 5 *
    PERSECUTION = "persecution"  # 5 *
    ETHNIC_PERSECUTION = "ethnic_persecution"  # 5 *
    LIFE_OR_FREEDOM_AT_RISK = "life_or_freedom_at_risk"  # 5 *
    INDISCRIMINATE_VIOLENCE = "indiscriminate_violence"  # 5 *
    DOMESTIC_VIOLENCE = "domestic_violence"  # 5 *
    ARMED_CONFLICT = "armed_conflict"  # 5 *
    PUBLIC_DISORDER = "public_disorder"  # 5 *
    DISCRIMINATION = "discrimination"  # 5 *
    EMPLOYMENT_PROMISE = "employment_promise"  # 5 +
    DECEPTION = "deception"  # 5 +
    DESTINATION_PROMISE = "destination_promise"  # 5 + (a third person's promise)
    FORCED_TO_LEAVE = "forced_to_leave"  # 6 *
    HELPED_BY_ANOTHER = "helped_by_another"  # 7 +
    PAID_SOMEONE = "paid_someone"  # 7 +
    LEFT_INVOLUNTARILY = "left_involuntarily"  # 7 +* (abduction, coercion, sold)
    ABUSED_ON_JOURNEY = "abused_on_journey"  # 8 *
    FEARS_DETENTION = "fears_detention"  # 14 *
    FEARS_PHYSICAL_VIOLENCE = "fears_physical_violence"  # 14 *+
    FEARS_SEXUAL_VIOLENCE = "fears_sexual_violence"  # 14 *+
    FEARS_REPRISAL = "fears_reprisal"  # 14 +
    FEARS_PERSECUTION = "fears_persecution"  # 14 *
    FEARS_DISCRIMINATION = "fears_discrimination"  # 14 *
    WANTS_TO_SEE_UN = "wants_to_see_un"  # section 5.4 *
    CONTROLLED_BY_COMPANION = "controlled_by_companion"  # section 5.5 +


class Mark(StrEnum):
    PROTECTION = "protection"  # Annex 1's asterisk
    TRAFFICKING = "trafficking"  # Annex 1's cross


_P, _T = frozenset({Mark.PROTECTION}), frozenset({Mark.TRAFFICKING})
_PT = _P | _T
INDICATOR_MARKS: dict[Indicator, frozenset[Mark]] = {
    Indicator.FLIGHT_FROM_HARM: _P,
    Indicator.PERSECUTION: _P,
    Indicator.ETHNIC_PERSECUTION: _P,
    Indicator.LIFE_OR_FREEDOM_AT_RISK: _P,
    Indicator.INDISCRIMINATE_VIOLENCE: _P,
    Indicator.DOMESTIC_VIOLENCE: _P,
    Indicator.ARMED_CONFLICT: _P,
    Indicator.PUBLIC_DISORDER: _P,
    Indicator.DISCRIMINATION: _P,
    Indicator.EMPLOYMENT_PROMISE: _T,
    Indicator.DECEPTION: _T,
    Indicator.DESTINATION_PROMISE: _T,
    Indicator.FORCED_TO_LEAVE: _P,
    Indicator.HELPED_BY_ANOTHER: _T,
    Indicator.PAID_SOMEONE: _T,
    Indicator.LEFT_INVOLUNTARILY: _PT,
    Indicator.ABUSED_ON_JOURNEY: _P,
    Indicator.FEARS_DETENTION: _P,
    Indicator.FEARS_PHYSICAL_VIOLENCE: _PT,
    Indicator.FEARS_SEXUAL_VIOLENCE: _PT,
    Indicator.FEARS_REPRISAL: _T,
    Indicator.FEARS_PERSECUTION: _P,
    Indicator.FEARS_DISCRIMINATION: _P,
    Indicator.WANTS_TO_SEE_UN: _P,
    Indicator.CONTROLLED_BY_COMPANION: _T,
}
"""Annex 1's marks on each answer (section 5.4 and 5.5 for the last two)."""


class SpecificNeed(StrEnum):
    """A specific need seen or stated (sections 5.5 and 6.1)."""

    MEDICAL_CONDITION = "medical_condition"
    PHYSICAL_DISABILITY = "physical_disability"
    MENTAL_DISABILITY = "mental_disability"
    OLDER_PERSON_AT_RISK = "older_person_at_risk"
    WOMAN_AT_RISK = "woman_at_risk"
    SGBV_SURVIVOR = "sgbv_survivor"
    VIOLENCE_SURVIVOR = "violence_survivor"
    TORTURE_SURVIVOR = "torture_survivor"
    PSYCHOLOGICAL_DISTRESS = "psychological_distress"
    DISORIENTATION = "disorientation"


class UrgentNeed(StrEnum):
    """A need met before any question is asked (sections 5.2 and 5.5)."""

    URGENT_MEDICAL = "urgent_medical"
    PSYCHOLOGICAL_FIRST_AID = "psychological_first_aid"
    FOOD_AND_WATER = "food_and_water"
    HYGIENE = "hygiene"
    SHELTER = "shelter"


class Intention(StrEnum):
    """What the person says they want (Annex 1, questions 10 to 12)."""

    SEEK_PROTECTION = "seek_protection"
    TRANSIT = "transit"
    JOIN_FAMILY = "join_family"
    WORK_OR_STUDY = "work_or_study"
    RETURN_HOME = "return_home"
    UNDECIDED = "undecided"


class IdentificationInterview(Canonical):
    """The answers of one preliminary identification interview at a border point."""

    reference: Text = Field(min_length=1, max_length=40)  # the border system's interview id
    interviewed_on: dt.date
    office: Text | None = Field(default=None, max_length=64)  # the border crossing point
    region: Text | None = Field(default=None, max_length=64)  # picks regional authorities
    person: Person
    # Fear of what may happen on return, expressed in any words (section 5.4): no need to
    # say "asylum" or "refugee".
    fear_of_return: bool = False
    child: bool | None = None  # the officer's assessment; None: from the birth date
    unaccompanied: bool = False
    separated: bool = False  # with adults who are not the child's parents or caregivers
    child_at_risk: bool = False  # with parents, yet at risk of abuse or violence (6.1)
    indicators: list[Indicator] = Field(default_factory=list, max_length=64)
    specific_needs: list[SpecificNeed] = Field(default_factory=list, max_length=32)
    urgent_needs: list[UrgentNeed] = Field(default_factory=list, max_length=16)
    intention: Intention | None = None

    @model_validator(mode="after")
    def _coherent(self) -> IdentificationInterview:
        if self.unaccompanied and self.separated:
            raise ValueError("a person is either unaccompanied or separated, not both")
        child_only = self.separated or self.child_at_risk
        if child_only and self.child is None and self.age() is None:
            raise ValueError("say whether the person is a child (child) when the age is unknown")
        if child_only and not self.is_child():
            raise ValueError("only a child is separated or at risk as a child")
        if not self.urgent_needs and not (self.person.names or self.person.identifiers):
            raise ValueError("name or identify the person, unless urgent needs come first")
        return self

    def age(self) -> int | None:
        """Return the person's age in whole years on the interview's date, if known."""
        if self.person.birth_date is None:
            return None
        born, on = self.person.birth_date.date, self.interviewed_on
        return on.year - born.year - ((on.month, on.day) < (born.month, born.day))

    def is_child(self) -> bool:
        """Tell whether the person is treated as a child.

        Why either source suffices: in doubt a person is treated as a child, so the officer's
        assessment counts even against a document, and a document's date even against it.
        """
        age = self.age()
        return self.child is True or (age is not None and age < ADULT_AGE)

    def marked(self, mark: Mark) -> list[Indicator]:
        """Return the answers given that carry this Annex 1 mark, sorted, once each."""
        return sorted({i for i in self.indicators if mark in INDICATOR_MARKS[i]})
