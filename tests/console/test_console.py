"""The DPO's console over HTTP: who may sign in, what a session is, what each page shows.

A served gateway, the demo systems sending real exchanges; records written straight to the
store only where a test needs what the exchange path cannot make (a tampered database holding
markup, a page's worth of records).
"""

from __future__ import annotations

import html
import logging
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update

from gateway.console.routes import CONTENT_SECURITY_POLICY, NOT_THE_DPO, PAGE_SIZE
from gateway.console.session import COOKIE, LIFETIME_SECONDS, Sessions
from gateway.crypto import derive_key
from gateway.delivery.outbox import OUTBOUND_CREDENTIALS_KEY
from gateway.demo.flow import CIVIL_REGISTRY, EMBASSY, REGISTRATION, DemoEnvironment, wait_for
from gateway.demo.server import ServedGateway
from gateway.store.models import ExchangeRecord
from tests.console.helpers import PAGES, form_token, record, sign_in, signed_in, store, urls_in

CHILD = "KKM-25-001234"  # the demo child's proGres id
HOSTILE = '<script>alert("x")</script>'
HOSTILE_ATTRIBUTE = '"><img src=x onerror=alert(1)>'


def _cookie_attributes(answer: httpx.Response) -> list[str]:
    set_cookie = answer.headers.get("set-cookie", "")
    assert set_cookie.startswith(f"{COOKIE}=")
    return [part.strip().lower() for part in set_cookie.split(";")[1:]]


def _goes_to_sign_in(answer: httpx.Response) -> bool:
    return answer.status_code == 303 and answer.headers["location"] == "/console/login"


