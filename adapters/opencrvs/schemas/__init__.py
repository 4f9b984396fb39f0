"""JSON Schemas of the OpenCRVS messages (a package so that the files ship with it)."""
