"""The ``vbench`` command: ``run``, ``ls``, ``report``."""
from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path

LS_KINDS = ("methods", "protocols", "datasets", "metrics", "perturbations", "plugins")
EXAMPLES = """examples:
  vbench run --protocol cross_generator --method sta
      train StA's mini config on the embedded corpus (built on first use), one model per generator
  vbench run --protocol cross_generator --method sta --option mode=leave_one_out
  vbench run --protocol cross_generator --method sta --cfg-options train.epochs=2
  vbench run --protocol cross_generator --method sta --data other.csv \\
      --weights vbench_runs/cross_generator/sta-mini/<key>:deconv_checkerboard
      evaluate a model a previous run trained (RUN_DIR:UNIT) on other data
  vbench run --protocol cross_generator --method sta --config paper \\
      --data /data/my_videos --weights sta_best.pth --device cuda
      evaluation only, with the official checkpoint, on a folder of videos
  vbench ls methods
  vbench report vbench_runs/cross_generator/*/* --out leaderboard/
"""


def _plugin_flags() -> argparse.ArgumentParser:
    """``--include``, shared by every subcommand (a parent parser)."""
    flags = argparse.ArgumentParser(add_help=False)
    flags.add_argument("--include", action="append", default=[], metavar="PATH",
                       help="load plugins from PATH: a folder of plugin modules (*.py with "
                            "register(plugin)) and registry files (*.yaml), or one such file "
                            "(repeatable; $VBENCH_PATH adds more; docs/PLUGINS.md)")
    return flags


