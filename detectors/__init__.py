"""Detector implementations, one package per method (model code, configs, README card).

Each method is listed in ``registry.yaml`` with a lazy ``"module:Class"`` entry point, so nothing here
is imported until a method is built.
"""
