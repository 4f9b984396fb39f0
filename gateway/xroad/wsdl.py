"""Publish the SOAP service as a WSDL: document/literal, X-Road headers as soap:header parts.

One operation per message type an XML adapter reads, named as the message type (which is
also the X-Road service code that calls it); its input is the adapter's own XSD element for
that type, its output the gateway's acknowledgement. The schemas are served beside the WSDL
(GET /xroad/schemas/{owner}/{file}): the gateway's X-Road schemas as owner `xroad`, an
adapter's under its name, so a client reads everything from the gateway and nothing else.

Where an adapter's XSDs are: in the `schemas/` folder of its package, the kit's convention as
for `mappings/` and `codelists/`. The element for a message type is the top-level element of
the same name written in camelCase (`document-request` -> `documentRequest`).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from lxml import etree

from gateway.xroad.envelope import GATEWAY, SCHEMAS, XROAD

WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"
SOAP_BINDING = "http://schemas.xmlsoap.org/wsdl/soap/"
XSD = "http://www.w3.org/2001/XMLSchema"
TARGET = "urn:exchange-gateway:xroad:1:service"
GATEWAY_OWNER = "xroad"
SERVICE_VERSION = "v1"
REQUEST_HEADERS = ("client", "service", "id", "userId", "issue", "protocolVersion")


@dataclass(frozen=True)
class Operation:
    """A SOAP operation: a message type, and the XSD element its body holds."""

    name: str
    namespace: str
    element: str
    owner: str  # whose schema declares it: an adapter's name
    schema_file: str


@dataclass(frozen=True)
class SchemaFolder:
    """An adapter's (or the gateway's) XSD files, by name: only these are ever served."""

    owner: str
    folder: Path
    files: frozenset[str]


def gateway_schemas() -> SchemaFolder:
    return _folder(GATEWAY_OWNER, SCHEMAS)


def adapter_schemas(name: str, adapter: object) -> SchemaFolder | None:
    """Find an adapter's schemas/ folder beside its module, or None if it ships no XSD."""
    module = sys.modules.get(type(adapter).__module__)
    where = getattr(module, "__file__", None)
    if where is None:
        return None
    folder = Path(where).parent / "schemas"
    found = _folder(name, folder)
    return found if found.files else None


@cache
def _folder(owner: str, folder: Path) -> SchemaFolder:
    files = frozenset(p.name for p in folder.glob("*.xsd")) if folder.is_dir() else frozenset()
    return SchemaFolder(owner, folder, files)


def operations(schemas: SchemaFolder, message_types: Iterable[str]) -> list[Operation]:
    """Match each message type to the top-level element declared for it, if any."""
    declared = _declared(schemas)
    found = []
    for message_type in sorted(message_types):
        if (match := declared.get(_plain(message_type))) is not None:
            namespace, element, filename = match
            found.append(Operation(message_type, namespace, element, schemas.owner, filename))
    return found


