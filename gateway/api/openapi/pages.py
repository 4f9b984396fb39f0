"""/docs (Swagger UI) and /redoc (ReDoc), from the files fastapi_offline packages.

Why not fastapi_offline's own pages: they come with no Content-Security-Policy, and ReDoc
renders a logo from cdn.redoc.ly in its menu whatever its options say. Under the policy sent
here a page may load nothing from any origin but the gateway's: the browser does not even ask
another host, whatever a later Swagger UI or ReDoc would like to load.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Awaitable, Callable

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse


def install_pages(app: FastAPI, static_url: str) -> None:
    """Serve /docs and /redoc, built once, from the packaged files at `static_url`."""
    assert app.openapi_url is not None
    title = app.title
    swagger = get_swagger_ui_html(
        openapi_url=app.openapi_url,
        title=f"{title} - Swagger UI",
        swagger_js_url=f"{static_url}/swagger-ui-bundle.js",
        swagger_css_url=f"{static_url}/swagger-ui.css",
        swagger_favicon_url=f"{static_url}/favicon.png",
        swagger_ui_parameters=app.swagger_ui_parameters,
    )
    redoc = get_redoc_html(
        openapi_url=app.openapi_url,
        title=f"{title} - ReDoc",
        redoc_js_url=f"{static_url}/redoc.standalone.js",
        redoc_favicon_url=f"{static_url}/favicon.png",
        with_google_fonts=False,
    )
    for path, page in (("/docs", swagger), ("/redoc", redoc)):
        page.headers["Content-Security-Policy"] = content_security_policy(bytes(page.body))
        app.add_api_route(path, _serving(page), include_in_schema=False)


def _serving(page: HTMLResponse) -> Callable[[], Awaitable[HTMLResponse]]:
    body, headers = bytes(page.body), dict(page.headers)
    headers.pop("content-length", None)

    async def serve() -> HTMLResponse:
        return HTMLResponse(body, headers=headers)

    return serve


_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL)


def content_security_policy(html: bytes) -> str:
    """The policy of a docs page: this origin only, and the page's own inline scripts."""
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(script).digest()).decode()}'"
        for script in _INLINE_SCRIPT.findall(html)
    )
    return "; ".join(
        [
            "default-src 'none'",
            f"script-src 'self' {hashes}".strip(),
            "style-src 'self' 'unsafe-inline'",  # both inject their styles at run time
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            "worker-src 'self' blob:",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )
