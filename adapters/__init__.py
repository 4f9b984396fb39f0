"""Adapters: one package per external system, behind one contract and one registry."""
