"""JSON Schemas of the legacy registration export: one row, as a flat object of strings."""
