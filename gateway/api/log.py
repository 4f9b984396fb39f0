"""The exchange log over HTTP: checkpoints, entries, proofs and the export (DPO and admin).

Systems never read the log. Nothing here writes: the log is appended to by its appender
alone (gateway/audit/log.py), and no route can change or remove an entry.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from typing import Annotated, Any, TypeVar

from anyio import to_thread
from fastapi import APIRouter, Path, Query
from fastapi.responses import PlainTextResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from gateway.api.deps import AdminOrDpoDep, RuntimeDep
from gateway.api.openapi import refusal
from gateway.audit.log import ConsistencyProof, InclusionProof, LogEntry
from gateway.audit.merkle import ProofRangeError
from gateway.errors import InvalidInput, NotFoundError, Problem

router = APIRouter(prefix="/log", tags=["exchange log"])

MAX_SIZE = 2**63 - 1
Size = Annotated[int, Field(ge=1, le=MAX_SIZE)]
Index = Annotated[int, Field(ge=0, le=MAX_SIZE)]
CHECKPOINT_TYPE = "text/plain; charset=utf-8"
EXPORT_TYPE = "application/x-ndjson"
T = TypeVar("T")
_ROOT = "3q2+7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
_CHECKPOINT_EXAMPLE = (
    f"exchange-gateway.local/log\n1234\n{_ROOT}\n\n"
    "\u2014 exchange-gateway.local/log 0Hn4DwbuQ3UwC+Spv1j9fNqMb4lzDg5p"
    "1hr0L4RyE4PHdE5yM4yi8zUqIcvfSR+2xXxumW+JcVRk6yN0fP8cvBVUBbf9fwE=\n"
)
_AS_CHECKPOINT: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A signed note (C2SP tlog-checkpoint): origin, size, root, signatures.",
        "content": {"text/plain": {"schema": {"type": "string"}, "example": _CHECKPOINT_EXAMPLE}},
    }
}
_AS_EXPORT: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "JSON lines: a header, every entry, each checkpoint after the entry "
        "that completes its size, an end line (docs/log.md).",
        "content": {
            EXPORT_TYPE: {
                "schema": {"type": "string"},
                "example": '{"type":"header","format":"exchange-gateway-log","version":1,'
                '"origin":"exchange-gateway.local/log","keys":["..."]}\n'
                '{"type":"entry","index":0,"leaf_hash":"...","entry":{"v":1,"id":"..."}}\n'
                '{"type":"end","entries":1}\n',
            }
        },
    }
}


class _Query(BaseModel):
    """A query's parameters: one not named here is refused (422), never ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class EntriesQuery(_Query):
    start: Index
    end: Size


class InclusionQuery(_Query):
    index: Index
    size: Size | None = None


class ConsistencyQuery(_Query):
    old: Size
    new: Size | None = None


class LogEntries(BaseModel):
    entries: list[LogEntry]


class VerifierKeys(BaseModel):
    keys: list[str]  # C2SP verifier keys, oldest generation first


def _within(where: str, answer: Callable[[], T]) -> T:
    """Answer, or say which parameter is out of the log's range (422)."""
    try:
        return answer()
    except ProofRangeError as error:
        raise InvalidInput(str(error), [Problem(where, str(error))]) from error


@router.get(
    "/checkpoint",
    response_class=PlainTextResponse,
    responses={
        **_AS_CHECKPOINT,
        404: refusal(
            "Nothing has been sealed into the log yet (`not_found`).",
            NotFoundError("nothing has been sealed into the log yet"),
        ),
    },
    summary="The latest signed checkpoint (C2SP tlog-checkpoint, a signed note)",
)
def latest_checkpoint(_: AdminOrDpoDep, rt: RuntimeDep) -> PlainTextResponse:
    note = rt.log.latest()
    if note is None:
        raise NotFoundError("nothing has been sealed into the log yet")
    return PlainTextResponse(note, media_type=CHECKPOINT_TYPE)


@router.get(
    "/checkpoints/{size}",
    response_class=PlainTextResponse,
    responses=_AS_CHECKPOINT,
    summary="The checkpoint signed at exactly this size (one is signed per batch)",
)
def checkpoint_at(
    size: Annotated[int, Path(ge=1, le=MAX_SIZE)], _: AdminOrDpoDep, rt: RuntimeDep
) -> PlainTextResponse:
    try:
        note = rt.log.checkpoint_at(size)
    except ProofRangeError as error:
        raise NotFoundError(str(error)) from error
    return PlainTextResponse(note, media_type=CHECKPOINT_TYPE)


@router.get("/keys", response_model=VerifierKeys, summary="Every signing key's verifier key")
def keys(_: AdminOrDpoDep, rt: RuntimeDep) -> VerifierKeys:
    return VerifierKeys(keys=rt.log.verifier_keys())


@router.get("/entries", response_model=LogEntries, summary="Entries [start, end) of the log")
def entries(
    query: Annotated[EntriesQuery, Query()], _: AdminOrDpoDep, rt: RuntimeDep
) -> LogEntries:
    return LogEntries(entries=_within("end", lambda: rt.log.entries(query.start, query.end)))


@router.get(
    "/proofs/inclusion",
    response_model=InclusionProof,
    summary="RFC 9162 inclusion proof of entry `index` in the tree of `size` (default latest)",
)
def inclusion(
    query: Annotated[InclusionQuery, Query()], _: AdminOrDpoDep, rt: RuntimeDep
) -> InclusionProof:
    return _within("index", lambda: rt.log.inclusion(query.index, query.size))


@router.get(
    "/proofs/consistency",
    response_model=ConsistencyProof,
    summary="RFC 9162 consistency proof between tree sizes `old` and `new` (default latest)",
)
def consistency(
    query: Annotated[ConsistencyQuery, Query()], _: AdminOrDpoDep, rt: RuntimeDep
) -> ConsistencyProof:
    return _within("old", lambda: rt.log.consistency(query.old, query.new))


@router.get(
    "/export",
    response_class=StreamingResponse,
    responses=_AS_EXPORT,
    summary="The whole log: entries and signed checkpoints, for `gateway audit verify`",
)
async def export(_: AdminOrDpoDep, rt: RuntimeDep) -> StreamingResponse:
    """Written to a temporary file first (one consistent read), then streamed from it."""
    spool = tempfile.TemporaryFile()
    try:
        await to_thread.run_sync(rt.log.export, spool)
        spool.seek(0)
    except BaseException:
        spool.close()
        raise

    def chunks() -> Iterator[bytes]:
        with spool:
            while chunk := spool.read(1 << 16):
                yield chunk

    return StreamingResponse(
        chunks(),
        media_type=EXPORT_TYPE,
        headers={"Content-Disposition": 'attachment; filename="exchange-log.jsonl"'},
    )
