"""JSON Schemas of the border system's messages (a package so that the files ship with it)."""
