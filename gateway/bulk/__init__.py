"""Bulk migration: a legacy export imported row by row, each row an exchange like any other."""
