"""Policy-enforcing interoperability gateway and data-exchange hub."""
