"""Benchmarks, run by hand: each prints a table and records it in docs/benchmarks.md."""
