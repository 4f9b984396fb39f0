"""Tables. Nothing here holds a name, a birth date or a document number.

Subjects appear only as keyed pseudonyms; payloads only in the outbox (until delivered) and
as digests in the exchange record.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL wants BIGINT for a log.
BigIntId = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UtcDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC on every backend (SQLite forgets the zone otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        return value.astimezone(dt.UTC)

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[str]: JSON}


class System(Base):
    """A registered system: who it is, which adapter speaks to it, which state controls it."""

    __tablename__ = "systems"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    adapter: Mapped[str] = mapped_column(String(64))
    endpoint: Mapped[str | None] = mapped_column(String(2000))
    jurisdiction: Mapped[str | None] = mapped_column(String(3))
    credential_hash: Mapped[str] = mapped_column(String(64), unique=True)
    outbound_token_sealed: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)


class ExchangeRecord(Base):
    """One row per attempt, allowed, denied or invalid; `seq` orders them for the log."""

    __tablename__ = "exchange_records"

    seq: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    recorded_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    source: Mapped[str | None] = mapped_column(String(64))
    destination: Mapped[str | None] = mapped_column(String(64))
    destination_jurisdiction: Mapped[str | None] = mapped_column(String(3))
    message_type: Mapped[str | None] = mapped_column(String(64))
    purpose: Mapped[str | None] = mapped_column(String(64))
    legal_basis: Mapped[str | None] = mapped_column(String(32))
    agreement: Mapped[str | None] = mapped_column(String(64))
    subjects: Mapped[list[str]] = mapped_column(JSON)
    categories: Mapped[list[str]] = mapped_column(JSON)
    decision: Mapped[str] = mapped_column(String(16))
    reasons: Mapped[list[str]] = mapped_column(JSON)
    policy_version: Mapped[str | None] = mapped_column(String(64))
    policy_rule: Mapped[str | None] = mapped_column(String(500))
    mapping_version: Mapped[str | None] = mapped_column(String(200))
    request_digest: Mapped[str | None] = mapped_column(String(64))
    payload_digest: Mapped[str | None] = mapped_column(String(64))
    leaf_hash: Mapped[str] = mapped_column(String(64))
    # Its index in the exchange log, once the log's appender has sealed it (audit/log.py).
    log_index: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (
        Index("ix_exchange_records_source_time", "source", "recorded_at"),
        Index("uq_exchange_records_log_index", "log_index", unique=True),
        # What the appender reads: the records not sealed yet, in the order they were written.
        Index(
            "ix_exchange_records_unsealed",
            "seq",
            sqlite_where=text("log_index IS NULL"),
            postgresql_where=text("log_index IS NULL"),
        ),
    )


class LogNode(Base):
    """The hash of a complete subtree of the exchange log's Merkle tree (RFC 9162).

    Node (level, index) covers leaves [index * 2^level, (index + 1) * 2^level); level 0 holds
    the leaf hashes. Its key is one number, level * 2^56 + index (`node_key`), so the nodes
    of a proof are read with one `key IN (...)` on the primary key. Written once, when the
    appender completes it; never changed.
    """

    __tablename__ = "log_nodes"

    key: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


NODE_LEVEL_SHIFT = 56  # room for 2^56 leaves, and 64 levels above them


def node_key(level: int, index: int) -> int:
    """The key of node (level, index) in `log_nodes`."""
    return (level << NODE_LEVEL_SHIFT) | index


class LogCheckpoint(Base):
    """A signed checkpoint (C2SP tlog-checkpoint) of the log at one size: one per batch."""

    __tablename__ = "log_checkpoints"

    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)
    key_generation: Mapped[int] = mapped_column(Integer)
    signed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class LogKey(Base):
    """A generation of the log's signing key: its public verifier key, kept for ever.

    The private key is derived from the master secret and the generation; a rotation adds a
    generation, and checkpoints signed by earlier ones still verify with their keys.
    """

    __tablename__ = "log_keys"

    generation: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    verifier_key: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class IdempotencyKey(Base):
    """A source's key bound to the digest of what it first sent under that key."""

    __tablename__ = "idempotency_keys"

    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    request_digest: Mapped[str] = mapped_column(String(64))
    exchange_id: Mapped[str] = mapped_column(ForeignKey("exchange_records.id"))


