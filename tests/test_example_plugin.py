"""The example outside plugin (tests/plugins/vbench-example): what it adds works through
``--include`` and installed from its own pyproject, from a folder outside the checkout.

Its detector is also covered by every test parametrised over the registry (contract, goldens,
inference options, leak control): tests/conftest.py puts it on ``$VBENCH_PATH`` for the session.
CLI cases run ``python -m benchmark`` in a subprocess (fresh registries, real exit codes).
"""
import importlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmark.errors import DataError
from benchmark.registry import LAYOUTS

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "tests" / "plugins" / "vbench-example"
PLUGIN = PACKAGE / "vbench_example"
BUILT_IN_METHODS = ["sta", "mmvgm_mae", "mmvgm_xclip", "mmvgm_i3d", "aigvdet", "genconvit", "d3",
                    "waverep", "tall", "mmvgm_protect", "lvdm"]
GENERATORS = ("flicker", "deconv_checkerboard")  # the two the minis tell apart fastest


def _env(pythonpath=()):
    """os.environ without the session's plugin path: each case says where plugins come from."""
    env = {k: v for k, v in os.environ.items() if k not in ("VBENCH_PATH", "PYTHONPATH")}
    if pythonpath:
        env["PYTHONPATH"] = os.pathsep.join(map(str, pythonpath))
    return env


def _vbench(*args, cwd=REPO, pythonpath=(), timeout=300):
    return subprocess.run([sys.executable, "-m", "benchmark", *map(str, args)], cwd=cwd,
                          env=_env(pythonpath), capture_output=True, text=True, timeout=timeout)


def _included(*args, **kwargs):
    return _vbench(*args, "--include", PLUGIN, **kwargs)


def _one_error_line(result) -> str:
    errors = [line for line in result.stderr.splitlines() if line.startswith("vbench: error:")]
    assert len(errors) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return errors[0]


def _plugin_module(name: str):
    """A module of the example package (the session's loader put its folder on sys.path)."""
    LAYOUTS.names()  # fills the registries: the plugin is loaded
    return importlib.import_module(f"vbench_example.{name}")


def _clean(tiny_manifest, generators=GENERATORS) -> pd.DataFrame:
    """The tiny corpus without its broken video, real + ``generators``, absolute paths."""
    manifest = pd.read_csv(tiny_manifest)
    manifest = manifest[manifest["generator"].isin(["real", *generators])]
    manifest = manifest[~manifest["video_id"].str.contains("broken")].copy()
    manifest["path"] = [str((Path(tiny_manifest).parent / p).resolve()) for p in manifest["path"]]
    return manifest


@pytest.fixture(scope="module")
def tsv_folder(tmp_path_factory, tiny_manifest):
    """A folder in the example_tsv layout: videos under real/ and fake/, labels.tsv beside them."""
    root = tmp_path_factory.mktemp("tsv") / "my_tsv_data"
    lines = ["# path\tlabel\tgenerator\tsplit", "path\tlabel\tgenerator\tsplit"]
    for row in _clean(tiny_manifest).itertuples():
        real = row.generator == "real"
        rel = f"{'real' if real else 'fake'}/{Path(row.video_id).name}.mp4"
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(row.path, root / rel)
        lines.append("\t".join([rel, "real" if real else "fake", "" if real else row.generator,
                                row.split]))
    (root / "labels.tsv").write_text("\n".join(lines) + "\n")
    return root


def _bad_copy(folder: Path, dest: Path, line: int, new: str) -> Path:
    """``folder``'s labels.tsv (no videos copied: paths point back at them) with ``line`` replaced."""
    dest.mkdir()
    lines = (folder / "labels.tsv").read_text().splitlines()
    lines = [lines[0], lines[1]] + [
        "\t".join([str(folder / text.split("\t")[0]), *text.split("\t")[1:]]) for text in lines[2:]]
    lines[line - 1] = new
    (dest / "labels.tsv").write_text("\n".join(lines) + "\n")
    return dest


