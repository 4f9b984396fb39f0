"""/docs and /redoc in a real browser: they render, they work, and they ask no other host.

Debian's Chromium (/usr/bin/chromium), driven by Playwright; nothing downloads a browser.
Every request the pages make is routed: one to any host but the gateway's is aborted and
recorded, and the test fails if there was one. The pages' Content-Security-Policy refuses
other origins before a request is even made; what it refused is recorded too, and only
ReDoc's own logo (cdn.redoc.ly, in its menu whatever its options) may be among it. Swagger UI
must show the submission's envelope headers, its request body and the Authorize button, and
"Try it out" with a system's credential must get the exchange accepted. Screenshots go to
build/screenshots/.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from gateway.demo.flow import REGISTRATION, DemoEnvironment
from gateway.demo.server import ServedGateway
from tests.fixtures.browser import SCREENSHOTS, TIMEOUT_MS

REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


@pytest.fixture
def env(served: ServedGateway) -> Iterator[DemoEnvironment]:
    environment = DemoEnvironment.start(served.runtime, served.url)
    yield environment
    environment.stop()


def test_swagger_ui_documents_and_sends_an_exchange(
    page: Page, served: ServedGateway, env: DemoEnvironment, elsewhere: list[str]
) -> None:
    page.goto(f"{served.url}/docs")
    submission = page.locator(
        ".opblock-post", has=page.locator(".opblock-summary-path[data-path='/exchanges']")
    )
    submission.locator(".opblock-summary").click()
    parameters = submission.locator(".parameters")
    for header in ("X-Exchange-Destination", "X-Exchange-Legal-Basis", "Idempotency-Key"):
        expect(parameters).to_contain_text(header)
    body = submission.locator(".opblock-section-request-body")
    expect(body).to_contain_text("application/json")
    expect(body).to_contain_text("progres_individualid")  # the demo birth notification
    authorize = page.locator(".auth-wrapper .authorize")
    expect(authorize).to_be_visible()

    authorize.click()
    dialog = page.locator(".auth-container")
    expect(dialog).to_contain_text("bearer")
    dialog.locator("input").fill(env.credentials[REGISTRATION])
    dialog.locator("button.authorize").click()
    page.locator(".auth-btn-wrapper .btn-done").click()

    submission.locator(".try-out__btn").click()
    submission.locator(".execute").click()
    answer = submission.locator(".responses-wrapper .live-responses-table")
    status = answer.locator("tr.response .response-col_status")
    expect(status).to_contain_text("202", timeout=TIMEOUT_MS)
    expect(answer).to_contain_text('"replay": false')

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    # From the top (the Authorize button) to the answer: headers, body, the 202.
    box = answer.bounding_box()
    assert box is not None
    bottom = box["y"] + box["height"] + page.evaluate("window.scrollY") + 20
    page.screenshot(
        path=SCREENSHOTS / "docs-exchanges.png",
        full_page=True,
        clip={"x": 0, "y": 0, "width": 1280, "height": bottom},
    )
    assert elsewhere == []
    assert page.evaluate("window.refusedByPolicy") == []


def test_redoc_renders_the_document(
    page: Page, served: ServedGateway, elsewhere: list[str]
) -> None:
    page.goto(f"{served.url}/redoc")
    content = page.locator(".api-content")
    expect(content).to_contain_text("Submit a native message as an exchange")
    expect(content).to_contain_text("X-Exchange-Destination")
    expect(content).to_contain_text("too_many_failed_authentications")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "redoc.png")
    assert elsewhere == []
    assert set(page.evaluate("window.refusedByPolicy")) <= {REDOC_LOGO}
