"""Benchmarks: run as `python -m benchmarks.<name>`; figures are reported in README."""
