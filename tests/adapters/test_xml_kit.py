"""The hardened XML kit: no DTD, no entity, no file read, no call out, bounded, never echoing.

Outbound calls are watched by a real HTTP server on 127.0.0.1 that counts every request; file
reads by a temporary file holding a marker that must never appear anywhere.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from lxml import etree

from adapters.kit.xml import MAX_DEPTH, MAX_ELEMENTS, XsdValidator, _parser, parse_xml
from gateway.errors import COUNT_LIMIT, MAX_PROBLEMS, ConfigurationError, ParseError

MARKER = "MARKER-7f3a91"
SECRET = "Amina-Haddad-1990"


class Watcher:
    """A local HTTP server that answers every GET with a small DTD/XSD and counts it."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        watcher = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
                watcher.hits.append(self.path)
                body = f'<!ENTITY leak "{MARKER}">'.encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def watcher() -> Iterator[Watcher]:
    watching = Watcher()
    try:
        yield watching
    finally:
        watching.close()


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text(MARKER)
    return path


def refused(body: bytes, **kwargs: int) -> ParseError:
    with pytest.raises(ParseError) as caught:
        parse_xml(body, **kwargs)
    error = caught.value
    shown = str(error) + repr(error.problems)
    assert MARKER not in shown and SECRET not in shown
    return error


def said(error: ParseError) -> str:
    return " ".join(p.message for p in error.problems)


def test_billion_laughs_is_refused() -> None:
    entities = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)).replace(
        "&lol0;", "lol"
    )
    body = f'<?xml version="1.0"?><!DOCTYPE lolz [{entities}]><lolz>&lol9;</lolz>'.encode()
    assert said(refused(body)) == "DTDs are not accepted"


def test_quadratic_blowup_is_refused() -> None:
    big = "A" * 50_000
    body = f'<!DOCTYPE kaboom [<!ENTITY a "{big}">]><kaboom>{"&a;" * 10_000}</kaboom>'.encode()
    assert said(refused(body)) == "DTDs are not accepted"


def test_an_external_entity_is_never_read(secret_file: Path) -> None:
    doctype = f'<!DOCTYPE r [<!ENTITY xxe SYSTEM "file://{secret_file}">]>'
    body = f"{doctype}<r>&xxe;</r>".encode()
    assert said(refused(body)) == "DTDs are not accepted"
    # Past the DOCTYPE check too, the parser itself neither reads nor expands it.
    root = etree.fromstring(body, _parser())
    assert MARKER not in etree.tostring(root).decode()


def test_parameter_entities_are_refused(watcher: Watcher, secret_file: Path) -> None:
    body = (
        f'<!DOCTYPE r [<!ENTITY % file SYSTEM "file://{secret_file}">'
        f'<!ENTITY % dtd SYSTEM "{watcher.url}/evil.dtd">%dtd;%file;]><r>x</r>'
    ).encode()
    assert said(refused(body)) == "DTDs are not accepted"
    etree.fromstring(body, _parser())
    assert watcher.hits == []


def test_an_external_dtd_is_never_fetched(watcher: Watcher) -> None:
    body = f'<!DOCTYPE r SYSTEM "{watcher.url}/r.dtd"><r>&leak;</r>'.encode()
    assert said(refused(body)) == "DTDs are not accepted"
    root = etree.fromstring(body, _parser())  # past the check too: the DTD is not loaded
    assert MARKER not in etree.tostring(root).decode()
    plain = f'<!DOCTYPE r PUBLIC "-//X//Y" "{watcher.url}/p.dtd"><r/>'.encode()
    refused(plain)
    etree.fromstring(plain, _parser())
    assert watcher.hits == []


def test_xinclude_is_refused_and_never_run(secret_file: Path, watcher: Watcher) -> None:
    body = (
        f'<r xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include href="{secret_file}"'
        f' parse="text"/><xi:include href="{watcher.url}/x.xml"/></r>'
    ).encode()
    assert said(refused(body)) == "XInclude is not accepted"
    # Written with a character reference, the namespace is still the XInclude one.
    hidden = b'<r xmlns:x="http://www.w3.org/2001/&#88;Include"><x:include href="a"/></r>'
    assert said(refused(hidden)) == "XInclude is not accepted"
    assert watcher.hits == []