class OutboxMessage(Base):
    """A rendered message waiting for delivery; written in the same transaction as its record.

    `body` is sealed (AES-GCM under the key named by `key_id`, bound to the exchange id; see
    gateway/delivery/bodies.py) and erased once delivered. `lease_token` names the claim of
    the relay holding the message; only that relay may settle it (gateway/delivery/lease.py).
    """

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    exchange_id: Mapped[str] = mapped_column(ForeignKey("exchange_records.id"), unique=True)
    destination: Mapped[str] = mapped_column(ForeignKey("systems.id"))
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
    key_id: Mapped[str | None] = mapped_column(String(32))
    content_type: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(32), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    lease_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    lease_token: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str | None] = mapped_column(String(500))
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())

    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        Index("ix_outbox_destination_order", "destination", "status", "id"),
    )


class DeliveryAttempt(Base):
    """One row per delivery attempt, so operators see every retry and why it failed."""

    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    exchange_id: Mapped[str] = mapped_column(ForeignKey("exchange_records.id"), index=True)
    attempted_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(500))
    # What the destination gave back, as its adapter read the answer (a case id, a number).
    receipt: Mapped[str | None] = mapped_column(String(128))


class RememberedRisk(Base):
    """A risk country once stated for a subject, kept so later messages cannot omit it."""

    __tablename__ = "remembered_risk"

    pseudonym: Mapped[str] = mapped_column(String(64), primary_key=True)
    country: Mapped[str] = mapped_column(String(3), primary_key=True)
    first_seen: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)


class IdentityLink(Base):
    """Two pseudonyms of one person, sent together; written both ways."""

    __tablename__ = "identity_links"

    pseudonym: Mapped[str] = mapped_column(String(64), primary_key=True)
    linked: Mapped[str] = mapped_column(String(64), primary_key=True)


class ConsentRow(Base):
    """A consent grant; the subject is held as a pseudonym only.

    A guardian's grant for a child records the guardian's relationship and the child's views,
    sealed like outbox bodies (AES-GCM, bound to the consent id; gateway/consents.py): they are
    never logged, never in an exchange record, never in an answer.
    """

    __tablename__ = "consents"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    subject: Mapped[str] = mapped_column(String(64), index=True)
    recipient: Mapped[str] = mapped_column(ForeignKey("systems.id"))
    purpose: Mapped[str] = mapped_column(String(64))
    categories: Mapped[list[str]] = mapped_column(JSON)
    granted_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    granted_by: Mapped[str] = mapped_column(String(16), server_default="subject")
    guardian_relationship: Mapped[str | None] = mapped_column(String(32))
    child_views_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    child_views_key_id: Mapped[str | None] = mapped_column(String(32))


class Approval(Base):
    """An allowed exchange held for the DPO's approval, and what the DPO decided.

    Written with the exchange's record and its held outbox row, in one transaction; decided
    once (`decision` approved or rejected, by whom, when, and why: a rejection must say).
    `why` is the policy's reason for asking, never personal data.
    """

    __tablename__ = "approvals"

    seq: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    exchange_id: Mapped[str] = mapped_column(ForeignKey("exchange_records.id"), unique=True)
    why: Mapped[str] = mapped_column(String(500))
    requested_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    decided_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    decision: Mapped[str | None] = mapped_column(String(16))
    decided_by: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (
        # The listings: one state (NULL: pending) in request order.
        Index("ix_approvals_decision_seq", "decision", "seq"),
        CheckConstraint(
            "decision IS NULL OR decision IN ('approved', 'rejected')", name="ck_approvals_decision"
        ),
        CheckConstraint(
            "(decision IS NULL) = (decided_at IS NULL)", name="ck_approvals_decided_together"
        ),
        CheckConstraint(
            "decision IS NULL OR decision <> 'rejected' OR reason IS NOT NULL",
            name="ck_approvals_rejection_reason",
        ),
    )


