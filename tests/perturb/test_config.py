"""The frame-function registry, the YAML set, grid validation and seeds: every bad input named."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from benchmark.errors import UnknownKeyError
from benchmark.perturb import codec
from benchmark.perturb.config import (DEFAULT_SET, default_set, load_perturbation_set,
                                      perturbation_rng, perturbation_seed, validate_grid)
from benchmark.perturb.errors import PerturbationSpecError
from benchmark.perturb.functions import FUNCTIONS, check_params, get_function, register_function

DF_TYPES = ("df_saturation", "df_contrast", "df_block", "df_noise", "df_blur", "df_pixelation",
            "df_compression")


def write_set(path: Path, perturbations: dict, version: int = 1) -> Path:
    path.write_text(yaml.safe_dump({"version": version, "perturbations": perturbations}))
    return path


def test_import_is_light():
    code = ("import sys, benchmark.perturb as p; p.default_set(); "
            "print(sorted(m for m in ('av', 'cv2', 'torch', 'pandas') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_default_set_has_the_seven_deeperforensics_types_at_five_levels():
    pset = default_set()
    for name in DF_TYPES:
        assert len(pset.get(name).levels) == 5
        assert "deeperforensics" in pset.get(name).cite
    # the published parameters (EndlessSora/DeeperForensics-1.0, get_distortion_parameter)
    published = {"df_saturation": [0.4, 0.3, 0.2, 0.1, 0.0], "df_contrast": [0.85, 0.725, 0.6, 0.475, 0.35],
                 "df_block": [16, 32, 48, 64, 80], "df_noise": [0.001, 0.002, 0.005, 0.01, 0.05],
                 "df_blur": [7, 9, 13, 17, 21], "df_pixelation": [2, 3, 4, 5, 6],
                 "df_compression": [30, 32, 35, 38, 40]}
    vary = {"df_saturation": "factor", "df_contrast": "factor", "df_block": "blocks",
            "df_noise": "variance", "df_blur": "kernel", "df_pixelation": "factor",
            "df_compression": "crf"}
    for name, values in published.items():
        got = [pset.get(name).steps(k)[0].kwargs[vary[name]] for k in range(1, 6)]
        assert got == values, name


def test_identity_and_keys(tmp_path):
    pset = load_perturbation_set(base=DEFAULT_SET)  # the built-in file alone (no plugin's)
    assert pset.identity.startswith("v1-") and len(pset.identity) == len("v1-") + 12
    again = load_perturbation_set(base=DEFAULT_SET)
    assert again.identity == pset.identity and again.key("h264", 2) == pset.key("h264", 2)
    assert default_set().key("h264", 2) == pset.key("h264", 2)  # plugins' files leave keys alone
    assert pset.key("h264", 2) != pset.key("h264", 3)
    # one more level changes the set's hash but not the keys of the levels that were there
    data = yaml.safe_load(DEFAULT_SET.read_text())
    data["perturbations"]["h264"]["levels"].append(48)
    grown = tmp_path / "grown.yaml"
    grown.write_text(yaml.safe_dump(data))
    bigger = load_perturbation_set(base=grown)
    assert bigger.identity != pset.identity
    assert bigger.key("h264", 2) == pset.key("h264", 2) and len(bigger.get("h264").levels) == 6


def test_user_chain_extends_the_default_set(tmp_path):
    user = write_set(tmp_path / "mine.yaml", {"blur_then_h264": {"levels": [
        [{"perturbation": "df_blur", "level": 1}, {"fn": "reencode", "params": {"codec": "libx264", "crf": 30}}],
        [{"perturbation": "df_blur", "level": 3}, {"perturbation": "h264", "level": 4}]]}}, version=7)
    pset = load_perturbation_set([user])
    chain = pset.get("blur_then_h264")
    assert [s.fn for s in chain.steps(2)] == ["gaussian_blur", "reencode"]
    assert chain.steps(2)[1].kwargs["crf"] == 38 and chain.scope == "video"
    assert "+v7-" in pset.identity and "df_blur" in pset.names()
    assert [p.level for p in validate_grid({"blur_then_h264": "all"}, pset)] == [1, 2]


@pytest.mark.parametrize("grid, match", [
    ({"df_blurr": [1]}, "Unknown perturbation 'df_blurr'. Did you mean: df_blur"),
    ({"df_blur": [6]}, "level 6 of perturbation 'df_blur' is outside the declared range 1..5"),
    ({"df_blur": [0]}, "outside the declared range 1..5"),
    ({"df_blur": ["high"]}, "level 'high' of perturbation 'df_blur' is not a level"),
    ({"df_blur": 2.5}, "level 2.5 of perturbation 'df_blur' is not a level"),
    (["df_blur", ("jpeg", 9)], "level 9 of perturbation 'jpeg'"),
    ([42], "grid entry 42"),
])
def test_bad_grids(grid, match):
    with pytest.raises((UnknownKeyError, PerturbationSpecError), match=match):
        validate_grid(grid)


def test_missing_codec_is_named_by_the_grid_not_at_load(monkeypatch):
    real = codec.has_encoder
    monkeypatch.setattr(codec, "has_encoder", lambda name: name != "libx265" and real(name))
    pset = load_perturbation_set()  # the set still loads
    with pytest.raises(PerturbationSpecError, match="codec 'libx265' is not in this FFmpeg build"):
        validate_grid({"df_blur": [1], "h265": [2]}, pset)
    assert len(validate_grid({"h264": "all"}, pset)) == 5


@pytest.mark.parametrize("entry, error, match", [
    ({"levels": [[{"fn": "gaussian_blurr", "params": {"kernel": 3}}]]}, UnknownKeyError,
     "Unknown frame function 'gaussian_blurr'. Did you mean: gaussian_blur"),
    ({"levels": [[{"perturbation": "no_such", "level": 1}]]}, UnknownKeyError,
     "Unknown perturbation \\(.*step 1\\) 'no_such'"),
    ({"levels": [[{"perturbation": "df_blur", "level": 7}]]}, PerturbationSpecError,
     "level 7 of perturbation 'df_blur' is outside"),
    ({"levels": [[{"fn": "jpeg", "params": {"quality": 150}}]]}, PerturbationSpecError,
     "'quality' of 'jpeg' = 150 is outside its valid range \\[0, 100\\]"),
    ({"levels": [[{"fn": "jpeg", "params": {"qualty": 50}}]]}, UnknownKeyError,
     "Unknown parameter of frame function 'jpeg'.*'qualty'. Did you mean: quality"),
    ({"levels": [[{"fn": "jpeg", "params": {}}]]}, PerturbationSpecError, "needs parameter\\(s\\) quality"),
    ({"levels": [[{"fn": "reencode", "params": {"codec": "libx264", "crf": 60}}]]},
     PerturbationSpecError, "crf of 'libx264' must be in \\[0, 51\\], got 60"),
    ({"levels": [[{"fn": "reencode", "params": {"codec": "libx264"}}]]}, PerturbationSpecError,
     "give exactly one of crf and bpp"),
    ({"levels": [[{"fn": "reencode", "params": {"codec": "mpeg2video", "crf": 3}}]]},
     PerturbationSpecError, "codec 'mpeg2video' is not one the engine drives"),
    ({"levels": [[{"fn": "reencode", "params": {"codec": "libx264", "crf": 23, "preset": "warp"}}]]},
     PerturbationSpecError, "preset of 'libx264' must be one of"),
    ({"levels": [[{"fn": "resize_down_up", "params": {"scale": 0.5, "up": "lanczos"}}]]},
     PerturbationSpecError, "'up' of 'resize_down_up' must be one of"),
    ({"levels": [[{"fn": "gamma", "params": {"gamma": "2"}}]]}, PerturbationSpecError, "must be a number"),
    ({"levels": [["gaussian_blur"]]}, PerturbationSpecError, "a step is"),
    ({"levels": []}, PerturbationSpecError, "needs a non-empty 'levels:' list"),
    ({"fn": "gamma", "levels": [1.5]}, PerturbationSpecError, "names the parameter its levels set"),
    ({"fn": "gamma", "vary": "gamma", "levels": [1.5, 500]}, PerturbationSpecError,
     "level 2: parameter 'gamma' of 'gamma' = 500 is outside"),
])
def test_bad_user_sets(tmp_path, entry, error, match):
    user = write_set(tmp_path / "bad.yaml", {"mine": entry})
    with pytest.raises(error, match=match):
        load_perturbation_set([user])


def test_bad_set_files(tmp_path):
    (tmp_path / "nover.yaml").write_text(yaml.safe_dump({"perturbations": {"a": {}}}))
    with pytest.raises(PerturbationSpecError, match="nover.yaml: a perturbation set needs a top-level 'version:'"):
        load_perturbation_set([tmp_path / "nover.yaml"])
    dup = write_set(tmp_path / "dup.yaml", {"jpeg": {"fn": "jpeg", "vary": "quality", "levels": [50]}})
    with pytest.raises(PerturbationSpecError, match="perturbation 'jpeg' is already defined in"):
        load_perturbation_set([dup])
    loop = write_set(tmp_path / "loop.yaml", {
        "a": {"levels": [[{"perturbation": "b", "level": 1}]]},
        "b": {"levels": [[{"perturbation": "a", "level": 1}]]}})
    with pytest.raises(PerturbationSpecError, match="refers to itself through a -> b -> a"):
        load_perturbation_set([loop])


def test_registry_lookup_and_registration():
    assert get_function("jpeg").perturb_spec.scope == "frame"
    with pytest.raises(PerturbationSpecError, match="'jpeg' is already registered"):
        register_function("jpeg", "x:y")

    from benchmark.perturb.functions import frame_function

    @frame_function(bounds={"offset": (0, 50)})
    def brighten(frames, rng, offset):
        return np.clip(frames.astype(int) + offset, 0, 255).astype(np.uint8)

    register_function("test_brighten", brighten)
    try:
        check_params("test_brighten", {"offset": 10}, "test")
        with pytest.raises(PerturbationSpecError, match="= 70 is outside its valid range \\[0, 50\\]"):
            check_params("test_brighten", {"offset": 70}, "test")
    finally:
        FUNCTIONS.unregister("test_brighten")


def test_seeds_depend_on_video_perturbation_and_level():
    seed = perturbation_seed("vid/1", "df_noise", 3)
    assert seed == perturbation_seed("vid/1", "df_noise", 3) and 0 <= seed < 2 ** 63
    others = {perturbation_seed("vid/2", "df_noise", 3), perturbation_seed("vid/1", "df_block", 3),
              perturbation_seed("vid/1", "df_noise", 4)}
    assert seed not in others and len(others) == 3
    assert perturbation_rng("v", "x", 1).integers(1 << 30) == perturbation_rng("v", "x", 1).integers(1 << 30)