def test_the_dpo_signs_in_and_every_page_opens(
    console: httpx.Client, dpo_token: str, env: DemoEnvironment, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    assert env.submit_birth(CIVIL_REGISTRY).status_code == 202
    answer = sign_in(console, dpo_token)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/exchanges"
    attributes = _cookie_attributes(answer)
    assert {"httponly", "samesite=strict", "path=/console", f"max-age={LIFETIME_SECONDS}"} <= set(
        attributes
    )
    assert "secure" not in attributes  # plain http: a Secure cookie would never come back
    assert dpo_token not in answer.headers["set-cookie"]
    for path in PAGES:
        page = console.get(path)
        assert page.status_code == 200, path
        assert page.headers["content-type"].startswith("text/html")
        assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert page.headers["cache-control"] == "no-store"
        assert page.headers["x-frame-options"] == "DENY"
        assert "<script" not in page.text.lower()
        assert dpo_token not in page.text
    assert "default-src 'none'" in CONTENT_SECURITY_POLICY
    assert "script-src" not in CONTENT_SECURITY_POLICY  # no script at all
    assert dpo_token not in caplog.text


@pytest.mark.parametrize("settings", [{"http_trusted_proxies": "127.0.0.1"}], indirect=True)
def test_the_cookie_is_secure_when_the_console_is_served_over_https(
    console: httpx.Client, dpo_token: str
) -> None:
    answer = sign_in(console, dpo_token, **{"X-Forwarded-Proto": "https"})
    assert answer.status_code == 303
    assert "secure" in _cookie_attributes(answer)


def test_no_other_credential_opens_the_console(
    console: httpx.Client, served: ServedGateway, env: DemoEnvironment, dpo_token: str
) -> None:
    others = {
        "the administrator's token": served.runtime.settings.resolved_admin_token(),
        "a system's credential": env.credentials[REGISTRATION],
        "nothing": "",
        "a guess": "not-the-token",
        "the DPO's token and more": dpo_token + "x",
    }
    for what, token in others.items():
        answer = sign_in(console, token)
        assert answer.status_code == 401, what
        assert html.escape(NOT_THE_DPO) in answer.text, what
        assert "set-cookie" not in answer.headers, what
        if token:
            assert token not in answer.text, what
        assert _goes_to_sign_in(console.get("/console/exchanges")), what


@pytest.mark.parametrize("settings", [{"auth_failure_limit": 2}], indirect=True)
def test_failed_sign_ins_count_toward_the_throttle(console: httpx.Client, dpo_token: str) -> None:
    assert sign_in(console, "wrong-1").status_code == 401
    assert sign_in(console, "wrong-2").status_code == 401
    refused = sign_in(console, dpo_token)  # even the right token, until the window passes
    assert refused.status_code == 429
    assert "retry-after" in refused.headers


def test_every_page_sends_you_to_sign_in_without_a_session(console: httpx.Client) -> None:
    for path in (*PAGES, "/console"):
        answer = console.get(path)
        assert _goes_to_sign_in(answer), path
        assert answer.text == ""
    subject = console.post(
        "/console/subject", data={"scheme": "progres-individual", "value": CHILD}
    )
    assert _goes_to_sign_in(subject)
    assert console.get("/console/login").status_code == 200
    assert console.get("/console/static/console.css").headers["content-type"].startswith("text/css")


def test_a_forged_expired_or_stale_session_is_refused(
    console: httpx.Client, served: ServedGateway, dpo_token: str
) -> None:
    settings = served.runtime.settings
    key = derive_key(settings.master_secret(), "console-session")
    valid, _ = Sessions(key, dpo_token).issue()
    version, payload, mac = valid.split(".")
    expired_at = time.time() - LIFETIME_SECONDS - 1
    refused = {
        "expired": Sessions(key, dpo_token, clock=lambda: expired_at).issue()[0],
        "issued in the future": Sessions(key, dpo_token, clock=lambda: time.time() + 3600).issue()[
            0
        ],
        "signed with another key": Sessions(b"k" * 32, dpo_token).issue()[0],
        "signed with the admin key's purpose": Sessions(
            derive_key(settings.master_secret(), OUTBOUND_CREDENTIALS_KEY), dpo_token
        ).issue()[0],
        "signed for an earlier DPO token": Sessions(key, "an earlier token").issue()[0],
        "payload changed": f"{version}.{payload[:-2]}AA.{mac}",
        "signature changed": f"{version}.{payload}.{mac[:-2]}AA",
        "no signature": f"{version}.{payload}.",
        "not a session": "v1.bm90.aGVsbG8",
    }
    for what, cookie in refused.items():
        answer = console.get("/console/exchanges", headers={"Cookie": f"{COOKIE}={cookie}"})
        assert _goes_to_sign_in(answer), what
    opened = console.get("/console/exchanges", headers={"Cookie": f"{COOKIE}={valid}"})
    assert opened.status_code == 200  # the same request with a good session gets in


def test_a_new_dpo_token_ends_every_session(
    console: httpx.Client, served: ServedGateway, dpo_token: str
) -> None:
    signed_in(console, dpo_token)
    assert console.get("/console/exchanges").status_code == 200
    token_file = served.runtime.settings.data_dir / "dpo.token"
    assert token_file.read_text().strip() == dpo_token  # made at start, as no variable set it
    token_file.write_text("a-new-dpo-token-" + "0" * 48)
    assert _goes_to_sign_in(console.get("/console/exchanges"))
    assert sign_in(console, dpo_token).status_code == 401
    signed_in(console, "a-new-dpo-token-" + "0" * 48)
    assert console.get("/console/exchanges").status_code == 200


def test_sign_out_clears_the_session(console: httpx.Client, dpo_token: str) -> None:
    signed_in(console, dpo_token)
    assert console.post("/console/logout", data={}).status_code == 403  # no form token
    token = form_token(console)  # still signed in
    answer = console.post("/console/logout", data={"form_token": token})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/login?signed-out"
    cleared = _cookie_attributes(answer)
    assert "max-age=0" in cleared and "path=/console" in cleared
    assert _goes_to_sign_in(console.get("/console/exchanges"))
    assert "You are signed out." in console.get("/console/login?signed-out").text


def test_posts_from_other_sites_are_refused(
    console: httpx.Client, served: ServedGateway, dpo_token: str
) -> None:
    for headers in (
        {"Origin": "http://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
    ):
        answer = sign_in(console, dpo_token, **headers)
        assert answer.status_code == 403, headers
        assert "set-cookie" not in answer.headers
    same_site = sign_in(console, dpo_token, Origin=served.url, **{"Sec-Fetch-Site": "same-origin"})
    assert same_site.status_code == 303
    token = form_token(console)
    lookup = {"scheme": "progres-individual", "value": CHILD}
    for data, headers in (
        ({**lookup, "form_token": token}, {"Origin": "http://evil.example"}),
        (lookup, {}),
        ({**lookup, "form_token": token[:-2] + "AA"}, {}),
    ):
        answer = console.post("/console/subject", data=data, headers=headers)
        assert answer.status_code == 403
        assert "<table" not in answer.text
    ok = console.post("/console/subject", data={**lookup, "form_token": token})
    assert ok.status_code == 200


def test_a_persons_disclosures_are_found_by_an_identifier_that_goes_nowhere(
    console: httpx.Client,
    dpo_token: str,
    env: DemoEnvironment,
    served: ServedGateway,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    allowed, denied = env.submit_birth(CIVIL_REGISTRY), env.submit_birth(EMBASSY)
    assert (allowed.status_code, denied.status_code) == (202, 403)
    signed_in(console, dpo_token)
    form = console.get("/console/subject").text
    assert 'method="post" action="/console/subject"' in form
    token = form_token(console)
    # Spelled as the issuer does not: the scheme's rules make it the same identifier.
    spelled = "kkm 25 001234"
    answer = console.post(
        "/console/subject",
        data={"scheme": "progres-individual", "value": spelled, "form_token": token},
    )
    assert answer.status_code == 200 and not answer.history
    assert "location" not in answer.headers
    assert answer.headers["cache-control"] == "no-store"
    for exchange in (allowed, denied):
        assert exchange.json()["exchange_id"] in answer.text
    assert "embassy-ssd" in answer.text and "crvs-national" in answer.text
    assert "the destination is controlled by a state where a subject is at risk" in answer.text
    never_sent = "KKM-31-424242"
    nothing = console.post(
        "/console/subject",
        data={"scheme": "progres-individual", "value": never_sent, "form_token": token},
    )
    assert "No exchange about this person is recorded." in nothing.text
    for page in (form, answer.text, nothing.text):
        for url in urls_in(page):
            for spelling in (CHILD, "KKM25001234", spelled, never_sent, "KKM31424242"):
                assert spelling.lower() not in url.lower()
    for spelling in (CHILD, "KKM25001234", "kkm 25", never_sent, "KKM31424242"):
        assert spelling not in caplog.text
    database = Path(served.runtime.settings.data_dir)
    files = [f for f in database.glob("gateway.db*") if f.is_file()]
    for found in files:  # SQLite only: on PostgreSQL there is no file here to read
        content = found.read_bytes()
        assert never_sent.encode() not in content and b"KKM31424242" not in content


def test_the_exchanges_page_filters_and_pages(
    console: httpx.Client, dpo_token: str, served: ServedGateway, env: DemoEnvironment
) -> None:
    denied = env.submit_birth(EMBASSY).json()["exchange_id"]
    store(served.runtime, [record() for _ in range(PAGE_SIZE + 3)])
    signed_in(console, dpo_token)
    first = console.get("/console/exchanges", params={"recipient": "crvs-national"})
    assert first.status_code == 200
    assert first.text.count("<tr>") == PAGE_SIZE + 1  # the heading row and a page
    assert denied not in first.text
    more = [u for u in urls_in(first.text) if "cursor=" in u]
    assert len(more) == 1 and "recipient=crvs-national" in more[0]
    second = console.get(html.unescape(more[0]))
    assert second.text.count("<tr>") == 3 + 1
    assert "cursor=" not in " ".join(urls_in(second.text))
    only_denied = console.get(
        "/console/exchanges", params={"decision": "denied", "jurisdiction": "SSD"}
    )
    assert denied in only_denied.text and only_denied.text.count("<tr>") == 2
    assert "origin.risk_country" in only_denied.text
    none = console.get("/console/exchanges", params={"purpose": "statistics"})
    assert "No exchange matches these filters." in none.text


def test_bad_filters_are_explained(console: httpx.Client, dpo_token: str) -> None:
    signed_in(console, dpo_token)
    cases = {
        ("/console/exchanges", "since", "2025-13-01"): "Since: expected a date as YYYY-MM-DD",
        ("/console/exchanges", "jurisdiction", "Atlantis"): "jurisdiction",
        ("/console/denials", "until", "yesterday"): "Until: expected a date as YYYY-MM-DD",
        ("/console/transfers", "bucket", "month"): "Per: a day or a week",
        ("/console/transfers", "until", "9999-12-31"): "Until: a year from 1900 to 9998",
    }
    for (path, name, value), said in cases.items():
        answer = console.get(path, params={name: value})
        assert answer.status_code == 400, (path, name)
        assert said in answer.text, (path, name)
    backwards = console.get(
        "/console/denials", params={"since": "2025-02-01", "until": "2025-01-01"}
    )
    assert "Since must be on or before Until" in backwards.text


def test_denials_and_transfers_count_what_was_sent(
    console: httpx.Client, dpo_token: str, env: DemoEnvironment
) -> None:
    for _ in range(2):
        assert env.submit_birth(CIVIL_REGISTRY).status_code == 202
    assert env.submit_birth(EMBASSY).status_code == 403
    signed_in(console, dpo_token)
    denials = console.get("/console/denials").text
    assert "<strong>1</strong> denied exchange in this period." in denials
    assert "origin.risk_country" in denials
    assert "the destination is controlled by a state where a subject is at risk" in denials
    assert '<td>embassy-ssd</td><td class="num">1</td>' in denials
    transfers = console.get("/console/transfers").text
    assert "<svg" in transfers and 'role="img"' in transfers
    assert "<title>crvs-national, " in transfers and ": 2</title>" in transfers
    assert '<td class="num">2</td>' in transfers  # the table beside the chart
    weekly = console.get("/console/transfers", params={"bucket": "week"})
    assert weekly.status_code == 200 and "Transfers per recipient per week" in weekly.text
    widest = {"since": "1900-01-01", "until": "9998-12-31"}
    assert console.get("/console/transfers", params=widest).status_code == 200


def test_pages_say_when_there_is_nothing_to_show(console: httpx.Client, dpo_token: str) -> None:
    signed_in(console, dpo_token)
    said = {
        "/console/exchanges": "No exchange matches these filters.",
        "/console/denials": "No exchange was denied in this period.",
        "/console/transfers": "No transfer was made in this period.",
        "/console/integrity": "Nothing is sealed in the log yet",
    }
    for path, words in said.items():
        assert words in console.get(path).text, path


def test_the_integrity_page_shows_the_checkpoint_and_catches_an_edited_record(
    console: httpx.Client, dpo_token: str, served: ServedGateway, env: DemoEnvironment
) -> None:
    denied = env.submit_birth(EMBASSY).json()["exchange_id"]
    assert env.submit_birth(CIVIL_REGISTRY).status_code == 202
    log = served.runtime.log
    assert wait_for(lambda: log.integrity().size >= 2, seconds=30)
    signed_in(console, dpo_token)
    page = console.get("/console/integrity").text
    found = log.integrity()
    assert "Verified: the stored log&#x27;s 2 entries" in page
    assert found.root is not None and found.root in page
    assert all(key_id in page for key_id in found.key_ids) and found.key_ids
    assert served.runtime.settings.log_origin in page
    assert "Checked at" in page
    with served.runtime.db.transaction() as connection:  # someone edits the stored record
        connection.execute(
            update(ExchangeRecord).where(ExchangeRecord.id == denied).values(purpose="statistics")
        )
    edited = console.get("/console/integrity").text
    assert "NOT verified" in edited
    assert "no longer matches its leaf" in edited


def test_every_value_is_shown_as_text(
    console: httpx.Client, dpo_token: str, served: ServedGateway
) -> None:
    """A tampered database, or a filter typed by anyone, holds markup: none of it is markup."""
    store(
        served.runtime,
        [
            record(destination=HOSTILE, purpose=HOSTILE_ATTRIBUTE, policy_rule=HOSTILE),
            record(
                destination=HOSTILE_ATTRIBUTE,
                decision="denied",
                reasons=(HOSTILE,),
                categories=(HOSTILE,),
                source=HOSTILE,
                destination_jurisdiction="<u>",  # three characters, as the column holds
            ),
        ],
    )
    signed_in(console, dpo_token)
    token = form_token(console)
    answers = [
        console.get("/console/exchanges"),
        console.get("/console/denials"),
        console.get("/console/transfers"),
        console.get(
            "/console/exchanges", params={"recipient": HOSTILE, "purpose": HOSTILE_ATTRIBUTE}
        ),
        console.get("/console/denials", params={"since": HOSTILE}),
        console.get("/console/transfers", params={"until": HOSTILE_ATTRIBUTE}),
        console.post(
            "/console/subject",
            data={"scheme": HOSTILE, "value": HOSTILE_ATTRIBUTE, "form_token": token},
        ),
    ]
    for answer in answers:
        assert HOSTILE not in answer.text and HOSTILE_ATTRIBUTE not in answer.text
        assert "<script" not in answer.text and "<img" not in answer.text
        assert "<u>" not in answer.text
    for answer in answers[:3]:
        assert html.escape(HOSTILE) in answer.text
    assert html.escape(HOSTILE_ATTRIBUTE) in answers[3].text  # the filter, written back
    assert html.escape(HOSTILE_ATTRIBUTE) in answers[6].text  # the identifier, written back
