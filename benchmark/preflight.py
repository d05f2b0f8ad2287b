"""Everything `vbench run` can check before it writes anything (`prepare`).

Protocol and options, the method's kind (a protocol runs detectors or defences, not both), method
and config (closed schema, ``--cfg-options``), device and ``--precision`` on it, weights
(files exist, are readable and not empty; a stored model fits the method and config), ``--out``,
the data and the protocol's plan. Only when all of them pass does the run directory appear.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

from benchmark.errors import ConfigError, DataError, IncompatibleMethodError, StoreError
from benchmark.protocol import PROTOCOLS, get_protocol
from benchmark.run_context import RunContext, resolve_device

log = logging.getLogger("vbench.run")
_SHOW = 5


def prepare(request, dry: bool = False):
    """Resolves and checks a `benchmark.run_context.RunRequest` into a `RunContext` with its plan.

    Args:
        dry: a dry run: ``--out`` is not created.
    """
    from benchmark.data.prepare import prepare_datasets
    from benchmark.detector import check_precision
    from benchmark.distributed import init_from_env, is_main, main_first
    from benchmark.registry import registry
    from benchmark.runs import Run, run_key
    from benchmark.weights import check_compatible, parse_weights

    protocol = get_protocol(request.protocol)
    check_method_kind(protocol, request.method)
    if request.data is None:  # no --data: the protocol's default (e.g. two datasets)
        request.data = protocol.default_data
    options = protocol.parse_options(request.options)
    config = registry().get(request.method).config(request.config, request.cfg_options)
    weights = parse_weights(request.weights) if request.weights else None
    check_runnable(request.method, config, weights is not None)
    if weights is not None and weights.stored is not None:
        check_compatible(weights.stored, request.method, request.config)
    device = init_from_env(resolve_device(request.device))
    check_precision(request.precision, device)
    out = check_out_dir(request.out) if is_main() else request.out
    with main_first():  # rank 0 builds the embedded corpus once; the others then read it
        data = prepare_datasets(request.data, seed=request.seed, options=data_options(request))
    manifest, data_name = data.manifest, data.name
    check_text_columns(manifest, request.data)
    key_spec = key_spec_of(request, protocol, options, config, manifest, weights)
    canonical = None
    if request.canonicalize:
        from benchmark.controls import canonicalize

        with main_first():  # rank 0 re-encodes; the others find the cache filled
            canonical_manifest, canonical = canonicalize(manifest, request.canonicalize)
        canonical_manifest.attrs.update(manifest.attrs)
        manifest = canonical_manifest
    run = Run(out, protocol.name, request.method, request.config, run_key(key_spec))
    ctx = RunContext(request, protocol, config, manifest, options, device, weights, run)
    ctx.key_spec, ctx.data_name, ctx.data, ctx.canonical = key_spec, data_name, data, canonical
    ctx.parallelism.apply()
    log.info("threads and workers: %s", ctx.parallelism.reason)
    ctx.units = protocol.plan(ctx)
    if not ctx.units:
        raise DataError(f"protocol {protocol.name}: nothing to do on {request.data} "
                        f"(the plan has no units)")
    if request.real_floor:
        from benchmark.controls import real_floor_unit

        ctx.units.append(real_floor_unit(trains=weights is None))
    return ctx


def check_runnable(method: str, config: dict, has_weights: bool) -> None:
    """The method's own refusal of this config (`Detector.run_problem`), before anything is
    written."""
    from benchmark.registry import registry

    entry = registry().get(method)
    if entry.kind != "detector":
        return
    problem = entry.load_class().run_problem(config, has_weights)
    if problem:
        raise ConfigError(problem)


def check_out_dir(out: str) -> Path:
    """``--out`` must be a folder this process can create and write; nothing is created here (the
    run directory is created when it is locked)."""
    path = Path(out)
    too_long = [p for p in path.parts if len(os.fsencode(p)) > 255]
    if too_long:
        raise StoreError(f"cannot create --out folder {path}: File name too long "
                         f"({len(os.fsencode(too_long[0]))} bytes in one name; the limit is 255)")
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise StoreError(f"cannot create --out folder {path}: a file of that name is in the way "
                         f"({probe})")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise StoreError(f"cannot create --out folder {path}: permission denied ({probe} is not "
                         f"writable)")
    return path


def check_method_kind(protocol, method: str) -> None:
    """The method's registry.yaml ``kind`` must be one the protocol runs (its ``METHOD_KINDS``):
    a defence has no clip scores for a detector protocol, a detector nothing to protect."""
    from benchmark.registry import registry

    kind = registry().get(method).kind
    if kind in protocol.method_kinds:
        return
    able = [name for name in PROTOCOLS.usable() if kind in get_protocol(name).method_kinds]
    raise IncompatibleMethodError(
        f"method '{method}' is a {kind} (registry.yaml: kind: {kind}), but protocol "
        f"{protocol.name} runs {'/'.join(protocol.method_kinds)} methods only; protocols that "
        f"run a {kind}: "
        f"{', '.join(able) or '(none)'}")


def data_options(request):
    """The data options of a run; with ``--weights`` and no ``--split``, every video is a test
    video (an evaluation must not drop the 80 % a split would put into train and val)."""
    import dataclasses

    from benchmark.data.options import DataOptions

    options = request.data_options or DataOptions()
    if request.weights and options.split is None:
        options = dataclasses.replace(options, split="all-test")
    return options


def key_spec_of(request, protocol, options, config, manifest, weights) -> dict:
    """Everything that determines the scores; its hash names the run directory.

    ``content`` is the same without the code version: runs with equal ``content`` differ only
    in the code that computed them (``--reuse-across-versions`` looks for those).
    """
    from benchmark.data.manifest import manifest_hash
    from benchmark.version import code_version

    manifest.attrs["hash"] = manifest_hash(manifest)
    content = {"protocol": protocol.name, "protocol_version": protocol.version,
               "options": options, "method": request.method, "config": config,
               "data": manifest.attrs["hash"], "seed": request.seed,
               "weights": weights.digest if weights is not None else None}
    if request.canonicalize:  # the recipe changes every video the detector sees
        from benchmark.data.canonical import parse_recipe, recipe_hash

        content["canonicalize"] = recipe_hash(parse_recipe(request.canonicalize))
    if request.real_floor:
        content["real_floor"] = True
    if request.precision != "fp32":  # autocast changes scores in their last digits
        content["precision"] = request.precision
    from benchmark.plugins import outside_code

    return {**content, "code": code_version(outside_code(request.method, protocol.name))}


def content_key(key_spec: dict) -> str:
    from benchmark.runs import run_key

    return run_key({k: v for k, v in key_spec.items() if k != "code"})


def check_text_columns(manifest, origin: str) -> None:
    """Names must be valid UTF-8: a file name that is not (undecodable bytes) is refused here,
    naming it, instead of failing when the score table is written."""
    for column in ("video_id", "path", "generator", "dataset", "source_id"):
        bad = [value for value in manifest[column].astype(str)
               if not _utf8(value)]
        if bad:
            shown = ", ".join(repr(v) for v in bad[:_SHOW])
            raise DataError(f"{origin}: {len(bad)} {column} value(s) are not valid UTF-8 (file "
                            f"names with undecodable bytes?): {shown}; rename them")


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
