"""JSON Schemas of the maternity register's messages (data, read with importlib.resources)."""
