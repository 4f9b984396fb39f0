"""The HTTP API: one router per domain, one error handler."""
