"""Reading a scrape as Prometheus does: prometheus_client's own parser of the text format."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from gateway.demo.server import ServedGateway

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    """Every sample of a scrape, by name and labels."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float | None:
    """A sample's value; None if the scrape has no such series."""
    return samples.get((name, frozenset(labels.items())))


def count(samples: Samples, name: str, **labels: str) -> float:
    """A counter's value, 0 for a series not yet counted (series appear at their first count)."""
    return value(samples, name, **labels) or 0.0


def scrape(served: ServedGateway | str, token: str | None = None) -> Samples:
    """GET /metrics as the administrator (of `served`, or with `token` at a URL), parsed."""
    if isinstance(served, ServedGateway):
        url, token = served.url, served.runtime.settings.resolved_admin_token()
    else:
        url = served
    answer = httpx.get(f"{url}/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return parse(answer.text)
