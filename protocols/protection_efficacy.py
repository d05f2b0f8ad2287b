"""How well generation-time defences work: MMVGM's protection (``--method mmvgm_protect``) and the
LVDM unsafe-generation guard (``--method lvdm``).

The method is a `benchmark.defence.Defence`; its registry.yaml task says which interface it
implements, and this module reaches it only through that interface.

mmvgm_protect (an `ImageProtection`): one unit per protection setting (directed, undirected and the random-sign control,
for every budget in ``eps``). Each protects the images (embedded default: vbench-mini photographs)
against the method's target and measures imperceptibility, the shift of the target's conditioning,
how far the generated video departs from the clean image's, whether the pipeline's detector flags
it, the protection's robustness to degradations before generation and its transfer to a target it
was not computed on (`benchmark.defences.efficacy`).

lvdm (a `GenerationGuard`): one unit: trajectories, the (category, step) detectors, the test
videos' flags, the online guard; metrics are the (η, λ) table beside the last-step baseline,
per-step accuracy and the guard's stop steps (the defence's own `score_table` and `metrics`).

``efficacy`` (the primary metric) is a different quantity per task, so leaderboards should be read
per method: mmvgm_protect: mean 1 - SSIM between videos from protected and clean images; lvdm: F1
of the configured early-exit rule.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

import pandas as pd

from benchmark.errors import DataError
from benchmark.protocol import Metric, Option, Unit, parse_list
from benchmark.metric_catalog import CATALOG
from benchmark.tables import Table, fmt, interval_table

NAME = "protection_efficacy"
VERSION = "1"
DESCRIPTION = ("generation-time defences: MMVGM protection (imperceptibility, conditioning shift, "
               "video departure, detection, robustness, transfer) and LVDM's early exit (eta x "
               "lambda table, compute saved, guard stops)")
OPTIONS = (
    Option("eps", ("4/255",), "protection budgets, in the method config's eps_space",
           type=parse_list),
    Option("steps", 0, "PGD steps (0: the method config's)", type=int),
    Option("images", 0, "embedded images to protect (0: the method config's)", type=int),
    Option("degradations", ("jpeg:75", "resize:0.5", "blur:1"),
           "kind:level applied to protected images before generation", type=parse_list),
    Option("detector", "mmvgm_mae:mini", "method:config of the pipeline's detector"),
    Option("etas", ("1", "2", "3", "4", "5", "6", "8", "10", "20", "30", "40", "50"),
           "LVDM sweep: steps inspected (those above the step count are skipped)", type=parse_list),
    Option("lambdas", ("0.2", "0.4", "0.6", "0.8", "1.0"), "LVDM sweep: fraction that must fire",
           type=parse_list),
)
DEFENCE_TASKS = ("protection", "unsafe_generation")


def _m(key: str, label: str, higher: bool | None = True, fmt: str = "number",
       description: str = "") -> Metric:
    return Metric(key, label, higher, tasks=DEFENCE_TASKS, format=fmt, description=description)


PRIMARY_METRIC = _m("efficacy", "efficacy (protect: video 1-SSIM; lvdm: F1)")
LEADERBOARD = (_m("psnr", "PSNR of protected images", description="imperceptibility"),
               _m("compute_saved", "compute saved (lvdm)",
                  description="share of all denoising steps not run"))
# Directions: a protection is better the less it shows in the image and the more the video
# generated from the protected image departs; None where a column is a setting, a control or
# depends on the mode (directed vs undirected).
METRICS = (
    PRIMARY_METRIC, *LEADERBOARD,
    _m("setting", "setting", None, "text"), _m("model", "model", None, "text"),
    _m("ssim", "SSIM"), _m("perceptual", "perceptual", False, description="perceptual distance"),
    _m("linf_255", "L∞·255", None, description="the budget used"),
    _m("embed_cos_orig", "emb cos orig", None), _m("embed_cos_target", "emb cos target", None),
    _m("latent_cos_orig", "latent cos orig", None),
    _m("video_psnr", "video PSNR", False, description="of the protected image's video vs the "
       "clean image's: lower, the video departs more"),
    _m("video_departure", "video 1-SSIM"),
    _m("departure_beyond_degradation", "beyond degradation"),
    _m("tc_protected", "temporal cons.", None), _m("flagged_rate", "flagged", None),
    _m("n_images", "images", None, "count"),
    _m("random_departure", "random control: video 1-SSIM", None),
    _m("efficacy_over_random", "efficacy / random"),
    _m("embed_toward_target_beyond_random", "embedding toward target beyond random"),
    _m("embed_away_beyond_random", "embedding away beyond random"),
    _m("flagged_rate_protected", "flagged (protected)", None),
    _m("flagged_rate_clean", "flagged (clean)", None),
    _m("transfer_departure", "transfer: video 1-SSIM"),
    _m("transfer_departure_random", "transfer, random control", None),
    _m("degraded_departure_beyond_degradation", "degraded: beyond degradation"),
    _m("detector_test_auc", "detector test AUC"), _m("clean_flagged_rate", "flagged clean", None),
    # lvdm
    _m("rule", "rule", None, "text"), _m("eta", "η", None, "count", "steps inspected"),
    _m("lambda", "λ", None, description="share of the inspected steps that must flag"),
    _m("step", "step", None, "count"), _m("n_unsafe", "unsafe", None, "count"),
    _m("compute_saved_flagged", "compute saved (stopped)"),
    _m("mean_stop_step", "mean stop step", False), _m("f1_rule", "F1 (rule)"),
    _m("accuracy_rule", "ACC (rule)"), _m("f1_last_step", "F1 (last step)"),
    _m("accuracy_last_step", "ACC (last step)"),
    _m("n_flagged_rule", "flagged (rule)", None, "count"),
    _m("guard_stopped_rate", "guard stopped", None),
    _m("guard_mean_stop_step", "guard mean stop step", False),
    _m("guard_compute_saved", "guard compute saved"),
)
TASKS = set(DEFENCE_TASKS)
METHOD_KINDS = ("defence",)  # generation-time defences, never clip detectors (checked in preflight)


def _task(ctx) -> str:
    from benchmark.registry import registry

    entry = registry().get(ctx.request.method)
    task = next((t for t in entry.tasks if t in TASKS), None)
    if entry.kind != "defence" or task is None:
        raise DataError(f"protocol {NAME} evaluates defences (mmvgm_protect, lvdm); "
                        f"'{ctx.request.method}' is a {entry.kind}")
    return task


def board_group(info: dict) -> str:
    """Leaderboards rank like with like: protections and unsafe-generation guards apart."""
    from benchmark.registry import registry

    tasks = registry().get(info["method"]).tasks if info.get("method") in registry() else ()
    return "/".join(tasks)


def plan(ctx) -> list[Unit]:
    """mmvgm_protect: one unit per (mode, budget) plus the random control; lvdm: one unit."""
    if _task(ctx) == "unsafe_generation":
        return [Unit("lvdm", trains=False)]
    from benchmark.defence import build_defence

    defence = build_defence(ctx.request.method, ctx.config)
    units = []
    for eps in ctx.options["eps"]:
        defence.check_budget(eps)  # refuses a bad budget before any work
        units += [Unit(f"{mode} eps={eps}", trains=False, members={"mode": (mode,), "eps": (eps,)})
                  for mode in [*defence.modes, "random"]]
    return units


@lru_cache(maxsize=2)
def _setup(method: str, config_json: str, images: int, seed: int, detector: str):
    """Targets, images and the trained detector, shared by a run's units (one process)."""
    import json

    from benchmark.defence import build_defence
    from benchmark.defences.efficacy import protection_setup

    return protection_setup(build_defence(method, json.loads(config_json)), images, seed, detector)


