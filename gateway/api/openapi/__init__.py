"""The OpenAPI document, made to say what the gateway really answers, and the pages that read it.

Why: FastAPI documents what it can see, and much of the gateway it cannot. The exchange
submission reads its own headers and body (so FastAPI saw no parameter and no body); every
refusal is written by gateway/api/errors.py (FastAPI documented a 422 shape the gateway never
sends); and the edge's answers (400, 429, 431, 503) come from middleware and the server, which
no route knows of. `install` corrects the document once, when it is first asked for
(`document`): the bearer scheme, the refusals each kind of route gives (`refusals`), the
submission's headers, body and refusals (`submission`), an example of every answer
(`examples`). `install_pages` serves Swagger UI and ReDoc from packaged files, under a policy
that lets them load nothing from any other host (`pages`).

A route adds what only it refuses with `responses={status: refusal(...)}`.
"""

from gateway.api.openapi.document import BEARER, install
from gateway.api.openapi.examples import SUCCESS_EXAMPLES
from gateway.api.openapi.pages import content_security_policy, install_pages
from gateway.api.openapi.refusals import reasons_by_status, refusal
from gateway.api.openapi.submission import SUBMISSION, WHAT_IF

__all__ = [
    "BEARER",
    "SUBMISSION",
    "WHAT_IF",
    "SUCCESS_EXAMPLES",
    "content_security_policy",
    "install",
    "install_pages",
    "reasons_by_status",
    "refusal",
]
