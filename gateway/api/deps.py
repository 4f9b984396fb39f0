"""Request dependencies: the runtime and the caller's identity.

No dependency opens a unit of work: FastAPI closes a dependency after the answer is sent, so
a commit there would follow the answer. Each route opens its own, in its body, and answers
after it has committed (`Database.unit_of_work`).
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request

from gateway.audit.service import Reader
from gateway.errors import ForbiddenError
from gateway.runtime import Runtime


def runtime_of(request: Request) -> Runtime:
    rt = request.app.state.runtime
    assert isinstance(rt, Runtime)
    return rt


async def runtime(request: Request) -> Runtime:  # async: FastAPI runs a sync one in a thread
    return runtime_of(request)


def bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def caller(request: Request, rt: Annotated[Runtime, Depends(runtime)]) -> Reader:
    token = bearer(request)
    # Compared as bytes: compare_digest refuses str holding non-ASCII, which a header may.
    admin_token = rt.settings.resolved_admin_token().encode()
    if token and hmac.compare_digest(token.encode(), admin_token):
        return Reader(admin=True)
    return Reader(admin=False, system_id=rt.directory.authenticate(token).id)


def admin(who: Annotated[Reader, Depends(caller)]) -> Reader:
    if not who.admin:
        raise ForbiddenError("this needs the administrator role")
    return who


RuntimeDep = Annotated[Runtime, Depends(runtime)]
CallerDep = Annotated[Reader, Depends(caller)]
AdminDep = Annotated[Reader, Depends(admin)]
