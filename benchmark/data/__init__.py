"""Datasets: manifests, layout readers, decoding, sampling, clip datasets and the embedded corpus."""
