"""The conformance checks, each a function returning what is wrong (nothing when it passes).

Plain functions, so that any runner can call them and the kit's own tests can show each one
fails on an adapter that breaks its rule; `AdapterConformance` runs them under pytest.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from adapters.kit.conformance import hostile, values
from adapters.kit.conformance.samples import Sample, SampleError, Samples, load_canonical
from adapters.kit.conformance.shape import contract, covers
from adapters.kit.contract import Adapter, RenderChecker, Rendered
from adapters.kit.mapping import canonical_fields, load_mapping_set
from gateway.canonical import DataCategory, Payload
from gateway.errors import GatewayError, ParseError, Problem

PAYLOAD_METHODS = ("subjects", "categories", "minimised")


def mapping_specs(adapter: Adapter, package: str) -> list[str]:
    """Check the specs: one per message type, every name known, dropped fields accounted."""
    found: list[str] = []
    try:
        shipped = load_mapping_set(package, adapter.name)
    except GatewayError as exc:
        return [f"the specs shipped in {package} do not load: {exc.message}"]
    if problem := covers(f"{package}/mappings", set(shipped.specs), adapter):
        found.append(problem)
    known = canonical_fields()
    mappings = adapter.mappings
    for message_type, spec in sorted(mappings.specs.items()):
        where = f"{message_type} spec"
        natives = adapter.native_fields.get(message_type, frozenset())
        if spec.adapter != adapter.name or not spec.version:
            found.append(f"{where}: names adapter {spec.adapter!r} or has no version")
        canonicals = [f.canonical for f in spec.fields]
        found += [f"{where}: canonical field {c!r} mapped twice" for c in _twice(canonicals)]
        for f in spec.fields:
            if f.canonical not in known:
                found.append(f"{where}: unknown canonical field {f.canonical!r}")
            if f.native not in natives:
                found.append(f"{where}: native field {f.native!r} is not in native_fields")
            if f.codelist is not None and f.codelist not in mappings.codelists:
                found.append(f"{where}: unknown code list {f.codelist!r}")
        dropped = [d.native for d in spec.dropped]
        found += [f"{where}: {n!r} dropped twice" for n in _twice(dropped)]
        found += [
            f"{where}: {n!r} is both mapped and dropped"
            for n in sorted(set(dropped) & {f.native for f in spec.fields})
        ]
        found += [
            f"{where}: dropped {n!r} is not in native_fields"
            for n in sorted(set(dropped) - natives)
        ]
    return found


def _twice(names: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    return sorted({n for n in names if n in seen or seen.add(n)})  # type: ignore[func-returns-value]


def native_samples(adapter: Adapter, samples: Samples) -> list[str]:
    """Check every native sample of a type it parses parses, to a well-behaved payload."""
    found = []
    for message_type in sorted(adapter.parses):
        if not samples.native.get(message_type):
            found.append(f"ships no native samples in fixtures/{message_type}/")
        for sample in samples.native.get(message_type, ()):
            try:
                payload = adapter.parse(message_type, sample.body)
                again = adapter.parse(message_type, sample.body)
            except GatewayError as exc:
                found.append(f"{sample.name}: refused: {exc.message}: {_problems(exc)}")
                continue
            found += [f"{sample.name}: {p}" for p in _payload_problems(payload, again)]
    return found


def _payload_problems(payload: Any, again: Any) -> list[str]:
    if not all(callable(getattr(payload, m, None)) for m in PAYLOAD_METHODS):
        return [f"parse returned a {type(payload).__name__}, not a Payload"]
    found = []
    if payload != again:
        found.append("parsing the same body twice gave different payloads")
    categories = payload.categories()
    if not isinstance(categories, frozenset) or not all(
        isinstance(c, DataCategory) for c in categories
    ):
        found.append("categories() is not a frozenset of DataCategory")
    if payload.minimised(frozenset(DataCategory)) != payload:
        found.append("minimising to every category changed the payload")
    return found


def invalid_samples(adapter: Adapter, samples: Samples) -> list[str]:
    """Check every invalid sample is refused with its problems listed, its values not echoed."""
    found = []
    for message_type in sorted(adapter.parses):
        for sample in samples.invalid.get(message_type, ()):
            try:
                adapter.parse(message_type, sample.body)
            except GatewayError as exc:
                found += [f"{sample.name}: {p}" for p in _refusal_problems(exc, sample.body)]
            except Exception as exc:
                found.append(f"{sample.name}: raised {type(exc).__name__}, not a GatewayError")
            else:
                found.append(f"{sample.name}: accepted, but it is in invalid/")
    return found


def _refusal_problems(error: GatewayError, body: bytes) -> list[str]:
    found = []
    if not 400 <= error.status < 500:
        found.append(f"refused with status {error.status}, not a 4xx")
    if not error.problems:
        found.append("refused without naming a problem")
    said = hostile.answer_text(error)
    if len(said) > hostile.ANSWER_LIMIT:
        found.append(f"the refusal says {len(said)} characters")
    text = body.decode("utf-8", "replace")
    echoed = {v for v in re.findall(r"[\w@+.-]{8,}", said) if v in _values_of(text)}
    if echoed:
        found.append(f"the refusal repeats {len(echoed)} value(s) of the body")
    return found


def _values_of(text: str) -> set[str]:
    """Return the body's string values and text, as they might be echoed."""
    quoted = re.findall(r'"([^"\\]{8,})"(?!\s*:)', text)  # values, not keys
    return set(quoted) | {t.strip() for t in re.findall(r">([^<]{8,})<", text)}