class StatisticalSubject(Base):
    """One person in the statistical register: the dimensions statistics count, nothing more.

    Kept from the allowed exchanges of registration authorities (gateway/statistics/), one row
    per person, the latest facts winning. `key` is a keyed hash of the person's pseudonym
    under a key of its own, so the register cannot be joined to the exchange records without
    the gateway's secret. Months are `YYYY-MM`: the birth month dates an age band, the first
    and last months seen date the person in a period. `specific_needs` is a sorted JSON list
    held as text, so the register can be grouped by it on every database.
    """

    __tablename__ = "statistical_register"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    nationality: Mapped[str] = mapped_column(String(3))
    sex: Mapped[str] = mapped_column(String(16))
    birth_month: Mapped[str | None] = mapped_column(String(7))
    specific_needs: Mapped[str] = mapped_column(Text)
    location: Mapped[str] = mapped_column(String(64))
    first_seen: Mapped[str] = mapped_column(String(7))
    last_seen: Mapped[str] = mapped_column(String(7))


class ExchangeConsent(Base):
    """A consent an allowed exchange relied on; written with the exchange's record.

    `consent_id` is not a foreign key on purpose: on PostgreSQL the check would lock the
    consent's row (FOR KEY SHARE) in every exchange about that person, and exchanges about one
    family would contend on it. The id is that of a grant read in the same transaction, and
    consents are never deleted.
    """

    __tablename__ = "exchange_consents"

    exchange_id: Mapped[str] = mapped_column(ForeignKey("exchange_records.id"), primary_key=True)
    consent_id: Mapped[str] = mapped_column(String(36), primary_key=True)

    # What a withdrawal reads: the exchanges that relied on one consent.
    __table_args__ = (Index("ix_exchange_consents_consent", "consent_id"),)


class ConsentNotice(Base):
    """The notice of a withdrawal to one recipient: an exchange of its own (`exchange_id`).

    `covers` lists the exchanges the recipient received (or may have) under the consent.
    `problem` says why the recipient's adapter could not render the notice (then nothing was
    queued); None when it was queued in the outbox, where its delivery is followed.
    """

    __tablename__ = "consent_notices"

    exchange_id: Mapped[str] = mapped_column(ForeignKey("exchange_records.id"), primary_key=True)
    consent_id: Mapped[str] = mapped_column(ForeignKey("consents.id"), index=True)
    recipient: Mapped[str] = mapped_column(ForeignKey("systems.id"))
    covers: Mapped[list[str]] = mapped_column(JSON)
    problem: Mapped[str | None] = mapped_column(String(500))


class DeadLetterAction(Base):
    """What was done with a dead letter, by whom, when and why (gateway/dead_letters/).

    One row per action, written with the change to the outbox row in one transaction, never
    changed: `replay` (made due again, by the administrator), `discard` (closed for good, its
    body erased, by the administrator, who must say why), `purge` (its body erased once the
    retention period passed, by `retention`). `reason` is an operator's words, never a body.
    """

    __tablename__ = "dead_letter_actions"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    exchange_id: Mapped[str] = mapped_column(ForeignKey("exchange_records.id"), index=True)
    action: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(String(500))
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime())

    __table_args__ = (
        CheckConstraint(
            "action IN ('replay', 'discard', 'purge')", name="ck_dead_letter_actions_action"
        ),
        CheckConstraint(
            "action <> 'discard' OR reason IS NOT NULL", name="ck_dead_letter_actions_reason"
        ),
    )


# --- registrations (issue 14) ---


