"""Register and inspect systems (administrator only)."""

from __future__ import annotations

from fastapi import APIRouter

from gateway import systems
from gateway.api.deps import AdminDep, RuntimeDep
from gateway.api.schemas import Credential, SystemOut, SystemRegistered
from gateway.errors import InvalidInput, Problem, UnknownSystemError
from gateway.systems import SystemSpec

router = APIRouter(prefix="/systems", tags=["systems"])


@router.post("", status_code=201, response_model=SystemRegistered)
def register(spec: SystemSpec, _: AdminDep, rt: RuntimeDep) -> SystemRegistered:
    """Register a system; its credential is in this answer and nowhere else."""
    try:
        rt.pipeline.adapters.get(spec.adapter)
    except UnknownSystemError as exc:  # the registry cannot know which field named it
        raise InvalidInput(exc.message, [Problem("body.adapter", exc.message)]) from exc
    with rt.db.unit_of_work() as session:
        system, credential = systems.register(session, spec, rt.sealer)
        registered = SystemRegistered(**SystemOut.of(system).model_dump(), credential=credential)
    return registered


@router.get("", response_model=list[SystemOut])
def list_systems(_: AdminDep, rt: RuntimeDep) -> list[SystemOut]:
    with rt.db.reading() as session:
        return [SystemOut.of(s) for s in systems.list_all(session)]


@router.get("/{system_id}", response_model=SystemOut)
def get_system(system_id: str, _: AdminDep, rt: RuntimeDep) -> SystemOut:
    with rt.db.reading() as session:
        return SystemOut.of(systems.get(session, system_id))


@router.post("/{system_id}/credential", response_model=Credential)
def rotate(system_id: str, _: AdminDep, rt: RuntimeDep) -> Credential:
    """Issue a new credential; the old one stops working once this answers."""
    with rt.db.unit_of_work() as session:
        credential = systems.rotate_credential(session, system_id)
    return Credential(system_id=system_id, credential=credential)
