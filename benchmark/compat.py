"""Import shims for the pinned OpenMMLab stack.

mmaction2 1.2.0's wheel lists ``mmaction.models.localizers.drn`` in its package ``__init__`` but does
not ship the module, so ``import mmaction.models`` fails. We register a placeholder package before the
import; building the DRN localizer then raises a clear error instead of the whole import failing.

mmaction2 also imports its VindLU multimodal models whenever ``transformers`` is installed, and they
use helpers that transformers 5 removed (``apply_chunking_to_forward``). vbench does not use VindLU
(it uses transformers directly for VideoMAE and X-CLIP), so we switch that import off; building a
VindLU model then raises mmaction2's own "install the multimodal dependencies" error.
"""
from __future__ import annotations

import importlib.util
import sys
import types
import warnings
from functools import lru_cache
from pathlib import Path

_DRN_PKG = "mmaction.models.localizers.drn"


class _MissingDRN:
    """Stands in for mmaction2's DRN temporal localizer, absent from the 1.2.0 wheel."""

    def __init__(self, *args, **kwargs):
        raise ImportError("mmaction2 1.2.0 does not ship mmaction/models/localizers/drn; "
                          "the DRN localizer is unavailable (vbench does not use it).")


def _install_drn_placeholder() -> None:
    if _DRN_PKG in sys.modules:
        return
    spec = importlib.util.find_spec("mmaction")  # imports only the top-level package
    if spec is None or spec.origin is None:
        raise ImportError("mmaction2 is not installed; run `make venv` (requirements.lock pins 1.2.0)")
    if (Path(spec.origin).parent / "models" / "localizers" / "drn").is_dir():
        return  # a wheel that ships the module needs no placeholder
    pkg = types.ModuleType(_DRN_PKG)
    pkg.__path__ = []  # a package, so that ``.drn.drn`` resolves through sys.modules
    mod = types.ModuleType(_DRN_PKG + ".drn")
    mod.DRN = _MissingDRN
    sys.modules[_DRN_PKG] = pkg
    sys.modules[_DRN_PKG + ".drn"] = mod


@lru_cache(maxsize=None)
def mmaction_models():
    """Imports ``mmaction.models`` (registering its modules) and returns mmaction's ``MODELS``."""
    _install_drn_placeholder()
    import mmaction.utils.dependency as mm_dependency

    mm_dependency.WITH_MULTIMODAL = False
    with warnings.catch_warnings():
        # mmcv-lite has no compiled ops; mmaction2 imports them optionally and warns.
        warnings.filterwarnings("ignore", message=".*MultiScaleDeformableAttention.*")
        import mmaction.models  # noqa: F401
        from mmaction.registry import MODELS
    # Our model classes register themselves when their detector module is imported. So that a
    # config naming them builds whatever was imported before, the registry imports every
    # registered method's module on its first lookup, as it does for mmaction.models.
    if "benchmark.model_locations" not in MODELS._locations:
        MODELS._locations = [*MODELS._locations, "benchmark.model_locations"]
        MODELS._imported = False
    return MODELS
