"""Delivery: the persistent outbox and the relay that drains it to destinations."""
