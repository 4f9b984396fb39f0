"""What a requester sends and gets back (the API's models; the canonical request is
gateway/canonical/request.py)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from gateway.canonical import Person, SpecificRequest


class RequestAnswered(BaseModel):
    """A specific request answered: the one person, holding only the categories allowed.

    `person` is the canonical person with every field outside those categories, and every
    field the registry left empty, left out; `categories` are those it holds.
    """

    exchange_id: str
    case_reference: str
    categories: list[str]
    person: Person


def body_schema() -> dict[str, Any]:
    """The request body's JSON Schema, self-contained: every field of a request but the
    requester, who is the caller; its definitions written in place (nothing is recursive)."""
    schema = SpecificRequest.model_json_schema()
    definitions = schema.pop("$defs", {})
    schema["properties"].pop("requester")
    schema["required"].remove("requester")
    schema["title"] = "SpecificRequestBody"
    schema["additionalProperties"] = False
    inlined: dict[str, Any] = _inline(schema, definitions)
    return inlined


def _inline(node: Any, definitions: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            found = definitions[ref.removeprefix("#/$defs/")]
            rest = {k: v for k, v in node.items() if k != "$ref"}
            return {**_inline(found, definitions), **_inline(rest, definitions)}
        return {key: _inline(value, definitions) for key, value in node.items()}
    if isinstance(node, list):
        return [_inline(item, definitions) for item in node]
    return node
