"""Generation-time defences (MMVGM misuse prevention, the LVDM unsafe-generation guard): the
shared pieces (images, quality measures, degradations, the perceptual term, the pipeline's
detector) and the ``protection_efficacy`` measurements of image protections (`efficacy`).

A defence itself implements `benchmark.defence.Defence`; `build_defence` builds one. Nothing heavy
is imported here: torch, diffusers and the models load inside the functions.
"""
from benchmark.defence import build_defence

__all__ = ["build_defence"]
