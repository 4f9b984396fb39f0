"""The OpenCRVS document profile: what OpenCRVS needs of a birth document Bundle.

FHIR validation says a bundle is well-formed STU3; it does not say OpenCRVS can use it.
OpenCRVS finds everything through the Composition (always the first entry) and its coded
sections, and finds the workflow state in a Task whose focus is that Composition. These
rules are checked on every bundle the gateway renders, on the registry's answers it parses,
and, in the tests, on OpenCRVS's own sample bodies, to show the profile is what OpenCRVS
really accepts.

The profile reads no more entries, sections and codings than the schema of the answers it
parses allows (a bundle of 300,000 entries costs what 200 cost; the schema lists the excess).
Bundles the gateway renders hold a handful.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from adapters.opencrvs import schema
from gateway.errors import Problem

DOC_TYPES = "http://opencrvs.org/doc-types"
DOC_CLASSES = "http://opencrvs.org/specs/classes"
SECTIONS = "http://opencrvs.org/specs/sections"
# OpenCRVS's own bodies code sections in either system (even within one bundle), so both count.
SECTION_SYSTEMS = frozenset({SECTIONS, "http://opencrvs.org/doc-sections"})
TASK_TYPES = "http://opencrvs.org/specs/types"
REG_STATUS = "http://opencrvs.org/specs/reg-status"

BIRTH_NOTIFICATION = "birth-notification"
REGISTERED_BIRTH_TYPES = frozenset({"birth-declaration", "birth-registration"})
CHILD, MOTHER, FATHER = "child-details", "mother-details", "father-details"
INFORMANT, ENCOUNTER = "informant-details", "birth-encounter"
SECTION_RESOURCE = {
    CHILD: "Patient",
    MOTHER: "Patient",
    FATHER: "Patient",
    INFORMANT: "RelatedPerson",
    ENCOUNTER: "Encounter",
}
COMPOSITION = "/entry/0/resource"
_READ = "birth-registration-confirmation"  # the schema whose limits bound what is read
MAX_ENTRIES = schema.max_items(_READ, "/properties/entry")
MAX_SECTIONS = schema.max_items(_READ, "/$defs/composition/properties/section")
MAX_SECTION_ENTRIES = schema.max_items(
    _READ, "/$defs/composition/properties/section/items/properties/entry"
)
MAX_CODINGS = schema.max_items(_READ, "/$defs/concept/properties/coding")


@dataclass(frozen=True)
class Document:
    """The parts of a document bundle OpenCRVS works from."""

    composition_url: str
    resources: dict[str, dict[str, Any]]  # by fullUrl
    positions: dict[str, int]  # entry index by fullUrl, to say where a problem is
    sections: dict[str, list[str]]  # section code -> resolved references
    task: dict[str, Any] | None


def items(value: Any, limit: int) -> list[Any]:
    """Return the first `limit` items of a list, or none of something else."""
    return value[:limit] if isinstance(value, list) else []


def codes(concept: Any, systems: Collection[str]) -> list[str]:
    """Return the codes a CodeableConcept holds in the given systems."""
    coding = concept.get("coding") if isinstance(concept, dict) else None
    return [
        c["code"]
        for c in items(coding, MAX_CODINGS)
        if isinstance(c, dict)
        and isinstance(c.get("system"), str)
        and c["system"] in systems
        and isinstance(c.get("code"), str)
    ]


def reference(value: Any) -> str | None:
    """Return the target of a Reference, if it has one."""
    ref = value.get("reference") if isinstance(value, dict) else None
    return ref if isinstance(ref, str) and ref else None


def _resources(
    entries: list[Any], problems: list[Problem]
) -> tuple[dict[str, dict[str, Any]], dict[str, int]]:
    resources: dict[str, dict[str, Any]] = {}
    positions: dict[str, int] = {}
    for i, entry in enumerate(entries):
        url = entry.get("fullUrl") if isinstance(entry, dict) else None
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(url, str) or not url:
            problems.append(Problem(f"/entry/{i}/fullUrl", "every entry needs a fullUrl"))
        elif url in resources:
            problems.append(Problem(f"/entry/{i}/fullUrl", "fullUrl is not unique in the bundle"))
        elif not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            problems.append(Problem(f"/entry/{i}/resource", "every entry needs a resource"))
        else:
            resources[url], positions[url] = resource, i
    return resources, positions


def _sections(
    composition: dict[str, Any], resources: dict[str, Any], problems: list[Problem]
) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    sections = composition.get("section")
    for j, section in enumerate(items(sections, MAX_SECTIONS)):
        where = f"{COMPOSITION}/section/{j}"
        section_codes = codes(
            section.get("code") if isinstance(section, dict) else None, SECTION_SYSTEMS
        )
        if not section_codes:
            problems.append(Problem(f"{where}/code", "section has no OpenCRVS section code"))
            continue
        for k, item in enumerate(items(section.get("entry"), MAX_SECTION_ENTRIES)):
            target = reference(item)
            if target not in resources:
                message = "reference does not resolve to a fullUrl in the bundle"
                problems.append(Problem(f"{where}/entry/{k}/reference", message))
            else:
                found.setdefault(section_codes[0], []).append(target)
    return found


def _task(
    entries: list[Any], composition_url: str, problems: list[Problem]
) -> dict[str, Any] | None:
    tasks: list[tuple[int, dict[str, Any]]] = [
        (i, e["resource"])
        for i, e in enumerate(entries)
        if isinstance(e, dict)
        and isinstance(e.get("resource"), dict)
        and e["resource"].get("resourceType") == "Task"
        and "BIRTH" in codes(e["resource"].get("code"), {TASK_TYPES})
    ]
    if len(tasks) != 1:
        message = f"needs exactly one Task coded BIRTH in {TASK_TYPES}, found {len(tasks)}"
        problems.append(Problem("/entry", message))
        return None
    index, task = tasks[0]
    if reference(task.get("focus")) != composition_url:
        problems.append(
            Problem(f"/entry/{index}/resource/focus", "Task focus is not the Composition")
        )
    return task


def read_document(bundle: Any, doc_types: Collection[str]) -> tuple[Document | None, list[Problem]]:
    """Check the document skeleton and return its parts, with every problem found."""
    problems: list[Problem] = []
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        return None, [Problem("/resourceType", "must be a Bundle")]
    if bundle.get("type") != "document":
        problems.append(Problem("/type", "must be 'document'"))
    entries = bundle.get("entry")
    if not isinstance(entries, list) or not entries:
        return None, [*problems, Problem("/entry", "a document has entries")]
    entries = entries[:MAX_ENTRIES]
    resources, positions = _resources(entries, problems)
    first = entries[0] if isinstance(entries[0], dict) else {}
    composition, composition_url = first.get("resource"), first.get("fullUrl")
    if not isinstance(composition, dict) or composition.get("resourceType") != "Composition":
        return None, [
            *problems,
            Problem(f"{COMPOSITION}/resourceType", "first entry must be a Composition"),
        ]
    if not set(codes(composition.get("type"), {DOC_TYPES})) & set(doc_types):
        message = f"Composition type must be one of {sorted(doc_types)} in {DOC_TYPES}"
        problems.append(Problem(f"{COMPOSITION}/type", message))
    sections = _sections(composition, resources, problems)
    task = _task(entries, str(composition_url), problems)
    return Document(str(composition_url), resources, positions, sections, task), problems


def section_problems(
    doc: Document, required: Iterable[str], one_of: Collection[str] = ()
) -> list[Problem]:
    """Check that sections are present and point at the right kind of resource."""
    problems = [
        Problem(f"{COMPOSITION}/section", f"section {code!r} is missing or empty")
        for code in required
        if not doc.sections.get(code)
    ]
    if one_of and not any(doc.sections.get(code) for code in one_of):
        problems.append(
            Problem(f"{COMPOSITION}/section", f"needs one of the sections {sorted(one_of)}")
        )
    for code, targets in doc.sections.items():
        expected = SECTION_RESOURCE.get(code)
        for target in targets:
            if expected and doc.resources[target]["resourceType"] != expected:
                message = f"section {code!r} must point at a {expected}"
                problems.append(Problem(f"{COMPOSITION}/section", message))
    return problems


def check_birth_notification(bundle: Any) -> list[Problem]:
    """Return every way a bundle falls short of an OpenCRVS birth notification."""
    doc, problems = read_document(bundle, {BIRTH_NOTIFICATION})
    if doc is not None:
        problems += section_problems(doc, (CHILD, ENCOUNTER, INFORMANT), one_of=(MOTHER, FATHER))
    return problems