def _degradations(values) -> list[tuple[str, float]]:
    out = []
    for value in values:
        kind, _, level = str(value).partition(":")
        try:
            out.append((kind, float(level)))
        except ValueError:
            raise DataError(f"option degradations: expected kind:level (e.g. jpeg:75), got "
                            f"{value!r}") from None
    return out


def score(ctx, unit: Unit) -> pd.DataFrame:
    """The unit's tidy table (see the module docstring), with the runner's columns."""
    import json

    from benchmark.defence import build_defence
    from benchmark.defences.runtime import single_thread

    with single_thread():
        if _task(ctx) == "unsafe_generation":
            guard = build_defence(ctx.request.method, ctx.config)
            table = guard.score_table(ctx.request.progress)
        else:
            from benchmark.defences.efficacy import score_setting

            setup = _setup(ctx.request.method, json.dumps(ctx.config, sort_keys=True),
                           ctx.options["images"], ctx.seed, ctx.options["detector"])
            setting = {"name": unit.name, "mode": unit.members["mode"][0],
                       "eps": unit.members["eps"][0], "steps": ctx.options["steps"]}
            table = score_setting(setup, setting, _degradations(ctx.options["degradations"]))
    table["method"], table["config"] = ctx.request.method, ctx.request.config
    table["protocol"], table["seed"], table["unit"] = NAME, ctx.seed, unit.name
    return table


