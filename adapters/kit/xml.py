"""Hardened XML: every XML body an adapter or the SOAP layer reads comes through `parse_xml`.

Why one door: XML carries its own attack surface (external entities that read files or call
out, entity bombs, external DTDs, XInclude, remote schema locations, deep nesting). Here it
is closed once, for every XML system: no DTD of any kind is accepted, nothing is fetched or
read, nesting is bounded and bodies are capped, and errors name a line or an element, never
the text. `XsdValidator` checks a parsed body against an adapter's own XSD files, compiled
from its package folder and nothing else, and lists every problem (bounded) by element path.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lxml import etree

from gateway.errors import ConfigurationError, ParseError, Problem, first_problems

MAX_DEPTH = 100
"""How deep elements may nest; no message of ours comes near it."""
MAX_BYTES = 1_048_576
"""The default size cap, GATEWAY_MAX_BODY_BYTES's default."""
MAX_ELEMENTS = 2_000
"""How many elements a body validated against an XSD may hold, by default.

Why: libxml2 locates each schema error by walking the element's siblings, so a 1 MiB body of
100,000 faulty siblings took minutes to validate (8,000 took a quarter of a second). A body
with more elements than any message of the schema can hold is refused before validation."""
XINCLUDE_NAMESPACES = ("http://www.w3.org/2001/XInclude", "http://www.w3.org/2003/XInclude")

# An element below MAX_DEPTH ancestors exists iff this is true; built once.
_TOO_DEEP = etree.XPath("boolean(" + "/*" * (MAX_DEPTH + 1) + ")")
_ELEMENTS = etree.XPath("count(//*)")
_XINCLUDE_TAGS = [f"{{{namespace}}}*" for namespace in XINCLUDE_NAMESPACES]
_PARSERS = threading.local()  # an lxml parser serves one thread at a time: one per thread


def _parser() -> etree.XMLParser:
    """Return this thread's parser: no DTD, no entities, no network, UTF-8 only.

    Why force UTF-8: the byte checks below (DOCTYPE) then hold for every body the parser
    accepts; a body in another encoding is simply not well-formed UTF-8.
    """
    parser: etree.XMLParser | None = getattr(_PARSERS, "parser", None)
    if parser is None:
        parser = etree.XMLParser(
            encoding="utf-8",
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            dtd_validation=False,
            huge_tree=False,
            remove_comments=True,
            remove_pis=True,
        )
        _PARSERS.parser = parser
    return parser


def _refused(where: str, message: str) -> ParseError:
    return ParseError("message is not acceptable XML", [Problem(where, message)])


def parse_xml(body: bytes, *, where: str = "body", max_bytes: int = MAX_BYTES) -> etree._Element:
    """Return the body's root element, or raise ParseError saying why not (never echoing it).

    Refused: bodies over `max_bytes`, any DOCTYPE (internal or external DTD, entities of any
    kind), XInclude elements, nesting deeper than MAX_DEPTH, malformed XML. Nothing is ever
    fetched or read: `xsi:schemaLocation` is plain text here, and XInclude is never run.
    """
    if len(body) > max_bytes:
        raise _refused(where, f"body is over the {max_bytes} byte limit")
    if b"<!DOCTYPE" in body:  # checked before parsing, so no DTD is ever read
        raise _refused(where, "DTDs are not accepted")
    try:
        root = etree.fromstring(body, _parser())
    except etree.XMLSyntaxError as exc:
        raise _refused(where, _syntax_message(exc)) from exc
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise _refused(where, "DTDs are not accepted")
    if body.count(b"<") > MAX_DEPTH and _TOO_DEEP(root):  # fewer tags cannot nest so deep
        raise _refused(where, f"elements nest deeper than {MAX_DEPTH} levels")
    if next(root.iter(*_XINCLUDE_TAGS), None) is not None:
        raise _refused(where, "XInclude is not accepted")
    return root


def _syntax_message(exc: etree.XMLSyntaxError) -> str:
    """Say what is wrong and where, without libxml2's text, which may quote the body."""
    line, column = exc.position
    if exc.msg.startswith("Excessive depth"):
        return f"elements nest deeper than {MAX_DEPTH} levels"
    if "amplification" in exc.msg or "entity" in exc.msg.lower():
        return f"entities are not accepted (line {line})"
    return f"not well-formed XML at line {line}, column {column}"


class XsdValidator:
    """Validate parsed bodies against one XSD compiled from an adapter's own schema folder.

    Why a resolver: an `xs:import` or `xs:include` may name another XSD in the same folder;
    anything else (another folder, a file elsewhere, a URL) is refused when the schema is
    built, at start-up, so validating never reads a file or opens a connection. The compiled
    schema is kept per thread, since lxml's validator keeps its error log on the object.
    """

    def __init__(self, folder: Path, filename: str, *, max_elements: int = MAX_ELEMENTS) -> None:
        self.folder = folder.resolve()
        self.filename = filename
        self.max_elements = max_elements
        self._threads = threading.local()
        self._document = self._load()
        self._compile()  # a broken schema fails here, at start-up

    def _load(self) -> Any:
        path = self.folder / self.filename
        parser = etree.XMLParser(
            resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
        )
        parser.resolvers.add(_FolderResolver(self.folder))
        try:
            return etree.parse(str(path), parser)
        except (OSError, etree.XMLSyntaxError, _OutsideFolderError) as exc:
            raise ConfigurationError(f"schema {self.filename} cannot be read: {exc}") from exc

    def _compile(self) -> etree.XMLSchema:
        schema: etree.XMLSchema | None = getattr(self._threads, "schema", None)
        if schema is None:
            try:
                schema = etree.XMLSchema(self._document)
            except (etree.XMLSchemaParseError, _OutsideFolderError) as exc:
                raise ConfigurationError(f"schema {self.filename} is invalid: {exc}") from exc
            self._threads.schema = schema
        return schema

    def validate(self, root: etree._Element) -> list[Problem]:
        """Return every problem with the element (bounded by first_problems), or []."""
        if _ELEMENTS(root) > self.max_elements:
            where = "/" + etree.QName(root).localname
            return [Problem(where, f"holds more than {self.max_elements} elements")]
        schema = self._compile()
        if schema.validate(root):
            return []
        return first_problems(_problems(root, schema.error_log))


