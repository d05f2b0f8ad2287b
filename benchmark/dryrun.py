"""``vbench run --dry-run``: every check of a run, then what it would do, and nothing written but
the manifest it would use."""
from __future__ import annotations

import os


def dry_run(request) -> int:
    """Prints the data as the run reads it, the plan and the run directory; writes the manifest."""
    from benchmark.data.inspect import render, summarize
    from benchmark.data.manifest import save_manifest
    from benchmark.preflight import prepare

    ctx = prepare(request, dry=True)
    out = os.path.join(os.getcwd(), f"{ctx.data_name}.manifest.csv")
    save_manifest(ctx.manifest, out)
    print(render(summarize(ctx.data), out))
    print(f"protocol: {ctx.protocol.name} (version {ctx.protocol.version}), options "
          + ", ".join(f"{k}={v}" for k, v in ctx.options.items()))
    print(f"method: {request.method}/{request.config}"
          + (f", weights {ctx.weights.describe()['spec']} (sha256 {ctx.weights.digest[:12]})"
             if ctx.weights else ", trained here"))
    print(f"units ({len(ctx.units)}):")
    for unit in ctx.units:
        members = "; ".join(f"{k}: {', '.join(v) or '(none)'}" for k, v in unit.members.items())
        print(f"  {unit.name}{' (trains a model)' if unit.trains else ''}  {members}")
    state = "complete: its scores would be reused" if ctx.run.is_complete() else "not yet run"
    print(f"run directory: {ctx.run.dir} ({state})")
    return 0