def test_a_remote_schema_location_is_never_fetched(tmp_path: Path, watcher: Watcher) -> None:
    (tmp_path / "r.xsd").write_text(
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:t"'
        ' elementFormDefault="qualified"><xs:element name="r" type="xs:string"/></xs:schema>'
    )
    body = (
        '<r xmlns="urn:t" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
        f' xsi:schemaLocation="urn:t {watcher.url}/r.xsd"'
        f' xsi:noNamespaceSchemaLocation="{watcher.url}/n.xsd">text</r>'
    ).encode()
    root = parse_xml(body)
    assert XsdValidator(tmp_path, "r.xsd").validate(root) == []
    assert watcher.hits == []


def test_ten_thousand_deep_nesting_is_refused() -> None:
    body = b"<a>" * 10_000 + b"</a>" * 10_000
    assert said(refused(body)) == f"elements nest deeper than {MAX_DEPTH} levels"


def test_nesting_is_refused_just_past_the_limit_and_accepted_at_it() -> None:
    deepest = MAX_DEPTH + 1
    assert "deeper" in said(refused(b"<a>" * deepest + b"</a>" * deepest))
    assert parse_xml(b"<a>" * MAX_DEPTH + b"</a>" * MAX_DEPTH).tag == "a"


def test_malformed_xml_names_the_line_never_the_text() -> None:
    body = f"<r>\n<name>{SECRET}</nom>\n</r>".encode()
    assert said(refused(body)).startswith("not well-formed XML at line 2, column ")
    assert "not well-formed" in said(refused(f"<r>{SECRET}\xe9".encode("latin-1")))
    assert "entities" in said(refused(b"<r>&undefined;</r>"))


def test_a_body_over_the_cap_is_refused_before_parsing() -> None:
    assert "over the 100 byte limit" in said(refused(b"<r>" + b"x" * 100 + b"</r>", max_bytes=100))


def test_only_utf8_is_read() -> None:
    body = '<?xml version="1.0" encoding="UTF-16"?><r/>'.encode("utf-16")
    assert "not well-formed" in said(refused(body))
    doctype = '<!DOCTYPE r [<!ENTITY a "b">]><r>&a;</r>'.encode("utf-16")
    refused(doctype)  # the DOCTYPE check on bytes cannot be dodged by another encoding


def test_comments_and_processing_instructions_are_dropped() -> None:
    root = parse_xml(b"<r><!-- note --><?php echo 1 ?><a/></r>")
    assert [child.tag for child in root] == ["a"]


XSD = """<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:t"
  xmlns="urn:t" elementFormDefault="qualified">
  <xs:include schemaLocation="{include}"/>
  <xs:element name="r"><xs:complexType><xs:sequence>
    <xs:element name="d" type="xs:date" maxOccurs="unbounded"/>
    <xs:element name="c" type="Code"/>
    <xs:element name="s" minOccurs="0"><xs:simpleType><xs:restriction base="xs:string">
      <xs:maxLength value="3"/></xs:restriction></xs:simpleType></xs:element>
  </xs:sequence><xs:attribute name="n" type="xs:int" use="required"/></xs:complexType>
  </xs:element></xs:schema>"""
TYPES = """<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:t"
  xmlns="urn:t"><xs:simpleType name="Code"><xs:restriction base="xs:string">
  <xs:enumeration value="X"/><xs:enumeration value="Y"/></xs:restriction></xs:simpleType>
  </xs:schema>"""


def schemas(folder: Path, include: str = "types.xsd") -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "main.xsd").write_text(XSD.format(include=include))
    (folder / "types.xsd").write_text(TYPES)
    return folder


