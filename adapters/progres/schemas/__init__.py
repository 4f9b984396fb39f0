"""JSON Schemas of the proGres messages (a package so that the files ship with it)."""
