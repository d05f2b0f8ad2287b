"""User-facing errors. Each says which input, what was expected, what arrived and where from."""
from __future__ import annotations

import difflib
from typing import Iterable


class VBenchError(Exception):
    """Base class for errors a user can act on (printed without a traceback by the CLI)."""


class UnknownKeyError(VBenchError, KeyError):
    """An unknown method, protocol, dataset or config name."""

    def __init__(self, kind: str, key: str, known: Iterable[str]):
        self.kind, self.key, self.known = kind, key, sorted(known)
        super().__init__(unknown_key_message(kind, key, self.known))

    def __str__(self) -> str:  # KeyError would quote the message
        return self.args[0]


def unknown_key_message(kind: str, key: str, known: Iterable[str]) -> str:
    """"Unknown method 'stta'. Did you mean: sta? Available: a, b, c"."""
    known = sorted(known)
    close = difflib.get_close_matches(key, known, n=3, cutoff=0.5)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    return f"Unknown {kind} '{key}'.{hint} Available: {', '.join(known) or '(none)'}"


class IncompatibleMethodError(VBenchError):
    """A method of one kind (e.g. a generation-time defence) asked to run under a protocol that
    takes another (e.g. a detector protocol)."""


class RegistryError(VBenchError):
    """registry.yaml is malformed (duplicate key, missing field, bad entry point)."""


class ConfigError(RegistryError):
    """A detector config has an unknown key or a value of the wrong type."""


class WeightsError(VBenchError):
    """A weights file is missing, corrupt, has other keys/shapes, or fails its sha256."""


class DataError(VBenchError):
    """A dataset, manifest or split is unusable as given."""


class LeakageError(DataError):
    """A source video appears in more than one split."""


class StoreError(VBenchError):
    """A file or folder of the run store or a report cannot be written (permissions, full disk,
    a name too long, a file in the way)."""


class RunLockedError(VBenchError):
    """Another process is writing the same run directory."""


class VideoDecodeError(VBenchError):
    """One video could not be read; runs record it as failed and go on."""

    def __init__(self, path: str, reason: str):
        self.path, self.reason = str(path), reason
        super().__init__(f"{path}: {reason}")


class ImageInputError(VBenchError):
    """An input image for a generation-time defence is unusable (not RGB, too small, bad type)."""


class ModelFolderError(VBenchError):
    """A local model folder (e.g. a diffusers pipeline) lacks a component or cannot be loaded."""


class TrajectoryError(DataError):
    """A recorded x̂0 trajectory has other steps or shapes than expected."""


class DefenceConfigError(VBenchError):
    """A defence setting is out of range (e.g. an L∞ budget outside (0, 1])."""


class Terminated(KeyboardInterrupt):
    """SIGTERM (a scheduler's stop, ``kill``) turned into an interrupt, so that a run stops as on
    Ctrl-C: marked ``interrupted``, its loader workers shut down, finished units kept."""
