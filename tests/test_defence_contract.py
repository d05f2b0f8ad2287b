"""One contract every registered defence (``kind: defence`` in registry.yaml) passes."""
import pytest

from benchmark.defence import TASK_INTERFACES, Defence, build_defence, defence_class
from benchmark.detector import build_detector
from benchmark.errors import ConfigError, RegistryError
from benchmark.registry import KIND_TASKS, registry

DEFENCES = registry().keys(kind="defence")


def test_defences_and_detectors_are_told_apart():
    assert {"mmvgm_protect", "lvdm"} <= set(DEFENCES)
    assert not set(DEFENCES) & set(registry().keys(kind="detector"))
    assert set(registry().keys()) == set(DEFENCES) | set(registry().keys(kind="detector"))


@pytest.mark.parametrize("key", DEFENCES)
def test_entry_is_complete(key):
    entry = registry().get(key)
    assert entry.kind == "defence" and entry.tasks and set(entry.tasks) <= set(KIND_TASKS["defence"])
    assert entry.paper.get("title") and entry.paper.get("arxiv") and entry.paper.get("year")
    assert entry.upstream.startswith("https://") and entry.trained_on
    assert "paper" in entry.weights and entry.weights["paper"].get("file")


@pytest.mark.parametrize("key", DEFENCES)
def test_the_class_implements_the_interface_of_each_task_and_owns_its_schema(key):
    cls = defence_class(key)
    assert issubclass(cls, Defence) and not getattr(cls, "__abstractmethods__", None)
    assert all(issubclass(cls, TASK_INTERFACES[task]) for task in registry().get(key).tasks)
    assert cls.config_schema.__module__.startswith(cls.__module__.rpartition(".")[0])


def test_a_defence_class_outside_the_interface_is_refused(tmp_path):
    path = tmp_path / "registry.yaml"
    path.write_text("methods:\n  x:\n    kind: defence\n    entry_point: 'collections:OrderedDict'\n"
                    "    configs: {mini: a, paper: b}\n    tasks: [protection]\n    paper: {}\n"
                    "    upstream: u\n    weights: {}\n    trained_on: t\n")
    with pytest.raises(RegistryError, match="not a benchmark.defence.ImageProtection subclass"):
        build_defence("x", {}, registry_path=str(path))


@pytest.mark.parametrize("key", DEFENCES)
@pytest.mark.parametrize("config", ["mini", "paper"])
def test_both_configs_build_and_record_themselves(key, config):
    defence = build_defence(key, config)
    record = defence.record()
    assert record["config"]["method"] == key and record["config"]["name"] == config


@pytest.mark.parametrize("key", DEFENCES)
def test_a_defence_is_not_a_detector_and_configs_are_closed(key):
    with pytest.raises(RegistryError, match=f"'{key}' is a defence, not a detector"):
        build_detector(key, "mini")
    with pytest.raises(ConfigError, match="unknown key 'colour'"):
        registry().get(key).config("mini", {"colour": 1})


def test_a_detector_is_not_a_defence():
    with pytest.raises(RegistryError, match="'sta' is a detector, not a defence"):
        build_defence("sta", "mini")


def test_registry_refuses_defence_tasks_on_a_detector(tmp_path):
    from benchmark.registry import MethodRegistry

    path = tmp_path / "registry.yaml"
    path.write_text("methods:\n  x:\n    entry_point: 'a:B'\n    configs: {mini: a, paper: b}\n"
                    "    input: {}\n    tasks: [protection]\n    paper: {}\n    upstream: u\n"
                    "    weights: {}\n    trained_on: t\n")
    with pytest.raises(RegistryError, match=r"unknown tasks \['protection'\] for a detector"):
        MethodRegistry.from_file(path)
    path.write_text(path.read_text().replace("    input: {}\n", "").replace(
        "x:\n", "x:\n    kind: defence\n"))
    assert MethodRegistry.from_file(path).get("x").kind == "defence"
