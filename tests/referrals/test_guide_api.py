"""The National Reference Guide over HTTP: versions never edited, old ones still readable."""

from __future__ import annotations

import json

import httpx
from sqlalchemy import select

from gateway.store.models import InterviewRouting
from tests.referrals.conftest import Border
from tests.referrals.helpers import child_doc, guide_doc


def get(border: Border, path: str, **headers: str) -> httpx.Response:
    return httpx.get(f"{border.url}{path}", headers={**border.admin, **headers}, timeout=30)


def test_publishing_v2_keeps_v1_readable_and_each_routing_names_its_version(
    border: Border,
) -> None:
    assert get(border, "/referrals/guide").status_code == 404  # none published yet
    assert border.publish(json.dumps(guide_doc()).encode()).status_code == 201
    border.interview(child_doc(unaccompanied=True), key="under-v1-0001")

    v2 = guide_doc(version=2, maintained_by="Migration Service of Utopia, Guide Desk")
    v2["authorities"][1]["hotline"] = "+000 100 210 000"
    published = border.publish(json.dumps(v2).encode())
    border.interview(child_doc(unaccompanied=True, fear_of_return=True), key="under-v2-0001")

    assert published.status_code == 201, published.text
    current = get(border, "/referrals/guide").json()
    old = get(border, "/referrals/guide/1").json()
    assert current["guide"]["version"] == 2
    assert current["guide"]["authorities"][1]["hotline"] == "+000 100 210 000"
    assert old["guide"]["authorities"][1]["hotline"] == "+000 100 210 399"
    assert old["digest"] != current["digest"]
    versions = get(border, "/referrals/guide/versions").json()
    assert [v["version"] for v in versions] == [1, 2]
    # A system (the border guard's) reads the guide too: it has no personal data.
    as_border = {"Authorization": f"Bearer {border.credential}"}
    assert httpx.get(f"{border.url}/referrals/guide", headers=as_border).status_code == 200
    with border.runtime.db.reading() as session:
        routed = {
            r.idempotency_key: r.guide_version for r in session.scalars(select(InterviewRouting))
        }
    assert routed == {"under-v1-0001": 1, "under-v2-0001": 2}
    # A retry of the first interview is routed again under the version that routed it.
    again = border.interview(child_doc(unaccompanied=True), key="under-v1-0001")
    assert (again.status_code, again.json()["guide_version"]) == (200, 1)


def test_a_published_version_is_never_replaced(published: Border) -> None:
    changed = guide_doc(maintained_by="Somebody else")

    answer = published.publish(json.dumps(changed).encode())

    assert answer.status_code == 409
    assert answer.json()["problems"] == [
        {"location": "version", "message": "this version is already published"}
    ]
    current = get(published, "/referrals/guide").json()
    assert current["guide"]["maintained_by"].startswith("Migration Service of Utopia")


def test_a_future_version_is_not_yet_in_force(published: Border) -> None:
    later = guide_doc(version=3, effective_from="2999-01-01")

    assert published.publish(json.dumps(later).encode()).status_code == 201
    assert get(published, "/referrals/guide").json()["guide"]["version"] == 1
    assert get(published, "/referrals/guide/3").status_code == 200


INVALID = [
    ({"version": 0}, "guide.version"),
    ({"country": "Atlantis"}, "guide.country"),
    ({"authorities": []}, "guide.authorities"),
    ({"surprise": 1}, "guide.surprise"),
]
HOSTILE = [b"{", b"[]", b'{"a": 1, "a": 2}', b"[" * 10_000 + b"]" * 10_000, b"\xff\xfe"]


def test_invalid_and_hostile_guides_are_refused_naming_the_field(border: Border) -> None:
    for change, location in INVALID:
        answer = border.publish(json.dumps(guide_doc(**change)).encode())
        assert answer.status_code == 422, answer.text
        assert location in [p["location"] for p in answer.json()["problems"]]
    no_system = guide_doc()
    del no_system["authorities"][0]["system"]
    answer = border.publish(json.dumps(no_system).encode())
    assert answer.status_code == 422
    [problem] = answer.json()["problems"]
    assert problem["location"] == "guide.authorities.0"
    assert "system, purpose and legal_basis" in problem["message"]
    no_trafficking = guide_doc()
    no_trafficking["authorities"] = [
        a for a in no_trafficking["authorities"] if a["takes"] != ["anti_trafficking"]
    ]
    answer = border.publish(json.dumps(no_trafficking).encode())
    assert answer.status_code == 422
    assert "anti_trafficking" in answer.json()["problems"][0]["message"]
    for body in HOSTILE:
        answer = border.publish(body)
        assert answer.status_code == 422
        assert len(answer.content) < 2000
    assert get(border, "/referrals/guide").status_code == 404


def test_only_the_administrator_publishes(border: Border) -> None:
    body = json.dumps(guide_doc()).encode()
    as_border = {"Authorization": f"Bearer {border.credential}"}

    assert httpx.post(f"{border.url}/referrals/guide", content=body).status_code == 401
    refused = httpx.post(f"{border.url}/referrals/guide", content=body, headers=as_border)

    assert refused.status_code == 403
    assert get(border, "/referrals/guide").status_code == 404
