"""Tests for benchmark.data."""
