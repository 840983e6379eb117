"""Benchmarks that print their figures: ``python -m bench`` runs them all (``--json`` for machines)."""
