"""The plugin loader: sources merged, entries traced to them, bad plugins failing alone and loudly.

Each CLI case runs ``python -m benchmark`` in a subprocess (fresh registries, real exit codes).
"""
import os
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

from benchmark import plugins
from benchmark.errors import RegistryError
from benchmark.registry import METHODS, PROTOCOLS, Registry

REPO = Path(__file__).resolve().parent.parent
BUILT_IN_METHODS = ["sta", "mmvgm_mae", "mmvgm_xclip", "mmvgm_i3d", "aigvdet", "genconvit", "d3",
                    "waverep", "tall", "mmvgm_protect", "lvdm"]
METHOD = """
methods:
  {key}:
    entry_point: "{entry_point}"
    configs: {{mini: mini.yaml, paper: mini.yaml}}
    input: {{frames: 8}}
    tasks: [binary]
    paper: {{title: A plugin method, arxiv: "0000.00000", venue: V, year: 2026}}
    upstream: https://example.org/repo
    weights: {{}}
    trained_on: nothing
{extra}"""


def _vbench(*args, cwd=None, env_path=None):
    env = {k: v for k, v in os.environ.items() if k != "VBENCH_PATH"}
    if env_path:
        env["VBENCH_PATH"] = os.pathsep.join(map(str, env_path))
    return subprocess.run([sys.executable, "-m", "benchmark", *map(str, args)], cwd=cwd or REPO,
                          env=env, capture_output=True, text=True, timeout=300)


def _registry_file(folder: Path, key="plugin_method", entry_point="plugin_mod:Nothing", extra=""):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "registry.yaml"
    path.write_text(METHOD.format(key=key, entry_point=entry_point, extra=extra))
    (folder / "mini.yaml").write_text("name: mini\n")
    return path


def _one_error_line(result) -> str:
    errors = [line for line in result.stderr.splitlines() if line.startswith("vbench: error:")]
    assert len(errors) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return errors[0]