# -- through --include -----------------------------------------------------------------------------
def test_an_included_plugin_lists_each_entry_with_its_source():
    source = f"--include {PLUGIN}"
    methods = _included("ls", "methods")
    assert methods.returncode == 0, methods.stderr
    keys = [line.split()[0] for line in methods.stdout.splitlines() if line.strip()]
    assert keys == BUILT_IN_METHODS + ["example_diff"]
    line = next(line for line in methods.stdout.splitlines() if line.startswith("example_diff"))
    assert "detector" in line and "binary" in line and "mini, paper" in line and source in line
    datasets = _included("ls", "datasets")
    line = next(line for line in datasets.stdout.splitlines() if "layout:example_tsv" in line)
    assert "labels.tsv" in line and source in line
    perturbations = _included("ls", "perturbations")
    line = next(line for line in perturbations.stdout.splitlines()
                if line.startswith("example_posterize"))
    assert "levels 1-3" in line
    plugins = _included("ls", "plugins")
    assert "vbench_example" in plugins.stdout and "loaded" in plugins.stdout


def test_data_inspect_reads_the_tsv_layout(tsv_folder, tmp_path):
    out = _included("data", "inspect", "--data", tsv_folder, cwd=tmp_path)  # writes a manifest
    assert out.returncode == 0, out.stderr
    assert "example_tsv" in out.stdout
    for generator in GENERATORS:
        assert generator in out.stdout
    assert "the layout's own splits" in out.stdout


@pytest.mark.parametrize("line, new, expected", [
    (3, "real/nowhere.mp4\treal\t\ttrain", "'real/nowhere.mp4' not found"),
    (4, "{path}\tmaybe\t\ttrain", "label 'maybe' is not one of real, fake"),
])
def test_a_bad_labels_line_exits_2_naming_the_file_and_line(tsv_folder, tmp_path, line, new,
                                                            expected):
    first = (tsv_folder / "labels.tsv").read_text().splitlines()[line - 1].split("\t")[0]
    bad = _bad_copy(tsv_folder, tmp_path / "bad", line, new.format(path=tsv_folder / first))
    out = _included("data", "inspect", "--data", bad, cwd=tmp_path)
    assert out.returncode == 2
    error = _one_error_line(out)
    assert f"{bad / 'labels.tsv'}, line {line}:" in error and expected in error


def test_the_reader_gives_raw_rows_and_vbench_finishes_the_manifest(tsv_folder, tiny_manifest):
    from benchmark.data.readers import detect_layout, read_dataset

    assert detect_layout(str(tsv_folder)) == "example_tsv"
    manifest = read_dataset(str(tsv_folder))
    truth = _clean(tiny_manifest)
    assert len(manifest) == len(truth) and set(manifest["dataset"]) == {"my_tsv_data"}
    assert sorted(manifest["generator"]) == sorted(truth["generator"])
    assert (manifest["label"] == (manifest["generator"] != "real")).all()
    assert sorted(manifest["split"]) == sorted(truth["split"])  # the file's splits are kept
    assert set(manifest["video_id"].str.split("/").str[0]) == {"real", "fake"}


@pytest.mark.parametrize("new, expected", [
    ("{path}\tfake\t\ttrain", "a fake video needs its generator's name"),
    ("{path}\treal\tflicker\ttrain", "a real video's generator must be empty or 'real'"),
    ("{path}\treal\t\ttraining", "split 'training' is not one of train, val, test"),
    ("{path}\treal\t\t", "no split, but other rows give one"),
    ("{again}\treal\t\ttrain", "is listed again (first at line 3)"),
])
def test_each_bad_line_is_refused_naming_it(tsv_folder, tmp_path, new, expected):
    read = LAYOUTS.get("example_tsv")
    lines = (tsv_folder / "labels.tsv").read_text().splitlines()
    spare = next(n for n, text in enumerate(lines, 1) if "\treal\t" in text and n > 3)
    path = str(tsv_folder / lines[spare - 1].split("\t")[0])
    again = str(tsv_folder / lines[2].split("\t")[0])
    bad = _bad_copy(tsv_folder, tmp_path / "bad", spare, new.format(path=path, again=again))
    from benchmark.data.options import DataOptions
    from benchmark.data.scan import ReadLog

    with pytest.raises(DataError, match="labels.tsv, line") as err:
        read(str(bad), DataOptions(), ReadLog())
    assert f", line {spare}: " in str(err.value) and expected in str(err.value)


