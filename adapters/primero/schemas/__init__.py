"""JSON Schemas of the Primero messages (a package so that the files ship with it)."""
