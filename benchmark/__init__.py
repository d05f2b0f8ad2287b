"""vbench: benchmark harness for AI-generated video detectors. Kept import-light."""
__version__ = "0.1.0"
