"""registry.yaml: validation, lazy entries, did-you-mean, duplicate keys."""
import textwrap

import pytest

from benchmark.errors import RegistryError, UnknownKeyError
from benchmark.registry import MethodRegistry as Registry, registry

ENTRY = """
  {key}:
    entry_point: "detectors.sta:StADetector"
    configs: {{mini: detectors/sta/configs/mini.yaml, paper: detectors/sta/configs/paper.yaml}}
    input: {{frames: 8}}
    tasks: [binary]
    paper: {{title: T, arxiv: "0000.00000", venue: V, year: 2024}}
    upstream: https://example.org/repo
    weights: {{}}
    trained_on: nothing
"""


def _write(tmp_path, text):
    path = tmp_path / "registry.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_project_registry_loads_and_lists_sta():
    reg = registry()
    assert "sta" in reg.keys()
    entry = reg.get("sta")
    assert entry.entry_point.count(":") == 1
    assert {"mini", "paper"} <= set(entry.configs)


def test_unknown_method_suggests_close_keys():
    with pytest.raises(UnknownKeyError) as err:
        registry().get("stta")
    message = str(err.value)
    assert "Unknown method 'stta'" in message and "Did you mean: sta, tall?" in message
    assert "Available:" in message and "sta" in message


def test_duplicate_key_is_an_error(tmp_path):
    path = _write(tmp_path, "methods:" + ENTRY.format(key="a") + ENTRY.format(key="a"))
    with pytest.raises(RegistryError, match="duplicate key 'a' at line"):
        Registry.from_file(path)


def test_missing_fields_are_named(tmp_path):
    path = _write(tmp_path, "methods:\n  b:\n    entry_point: 'x:Y'\n")
    with pytest.raises(RegistryError, match="method 'b' lacks required fields: configs, input"):
        Registry.from_file(path)


def test_bad_entry_point_is_reported_lazily(tmp_path):
    path = _write(tmp_path, "methods:" + ENTRY.format(key="c").replace(
        "detectors.sta:StADetector", "detectors.nowhere:Nothing"))
    entry = Registry.from_file(path).get("c")  # resolving the entry imports nothing
    with pytest.raises(RegistryError, match="'detectors.nowhere:Nothing' cannot be imported"):
        entry.load_class()


def test_unknown_config_name():
    with pytest.raises(UnknownKeyError, match="Unknown config of method 'sta' 'mni'. Did you mean: mini"):
        registry().get("sta").config("mni")


def test_import_benchmark_is_light():
    import subprocess
    import sys

    code = ("import sys, benchmark, benchmark.registry, benchmark.cli; "
            "heavy = [m for m in ('torch', 'mmaction', 'mmengine', 'cv2', 'pandas') if m in sys.modules]; "
            "print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
