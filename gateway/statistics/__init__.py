"""Aggregate statistics with small-cell suppression, from a register of the people the gateway
saw registered (`repository`), counted and suppressed by `service`, spoken by `schemas`."""