def _problems(error: GatewayError) -> str:
    return "; ".join(f"{p.location}: {p.message}" for p in error.problems[:5])


def round_trips(adapter: Adapter, samples: Samples) -> list[str]:
    """Check canonical -> native -> canonical keeps every mapped field.

    A type it parses and renders is read back by its own parse; a type it only renders is
    searched for each mapped value of the payload.
    """
    found: list[str] = []
    for message_type in sorted(adapter.renders):
        spec = adapter.mappings.spec(message_type)
        both = message_type in adapter.parses
        sent: list[tuple[str, Payload]] = []
        for sample in samples.canonical.get(message_type, ()):
            try:
                sent.append((sample.name, load_canonical(sample)))
            except SampleError as exc:
                found.append(str(exc))
        if both:
            for sample in samples.native.get(message_type, ()):
                try:
                    sent.append((sample.name, adapter.parse(message_type, sample.body)))
                except GatewayError:
                    pass  # native_samples reports it
        elif not samples.canonical.get(message_type):
            found.append(f"ships no canonical samples in fixtures/{message_type}/*.canonical.json")
        for name, payload in sent:
            rendered = _render(adapter, message_type, payload, name, found)
            if rendered is None:
                continue
            if both:
                try:
                    back = adapter.parse(message_type, rendered.body)
                except GatewayError as exc:
                    found.append(f"{name}: its rendering does not parse back: {_problems(exc)}")
                    continue
                found += [f"{name}: {lost}" for lost in values.lost(spec, payload, back)]
            else:
                leaves = values.native_leaves(rendered.body, rendered.content_type)
                found += [
                    f"{name}: {m}" for m in values.missing(adapter.mappings, spec, payload, leaves)
                ]
    return found


def _render(
    adapter: Adapter, message_type: str, payload: Payload, name: str, found: list[str]
) -> Rendered | None:
    try:
        rendered = adapter.render(message_type, payload)
        again = adapter.render(message_type, payload)
    except Exception as exc:
        found.append(f"{name}: render {message_type} raised {type(exc).__name__}: {exc}")
        return None
    if rendered != again:
        found.append(f"{name}: rendering the same payload twice gave different bytes")
    return rendered