class _OutsideFolderError(Exception):
    """A schema named a file outside its folder, or a URL."""


class _FolderResolver(etree.Resolver):  # type: ignore[misc]  # lxml ships no types
    """Resolve schema imports to files inside one folder; refuse everything else."""

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = folder

    def resolve(self, system_url: str, public_id: str, context: Any) -> Any:
        if "://" in system_url and not system_url.startswith("file://"):
            raise _OutsideFolderError(f"a schema may not import {system_url!r}")
        path = Path(system_url.removeprefix("file://"))
        path = (path if path.is_absolute() else self.folder / path).resolve()
        if not path.is_relative_to(self.folder) or not path.is_file():
            raise _OutsideFolderError(f"a schema may import only files in {self.folder.name}/")
        return self.resolve_filename(str(path), context)


# libxml2 error types whose message names elements and attributes, never a value.
_STRUCTURAL = frozenset(
    {
        "SCHEMAV_ELEMENT_CONTENT",
        "SCHEMAV_CVC_COMPLEX_TYPE_2_1",
        "SCHEMAV_CVC_COMPLEX_TYPE_2_3",
        "SCHEMAV_CVC_COMPLEX_TYPE_2_4",
        "SCHEMAV_CVC_COMPLEX_TYPE_3_2_1",
        "SCHEMAV_CVC_COMPLEX_TYPE_3_2_2",
        "SCHEMAV_CVC_COMPLEX_TYPE_4",
        "SCHEMAV_CVC_ELT_1",
    }
)
# Value errors: libxml2 quotes the value, so each gets a fixed phrase instead.
_VALUE_PHRASES = {
    "SCHEMAV_CVC_ENUMERATION_VALID": "is not one of the allowed codes",
    "SCHEMAV_CVC_PATTERN_VALID": "does not have the required form",
    "SCHEMAV_CVC_MAXLENGTH_VALID": "is too long",
    "SCHEMAV_CVC_MINLENGTH_VALID": "is too short",
    "SCHEMAV_CVC_LENGTH_VALID": "does not have the required length",
    "SCHEMAV_CVC_MININCLUSIVE_VALID": "is below the allowed range",
    "SCHEMAV_CVC_MINEXCLUSIVE_VALID": "is below the allowed range",
    "SCHEMAV_CVC_MAXINCLUSIVE_VALID": "is above the allowed range",
    "SCHEMAV_CVC_MAXEXCLUSIVE_VALID": "is above the allowed range",
    "SCHEMAV_CVC_TOTALDIGITS_VALID": "has too many digits",
    "SCHEMAV_CVC_FRACTIONDIGITS_VALID": "has too many decimal digits",
}
_ATTRIBUTE = "', attribute '"
_NAMESPACE = re.compile(r"\{[^}]*\}")
_TYPE = " of the atomic type "


def _problems(root: Any, log: Any) -> Iterator[Problem]:
    """Yield one Problem per schema error, located by a readable element path."""
    tree = root.getroottree()
    for entry in log:
        location = _readable_path(tree, entry.path)
        head, _, rest = entry.message.partition("': ")
        if _ATTRIBUTE in head:  # "Element '{ns}x', attribute 'y'" names an attribute
            location += "/@" + head.rsplit(_ATTRIBUTE, 1)[1]
        yield Problem(location, _message(entry.type_name, rest))


def _message(type_name: str, rest: str) -> str:
    if type_name in _STRUCTURAL:
        return _NAMESPACE.sub("", rest).rstrip(".") or "is not valid"
    if type_name in _VALUE_PHRASES:
        return "value " + _VALUE_PHRASES[type_name]
    if _TYPE in rest:  # "'<value>' is not a valid value of the atomic type 'xs:date'."
        return "value is not a valid " + rest.rsplit(_TYPE, 1)[1].strip("'.")
    return f"is not valid ({type_name})"


def _readable_path(tree: Any, path: str | None) -> str:
    """Turn libxml2's '/*/*[3]' or '/im:a/im:b' into '/document-request/person[1]/surname'.

    libxml2 writes the document's own prefixes into the path, so they are bound here; a path
    that still cannot be read gives the root, never an error (the problem is still listed).
    """
    if not path:
        return "/"
    root = tree.getroot() if hasattr(tree, "getroot") else tree
    prefixes = {prefix: uri for prefix, uri in root.nsmap.items() if prefix}
    try:
        found = tree.xpath(path, namespaces=prefixes)
    except etree.XPathError:
        return "/"
    if not found or not etree.iselement(found[0]):
        return "/"
    parts = []
    element = found[0]
    while element is not None:
        name = etree.QName(element).localname
        before = sum(1 for _ in element.itersiblings(element.tag, preceding=True))
        if before or next(element.itersiblings(element.tag), None) is not None:
            name += f"[{before + 1}]"
        parts.append(name)
        element = element.getparent()
    return "/" + "/".join(reversed(parts))
