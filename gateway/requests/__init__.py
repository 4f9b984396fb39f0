"""Inter-state specific requests: a pull of one named person's record, neither confirm nor deny.

`service.py` walks the road (receive, read, decide, fetch, decide again, minimise, record,
answer), `repository.py` holds what it reads and writes, `schemas.py` its answer, `limits.py`
each requesting party's rate, `errors.py` its two refusals. docs/requests.md tells the story.
"""
