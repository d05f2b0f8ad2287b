"""vbench as an installed package: a wheel built from this tree, installed into a fresh virtualenv,
works from a folder outside the checkout (registry, configs, cards, templates and perturbation files
found through the package, never through the checkout).

The fresh virtualenv has no packages of its own but vbench's wheel; its dependencies are the
project virtualenv's (`requirements.lock`), reached through a ``.pth`` path line, so the test
does not download or unpack the multi-GB torch stack again. A path line adds that folder to
``sys.path`` without running its ``.pth`` files, so the checkout's editable install stays out.
"""
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parent.parent
BUILT_INS = ("sta", "mmvgm_mae", "mmvgm_xclip", "mmvgm_i3d", "aigvdet", "genconvit", "d3",
             "waverep", "tall", "mmvgm_protect", "lvdm")


def _source_copy(dest: Path) -> Path:
    """The tree as git sees it (tracked and untracked-but-not-ignored files), without build debris."""
    try:
        listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO,
                                capture_output=True, check=True).stdout.decode().split("\0")
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("needs a git checkout to know which files are the source tree")
    for rel in filter(None, listed):
        src = REPO / rel
        if src.is_file() and not rel.startswith(("tests/", "baselines/")):
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    return dest


def _run(cmd, cwd, env, timeout=600):
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(python, vbench executable, environment, an empty folder outside the checkout)."""
    root = tmp_path_factory.mktemp("install")
    src = _source_copy(root / "src")
    wheels = root / "wheels"
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                  "--no-index", "-q", "-w", str(wheels), str(src)], root, dict(os.environ))
    assert built.returncode == 0, built.stderr[-2000:]
    wheel = next(wheels.glob("vbench-*.whl"))
    target = root / "venv"
    venv.EnvBuilder(with_pip=False).create(target)
    python = target / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    (site / "project-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    done = _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
                 "--no-index", "-q", str(wheel)], root, dict(os.environ))
    assert done.returncode == 0, done.stderr[-2000:]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VBENCH_PATH")}
    env["VBENCH_CACHE"] = str(root / "cache")
    outside = root / "elsewhere"
    outside.mkdir()
    return python, target / "bin" / "vbench", env, outside


def test_the_wheel_is_what_runs(installed):
    python, vbench, env, outside = installed
    out = _run([str(python), "-c", "import benchmark, detectors, protocols; "
                "print(benchmark.__file__); print(detectors.__file__)"], outside, env)
    assert out.returncode == 0, out.stderr
    for line in out.stdout.split():
        assert str(REPO) not in line and "/venv/" in line, line
    version = _run([str(vbench), "--version"], outside, env)
    assert version.returncode == 0 and version.stdout.strip().startswith("vbench ")


def test_ls_methods_from_another_folder_lists_every_builtin(installed):
    _, vbench, env, outside = installed
    out = _run([str(vbench), "ls", "methods"], outside, env)
    assert out.returncode == 0, out.stderr
    listed = [line.split()[0] for line in out.stdout.splitlines() if line.strip()]
    assert listed == list(BUILT_INS)
    assert "vbench built-in plugin 'detectors'" in out.stdout


def test_a_run_and_its_report_from_another_folder(installed, tiny_manifest):
    """cross_generator with sta, trained for one epoch on a tiny corpus: configs, the perturbation
    registry and the report templates all come from the installed package."""
    _, vbench, env, outside = installed
    manifest = pd.read_csv(tiny_manifest)
    manifest = manifest[manifest["generator"].isin(["real", "flicker", "deconv_checkerboard"])]
    manifest = manifest[~manifest["video_id"].str.contains("broken")].copy()
    manifest["path"] = [str((Path(tiny_manifest).parent / p).resolve()) for p in manifest["path"]]
    data = outside / "tiny.csv"
    manifest.to_csv(data, index=False)
    out = _run([str(vbench), "run", "--protocol", "cross_generator", "--method", "sta",
                "--data", str(data), "--out", "runs", "--no-progress",
                "--cfg-options", "train.epochs=1"], outside, env)
    assert out.returncode == 0, out.stderr[-3000:]
    report = outside / out.stdout.strip().splitlines()[-1]  # printed relative to the cwd
    assert report.is_file() and report.name == "report.html", out.stdout[-2000:]
    assert (outside / "runs") in report.resolve().parents
    assert "mean AUC" in report.read_text()
