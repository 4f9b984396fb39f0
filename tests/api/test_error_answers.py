"""An error keeps its first problems and a count; answers say how many were left out."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from gateway.api.errors import error_body, operation_outcome
from gateway.errors import COUNT_LIMIT, MAX_PROBLEMS, GatewayError, ParseError, Problem


def _problems(n: int | None = None) -> Iterator[Problem]:
    """Yield n problems, or without end."""
    numbers = itertools.count() if n is None else iter(range(n))
    return (Problem(f"/x/{i}", "is wrong") for i in numbers)


def test_an_endless_supply_of_problems_is_counted_to_the_limit_and_no_further() -> None:
    error = ParseError("invalid", _problems())

    assert error.problems == list(_problems(MAX_PROBLEMS))
    assert error.problem_count == COUNT_LIMIT
    assert not error.problem_count_exact


def test_problems_within_the_limit_are_counted_exactly() -> None:
    for n in (0, 1, MAX_PROBLEMS, MAX_PROBLEMS + 1, COUNT_LIMIT):
        error = ParseError("invalid", list(_problems(n)))
        assert (len(error.problems), error.problem_count) == (min(n, MAX_PROBLEMS), n)
        assert error.problem_count_exact


def test_the_json_answer_carries_the_count() -> None:
    assert error_body(ParseError("invalid", _problems(2))) == {
        "reason": "invalid_message",
        "message": "invalid",
        "problems": [
            {"location": "/x/0", "message": "is wrong"},
            {"location": "/x/1", "message": "is wrong"},
        ],
        "problem_count": 2,
    }
    capped = error_body(ParseError("invalid", _problems()))
    assert len(capped["problems"]) == MAX_PROBLEMS
    assert (capped["problem_count"], capped["problem_count_is_lower_bound"]) == (COUNT_LIMIT, True)
    assert error_body(GatewayError("broken"))["problem_count"] == 0


def test_the_operation_outcome_says_how_many_more_there_are() -> None:
    exact = operation_outcome(ParseError("invalid", _problems(MAX_PROBLEMS + 1)))
    capped = operation_outcome(ParseError("invalid", _problems()))
    listed = operation_outcome(ParseError("invalid", _problems(MAX_PROBLEMS)))

    assert len(exact["issue"]) == len(capped["issue"]) == MAX_PROBLEMS + 1
    assert exact["issue"][-1] == {
        "severity": "information",
        "code": "informational",
        "diagnostics": "1 more problem was not listed",
    }
    assert capped["issue"][-1]["diagnostics"] == (
        f"at least {COUNT_LIMIT - MAX_PROBLEMS} more problems were not listed (counting stopped)"
    )
    assert len(listed["issue"]) == MAX_PROBLEMS
    assert all(issue["severity"] == "error" for issue in listed["issue"])
