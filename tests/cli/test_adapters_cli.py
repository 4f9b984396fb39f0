"""`gateway adapters` and `gateway adapters coverage`, run as an operator runs them.

The installed adapters are the built-ins and the example package (examples/adapter-example,
installed by `make install`), whose specs are known here field by field.
"""

from __future__ import annotations

import json
from typing import Any

from hub_adapter_example import MaternityAdapter
from typer.testing import CliRunner

from adapters.kit.mapping import MappingSet, load_mapping_set
from adapters.registry import AdapterRegistry
from gateway.cli_adapters import adapters_app
from gateway.coverage import DroppedField, MappedField, as_lines, coverage

runner = CliRunner()
EXAMPLE = "maternity"


def _json(*args: str) -> list[dict[str, Any]]:
    result = runner.invoke(adapters_app, ["coverage", "--format", "json", *args])
    assert result.exit_code == 0, result.output
    found: list[dict[str, Any]] = json.loads(result.output)["coverage"]
    return found


def test_coverage_says_what_is_mapped_dropped_and_why() -> None:
    report = {entry["message_type"]: entry for entry in _json("--adapter", EXAMPLE)}

    notice = report["birth-notification"]
    assert notice["directions"] == ["parse", "render"]
    assert notice["version"] == "maternity/birth-notification@1"
    assert {"native": "sex", "canonical": "person.sex", "codelist": "sex"} in notice["mapped"]
    assert {"native": "patient_number", "canonical": "person.ref", "codelist": None} in notice[
        "mapped"
    ]
    assert {d["native"] for d in notice["dropped"]} == {
        "attendant_cadre",
        "birth_weight_grams",
        "gestation_weeks",
        "notice_number",
        "phone",
    }
    assert all(d["why"] for d in notice["dropped"])
    assert notice["unaccounted"] == []
    assert notice["native_fields"] == 16
    assert report["birth-registration-confirmation"]["directions"] == ["render"]


def test_coverage_covers_every_installed_adapter_and_type() -> None:
    report = _json()

    adapters = {entry["adapter"] for entry in report}
    assert {"progres", "opencrvs", EXAMPLE} <= adapters
    progres = {e["message_type"]: e for e in report if e["adapter"] == "progres"}
    assert {"birth-notification", "birth-registration-confirmation"} <= set(progres)
    for entry in report:
        decided = {m["native"] for m in entry["mapped"]} | {d["native"] for d in entry["dropped"]}
        assert not decided & set(entry["unaccounted"])


def test_coverage_in_words() -> None:
    result = runner.invoke(adapters_app, ["coverage", "--adapter", EXAMPLE])

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "maternity birth-notification (parse, render) maternity/birth-notification@1"
    assert lines[1] == "  16 native fields: 11 mapped, 5 dropped, 0 unaccounted"
    assert any(
        line.split() == ["sex", "->", "person.sex", "(code", "list", "sex)"] for line in lines
    )
    assert any(line.split()[:2] == ["phone", "contact"] for line in lines)


def test_an_unknown_adapter_exits_2_with_the_nearest_name() -> None:
    result = runner.invoke(adapters_app, ["coverage", "--adapter", "maternty"])

    assert result.exit_code == 2
    assert "No such adapter: 'maternty'. Did you mean 'maternity'?" in result.output


def test_an_unknown_format_is_refused() -> None:
    result = runner.invoke(adapters_app, ["coverage", "--format", "yaml"])

    assert result.exit_code == 2
    assert "--format" in result.output


def test_adapters_alone_lists_them() -> None:
    listed = runner.invoke(adapters_app, [])
    explicit = runner.invoke(adapters_app, ["list"])

    assert listed.exit_code == 0 and explicit.exit_code == 0, listed.output + explicit.output
    assert listed.output == explicit.output
    lines = listed.output.splitlines()
    at = lines.index(EXAMPLE)
    assert lines[at + 1].split() == [
        "birth-notification",
        "parse/render",
        "maternity/birth-notification@1",
    ]


def test_a_field_nobody_decided_about_is_unaccounted() -> None:
    shipped = load_mapping_set("hub_adapter_example", EXAMPLE)
    spec = shipped.spec("birth-notification")
    undecided = spec.model_copy(
        update={"dropped": [d for d in spec.dropped if d.native != "birth_weight_grams"]}
    )
    mappings = MappingSet(
        EXAMPLE, {**shipped.specs, spec.message_type: undecided}, shipped.codelists
    )

    registry = AdapterRegistry.from_factories({EXAMPLE: lambda: MaternityAdapter(mappings)})
    entry = coverage(registry, EXAMPLE)[0]

    assert entry.unaccounted == ("birth_weight_grams",)
    assert DroppedField("phone", spec.dropped[-1].why) in entry.dropped
    assert MappedField("sex", "person.sex", "sex") in entry.mapped
    assert "    birth_weight_grams" in as_lines([entry])