def test_builtins_are_vbench_own_entry_points():
    """The built-ins go through the same door: pyproject declares exactly `plugins.BUILTIN`."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert project["project"]["entry-points"][plugins.GROUP] == plugins.BUILTIN
    # the session's $VBENCH_PATH adds the example plugin (tests/conftest.py) after the built-ins
    builtin = [m for m in METHODS.usable() if plugins.is_builtin(METHODS.source(m))]
    assert builtin == BUILT_IN_METHODS == METHODS.usable()[:len(BUILT_IN_METHODS)]
    from protocols import BUILTIN as BUILT_IN_PROTOCOLS

    assert all(plugins.is_builtin(PROTOCOLS.source(p)) for p in BUILT_IN_PROTOCOLS)
    assert not plugins.is_builtin(PROTOCOLS.source("pooled"))  # the session's example plugin


def test_an_included_registry_file_adds_to_the_builtins(tmp_path):
    _registry_file(tmp_path / "plug")
    out = _vbench("ls", "methods", "--include", tmp_path / "plug" / "registry.yaml")
    assert out.returncode == 0, out.stderr
    keys = [line.split()[0] for line in out.stdout.splitlines()]
    assert keys[:len(BUILT_IN_METHODS)] == BUILT_IN_METHODS and "plugin_method" in keys
    line = next(line for line in out.stdout.splitlines() if line.startswith("plugin_method"))
    assert f"--include {tmp_path / 'plug' / 'registry.yaml'}" in line


def test_vbench_path_adds_plugins_too(tmp_path):
    _registry_file(tmp_path / "plug")
    out = _vbench("ls", "methods", env_path=[tmp_path / "plug"])
    assert out.returncode == 0 and "plugin_method" in out.stdout, out.stderr


def test_config_paths_resolve_against_the_registry_file(tmp_path):
    path = _registry_file(tmp_path / "plug")
    from benchmark.registry import read_methods

    method = read_methods(path)["plugin_method"]
    assert method.config_path("mini") == tmp_path / "plug" / "mini.yaml"


def test_a_name_defined_twice_exits_2_naming_both_sources(tmp_path):
    plug = _registry_file(tmp_path / "plug", key="sta")
    listed = _vbench("ls", "methods", "--include", plug)
    assert listed.returncode == 2
    error = _one_error_line(listed)
    assert "method 'sta' is defined twice" in error
    assert "vbench built-in plugin 'detectors'" in error and f"--include {plug}" in error
    assert "mmvgm_i3d" in listed.stdout  # the other entries are still listed
    run = _vbench("run", "--protocol", "cross_generator", "--method", "sta", "--dry-run",
                  "--include", plug, cwd=tmp_path)
    assert run.returncode == 2 and "is defined twice" in _one_error_line(run)
    assert not (tmp_path / "vbench_runs").exists()


def test_a_plugin_that_fails_to_import_breaks_only_itself(tmp_path):
    folder = tmp_path / "plugs"
    folder.mkdir()
    (folder / "broken_plugin.py").write_text("import no_such_package_here\n"
                                             "def register(plugin):\n    pass\n")
    listed = _vbench("ls", "methods", "--include", folder)
    assert listed.returncode == 0, listed.stderr
    assert [line.split()[0] for line in listed.stdout.splitlines()][:len(BUILT_IN_METHODS)] == BUILT_IN_METHODS
    assert "1 plugin(s) failed to load" in listed.stdout
    shown = _vbench("ls", "plugins", "--include", folder)
    assert "broken_plugin" in shown.stdout and "No module named 'no_such_package_here'" in shown.stdout
    used = _vbench("run", "--protocol", "cross_generator", "--method", "broken_method",
                   "--dry-run", "--include", folder, cwd=tmp_path)
    assert used.returncode == 2
    error = _one_error_line(used)
    assert "Unknown method 'broken_method'" in error
    assert "plugin 'broken_plugin'" in error and f"--include {folder}" in error


def test_an_entry_with_an_unknown_field_fails_when_used(tmp_path):
    plug = _registry_file(tmp_path / "plug", extra="    colour: blue\n")
    listed = _vbench("ls", "methods", "--include", plug)
    assert listed.returncode == 0, listed.stderr
    assert "plugin_method" in listed.stdout and "UNUSABLE" in listed.stdout
    used = _vbench("run", "--protocol", "cross_generator", "--method", "plugin_method",
                   "--dry-run", "--include", plug, cwd=tmp_path)
    assert used.returncode == 2
    error = _one_error_line(used)
    assert "unknown field(s) colour" in error and f"--include {plug}" in error


def test_a_registry_file_with_an_unknown_section_is_refused_naming_it(tmp_path):
    path = _registry_file(tmp_path / "plug")
    path.write_text(path.read_text() + "detectorz: {}\n")
    shown = _vbench("ls", "plugins", "--include", path)
    assert "unknown section(s) detectorz" in shown.stdout and str(path) in shown.stdout


def test_an_entry_point_that_cannot_be_imported_names_its_registry_file(tmp_path):
    from benchmark.registry import read_methods

    plug = _registry_file(tmp_path / "plug", entry_point="no_such_module_x:Thing")
    with pytest.raises(RegistryError) as err:
        read_methods(plug, source="--include here")["plugin_method"].load_class()
    assert "'no_such_module_x:Thing' cannot be imported" in str(err.value)
    assert str(plug) in str(err.value)


def test_an_include_path_that_does_not_exist(tmp_path):
    out = _vbench("ls", "methods", "--include", tmp_path / "nowhere")
    assert out.returncode == 2
    assert "no such file or folder" in _one_error_line(out)


def test_a_plugin_protocol_from_a_module_file(tmp_path):
    """A protocol added by a plugin module: listed with its source, and its module's contract is
    checked when it is used."""
    (tmp_path / "my_protocols.py").write_text(textwrap.dedent('''
        def register(plugin):
            plugin.protocol("half_done", "my_protocols", "a protocol that declares nothing")
    '''))
    out = _vbench("run", "--protocol", "half_done", "--method", "sta", "--dry-run",
                  "--include", tmp_path / "my_protocols.py", cwd=tmp_path)
    assert out.returncode == 2
    assert "protocol module my_protocols lacks NAME" in _one_error_line(out)


def test_duplicates_within_python_are_still_refused():
    """Registering a taken name without a source (a programming error) raises at once."""
    reg = Registry("thing")
    reg.register("a", object())
    with pytest.raises(RegistryError, match="registered twice"):
        reg.register("a", object())
    reg.register("b", object(), source="one")
    reg.register("b", object(), source="two")
    with pytest.raises(RegistryError, match="defined twice: by one and by two"):
        reg.get("b")
    assert reg.duplicates() == ["b"]
