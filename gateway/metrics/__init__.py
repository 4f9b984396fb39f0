"""Prometheus metrics: what the gateway counts, and what GET /metrics answers.

- `events`: the counters and histograms, and the calls that move them: `exchange_decided`
  (the pipeline, once a record is committed), `timed_submission` (the submission route),
  `delivery_settled` (the outbox relay, once an attempt's outcome is recorded);
- `repository` and `exposition`: the outbox's gauges, read from the database at each
  scrape, and the scrape itself, which sums every process's counts when
  PROMETHEUS_MULTIPROC_DIR is set.

Each metric, its labels, and how to run several processes: docs/metrics.md.
"""

from gateway.metrics.events import delivery_settled, exchange_decided, timed_submission

__all__ = ["delivery_settled", "exchange_decided", "timed_submission"]
