"""Weights loading: wrappers, prefixes, sha256, strict key/shape checks with clear errors."""
import pytest
import torch
from torch import nn

from benchmark.checkpoint import KeyMap, load_strict, official_state_dict, read_state_dict, sha256_file
from benchmark.errors import WeightsError


class Tiny(nn.Module):
    def __init__(self, width: int = 4):
        super().__init__()
        self.backbone = nn.Linear(3, width)
        self.cls_head = nn.Linear(width, 2)


KEY_MAP = KeyMap.prefixes([("head.", "cls_head.")])


def _official(model):
    return official_state_dict(model, KEY_MAP)


@pytest.mark.parametrize("wrap", ["raw", "state_dict", "model", "module_prefix", "nested"])
def test_read_state_dict_unwraps(tmp_path, wrap):
    model = Tiny()
    sd = _official(model)
    obj = {"raw": sd, "state_dict": {"state_dict": sd, "epoch": 3},
           "model": {"model": sd}, "module_prefix": {f"module.{k}": v for k, v in sd.items()},
           "nested": {"checkpoint": 1, "state_dict": {"model": sd}}}[wrap]
    path = tmp_path / "w.pth"
    torch.save(obj, path)
    loaded = read_state_dict(path)
    assert set(loaded) == set(sd)
    fresh = Tiny()
    summary = load_strict(fresh, loaded, path, KEY_MAP)
    assert summary.loaded == len(sd)
    for key, value in fresh.state_dict().items():
        assert torch.equal(value, model.state_dict()[key])


def test_key_map_round_trip():
    assert KEY_MAP.to_ours("head.fc.weight") == "cls_head.fc.weight"
    assert KEY_MAP.to_official("cls_head.fc.weight") == "head.fc.weight"
    assert KEY_MAP.to_ours("backbone.x") == "backbone.x"


def test_missing_file_is_named(tmp_path):
    with pytest.raises(WeightsError, match="not found.*nope.pth"):
        read_state_dict(tmp_path / "nope.pth")


def test_sha256_mismatch_names_file_and_digests(tmp_path):
    path = tmp_path / "w.pth"
    torch.save(_official(Tiny()), path)
    with pytest.raises(WeightsError, match=r"w\.pth: sha256 mismatch: expected 0+, file has [0-9a-f]{64}"):
        read_state_dict(path, sha256="0" * 64)
    assert len(read_state_dict(path, sha256=sha256_file(path))) == 4


def test_corrupt_file_is_an_error(tmp_path):
    path = tmp_path / "bad.pth"
    path.write_bytes(b"this is not a checkpoint")
    with pytest.raises(WeightsError, match="bad.pth: cannot be read"):
        read_state_dict(path)


def test_pickled_code_is_refused(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"state_dict": _official(Tiny()), "obj": Tiny()}, path)  # a module pickles code
    with pytest.raises(WeightsError, match="weights_only=True"):
        read_state_dict(path)


def test_other_keys_are_named(tmp_path):
    sd = _official(Tiny())
    sd["head.extra.weight"] = torch.zeros(1)
    del sd["backbone.bias"]
    with pytest.raises(WeightsError) as err:
        load_strict(Tiny(), sd, "x.pth", KEY_MAP)
    text = str(err.value)
    assert "x.pth" in text and "backbone.bias" in text and "head.extra.weight" in text
    assert "missing" in text and "unexpected" in text


def test_other_shapes_are_named():
    sd = _official(Tiny(width=5))
    with pytest.raises(WeightsError, match=r"shape mismatch.*backbone.weight: file \(5, 3\) vs model \(4, 3\)"):
        load_strict(Tiny(width=4), sd, "y.pth", KEY_MAP)


def test_ignored_keys_are_reported():
    sd = _official(Tiny())
    sd["embedder.unused"] = torch.zeros(2)
    summary = load_strict(Tiny(), sd, "z.pth", KEY_MAP, ignore=[r"^embedder\."])
    assert summary.ignored == ["embedder.unused"]
    assert "ignored 1 unused keys" in str(summary)


# -- methods released as several files ----------------------------------------------------------
class TwoNets(nn.Module):
    """Like AIGVDet: an RGB and a flow network, each released as its own file with fc as head."""

    def __init__(self):
        super().__init__()
        self.backbone = nn.ModuleDict({"rgb": nn.Linear(3, 4), "flow": nn.Linear(3, 4)})
        self.cls_head = nn.ModuleDict({"rgb": nn.Linear(4, 1), "flow": nn.Linear(4, 1)})


def _part_map(part: str) -> KeyMap:
    return KeyMap(rules=((r"^fc\.", f"cls_head.{part}."), (r"^net\.", f"backbone.{part}.")),
                  inverse=((rf"^cls_head\.{part}\.", "fc."), (rf"^backbone\.{part}\.", "net.")))


PARTS = {"rgb": _part_map("rgb"), "flow": _part_map("flow")}


def _save_parts(model, folder):
    files = {}
    for part, key_map in PARTS.items():
        files[part] = folder / f"{part}.pth"
        torch.save(official_state_dict(model, key_map, only_mapped=True), files[part])
    return files


def test_parts_round_trip_from_dict_string_and_folder(tmp_path):
    from benchmark.checkpoint import load_parts, resolve_parts

    source, files = TwoNets(), None
    files = _save_parts(source, tmp_path)
    assert set(torch.load(files["rgb"])) == {"fc.weight", "fc.bias", "net.weight", "net.bias"}
    for given in (files, f"rgb={files['rgb']},flow={files['flow']}", tmp_path):
        target = TwoNets()
        resolved = resolve_parts(given, PARTS, {"rgb": "rgb.pth", "flow": "flow.pth"})
        states = {p: read_state_dict(f) for p, f in resolved.items()}
        summary = load_parts(target, states, resolved, PARTS)
        assert summary.loaded == 8
        for key, value in source.state_dict().items():
            assert torch.equal(value, target.state_dict()[key]), key


def test_parts_errors_name_the_part_and_file(tmp_path):
    from benchmark.checkpoint import load_parts, resolve_parts

    files = _save_parts(TwoNets(), tmp_path)
    with pytest.raises(WeightsError, match=r"missing: \['flow'\]"):
        resolve_parts({"rgb": files["rgb"]}, PARTS, {})
    with pytest.raises(WeightsError, match="expected 'part=file'"):
        resolve_parts("rgb=a.pth,flow", PARTS, {})
    with pytest.raises(WeightsError, match="released as 2 files"):
        resolve_parts(files["rgb"], PARTS, {})
    states = {p: read_state_dict(f) for p, f in files.items()}
    states["flow"]["fc.weight"] = torch.zeros(1, 5)
    with pytest.raises(WeightsError, match=r"flow\.pth \(flow\).*fc\.weight: file \(1, 5\) vs model \(1, 4\)"):
        load_parts(TwoNets(), states, files, PARTS)
    del states["flow"]["fc.weight"]
    with pytest.raises(WeightsError, match=r"\(flow\): 1 keys missing from the file, first: fc\.weight"):
        load_parts(TwoNets(), states, files, PARTS)
