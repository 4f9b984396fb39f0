"""JSON Schemas of the DCI CRVS messages the gateway reads (a package, so they ship)."""
