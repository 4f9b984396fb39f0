"""The guide model: the shipped sample loads, ambiguity and hostile YAML are refused."""

from __future__ import annotations

import pytest

from gateway.canonical.referral import ReferralKind
from gateway.errors import InvalidInput
from gateway.referrals.guide import MAX_GUIDE_BYTES, ReferralMode, from_yaml
from tests.referrals.helpers import sample_guide_text


def test_the_shipped_sample_guide_loads_and_covers_every_kind() -> None:
    guide = from_yaml(sample_guide_text())

    assert (guide.version, guide.country) == (1, "UTO")
    assert {k for a in guide.authorities for k in a.takes} == set(ReferralKind)
    unhcr = guide.authority_for(ReferralKind.UNHCR, None)
    assert unhcr is not None and unhcr.referral is ReferralMode.INFORM


def test_two_authorities_for_one_kind_in_one_region_are_refused() -> None:
    text = sample_guide_text().replace(b"takes: [specific_needs]", b"takes: [asylum]")

    with pytest.raises(InvalidInput) as refused:
        from_yaml(text)

    assert "two authorities take asylum referrals" in refused.value.problems[0].message


@pytest.mark.parametrize(
    "text",
    [
        b"a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
        b"c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nauthorities: [*c, *c, *c, *c, *c]\n",
        b"!!python/object/apply:os.system ['true']",
        b"- just\n- a list\n",
        b"x" * (MAX_GUIDE_BYTES + 1),
    ],
)
def test_hostile_yaml_is_refused_quickly(text: bytes) -> None:
    with pytest.raises(InvalidInput) as refused:
        from_yaml(text)

    assert len(refused.value.problems) <= 100
