"""The two narrow exceptions to the origin block. Both are off unless the operator turns them
on (settings), both need an agreement that opens them, and every transfer under one waits for
the DPO's approval.

- Return (`return`): the asylum authority sends identity and travel-document data about a
  person whose claim it attests is finally rejected, with no appeal possible and no open
  protection referral, for their return to the country of nationality.
- Nationality documents (`nationality-documents`): a person asks the country of their
  nationality for a passport; their express consent names that country's system, and only
  identity, identifiers and nationality go.

Why so narrow: seed 001 (section 8.5) forbids sharing with the country of origin; the
exceptions exist because a finally rejected person is returned, and a refugee may choose to
ask their state for a document. Nothing else opens the block: not a rule, not a consent
alone, not an agreement alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.canonical import DataCategory, LegalBasis, LegalStatus
from gateway.policy.agreements import OriginException
from gateway.policy.model import PolicyRequest, RuleFired

EXCEPTION_RULE = "the origin block has two narrow exceptions, each approved by the DPO"
PURPOSES = {
    OriginException.RETURN: "return",
    OriginException.NATIONALITY_DOCUMENTS: "passport-issuance",
}
CATEGORIES = {
    OriginException.RETURN: frozenset({DataCategory.IDENTITY, DataCategory.IDENTIFIERS}),
    OriginException.NATIONALITY_DOCUMENTS: frozenset(
        {DataCategory.IDENTITY, DataCategory.IDENTIFIERS, DataCategory.NATIONALITY}
    ),
}
ASYLUM_AUTHORITY = "asylum-authority"


@dataclass(frozen=True)
class ExceptionResult:
    exception: OriginException | None
    trace: tuple[RuleFired, ...]


def origin_exception(
    request: PolicyRequest,
    origin_reasons: tuple[str, ...],
    enabled: frozenset[OriginException],
    source_groups: frozenset[str],
    jurisdiction: str | None,
) -> ExceptionResult:
    """Return the exception that lets a transfer blocked by the origin guard go on, if any.

    Only a block by a risk country can be excepted; an unknown jurisdiction or unknown risk
    countries never are. The agreement and the DPO are checked later by the engine.
    """
    if not enabled or set(origin_reasons) != {"origin.risk_country"} or jurisdiction is None:
        return ExceptionResult(None, ())
    purpose = request.envelope.purpose
    for exception in sorted(enabled):
        if purpose != PURPOSES[exception]:
            continue
        problem = _unmet(exception, request, source_groups, jurisdiction)
        if problem is None:
            detail = f"{exception.value}: conditions met; needs the agreement and the DPO"
            return ExceptionResult(exception, (_fired("info", detail),))
        return ExceptionResult(None, (_fired("deny", f"{exception.value}: {problem}"),))
    return ExceptionResult(None, ())


def _unmet(
    exception: OriginException,
    request: PolicyRequest,
    source_groups: frozenset[str],
    jurisdiction: str,
) -> str | None:
    subjects = request.subjects
    if exception is OriginException.RETURN:
        if ASYLUM_AUTHORITY not in source_groups:
            return "only the asylum authority can attest a final rejection"
        if not subjects or any(
            s.legal_status is not LegalStatus.FINALLY_REJECTED for s in subjects
        ):
            return "every subject's claim must be finally rejected, with no appeal possible"
        return None
    if request.envelope.legal_basis is not LegalBasis.CONSENT:
        return "only the person's express consent can open it"
    if not subjects or any(jurisdiction not in s.nationalities for s in subjects):
        return "the destination's state must be a nationality of every subject"
    return None


def _fired(outcome: str, detail: str) -> RuleFired:
    return RuleFired("origin", EXCEPTION_RULE, "deny" if outcome == "deny" else "info", detail)
