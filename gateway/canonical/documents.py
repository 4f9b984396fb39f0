"""Individual documents an immigration authority issues, and the checks of their validity.

DocumentRequest          issue a refugee or asylum-seeker identity document, or a residence
                         permit, to one person
DocumentStatus           the authority's reply: received, in process, issued (number and
                         expiry), refused
DocumentValidityCheck    is this document valid? It names a kind and a number, nothing else
DocumentValidity         the answer: valid or not, the kind and the expiry, and by design
                         nothing about the holder, so a check cannot be used to look
                         people up
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated

from pydantic import Field, model_validator

from gateway.canonical.categories import DataCategory, needs
from gateway.canonical.person import Canonical, Identifier, IdentityDocument, Person
from gateway.canonical.text import Text

DOCUMENT_REQUEST = "document-request"
DOCUMENT_STATUS = "document-status"
DOCUMENT_VALIDITY_CHECK = "document-validity-check"
DOCUMENT_VALIDITY_ANSWER = "document-validity-answer"

Reference = Annotated[
    str, Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$")
]
"""The sender's own reference for a request or a check, quoted back in the reply."""


class DocumentKind(StrEnum):
    REFUGEE_ID = "refugee_id"
    ASYLUM_SEEKER_ID = "asylum_seeker_id"
    RESIDENCE_PERMIT = "residence_permit"


DOCUMENT_SCHEMES = {
    DocumentKind.REFUGEE_ID: "refugee-id",
    DocumentKind.ASYLUM_SEEKER_ID: "asylum-seeker-id",
    DocumentKind.RESIDENCE_PERMIT: "residence-permit",
}
"""The identifier scheme of each kind's numbers: a document number identifies its holder."""


class RequestStatus(StrEnum):
    RECEIVED = "received"
    IN_PROCESS = "in_process"
    ISSUED = "issued"
    REFUSED = "refused"


class DocumentRequest(Canonical):
    """Ask the authority to issue one document to one person.

    Why these categories are needed: the kind of document asked for (a refugee identity
    document) says the person's status, and no document is issued to a person the authority
    cannot name and identify; minimised without them, the request is withheld, not sent
    half-empty.
    """

    request_ref: Reference
    kind: DocumentKind
    requesting_office: Text = Field(min_length=1, max_length=128)
    person: Person

    @model_validator(mode="after")
    def _person_is_identified(self) -> DocumentRequest:
        if not self.person.identifiers:
            raise ValueError("a document request names the person's registration identifiers")
        return self

    def subjects(self) -> list[Person]:
        return [self.person]

    def categories(self) -> frozenset[DataCategory]:
        return self.person.categories() | {DataCategory.LEGAL_STATUS, DataCategory.IDENTIFIERS}

    def minimised(self, allowed: frozenset[DataCategory]) -> DocumentRequest:
        needed = {DataCategory.IDENTITY, DataCategory.LEGAL_STATUS, DataCategory.IDENTIFIERS}
        needs(allowed, needed, "document request")
        return self.model_copy(update={"person": self.person.minimised(allowed)})


class DocumentStatus(Canonical):
    """The authority's reply to a request; an issued document's number and expiry with it."""

    request_ref: Reference
    status: RequestStatus
    person: Person
    document: IdentityDocument | None = None

    @model_validator(mode="after")
    def _document_when_issued(self) -> DocumentStatus:
        if not self.person.identifiers:
            raise ValueError("a status names the person's identifiers to be linked back")
        if self.status is RequestStatus.ISSUED:
            if self.document is None or self.document.expiry is None:
                raise ValueError("an issued status names the document's number and expiry")
        elif self.document is not None:
            raise ValueError("only an issued status names a document")
        return self

    def subjects(self) -> list[Person]:
        return [self.person]

    def categories(self) -> frozenset[DataCategory]:
        return self.person.categories() | {DataCategory.LEGAL_STATUS, DataCategory.IDENTIFIERS}

    def minimised(self, allowed: frozenset[DataCategory]) -> DocumentStatus:
        needs(allowed, {DataCategory.LEGAL_STATUS, DataCategory.IDENTIFIERS}, "document status")
        return self.model_copy(update={"person": self.person.minimised(allowed)})


class DocumentValidityCheck(Canonical):
    """Ask whether one document, named by kind and number, is valid."""

    check_ref: Reference
    kind: DocumentKind
    number: Text = Field(min_length=1, max_length=64)

    def holder(self) -> Person:
        """Return the holder as the document names them: by its number, nothing else."""
        identifier = Identifier(scheme=DOCUMENT_SCHEMES[self.kind], value=self.number)
        return Person(ref="holder", identifiers=[identifier])

    def subjects(self) -> list[Person]:
        return [self.holder()]

    def categories(self) -> frozenset[DataCategory]:
        return frozenset({DataCategory.IDENTIFIERS})

    def minimised(self, allowed: frozenset[DataCategory]) -> DocumentValidityCheck:
        needs(allowed, {DataCategory.IDENTIFIERS}, "validity check")
        return self


class DocumentValidity(Canonical):
    """The answer to a validity check: valid or not, the kind and the expiry, nothing more.

    Why no holder: the answer goes back to whoever asked, who already holds the document;
    a name or a date of birth here would turn every check into a lookup of the person.
    """

    check_ref: Reference
    valid: bool
    kind: DocumentKind
    expiry: dt.date | None = None

    def subjects(self) -> list[Person]:
        return []

    def categories(self) -> frozenset[DataCategory]:
        return frozenset({DataCategory.IDENTIFIERS})

    def minimised(self, allowed: frozenset[DataCategory]) -> DocumentValidity:
        needs(allowed, {DataCategory.IDENTIFIERS}, "validity answer")
        return self
