"""Generative models seen by the defences: image-to-video targets (SVD through diffusers, an
embedded trained-here stand-in), x̂0 recording for any diffusers pipeline, and a small embedded
video diffusion pipeline. ``diffusers`` is imported lazily, inside the functions that need it.
"""