def metrics(scores: pd.DataFrame, options: dict) -> dict:
    """Protection: per (setting, model, condition) means; a guard (LVDM): its own metrics, from
    the table alone (the table's ``method`` names the registered defence that computes them)."""
    if "step" in scores.columns:
        from benchmark.defence import defence_class

        return defence_class(str(scores["method"].iloc[0])).metrics(scores, options)
    from benchmark.defences.efficacy import protection_metrics

    return protection_metrics(scores)


# ----------------------------------------------------------------------------- presentation
PROTECT_COLUMNS = ("setting", "model", "perturbation", "severity", "psnr", "ssim", "perceptual",
                   "linf_255", "embed_cos_orig", "embed_cos_target", "latent_cos_orig", "video_psnr",
                   "video_departure", "departure_beyond_degradation", "tc_protected", "flagged_rate")
LVDM_COLUMNS = ("rule", "eta", "lambda", "accuracy", "precision", "recall", "f1", "compute_saved",
                "mean_stop_step", "n_videos")


def _columns(results: dict):
    return LVDM_COLUMNS if results.get("task") == "unsafe_generation" else PROTECT_COLUMNS


def tables(results: dict) -> list[Table]:
    """The rows (with 95 % intervals over images where they have them) and, for a protection,
    the summary with its intervals."""
    columns = _columns(results)
    out = [interval_table("Protection efficacy, 95% intervals over images"
                          if columns is PROTECT_COLUMNS else "LVDM early exit",
                          results["rows"], columns)]
    if results.get("summary_ci"):
        out.append(Table("Summary (bootstrap over the protected images)",
                         ["metric", "value [95% interval]"],
                         [[CATALOG.label(k), _summary_text(results, k)]
                          for k in results["summary"]]))
    if results.get("guard_stops"):
        out.append(Table("LVDM online guard: stop step", ["stop step", "videos"],
                         [[fmt(r["stop_step"]), fmt(r["videos"])] for r in results["guard_stops"]]))
    return out


def _summary_text(results: dict, key: str) -> str:
    """A summary value, with its interval where it has one (``0.412 [0.371, 0.455]``)."""
    from benchmark.intervals import with_interval

    value = results["summary"][key]
    if isinstance(value, str):
        return value
    return with_interval(value, ((results.get("summary_ci") or {}).get(key) or {}).get("interval"))


def views(run) -> dict[str, Any]:
    """Context of ``protection_efficacy.html.j2`` (display only; no new numbers)."""
    from benchmark.report_views import metric_table

    results = run.results
    columns = _columns(results)
    view = {"task": results.get("task"), "summary": [
        {"key": k, "value": _summary_text(results, k)} for k in results["summary"]],
        "table": metric_table(results["rows"], columns)}
    if results.get("task") == "unsafe_generation":
        view["per_step"] = metric_table(results.get("per_step", []),
                                        ["step", "accuracy", "precision", "recall", "f1"])
        view["stops"] = results.get("guard_stops", [])
    else:
        view["examples"] = results.get("examples", [])
    return view
