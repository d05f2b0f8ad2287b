"""The perturbation engine: frame functions, the versioned YAML set, grids, seeds and `apply`.

Light to import: each name loads its module on first use (encoders and OpenCV load even later,
inside the functions that need them).
"""
from benchmark.registry import lazy_exports

__getattr__ = lazy_exports(__name__, {
    "apply": ".engine", "DecodedVideo": ".engine", "PerturbedVideo": ".engine",
    "open_perturbed": ".engine",
    "PerturbationSet": ".config", "Perturbation": ".config", "GridPoint": ".config",
    "load_perturbation_set": ".config", "default_set": ".config", "validate_grid": ".config",
    "perturbation_seed": ".config", "perturbation_rng": ".config",
    "PerturbationError": ".errors", "PerturbationSpecError": ".errors",
    "FUNCTIONS": ".functions", "register_function": ".functions", "frame_function": ".functions",
})
