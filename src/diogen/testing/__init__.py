"""Helpers for tests and benchmarks: building git repositories with controlled history."""
