"""Closed configs: unknown keys and mistyped values are refused, in files and on the command line."""
import textwrap
from pathlib import Path

import pytest

from benchmark.cli import main
from benchmark.config import parse_value
from benchmark.errors import ConfigError
from benchmark.registry import MethodRegistry, registry


@pytest.mark.parametrize("overrides, expected", [
    ({"train.epoch": 1}, "unknown key 'train.epoch'. Did you mean: train.epochs?"),
    ({"train.lr": 0.1}, "unknown key 'train.lr'"),
    ({"train.epochs": "abc"}, "'train.epochs' expected a valid integer, got 'abc' (str)"),
    ({"train.epochs": 0}, "'train.epochs' expected greater than or equal to 1"),
    ({"train.scheduler": "cosin"}, "'train.scheduler' expected 'cosine', 'linear' or 'none'"),
    ({"model.backbone.widht": 3}, "unknown key 'model.backbone.widht'. Did you mean: model.backbone.width?"),
    ({"model.backbone.type": "StAVit"}, "Unknown model class 'StAVit'. Did you mean: StAViT?"),
    ({"train.optimizer.lr": "fast"}, "'train.optimizer.lr' expects a number, got 'fast'"),
    ({"train.optimizer.betas": [0.9]}, "'train.optimizer.betas' expects a list of 2 numbers"),
    ({"train.optimizer.momentun": 0.9}, "unknown key 'train.optimizer.momentun'"),
    ({"train.optimizer.type": "Adamm"}, "Unknown optimizer 'Adamm'. Did you mean: Adam"),
    ({"input.frame": 8}, "unknown key 'input.frame'. Did you mean: input.frames?"),
    ({"train.blending.p": 2.0}, "'train.blending.p' expected less than or equal to 1"),
    ({"train.augmentation": [{"type": "Rotat"}]}, "Unknown augmentation 'Rotat'. Did you mean: Rotate?"),
    ({"train.augmentation": [{"type": "Rotate", "limt": 3}]}, "Rotate has no parameter 'limt'"),
    ({"train.epochs.x": 1}, "'train.epochs' is a value"),
])
def test_bad_overrides_are_refused_naming_the_option(overrides, expected):
    with pytest.raises(ConfigError) as err:
        registry().get("sta").config("mini", overrides)
    assert expected in str(err.value)
    assert "--cfg-options" in str(err.value)


def test_good_overrides_apply_and_unknown_detector_sections_are_refused():
    cfg = registry().get("sta").config("mini", {"train.epochs": 2, "train.optimizer.lr": 1e-4,
                                                "model.backbone.layers": 1})
    assert cfg["train"]["epochs"] == 2 and cfg["train"]["optimizer"]["lr"] == 1e-4
    assert cfg["model"]["backbone"]["layers"] == 1
    with pytest.raises(ConfigError, match="unknown key 'flow'"):
        registry().get("sta").config("mini", {"flow.opencv": "dis"})  # AIGVDet's section, not StA's
    assert registry().get("aigvdet").config("mini", {"flow.opencv": "dis"})["flow"]["opencv"] == "dis"


def test_every_config_key_is_known_and_typed():
    for key in registry().keys(kind="detector"):  # defences: tests/test_defence_contract.py
        for name in ("mini", "paper"):
            cfg = registry().get(key).config(name)
            assert cfg["train"]["epochs"] >= 1 and cfg["method"] == key and cfg["name"] == name


def _registry_with(tmp_path, config_text):
    config = tmp_path / "bad.yaml"
    entry = registry().get("sta")
    added = textwrap.dedent(config_text)
    redefined = {line.split(":")[0] for line in added.splitlines() if line and line[0] != " "}
    kept = [line for line in entry.config_path("mini").read_text().splitlines()
            if line.split(":")[0] not in redefined]
    config.write_text("\n".join(kept) + added)
    reg_file = tmp_path / "registry.yaml"
    reg_file.write_text(Path(entry.origin).read_text().replace(
        "mini: sta/configs/mini.yaml", f"mini: {config}"))
    return MethodRegistry.from_file(reg_file)


@pytest.mark.parametrize("text, expected", [
    ("\nextra_section: 1\n", "unknown key 'extra_section'"),
    ("\neval: {batch_size: many}\n", "'eval.batch_size' expected a valid integer, got 'many'"),
    ("\naggregation: mode\n", "'aggregation' expected 'mean', 'max' or 'median'"),
    ("\nscore: {type: sigmoid, fake_idx: 0}\n", "unknown key 'score.fake_idx'. Did you mean: score.fake_index?"),
])
def test_bad_keys_in_a_config_file_are_refused_naming_the_file(tmp_path, text, expected):
    reg = _registry_with(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        reg.get("sta").config("mini")
    assert expected in str(err.value) and "bad.yaml" in str(err.value)


def test_cli_refuses_bad_cfg_options_with_one_line(capsys, tmp_path):
    code = main(["run", "--protocol", "cross_generator", "--method", "sta", "--out", str(tmp_path),
                 "--cfg-options", "train.epoch=1"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("vbench: error: config error in --cfg-options train.epoch=1")
    assert "Traceback" not in err and not any(tmp_path.iterdir())


def test_cfg_option_values_are_typed():
    assert parse_value("1e-4") == 1e-4 and parse_value("3") == 3 and parse_value("true") is True
    assert parse_value("[0.9, 0.99]") == [0.9, 0.99] and parse_value("abc") == "abc"