def _parser() -> argparse.ArgumentParser:
    from benchmark import __version__

    parser = argparse.ArgumentParser(prog="vbench", description="Benchmark harness for "
                                     "AI-generated and deepfake video detectors.", epilog=EXAMPLES,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"vbench {__version__}")
    flags = [_plugin_flags()]
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", parents=flags, help="run a protocol with a method", epilog=EXAMPLES,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("--protocol", required=True, help="see `vbench ls protocols`")
    run.add_argument("--method", required=True, help="see `vbench ls methods`")
    run.add_argument("--config", default="mini", help="mini (CPU-sized) or paper (published)")
    run.add_argument("--data", default=None,
                     help="vbench-mini, a manifest .csv, a DeepfakeBench .json or a dataset folder; "
                          "several, comma-separated (A,B); default: the protocol's (vbench-mini, "
                          "cross_dataset: vbench-mini,vbench-mini-footage)")
    run.add_argument("--weights", help="evaluate these weights (official layout accepted); no training")
    run.add_argument("--device", default="auto", help="auto, cpu or cuda[:N]")
    run.add_argument("--out", default="vbench_runs", help="run store directory")
    run.add_argument("--seed", type=int, default=None, help="the training (and embedded "
                     "corpus) seed (default 0)")
    run.add_argument("--seeds", metavar="N|S,S,...",
                     help="a seed group: the run once per seed (N: seeds 0..N-1; or a list such "
                          "as 0,1,2), each its own stored run, reported together with the mean, "
                          "the spread and an interval over seeds and test videos")
    run.add_argument("--option", action="append", default=[], metavar="NAME=VALUE",
                     help="a protocol option (repeatable; `vbench ls protocols` lists them) or a "
                          "data option (compression=c23|c40|raw|all, pairing=FILE.csv, "
                          "sources=auto|stem|video, images=auto|each, dataset=NAME)")
    run.add_argument("--mode", help="shorthand for --option mode=VALUE (cross_generator: "
                                    "one_vs_all or leave_one_out)")
    run.add_argument("--workers", type=int, default=None,
                     help="decoding workers (default: chosen from the cores and device, "
                          "benchmark.parallelism: on a CPU a third of the cores for training, at "
                          "least 1, and for evaluation one worker per core that also runs the "
                          "forward; with a GPU up to 8; recorded in run.json)")
    run.add_argument("--threads", type=int, default=None,
                     help="torch threads of the model (default: the cores the workers leave); "
                          "either flag keeps the evaluation forward in the main process")
    run.add_argument("--force", action="store_true", help="recompute even if stored scores exist")
    run.add_argument("--reuse-across-versions", action="store_true",
                     help="reuse scores a run with everything equal but the code version "
                          "computed (recorded in run.json and the report)")
    run.add_argument("--no-progress", action="store_true")
    run.add_argument("--cfg-options", nargs="+", default=[], metavar="KEY=VALUE",
                     help="override config entries, e.g. train.epochs=2 train.optimizer.lr=1e-4")
    run.add_argument("--canonicalize", metavar="RECIPE",
                     help="re-encode every video with one recipe before scoring (a name such as "
                          "h264-crf23-224p25 or codec=libx264,crf=23,width=224,height=224,fps=25)")
    run.add_argument("--real-floor", action="store_true",
                     help="add a control unit: the detector trained on two disjoint halves of the "
                          "real videos; its AUC between them should be near 0.5")
    run.add_argument("--precision", default="fp32", choices=("fp32", "bf16", "fp16"),
                     help="evaluation forward under autocast (bf16 on CPU or GPU, fp16 on GPU); "
                          "scores move by about 1e-3 (part of the run key)")
    run.add_argument("--channels-last", action="store_true",
                     help="channels-last memory for conv weights (faster conv nets on GPUs)")
    run.add_argument("--batch-size", metavar="N|auto",
                     help="evaluation videos per batch (default: the config's eval.batch_size); "
                          "auto: the largest that fits in memory")
    run.add_argument("--dry-run", action="store_true",
                     help="check everything, print what the run would do on which videos, write "
                          "the manifest it would use (./<data>.manifest.csv) and stop")
    run.add_argument("--max-failed-share", type=float, default=0.05, metavar="FRACTION",
                     help="exit 3 (after writing the results) when more than this share of the "
                          "test videos, or of one unit's training or validation videos, "
                          "cannot be decoded (default 0.05)")
    from benchmark.data.inspect import add_data_arguments

    add_data_arguments(run, option_flag=None)  # --layout, --data-root, --real-dirs, --split
    ls = sub.add_parser("ls", parents=flags, help="list methods, protocols, datasets, metrics, perturbations or "
                                   "plugins, each with where it came from")
    ls.add_argument("what", choices=LS_KINDS)
    report = sub.add_parser("report", parents=flags, help="render one leaderboard over run directories")
    report.add_argument("runs", nargs="+", help="run directories (holding run.json)")
    report.add_argument("--out", default="vbench_report", help="output directory")
    compare = sub.add_parser("compare", parents=flags, help="paired comparison of runs on the videos they share")
    compare.add_argument("runs", nargs="+", help="two or more run directories")
    compare.add_argument("--out", default="vbench_compare", help="output directory")
    compare.add_argument("--intersect", action="store_true",
                         help="compare runs over different data on the videos they share")
    regress = sub.add_parser("regress", parents=flags, help="compare runs with stored baselines; exit 1 on a "
                                             "regression (the CI gate)")
    regress.add_argument("runs", nargs="+", help="run directories")
    regress.add_argument("--baseline", required=True,
                         help="a baseline file, or a folder holding <protocol>/<method>-<config>.json")
    regress.add_argument("--write-baseline", action="store_true",
                         help="create or update the baseline from the runs instead of checking")
    regress.add_argument("--out", default="vbench_regress", help="where verdict.json/.md go")
    from benchmark.data.inspect import add_data_parser  # `vbench data inspect`; sets args.handler
    add_data_parser(sub, parents=flags)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Exit codes: 0 done; 2 bad input or an unusable environment (one ``vbench: error:`` line,
    nothing run); 3 the run finished but more than ``--max-failed-share`` of its videos could not
    be decoded (listed), of the test videos or of one unit's training or validation videos;
    130 interrupted (Ctrl-C); 143 terminated (SIGTERM), stopped the same way."""
    from benchmark.errors import VBenchError

    args = _parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    logging.getLogger("vbench").setLevel(logging.INFO)
    previous = _stop_on_sigterm()
    try:
        if getattr(args, "include", None):
            from benchmark.plugins import include

            include(args.include)
        return (getattr(args, "handler", None) or {"run": _run, "ls": _ls, "report": _report,
                                                     "compare": _compare, "regress": _regress}[args.command])(args)
    except VBenchError as err:
        print(f"vbench: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # an environment problem we did not anticipate: still one line
        from benchmark.io import describe_os_error

        where = err.filename if err.filename is not None else "(unknown path)"
        print(f"vbench: error: {describe_os_error(err, 'use', where)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as err:
        from benchmark.errors import Terminated

        stopped = "terminated (SIGTERM)" if isinstance(err, Terminated) else "interrupted"
        print(f"vbench: {stopped}; finished units are kept and the same command resumes",
              file=sys.stderr)
        return 143 if isinstance(err, Terminated) else 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _stop_on_sigterm():
    """SIGTERM raises `benchmark.errors.Terminated` in the main thread, so that a terminated run
    stops like an interrupted one; without it the process dies at once and leaves its forked
    loader workers behind, blocked on their queues. Returns the handler it replaced (None when
    not in the main thread, where no handler can be set)."""
    import threading

    from benchmark.errors import Terminated

    if threading.current_thread() is not threading.main_thread():
        return None

    def stop(signum, frame):
        raise Terminated()

    return signal.signal(signal.SIGTERM, stop)


def _run(args) -> int:
    from benchmark.runner import RunRequest, execute
    from benchmark.tables import print_run

    from benchmark.data.inspect import options_from_args, split_option_pairs

    data_pairs, protocol_items = split_option_pairs(args.option)
    options = _key_values(protocol_items, "--option", parse=str)
    if args.mode:
        options["mode"] = args.mode
    request = RunRequest(protocol=args.protocol, method=args.method, config=args.config,
                         data=args.data, weights=args.weights, device=args.device, out=args.out,
                         seed=0 if args.seed is None else args.seed, options=options,
                         workers=_count(args.workers, "--workers", 0),
                         threads=_count(args.threads, "--threads", 1),
                         progress=not args.no_progress, force=args.force,
                         cfg_options=_key_values(args.cfg_options, "--cfg-options"),
                         reuse_across_versions=args.reuse_across_versions,
                         data_options=options_from_args(args, extra=data_pairs),
                         max_failed_share=args.max_failed_share,
                         canonicalize=args.canonicalize, real_floor=args.real_floor,
                         precision=args.precision, channels_last=args.channels_last,
                         batch_size=_batch_size(args.batch_size),
                         command="vbench " + " ".join(args.argv))
    seeds = _seeds(args)
    if args.dry_run:
        from benchmark.dryrun import dry_run

        return dry_run(request)
    from benchmark.distributed import shutdown

    try:
        if seeds is not None:
            from benchmark.seed_runs import run_seeds

            group_report = run_seeds(request, seeds)
            shutdown()
            if group_report is not None:
                print(group_report)
            return 0
        report = execute(request)
    except BaseException:
        shutdown(barrier=False)  # the other ranks may never reach a barrier
        raise
    shutdown()
    if report is None:  # torchrun ranks > 0: rank 0 prints
        return 0
    print_run(report.parent)
    print(report)
    return _failure_code(report.parent, request.max_failed_share)


def _seeds(args) -> list[int] | None:
    """``--seeds`` parsed; refused beside ``--seed`` or ``--dry-run``."""
    from benchmark.errors import VBenchError

    if args.seeds is None:
        return None
    if args.seed is not None:
        raise VBenchError(f"--seed {args.seed} and --seeds {args.seeds} are mutually exclusive: "
                          f"give one seed (--seed) or a seed group (--seeds)")
    if args.dry_run:
        raise VBenchError("--dry-run checks one run: use it with --seed S, not --seeds")
    from benchmark.seed_runs import parse_seeds

    return parse_seeds(args.seeds)


def _count(value: int | None, flag: str, least: int) -> int | None:
    from benchmark.errors import VBenchError

    if value is not None and value < least:
        raise VBenchError(f"{flag} expects an integer >= {least}, got {value}")
    return value


def _batch_size(text: str | None):
    from benchmark.errors import VBenchError

    if text is None or text == "auto":
        return text
    if not text.isdigit() or int(text) < 1:
        raise VBenchError(f"--batch-size expects a positive integer or 'auto', got {text!r}")
    return int(text)


def _failure_code(run_dir: Path, share: float) -> int:
    """3 when more than ``share`` of the evaluated videos, or of one unit's training or
    validation videos, could not be decoded (listed on stderr), else 0."""
    import json

    from benchmark.stored_run import LEFT_OUT_SPLITS, left_out

    info = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    checks = [("videos", info.get("n_videos", 0), info.get("failures", []),
               "the results are written but cover only the others")]
    checks += [(f"{LEFT_OUT_SPLITS[split]} videos of unit {unit}", total, failed,
                f"its model was {'trained' if split == 'train' else 'selected'} without them")
               for unit, split, total, failed in left_out(info)]
    code = 0
    for what, total, failed, consequence in checks:
        if not total or len(failed) / total <= share:
            continue
        code = 3
        print(f"vbench: {len(failed)} of {total} {what} could not be decoded (more than "
              f"{share:.0%}); {consequence}:", file=sys.stderr)
        for item in failed[:20]:
            print(f"  {item['video_id']}: {item['error']}", file=sys.stderr)
        if len(failed) > 20:
            print(f"  ... and {len(failed) - 20} more (see {run_dir / 'report.html'})", file=sys.stderr)
    return code


def _key_values(items: list[str], flag: str, parse=None) -> dict:
    """``["train.epochs=2"]`` → ``{"train.epochs": 2}`` (values parsed as YAML scalars unless
    ``parse`` is given; ``1e-4`` is a number)."""
    from benchmark.config import parse_value
    from benchmark.errors import VBenchError

    options = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise VBenchError(f"{flag} expects NAME=VALUE, got '{item}'")
        if key in options:
            raise VBenchError(f"{flag}: '{key}' is given twice")
        options[key.strip()] = (parse or parse_value)(value)
    return options


def _ls(args) -> int:
    """Lists one kind of entry with its source; 2 when an entry of that kind cannot be used (a
    name declared twice, a bad field) — after listing everything."""
    from benchmark.listing import list_entries

    lines, problems = list_entries(args.what)
    print("\n".join(lines))
    for problem in problems:
        print(f"vbench: error: {problem}", file=sys.stderr)
    return 2 if problems else 0


def _report(args) -> int:
    from benchmark.report import render_report

    runs = _load_runs(args.runs)
    paths = render_report(runs, Path(args.out))
    for kind, path in paths.items():
        if kind != "html":
            print(path)
    print(paths["html"])
    return 0


def _load_runs(paths: list[str]):
    """Every run and seed group, read and checked (`benchmark.stored_run`) before anything is
    written."""
    from benchmark.stored_run import is_group, load_group, load_run, read_info, read_json

    for path in paths:  # a directory that is no run at all is named before any slow check
        if is_group(path):
            read_json(Path(path) / "group.json")
        else:
            read_info(Path(path))
    return [load_group(Path(p)) if is_group(p) else load_run(Path(p)) for p in paths]


def _compare(args) -> int:
    from benchmark.compare import compare_runs
    from benchmark.errors import VBenchError
    from benchmark.compare_report import render_comparison

    from benchmark.stored_run import SeedGroupData

    runs = _load_runs(args.runs)
    groups = [r for r in runs if isinstance(r, SeedGroupData)]
    if groups:
        if len(groups) != len(runs):
            raise VBenchError(f"vbench compare: {groups[0].path} is a seed group, but "
                              f"{next(r.path for r in runs if r not in groups)} is a single run; "
                              f"compare seed groups with seed groups")
        from benchmark.seed_compare import compare_groups

        result = compare_groups(groups)
        runs = [group.members[0] for group in groups]  # the ROC overlays show the first seed
    else:
        result = compare_runs(runs, intersect=args.intersect)
    paths = render_comparison(result, runs, args.out)
    print(paths["md"])
    print(paths["json"])
    print(paths["html"])
    return 0


def _regress(args) -> int:
    """0 when no run regressed, 1 when one did (2: bad input, from `main`)."""
    from benchmark import regress
    from benchmark.io import atomic_write_json

    from benchmark.seed_group import as_entry

    runs = [as_entry(item) for item in _load_runs(args.runs)]  # a seed group: its seed means
    root = Path(args.baseline)
    as_file = root.suffix == ".json"
    if args.write_baseline:
        groups: dict[Path, list] = {}
        for run in runs:
            groups.setdefault(root if as_file else regress.baseline_path(root, run), []).append(run)
        for path, members in groups.items():
            atomic_write_json(path, regress.make_baseline(members))
            print(f"wrote {path} from {len(members)} run(s)")
        return 0
    verdicts = []
    for run in runs:
        path = root if as_file else regress.baseline_path(root, run)
        verdicts.append(regress.check(run, regress.load_baseline(path), str(path)))
    json_path, md_path = regress.write_outputs(verdicts, Path(args.out))
    print(md_path.read_text(encoding="utf-8"))
    print(json_path)
    return 1 if any(v["regressions"] for v in verdicts) else 0


if __name__ == "__main__":
    sys.exit(main())
