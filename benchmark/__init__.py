"""vbench: benchmark harness for AI-generated video detectors. Kept import-light."""
__version__ = "0.1.0"

from benchmark import plugins as _plugins  # noqa: E402,F401  (fills the extension points on first use)