def test_the_validator_lists_every_problem_by_element_never_the_value(tmp_path: Path) -> None:
    validator = XsdValidator(schemas(tmp_path / "xsd"), "main.xsd")
    body = (
        f"<r xmlns='urn:t' n='{SECRET}'><d>{SECRET}</d><d>2020-01-01</d><c>{SECRET}</c>"
        f"<s>{SECRET}</s><extra/></r>"
    )
    problems = validator.validate(parse_xml(body.encode()))
    assert [(p.location, p.message) for p in problems] == [
        ("/r/@n", "value is not a valid xs:int"),
        ("/r/d[1]", "value is not a valid xs:date"),
        ("/r/c", "value is not one of the allowed codes"),
        ("/r/s", "value is too long"),
        ("/r/extra", "This element is not expected"),
    ]
    assert SECRET not in repr(problems)
    valid = b"<r xmlns='urn:t' n='1'><d>2020-01-01</d><c>X</c></r>"
    assert validator.validate(parse_xml(valid)) == []


def test_the_validator_counts_many_faults_no_further_than_the_limit(tmp_path: Path) -> None:
    validator = XsdValidator(schemas(tmp_path / "xsd"), "main.xsd")
    body = b"<r xmlns='urn:t' n='1'>" + b"<d>x</d>" * (MAX_ELEMENTS - 2) + b"<c>X</c></r>"
    problems = validator.validate(parse_xml(body))
    assert len(problems) == COUNT_LIMIT + 1
    assert problems[-1].location == f"/r/d[{COUNT_LIMIT + 1}]"
    error = ParseError("invalid", problems)
    assert len(error.problems) == MAX_PROBLEMS and not error.problem_count_exact


def test_a_body_of_more_elements_than_the_schema_allows_is_not_validated(tmp_path: Path) -> None:
    """100,000 faulty siblings took libxml2 minutes to locate: such a body is refused whole."""
    validator = XsdValidator(schemas(tmp_path / "xsd"), "main.xsd")
    body = b"<r xmlns='urn:t' n='1'>" + b"<d>x</d>" * 100_000 + b"<c>X</c></r>"
    problems = validator.validate(parse_xml(body))
    assert [(p.location, p.message) for p in problems] == [
        ("/r", f"holds more than {MAX_ELEMENTS} elements")
    ]


def test_a_schema_may_import_only_files_in_its_folder(tmp_path: Path, watcher: Watcher) -> None:
    (tmp_path / "types.xsd").write_text(TYPES)  # outside the schema folder
    with pytest.raises(ConfigurationError):
        XsdValidator(schemas(tmp_path / "a", include="../types.xsd"), "main.xsd")
    with pytest.raises(ConfigurationError):
        XsdValidator(schemas(tmp_path / "b", include=f"{watcher.url}/types.xsd"), "main.xsd")
    with pytest.raises(ConfigurationError):
        XsdValidator(schemas(tmp_path / "c", include=str(tmp_path / "types.xsd")), "main.xsd")
    assert watcher.hits == []


def test_a_broken_schema_fails_at_construction(tmp_path: Path) -> None:
    (tmp_path / "bad.xsd").write_text("<xs:schema xmlns:xs='http://www.w3.org/2001/XMLSchema'>")
    with pytest.raises(ConfigurationError):
        XsdValidator(tmp_path, "bad.xsd")
    with pytest.raises(ConfigurationError):
        XsdValidator(tmp_path, "missing.xsd")


def test_threads_validate_at_once_each_with_its_own_answer(tmp_path: Path) -> None:
    validator = XsdValidator(schemas(tmp_path / "xsd"), "main.xsd")
    good = b"<r xmlns='urn:t' n='1'><d>2020-01-01</d><c>X</c></r>"
    bad = b"<r xmlns='urn:t' n='1'><d>2020-01-01</d><c>Z</c></r>"

    def check(index: int) -> bool:
        root = parse_xml(good if index % 2 else bad)
        return (validator.validate(root) == []) == bool(index % 2)

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert all(pool.map(check, range(400)))