@cache
def _declared(schemas: SchemaFolder) -> dict[str, tuple[str, str, str]]:
    """Read the top-level elements of a folder's XSDs once: plain name -> (ns, name, file)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    declared = {}
    for filename in sorted(schemas.files):
        document = etree.parse(str(schemas.folder / filename), parser).getroot()
        namespace = document.get("targetNamespace", "")
        for element in document.iterfind(f"{{{XSD}}}element"):
            name = element.get("name", "")
            declared[_plain(name)] = (namespace, name, filename)
    return declared


def _plain(name: str) -> str:
    return name.replace("-", "").replace("_", "").lower()


def build_wsdl(operations: list[Operation], base_url: str) -> bytes:
    """Write the WSDL for these operations, served at `base_url` (no trailing slash)."""
    namespaces = {op.namespace: f"m{i}" for i, op in enumerate(_unique_namespaces(operations))}
    nsmap = {
        "wsdl": WSDL_NS,
        "soap": SOAP_BINDING,
        "xs": XSD,
        "xrd": XROAD,
        "gw": GATEWAY,
        "tns": TARGET,
        **{prefix: namespace for namespace, prefix in namespaces.items()},
    }
    root = etree.Element(_w("definitions"), nsmap=nsmap, targetNamespace=TARGET)
    _types(root, operations, base_url)
    header = _el(root, _w("message"), name="requestHeader")
    for part in REQUEST_HEADERS:
        _el(header, _w("part"), name=part, element=f"xrd:{part}")
    _el(header, _w("part"), name="exchange", element="gw:exchange")
    answer = _el(root, _w("message"), name="accepted")
    _el(answer, _w("part"), name="body", element="gw:accepted")
    for op in operations:
        message = _el(root, _w("message"), name=op.name)
        _el(message, _w("part"), name="body", element=f"{namespaces[op.namespace]}:{op.element}")
    port_type = _el(root, _w("portType"), name="exchangeGateway")
    for op in operations:
        operation = _el(port_type, _w("operation"), name=op.name)
        documentation = _el(operation, _w("documentation"))
        _el(documentation, f"{{{XROAD}}}title").text = f"Submit a {op.name} as an exchange"
        _el(operation, _w("input"), message=f"tns:{op.name}")
        _el(operation, _w("output"), message="tns:accepted")
    _binding(root, operations)
    service = _el(root, _w("service"), name="exchangeGateway")
    binding = "tns:exchangeGatewaySoap11"
    port = _el(service, _w("port"), name="exchangeGatewaySoap11", binding=binding)
    _el(port, f"{{{SOAP_BINDING}}}address", location=f"{base_url}/xroad/soap")
    return bytes(etree.tostring(root, encoding="UTF-8", xml_declaration=True, pretty_print=True))


def _types(root: etree._Element, operations: list[Operation], base_url: str) -> None:
    schema = _el(_el(root, _w("types")), f"{{{XSD}}}schema", targetNamespace=TARGET)
    imports = {GATEWAY: f"{base_url}/xroad/schemas/{GATEWAY_OWNER}/gateway.xsd"}
    imports[XROAD] = f"{base_url}/xroad/schemas/{GATEWAY_OWNER}/xroad.xsd"
    for op in operations:
        imports.setdefault(op.namespace, f"{base_url}/xroad/schemas/{op.owner}/{op.schema_file}")
    for namespace, location in imports.items():
        _el(schema, f"{{{XSD}}}import", namespace=namespace, schemaLocation=location)


def _binding(root: etree._Element, operations: list[Operation]) -> None:
    binding = _el(root, _w("binding"), name="exchangeGatewaySoap11", type="tns:exchangeGateway")
    _el(
        binding,
        f"{{{SOAP_BINDING}}}binding",
        style="document",
        transport="http://schemas.xmlsoap.org/soap/http",
    )
    for op in operations:
        operation = _el(binding, _w("operation"), name=op.name)
        _el(operation, f"{{{SOAP_BINDING}}}operation", soapAction="", style="document")
        _el(operation, f"{{{XROAD}}}version").text = SERVICE_VERSION
        for direction, parts in (
            ("input", (*REQUEST_HEADERS, "exchange")),
            ("output", REQUEST_HEADERS),  # the X-Road headers come back as they were sent
        ):
            side = _el(operation, _w(direction))
            _el(side, f"{{{SOAP_BINDING}}}body", use="literal")
            for part in parts:
                _el(
                    side,
                    f"{{{SOAP_BINDING}}}header",
                    message="tns:requestHeader",
                    part=part,
                    use="literal",
                )


def _unique_namespaces(operations: list[Operation]) -> list[Operation]:
    seen: dict[str, Operation] = {}
    for op in operations:
        seen.setdefault(op.namespace, op)
    return list(seen.values())


def _w(name: str) -> str:
    return f"{{{WSDL_NS}}}{name}"


def _el(parent: etree._Element, tag: str, **attributes: str) -> etree._Element:
    return etree.SubElement(parent, tag, attributes)