def rendered_schema(adapter: Adapter, samples: Samples) -> list[str]:
    """Check every rendered sample is valid against the system's schema (RenderChecker)."""
    if not adapter.renders:
        return []
    if not isinstance(adapter, RenderChecker):
        return [
            "renders messages but offers no check_rendered(message_type, body):"
            " its output cannot be checked against its system's schema"
        ]
    found = []
    for message_type in sorted(adapter.renders):
        try:
            said = adapter.check_rendered(message_type, b"\x00 not a message")
        except ParseError:
            said = [Problem("/", "refused")]
        if not said:
            found.append(f"check_rendered({message_type!r}) passes a body that is no message")
        for name, payload in _renderable(adapter, message_type, samples):
            try:
                rendered = adapter.render(message_type, payload)
            except Exception:
                continue  # round_trips reports it
            problems = adapter.check_rendered(message_type, rendered.body)
            found += [
                f"{name}: rendered {message_type} breaks its schema at {p.location}: {p.message}"
                for p in problems
            ]
    return found


def _renderable(adapter: Adapter, message_type: str, samples: Samples) -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    for sample in samples.canonical.get(message_type, ()):
        try:
            found.append((sample.name, load_canonical(sample)))
        except SampleError:
            pass  # round_trips reports it
    if message_type in adapter.parses:
        for sample in samples.native.get(message_type, ()):
            try:
                found.append((sample.name, adapter.parse(message_type, sample.body)))
            except GatewayError:
                pass
    return found


def hostile_bodies(adapter: Adapter) -> list[str]:
    """Check hostile bodies are refused with a small 4xx that repeats nothing they hold."""
    if not adapter.parses:
        return []
    family = hostile.families(adapter.media_types)
    found: list[str] = []
    with tempfile.TemporaryDirectory() as folder, hostile.counting_server() as (server, hits):
        secret = Path(folder) / "secret.txt"
        secret.write_text(hostile.MARKER, encoding="utf-8")
        bodies: list[tuple[str, hostile.Hostile]] = []
        for message_type in sorted(adapter.parses):
            natives = adapter.native_fields.get(message_type, frozenset())
            if family["json"]:
                bodies += [(message_type, b) for b in hostile.json_bodies(natives)]
            if family["xml"]:
                bodies += [(message_type, b) for b in hostile.xml_bodies(secret, server)]
            if not any(family.values()):
                bodies += [(message_type, hostile.Hostile("malformed UTF-8", b"\xff\xfe\xc3"))]
        for message_type, body in bodies:
            found += [
                f"{message_type}, {body.name}: {p}"
                for p in _refused(adapter, message_type, body.body)
            ]
        if hits:
            found.append(f"hostile bodies made the adapter fetch {len(hits)} URL(s): {hits[:3]}")
    return found


def _refused(adapter: Adapter, message_type: str, body: bytes) -> list[str]:
    try:
        adapter.parse(message_type, body)
    except GatewayError as exc:
        found = []
        if not 400 <= exc.status < 500:
            found.append(f"refused with status {exc.status}, not a 4xx")
        said = hostile.answer_text(exc)
        if len(said) > hostile.ANSWER_LIMIT:
            found.append(f"the refusal says {len(said)} characters")
        if hostile.MARKER in said:
            found.append("the refusal repeats a value of the body or a file it named")
        return found
    except RecursionError:
        return ["raised RecursionError: nesting must be refused before it is walked"]
    except Exception as exc:
        return [f"raised {type(exc).__name__}, not a GatewayError: {_short(str(exc))}"]
    return ["accepted"]


def _short(text: str) -> str:
    return text if len(text) <= 120 else text[:117] + "..."


__all__ = [
    "Sample",
    "contract",
    "hostile_bodies",
    "invalid_samples",
    "mapping_specs",
    "native_samples",
    "rendered_schema",
    "round_trips",
]
