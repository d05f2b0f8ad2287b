"""``python -m benchmark`` = the ``vbench`` command (``torchrun ... -m benchmark run ...``)."""
import sys

from benchmark.cli import main

sys.exit(main())
