"""Register and inspect systems (administrator only)."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.api.deps import AdminDep, RuntimeDep
from gateway.api.openapi import refusal
from gateway.api.schemas import Credential, SystemRegistered
from gateway.errors import ConflictError
from gateway.systems import SystemOut, SystemSpec

router = APIRouter(prefix="/systems", tags=["systems"])


@router.post(
    "",
    status_code=201,
    response_model=SystemRegistered,
    summary="Register a system",
    responses={
        409: refusal(
            "A system with this id is already registered (`conflict`).",
            ConflictError("system 'crvs-national' already exists"),
        )
    },
)
def register(spec: SystemSpec, _: AdminDep, rt: RuntimeDep) -> SystemRegistered:
    """Register a system; its credential is in this answer and nowhere else."""
    system, credential = rt.systems.register(spec)
    return SystemRegistered(**system.model_dump(), credential=credential)


@router.get("", response_model=list[SystemOut], summary="List the registered systems")
def list_systems(_: AdminDep, rt: RuntimeDep) -> list[SystemOut]:
    return rt.systems.list_all()


@router.get("/{system_id}", response_model=SystemOut, summary="Read a system")
def get_system(system_id: str, _: AdminDep, rt: RuntimeDep) -> SystemOut:
    return rt.systems.get(system_id)


@router.post(
    "/{system_id}/credential", response_model=Credential, summary="Rotate a system's credential"
)
def rotate(system_id: str, _: AdminDep, rt: RuntimeDep) -> Credential:
    """Issue a new credential; the old one stops working once this answers."""
    return Credential(system_id=system_id, credential=rt.systems.rotate_credential(system_id))
