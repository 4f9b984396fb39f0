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
    if token:
        # Compared as bytes: compare_digest refuses str holding non-ASCII, which a header may.
        given = token.encode()
        if hmac.compare_digest(given, rt.settings.resolved_admin_token().encode()):
            return Reader(role="admin")
        if hmac.compare_digest(given, rt.settings.resolved_dpo_token().encode()):
            return Reader(role="dpo")
    return Reader(role="system", system_id=rt.directory.authenticate(token).id)


def admin(who: Annotated[Reader, Depends(caller)]) -> Reader:
    if not who.admin:
        raise ForbiddenError("this needs the administrator role")
    return who


def dpo(who: Annotated[Reader, Depends(caller)]) -> Reader:
    if not who.dpo:
        raise ForbiddenError("this needs the data protection officer's role")
    return who


def admin_or_dpo(who: Annotated[Reader, Depends(caller)]) -> Reader:
    if not (who.admin or who.dpo):
        raise ForbiddenError("this needs the administrator or the data protection officer")
    return who


RuntimeDep = Annotated[Runtime, Depends(runtime)]
CallerDep = Annotated[Reader, Depends(caller)]
AdminDep = Annotated[Reader, Depends(admin)]
DpoDep = Annotated[Reader, Depends(dpo)]
AdminOrDpoDep = Annotated[Reader, Depends(admin_or_dpo)]
