"""The DPO's console in a real browser: sign in through the form, read every page, sign out.

Debian's Chromium (/usr/bin/chromium) driven by Playwright, as tests/test_docs_browser.py
drives it: every request to any host but the gateway's is aborted and recorded, and the test
fails if there was one; so does anything the pages' Content-Security-Policy refused. The demo
sends a birth to the civil registry (allowed) and to the embassy (denied); each page must show
them, and is saved to build/screenshots/console-<page>.png.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from gateway.demo.flow import CIVIL_REGISTRY, EMBASSY, DemoEnvironment, wait_for
from gateway.demo.server import ServedGateway
from tests.fixtures.browser import SCREENSHOTS

CHILD = "KKM-25-001234"  # the demo child's proGres id


def _shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"console-{name}.png", full_page=True)


def _clean(page: Page, elsewhere: list[str]) -> None:
    assert elsewhere == []
    assert page.evaluate("window.refusedByPolicy") == []


def test_the_dpo_reads_every_page_of_the_console(
    page: Page, served: ServedGateway, env: DemoEnvironment, elsewhere: list[str]
) -> None:
    allowed = env.submit_birth(CIVIL_REGISTRY)
    env.submit_birth(CIVIL_REGISTRY)
    denied = env.submit_birth(EMBASSY)
    assert (allowed.status_code, denied.status_code) == (202, 403)
    assert wait_for(lambda: served.runtime.log.integrity().size >= 3, seconds=30)
    denied_id = denied.json()["exchange_id"]

    page.goto(f"{served.url}/console")
    expect(page).to_have_url(f"{served.url}/console/login")
    _shot(page, "login")
    page.get_by_label("Data protection officer's token").fill("not-the-token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("not the data protection officer's token")
    page.get_by_label("Data protection officer's token").fill(
        served.runtime.settings.resolved_dpo_token()
    )
    page.get_by_role("button", name="Sign in").click()

    expect(page).to_have_url(f"{served.url}/console/exchanges")
    denied_row = page.locator("tr", has_text=denied_id)
    expect(denied_row).to_contain_text("embassy-ssd")
    expect(denied_row).to_contain_text("denied")
    expect(denied_row.locator("[title='origin.risk_country']")).to_be_visible()
    expect(page.locator("tbody tr", has_text="crvs-national")).to_have_count(2)
    _shot(page, "exchanges")
    page.get_by_label("Decision").select_option("denied")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"/console/exchanges\?.*decision=denied"))
    expect(page.locator("tbody tr")).to_have_count(1)

    page.get_by_role("link", name="A person's disclosures").click()
    page.get_by_label("Identifier scheme").fill("progres-individual")
    page.get_by_label("Identifier", exact=True).fill(CHILD)
    page.get_by_role("button", name="Show disclosures").click()
    expect(page).to_have_url(f"{served.url}/console/subject")  # a POST: nothing in the address
    expect(page.locator("tbody tr")).to_have_count(3)
    expect(page.locator("tbody tr", has_text=denied_id)).to_contain_text("embassy-ssd")
    _shot(page, "subject")

    page.get_by_role("link", name="Denials").click()
    by_reason = page.locator("table", has_text="Denials by reason")
    expect(by_reason.locator("tbody tr")).to_contain_text("origin.risk_country")
    expect(by_reason).to_contain_text("a state where a subject is at risk")
    expect(page.locator("table", has_text="Denials by recipient")).to_contain_text("embassy-ssd")
    expect(page.locator("tbody tr", has_text=denied_id)).to_be_visible()
    _shot(page, "denials")

    page.get_by_role("link", name="Transfers").click()
    chart = page.get_by_role("img", name="Transfers per recipient per day")
    expect(chart).to_be_visible()
    expect(chart.locator("rect")).to_have_count(1)  # one recipient, one day
    expect(page.locator("table", has_text="The chart's figures")).to_contain_text("crvs-national")
    _shot(page, "transfers")

    page.get_by_role("link", name="Log integrity").click()
    expect(page.get_by_role("status")).to_contain_text("Verified")
    expect(page.locator("pre.note")).to_contain_text(served.runtime.settings.log_origin)
    _shot(page, "integrity")
    _clean(page, elsewhere)

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{served.url}/console/login?signed-out")
    page.goto(f"{served.url}/console/exchanges")
    expect(page).to_have_url(f"{served.url}/console/login")
    _clean(page, elsewhere)
