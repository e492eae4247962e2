"""Benchmarks: each module prints one line of JSON with its figures and the machine it ran on."""