class RegistrationDigest(Base):
    """A keyed digest of who one registered person is (gateway/registrations/digest.py).

    One row per piece of evidence: an identifier's pseudonym, or a keyed digest of a name's
    tokens with the date or year of birth and the sex; never the name, date or identifier.
    `position` places the person in its registration (0 the registrant, then the household);
    `subject` is their pseudonym, as the exchange record holds it.
    """

    __tablename__ = "registration_digests"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    authority: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    digest: Mapped[str] = mapped_column(String(64))
    estimated: Mapped[bool] = mapped_column()
    exchange_id: Mapped[str] = mapped_column(ForeignKey("exchange_records.id"))
    position: Mapped[int] = mapped_column(Integer)
    subject: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        # What a registration reads: earlier evidence equal to its own (digest first: it alone
        # is selective, so no planner prefers scanning all of an authority's rows).
        Index("ix_registration_digests_match", "digest", "authority"),
        Index("ix_registration_digests_exchange", "exchange_id"),
    )


class RegistrationFlag(Base):
    """A registered person who matches one registered before: flagged, never merged.

    Written with the registration's exchange record, in one transaction. Names the two
    exchanges, the persons' positions and pseudonyms, the strength and the evidence; never
    what either record holds. `matched_exchange_id` is not a foreign key on purpose: on
    PostgreSQL the check would lock the earlier record's row in every later registration
    of that person. It names a record read in the same transaction; records are never deleted.
    """

    __tablename__ = "registration_flags"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    authority: Mapped[str] = mapped_column(String(64))
    exchange_id: Mapped[str] = mapped_column(ForeignKey("exchange_records.id"))
    position: Mapped[int] = mapped_column(Integer)
    subject: Mapped[str] = mapped_column(String(64))
    matched_exchange_id: Mapped[str] = mapped_column(String(36))
    matched_position: Mapped[int] = mapped_column(Integer)
    matched_subject: Mapped[str] = mapped_column(String(64))
    strength: Mapped[str] = mapped_column(String(16))
    evidence: Mapped[str] = mapped_column(String(16))
    flagged_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())

    __table_args__ = (
        # The listings: one authority's flags in the order they were raised; one exchange's.
        Index("ix_registration_flags_authority_id", "authority", "id"),
        Index(
            "uq_registration_flags_pair",
            "exchange_id",
            "position",
            "matched_exchange_id",
            "matched_position",
            unique=True,
        ),
        CheckConstraint(
            "strength IN ('strong', 'probable', 'possible')", name="ck_registration_flags_strength"
        ),
        CheckConstraint(
            "evidence IN ('identifier', 'name+dob+sex', 'name+year+sex')",
            name="ck_registration_flags_evidence",
        ),
    )


# --- bulk imports (issue 14) ---


class BulkImportJob(Base):
    """An import of a legacy export file (gateway/bulk/): what it reads and how far it got.

    `rows_done`, `next_offset` and `next_line` (where the next row starts) and the counts are
    written in the transaction of each batch of rows, with the batch's exchanges, so they
    never run ahead of, or behind, what is committed. `envelope` holds the purpose, legal
    basis and agreement every row is sent under; a resumed job keeps them.
    """

    __tablename__ = "bulk_import_jobs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    file_digest: Mapped[str] = mapped_column(String(64))
    file_size: Mapped[int] = mapped_column(BigInteger)
    format: Mapped[str] = mapped_column(String(8))
    source: Mapped[str] = mapped_column(ForeignKey("systems.id"))
    destination: Mapped[str] = mapped_column(String(64))
    envelope: Mapped[dict[str, Any]] = mapped_column(JSON)
    rows_done: Mapped[int] = mapped_column(BigInteger)
    next_offset: Mapped[int] = mapped_column(BigInteger)
    next_line: Mapped[int] = mapped_column(BigInteger)
    accepted: Mapped[int] = mapped_column(BigInteger)
    denied: Mapped[int] = mapped_column(BigInteger)
    invalid: Mapped[int] = mapped_column(BigInteger)
    started_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    finished_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())

    __table_args__ = (
        CheckConstraint("format IN ('csv', 'jsonl')", name="ck_bulk_import_jobs_format"),
    )


