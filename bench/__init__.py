"""Benchmarks (`make bench`): scripts, not tests."""
