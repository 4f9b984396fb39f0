"""Assemble the gateway from settings: one way, used by the HTTP API, the CLI and the tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from adapters.registry import AdapterRegistry, installed_adapters
from gateway.approvals.service import Approvals
from gateway.audit.log import BackgroundAppender, TransparencyLog
from gateway.audit.service import Audit
from gateway.audit.views import DpoViews
from gateway.config import Settings
from gateway.consent_notices import Notices
from gateway.consents import CHILD_VIEWS_KEY, Consents
from gateway.crypto import BodySealer, Keyring, Pseudonymiser, Sealer, derive_key
from gateway.dci.service import DciSubscriptions
from gateway.dead_letters.retention import purge_expired
from gateway.dead_letters.service import DeadLetters
from gateway.delivery import repository as outbox
from gateway.delivery.bodies import seal_plaintext_rows
from gateway.delivery.outbox import OutboxRelay
from gateway.delivery.publisher import Publisher
from gateway.delivery.relay import BackgroundRelay, Dispatcher
from gateway.delivery.transport import HttpTransport, Transport
from gateway.delivery.worker import DELIVER, app, check_time_limits, configure
from gateway.pipeline import ExchangeService
from gateway.policy import PolicyEngine
from gateway.registrations.service import RegistrationFlags
from gateway.requests.limits import TokenBuckets
from gateway.requests.service import SpecificRequests
from gateway.statistics.repository import StatisticalRegister
from gateway.statistics.service import Statistics
from gateway.store.db import Database, migrate
from gateway.systems import Directory, Systems


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class Runtime:
    """The gateway's services, built once from settings; the API and the CLI call these."""

    settings: Settings
    db: Database
    directory: Directory
    exchanges: ExchangeService
    requests: SpecificRequests
    systems: Systems
    consents: Consents
    audit: Audit
    views: DpoViews
    statistics: Statistics
    approvals: Approvals
    dead_letters: DeadLetters
    registrations: RegistrationFlags
    dci: DciSubscriptions
    relay: OutboxRelay
    sealer: Sealer
    bodies: BodySealer
    pseudonymiser: Pseudonymiser
    clock: Callable[[], dt.datetime]
    log: TransparencyLog
    background: BackgroundRelay | None = field(default=None)
    appender: BackgroundAppender | None = field(default=None)

    @classmethod
    def build(
        cls,
        settings: Settings,
        adapters: AdapterRegistry | None = None,
        transport: Transport | None = None,
        clock: Callable[[], dt.datetime] = utc_now,
    ) -> Runtime:
        """Connect, migrate, load adapters and policy; everything broken fails here, at start."""
        OutboxRelay.lease_policy(settings)  # incoherent settings: refused before anything opens
        if settings.broker_url is not None:
            check_time_limits(settings)
        settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        db = Database.connect(settings.resolved_database_url)
        migrate(db.engine)
        master = settings.master_secret()
        # Made now, so the operator and the DPO can find them before first use.
        settings.resolved_admin_token()
        settings.resolved_dpo_token()
        adapters_in_use = adapters or installed_adapters()
        relay = OutboxRelay.from_settings(settings, db, master, transport, clock, adapters_in_use)
        sealer, bodies = relay.sealer, relay.bodies
        seal_plaintext_rows(db, bodies)
        pseudonymiser = Pseudonymiser(derive_key(master, "subject-pseudonyms"))
        policy = PolicyEngine(settings.policy_dir, origin_exceptions=settings.origin_exceptions)
        directory = Directory(db, settings.registry_cache_seconds)
        exchanges = ExchangeService(
            db,
            directory,
            adapters_in_use,
            policy,
            pseudonymiser,
            settings.host_jurisdiction,
            sealer=bodies,
            register=StatisticalRegister(
                Pseudonymiser(derive_key(master, "statistical-register")),
                policy.rules.groups_of,
                db.engine.dialect.name,
            ),
            clock=clock,
        )
        runtime = cls(
            settings=settings,
            db=db,
            directory=directory,
            exchanges=exchanges,
            requests=SpecificRequests(
                db,
                directory,
                adapters_in_use,
                policy,
                pseudonymiser,
                settings.host_jurisdiction,
                transport=SpecificRequests.fetching_over_http(
                    settings.request_fetch_timeout_seconds
                ),
                sealer=sealer,
                limits=TokenBuckets(settings.request_rate_per_minute, settings.request_burst),
                denial_floor=settings.request_denial_floor_seconds,
                fetch_timeout=settings.request_fetch_timeout_seconds,
                clock=clock,
            ),
            systems=Systems(db, sealer, adapters_in_use),
            consents=Consents(
                db,
                pseudonymiser,
                clock,
                views=Keyring.derive([master], CHILD_VIEWS_KEY),
                notices=Notices(adapters_in_use, bodies),
            ),
            audit=Audit(db),
            views=DpoViews(db, pseudonymiser, settings),
            statistics=Statistics(db, settings.statistics_min_cell, clock, policy.rules.groups_of),
            approvals=Approvals(db, clock),
            dead_letters=DeadLetters(db, clock),
            registrations=RegistrationFlags(db),
            dci=DciSubscriptions(
                db,
                directory,
                adapters_in_use,
                exchanges,
                sealer,
                transport or HttpTransport(settings.delivery_timeout_seconds),
                clock,
            ),
            log=TransparencyLog(db, master, settings.log_origin, clock),
            relay=relay,
            sealer=sealer,
            bodies=bodies,
            pseudonymiser=pseudonymiser,
            clock=clock,
        )
        runtime.approvals.on_rejected = relay.note_erased
        runtime.dead_letters.on_erased = relay.note_erased
        return runtime

    def start_relay(self) -> None:
        """Drain the outbox in a background thread, woken by every accepted exchange.

        With a broker, the thread publishes tasks for the workers instead of sending.
        """
        if self.background is None:
            self.background = BackgroundRelay(
                self._dispatcher(), self.settings.relay_interval_seconds, self._purge_expired
            )
            self.exchanges.on_accepted = self.background.wake
            self.consents.on_withdrawn = self.background.wake  # its notices, once committed
            self.approvals.on_approved = self.background.wake
            self.dead_letters.on_replayed = self.background.wake
            self.background.start()

    def _purge_expired(self) -> None:
        """Erase dead letters' bodies kept past the retention period (their records stay)."""
        if purge_expired(self.db, self.settings, self.clock()):
            self.relay.note_erased()

    def _dispatcher(self) -> Dispatcher:
        if self.settings.broker_url is None:
            return self.relay
        configure(app, self.settings)
        return Publisher(self.db, app, DELIVER, self.clock)

    def start_log_appender(self) -> None:
        """Seal committed exchange records into the log in a background thread."""
        if self.appender is None and self.settings.log_appender_enabled:
            self.appender = BackgroundAppender(self.log, self.settings.log_append_interval_seconds)
            self.appender.start()

    def outbox_counts(self) -> dict[str, int]:
        """Return how many outbox messages are pending, delivered and dead."""
        with self.db.reading() as session:
            return outbox.counts(session)

    def close(self) -> None:
        self.requests.close()
        self.dci.close()
        if self.appender is not None:
            self.appender.stop()
            self.appender = None
        if self.background is not None:
            self.background.stop()
            self.background = None
        self.relay.close()
        self.db.dispose()