class BulkImportRow(Base):
    """One row of an import file and the one exchange it became (never its content).

    `reason` and `problems` (locations and messages, bounded) say why a row was denied or
    invalid, for the error report; they name fields, never values.
    """

    __tablename__ = "bulk_import_rows"

    job_id: Mapped[str] = mapped_column(ForeignKey("bulk_import_jobs.id"), primary_key=True)
    row_no: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    exchange_id: Mapped[str] = mapped_column(ForeignKey("exchange_records.id"), unique=True)
    outcome: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(200))
    problems: Mapped[list[dict[str, str]] | None] = mapped_column(JSON)

    __table_args__ = (
        CheckConstraint(
            "outcome IN ('accepted', 'held', 'denied', 'invalid')",
            name="ck_bulk_import_rows_outcome",
        ),
    )


# --- reference guide (issue 14) ---


class ReferenceGuideVersion(Base):
    """One published version of the National Reference Guide (gateway/referrals/).

    Never changed once written: a new version is a new row, and every routed interview names
    the version that routed it. `document` is the guide as published (authorities and their
    contacts: no personal data); `digest` its canonical JSON's SHA-256.
    """

    __tablename__ = "reference_guides"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    country: Mapped[str] = mapped_column(String(3))
    effective_from: Mapped[dt.date] = mapped_column()
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    digest: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class InterviewRouting(Base):
    """An identification interview routed to referrals: by whom, under which guide version.

    Keyed by the border system and its Idempotency-Key, so a retried interview is routed
    under the same version and its referrals replay. `request_digest` is the body's SHA-256,
    to refuse a key reused with another interview; the interview itself is never kept.
    """

    __tablename__ = "interview_routings"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    source: Mapped[str] = mapped_column(String(64), ForeignKey("systems.id"))
    idempotency_key: Mapped[str] = mapped_column(String(128))
    request_digest: Mapped[str] = mapped_column(String(64))
    guide_version: Mapped[int] = mapped_column(Integer, ForeignKey("reference_guides.version"))
    rules: Mapped[list[str]] = mapped_column(JSON)
    routed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())

    __table_args__ = (Index("ix_interview_routings_key", "source", "idempotency_key", unique=True),)


class ReferralRoute(Base):
    """One referral of a routed interview: its kind, urgency, authority, rules and outcome.

    `outcome`: accepted, held (for the DPO), denied or failed (its exchange recorded as
    such), informed (the person was given the contact; nothing sent) or unrouted (the guide
    names no authority). `reasons` are the outcome's codes (a denial's), never personal data.
    """

    __tablename__ = "referral_routes"

    routing_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("interview_routings.id"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    urgency: Mapped[str] = mapped_column(String(16))
    authority: Mapped[str | None] = mapped_column(String(64))
    exchange_id: Mapped[str | None] = mapped_column(String(36), index=True)
    outcome: Mapped[str] = mapped_column(String(16))
    reasons: Mapped[list[str]] = mapped_column(JSON)
    rules: Mapped[list[str]] = mapped_column(JSON)


# --- dci subscriptions (issue 14) ---


class DciSubscription(Base):
    """A DCI civil registry's live-birth subscription, and the exchange its notices become.

    One per registry (the latest replaces the one before): a notice the registry posts is
    accepted only from the registry subscribed to, and walks the exchange road to
    `destination` as `message_type`, for `purpose` under `legal_basis` (and `agreement`).
    `correlation_id` is the registry's acknowledgement of the subscription.
    """

    __tablename__ = "dci_subscriptions"

    registry_id: Mapped[str] = mapped_column(String(64), ForeignKey("systems.id"), primary_key=True)
    destination: Mapped[str] = mapped_column(String(64), ForeignKey("systems.id"))
    message_type: Mapped[str] = mapped_column(String(64))
    purpose: Mapped[str] = mapped_column(String(64))
    legal_basis: Mapped[str] = mapped_column(String(32))
    agreement: Mapped[str | None] = mapped_column(String(64))
    notify_url: Mapped[str] = mapped_column(String(2000))
    correlation_id: Mapped[str] = mapped_column(String(99))
    subscribed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
