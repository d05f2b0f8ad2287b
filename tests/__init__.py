"""vbench test suite."""