def test_a_labels_file_without_its_columns_is_refused(tmp_path):
    from benchmark.data.options import DataOptions
    from benchmark.data.scan import ReadLog

    (tmp_path / "labels.tsv").write_text("path\tclass\n")
    with pytest.raises(DataError, match=r"line 1: the header lacks column\(s\) label, generator, "
                                        r"split"):
        LAYOUTS.get("example_tsv")(str(tmp_path), DataOptions(), ReadLog())


def test_posterize_keeps_the_top_bits_and_its_perturbation_has_three_levels():
    from benchmark.perturb.config import default_set

    posterize = _plugin_module("posterize").posterize
    frames = np.arange(256, dtype=np.uint8).reshape(1, 16, 16, 1).repeat(3, axis=3)  # [1, 16, 16, 3]
    assert np.unique(posterize(frames, None, bits=3)).tolist() == list(range(0, 256, 32))
    assert np.array_equal(posterize(frames, None, bits=8), frames)
    pset = default_set()
    entry = pset.get("example_posterize")
    assert [entry.steps(k)[0].kwargs["bits"] for k in (1, 2, 3)] == [5, 4, 3]
    assert Path(entry.origin) == PLUGIN / "perturbations.yaml"


# -- Youden's J ------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(6))
def test_youden_j_matches_scikit_learn(seed):
    from sklearn.metrics import roc_curve

    youden_j = _plugin_module("youden").youden_j
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, 60)
    scores = rng.random(60) + 0.4 * labels
    if seed % 2:
        scores = np.round(scores, 1)  # ties
    fpr, tpr, _ = roc_curve(labels, scores)
    assert youden_j(labels, scores) == pytest.approx(float(np.max(tpr - fpr)), abs=1e-12)
    assert youden_j([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert youden_j([0, 1], [0.9, 0.1]) == 0.0  # inverted: no threshold beats chance


def test_youden_j_refuses_what_it_cannot_score():
    from benchmark.metrics import MetricInputError, UndefinedMetricError

    youden_j = _plugin_module("youden").youden_j
    with pytest.raises(UndefinedMetricError, match="needs both classes"):
        youden_j([1, 1], [0.2, 0.3])
    with pytest.raises(MetricInputError, match="2 labels but 3 scores"):
        youden_j([0, 1], [0.2, 0.3, 0.4])
    with pytest.raises(MetricInputError, match="not finite"):
        youden_j([0, 1], [0.2, float("nan")])
    with pytest.raises(MetricInputError, match="labels must be 0"):
        youden_j([0, 2], [0.2, 0.3])


def test_youden_j_is_in_the_metric_catalog():
    """The plugin's metric is one catalog entry, from the plugin's source, sorting high-first."""
    from benchmark.metric_catalog import CATALOG

    metric = CATALOG.get("youden_j")
    assert metric.label == "Youden's J" and CATALOG.direction("youden_j") == "high"
    assert "vbench_example" in CATALOG.source("youden_j")
    assert metric([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 1.0


def test_the_plugin_protocol_runs_and_shows_the_plugin_metric(tmp_path, monkeypatch, capsys):
    """`pooled` (a protocol from the plugin) runs through the runner like a built-in: metrics,
    summary, its own report partial, and the plugin's metric in its table."""
    import json

    from benchmark.cli import main
    from tests.run_helpers import install_fake_model, placeholder_manifest

    install_fake_model(monkeypatch)
    data = placeholder_manifest(tmp_path, ["gen_a", "gen_b"], per=6)
    code = main(["run", "--protocol", "pooled", "--method", "sta", "--data", str(data),
                 "--out", str(tmp_path / "runs"), "--no-progress"])
    out = capsys.readouterr().out
    assert code == 0, out
    report = Path(out.strip().splitlines()[-1])
    results = json.loads((report.parent / "metrics.json").read_text())
    assert [r["test_set"] for r in results["rows"]] == ["gen_a", "gen_b", "all"]
    assert all(0 <= r["youden_j"] <= 1 for r in results["rows"])
    assert set(results["summary"]) == {"pooled_auc", "worst_generator_auc"}
    page = report.read_text()
    assert "One model, every generator" in page and "Youden&#39;s J" in page
    info = json.loads((report.parent / "run.json").read_text())
    assert "vbench_example" in info["sources"]["protocol"]
    assert info["sources"]["method"] == "vbench built-in plugin 'detectors'"
    # the plugin's code is part of the code version (and so of the run key)
    assert info["code"]["code_version"].count("+plugin-") == 1
    assert any(f.endswith("vbench_example") for f in info["code"]["plugin_folders"])


# -- installed from its pyproject, used from a folder outside the checkout -----------------------
@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(site folder with vbench-example installed non-editable, an empty folder elsewhere)."""
    root = tmp_path_factory.mktemp("example_install")
    source = root / "src"  # a copy: building in place would leave build/ and *.egg-info behind
    shutil.copytree(PACKAGE, source, ignore=shutil.ignore_patterns(
        "build", "*.egg-info", "__pycache__"))
    site = root / "site"
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps",
                           "--no-build-isolation", "--no-index", "-q", "--target", str(site),
                           str(source)], cwd=root, env=_env(), capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (site / "vbench_example" / "configs" / "mini.yaml").is_file()  # package data
    outside = root / "elsewhere"
    outside.mkdir()
    return site, outside


def _installed(installed, *args, timeout=300):
    """vbench with the installed plugin; the checkout's code (REPO on PYTHONPATH) is what runs."""
    site, outside = installed
    return _vbench(*args, cwd=outside, pythonpath=(site, REPO), timeout=timeout)


@pytest.fixture(scope="module")
def tiny_csv(installed, tiny_manifest):
    data = installed[1] / "tiny.csv"
    _clean(tiny_manifest).to_csv(data, index=False)
    return data


def test_the_installed_plugin_is_found_through_its_entry_point(installed):
    out = _installed(installed, "ls", "methods")
    assert out.returncode == 0, out.stderr
    line = next(line for line in out.stdout.splitlines() if line.startswith("example_diff"))
    assert "[entry point 'example' of vbench-example 0.1.0]" in line
    alone = _vbench("ls", "methods", cwd=installed[1], pythonpath=(REPO,))  # not installed
    assert alone.returncode == 0, alone.stderr
    assert "example_diff" not in alone.stdout and "mmvgm_i3d" in alone.stdout
    unknown = _vbench("run", "--protocol", "cross_generator", "--method", "example_diff",
                      "--dry-run", cwd=installed[1], pythonpath=(REPO,))
    assert unknown.returncode == 2 and "Unknown method 'example_diff'" in _one_error_line(unknown)


def test_a_cross_generator_run_with_the_installed_detector(installed, tiny_csv):
    out = _installed(installed, "run", "--protocol", "cross_generator", "--method",
                     "example_diff", "--data", tiny_csv, "--out", "runs", "--no-progress",
                     "--cfg-options", "train.epochs=1")
    assert out.returncode == 0, out.stderr[-3000:]
    (run_dir,) = (installed[1] / "runs" / "cross_generator").glob("example_diff-mini/*")
    results = json.loads((run_dir / "metrics.json").read_text())
    assert {row["train_set"] for row in results["rows"]} == set(GENERATORS)
    info = json.loads((run_dir / "run.json").read_text())
    assert info["status"] == "complete" and info["method"] == "example_diff"


@pytest.mark.slow  # about 20 s on two cores; the cross_generator run above stays in the default run
def test_a_robustness_run_with_the_installed_perturbation(installed, tiny_csv):
    out = _installed(installed, "run", "--protocol", "robustness", "--method", "example_diff",
                     "--data", tiny_csv, "--out", "runs", "--no-progress",
                     "--option", "perturbations=example_posterize", "--option", "levels=1",
                     "--cfg-options", "train.epochs=1")
    assert out.returncode == 0, out.stderr[-3000:]
    (run_dir,) = (installed[1] / "runs" / "robustness").glob("example_diff-mini/*")
    text = (run_dir / "metrics.json").read_text()
    assert "example_posterize" in text
    scores = pd.read_parquet(run_dir / "scores.parquet")
    assert set(scores["perturbation"].dropna()) >= {"example_posterize"}

