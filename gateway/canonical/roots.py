"""The canonical roots a mapping spec may name: declared by the model, not by the mapper.

A spec's canonical field is written `root.field.subfield` (e.g. `birth.date`,
`person.names.given`). A new canonical payload type is mappable once its root is listed
here; the mapper (adapters/kit/mapping.py) walks these models and knows nothing else.
Persons inside a payload are always mapped under `person`, whatever role they play.
"""

from __future__ import annotations

from pydantic import BaseModel

from gateway.canonical.consent import ConsentWithdrawal
from gateway.canonical.documents import (
    DocumentRequest,
    DocumentStatus,
    DocumentValidity,
    DocumentValidityCheck,
)
from gateway.canonical.events import BirthEvent, BirthRegistration
from gateway.canonical.person import Person
from gateway.canonical.referral import Referral
from gateway.canonical.registration import Registration

MAPPING_ROOTS: dict[str, type[BaseModel]] = {
    "person": Person,
    "birth": BirthEvent,
    "registration": BirthRegistration,
    "withdrawal": ConsentWithdrawal,
    "registration_record": Registration,
    "referral": Referral,
    "document_request": DocumentRequest,
    "document_status": DocumentStatus,
    "validity_check": DocumentValidityCheck,
    "validity": DocumentValidity,
}
