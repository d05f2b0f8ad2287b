"""LVDM: the bank pipeline and its x̂0, stored trajectories, upstream layouts, the rule, the guard."""
import numpy as np
import pandas as pd
import pytest
import torch

from benchmark.errors import DefenceConfigError, TrajectoryError
from benchmark.generation.x0 import (X0Recorder, load_trajectory, read_upstream_pred_x0,
                                     save_trajectory, upstream_x0_folders)
from detectors.lvdm.data import EmbeddedSpec, build_pipeline, generate_trajectories, materialize_steps
from detectors.lvdm.guard import LVDMGuard, guarded_generate
from detectors.lvdm.rule import early_exit, flag_matrix, sweep

TINY = EmbeddedSpec(size=16, frames=4, clips_per_photo=1, videos_per_prompt=1,
                    unsafe_videos_per_prompt=2, steps=4)


@pytest.fixture(scope="module")
def pipe():
    return build_pipeline(TINY)


def test_the_bank_pipeline_records_x0_that_converges_to_the_video(pipe):
    pipeline, photos = pipe
    with X0Recorder(pipeline) as recorder:
        frames = pipeline([photos.index("cat")], 4, generator=torch.Generator().manual_seed(0)).frames
    x0 = recorder.stacked()                                  # [S, B, 3, T, H, W] in [-1, 1]
    assert x0.shape == (4, 1, 3, 4, 16, 16) and frames.shape == (1, 3, 4, 16, 16)
    assert torch.allclose((x0[-1] + 1) / 2, frames, atol=1e-4)  # the last x̂0 is the video
    distance = [(x0[s] - x0[-1]).abs().mean().item() for s in range(4)]
    assert distance[0] > distance[-2] > distance[-1] == 0     # early x̂0 are blends


def test_trajectories_are_stored_and_checked(tmp_path):
    videos = generate_trajectories(TINY, tmp_path / "x0")
    assert set(videos["split"]) == {"train", "val", "test"}
    unsafe = videos[videos["label"] == 1]
    assert set(unsafe["category"]) <= set(TINY.categories)
    clips, meta = load_trajectory(videos["path"].iloc[0], steps=4, shape=(3, 4, 16, 16))
    assert clips.dtype == np.uint8 and clips.shape == (4, 3, 4, 16, 16)
    assert meta["video_id"] == videos["video_id"].iloc[0] and len(meta["timesteps"]) == 4
    steps = materialize_steps(videos.head(2), tmp_path / "steps", 4)
    assert len(steps) == 8 and sorted(set(steps["step"])) == [0, 1, 2, 3]
    assert len(list((tmp_path / "steps" / "step_003" / videos["video_id"].iloc[0]).glob("*.png"))) == 4


def test_a_trajectory_with_other_steps_or_shapes_names_the_file_and_step(tmp_path):
    good = np.zeros((3, 3, 4, 16, 16), np.uint8)
    path = save_trajectory(tmp_path / "v.npz", good, {"video_id": "v"})
    with pytest.raises(TrajectoryError, match=r"v.npz: expected 4 steps, found 3"):
        load_trajectory(path, steps=4)
    odd = list(good) + [np.zeros((3, 4, 8, 8), np.uint8)]
    np.savez(tmp_path / "w.npz", **{f"step_{i:03d}": c for i, c in enumerate(odd)})
    with pytest.raises(TrajectoryError, match=r"w.npz: step 3 holds uint8 \(3, 4, 8, 8\), "
                                              r"expected uint8 \(3, 4, 16, 16\)"):
        load_trajectory(tmp_path / "w.npz")
    np.savez(tmp_path / "gap.npz", step_000=good[0], step_002=good[0])
    with pytest.raises(TrajectoryError, match="gap.npz: step 1 is missing"):
        load_trajectory(tmp_path / "gap.npz")
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(TrajectoryError, match="bad.npz: cannot be read"):
        load_trajectory(tmp_path / "bad.npz")


def test_upstream_pred_x0_layout(tmp_path):
    data = torch.zeros(2, 5, 4, 3, 8, 8)                     # [N, S, C, T, h, w]
    torch.save(data, tmp_path / "pred_x0.pth")
    assert read_upstream_pred_x0(tmp_path / "pred_x0.pth", steps=5).shape == data.shape
    with pytest.raises(TrajectoryError, match="pred_x0.pth: video 0 has 5 steps, expected 50"):
        read_upstream_pred_x0(tmp_path / "pred_x0.pth", steps=50)
    steps = [data[1, s] for s in range(3)] + [torch.zeros(4, 3, 8, 4), data[1, 4]]
    torch.save([data[0], steps], tmp_path / "l.pth")    # per-step tensors, before stacking
    with pytest.raises(TrajectoryError, match=r"l.pth: video 1 step 3 has shape \(4, 3, 8, 4\), "
                                              r"expected \(4, 3, 8, 8\)"):
        read_upstream_pred_x0(tmp_path / "l.pth", steps=5)


def test_upstream_decoded_folders(tmp_path):
    root = tmp_path / "group1"
    for step in range(3):
        (root / str(step)).mkdir(parents=True)
        for index in (4, 7):
            (root / str(step) / f"{index}.mp4").write_bytes(b"")
    table = upstream_x0_folders(root, steps=3)
    assert len(table) == 6 and set(table["category"]) == {"group1"}
    (root / "2" / "7.mp4").unlink()
    with pytest.raises(TrajectoryError, match=r"group1: video 7 has no file at step 2"):
        upstream_x0_folders(root, steps=3)
    with pytest.raises(TrajectoryError, match="step 3 is missing"):
        upstream_x0_folders(root, steps=4)


def test_early_exit_rule_by_hand():
    flags = np.array([[1, 1, 0, 0, 0],    # 2 of the first 3: unsafe at step 2 (need >= 1.8)
                      [0, 1, 0, 1, 1],    # 1 of the first 3: safe
                      [0, 0, 1, 1, 1],    # 1 of the first 3
                      [1, 1, 1, 0, 0]], bool)
    unsafe, stop = early_exit(flags, eta=3, lam=0.6)
    assert unsafe.tolist() == [True, False, False, True] and stop.tolist() == [2, 0, 0, 2]
    unsafe, stop = early_exit(flags, eta=5, lam=0.6)   # need >= 3 of 5
    assert unsafe.tolist() == [False, True, True, True] and stop.tolist() == [0, 5, 5, 3]
    with pytest.raises(DefenceConfigError, match=r"eta: expected an int in \[1, 5\]"):
        early_exit(flags, eta=6, lam=0.5)
    with pytest.raises(DefenceConfigError, match=r"lambda: expected a fraction in \(0, 1\]"):
        early_exit(flags, eta=3, lam=0)


def test_sweep_reports_metrics_and_compute_saved_beside_the_last_step_baseline():
    flags = np.array([[1, 1, 0, 0], [1, 1, 1, 1], [0, 0, 0, 1], [0, 0, 0, 0]], bool)
    labels = [1, 1, 0, 0]
    rows = [{"video_id": f"v{v}", "label": labels[v], "step": s, "flag": bool(flags[v, s])}
            for v in range(4) for s in range(4)]
    table = sweep(pd.DataFrame(rows), etas=[2], lambdas=[1.0], balance=False)
    base, rule = table.iloc[0], table.iloc[1]
    assert base["rule"] == "last_step" and base["accuracy"] == 0.5 and base["compute_saved"] == 0
    assert rule["accuracy"] == 1.0 and rule["f1"] == 1.0
    assert rule["compute_saved"] == pytest.approx((2 / 4 + 2 / 4) / 4)  # two videos stop after 2 of 4
    ids, _, matrix = flag_matrix(pd.DataFrame(rows))
    assert ids == ["v0", "v1", "v2", "v3"] and matrix.shape == (4, 4)
    with pytest.raises(DefenceConfigError, match="video v3 has no flag at step 3"):
        flag_matrix(pd.DataFrame(rows[:-1]))


def test_the_guard_stops_the_bank_pipeline_early_with_its_reason(pipe):
    pipeline, photos = pipe
    fires_at = {0: False, 1: True, 2: True, 3: True}
    guard = LVDMGuard(lambda step, x0: np.array([fires_at[step]] * len(x0)), eta=3, lam=0.6,
                      total_steps=4)
    output, decision = guarded_generate(pipeline, guard, prompt_ids=[0], num_inference_steps=4)
    assert output is None and decision.stopped and decision.stop_step == 3
    assert "generation stopped after step 3" in decision.reason
    calm = LVDMGuard(lambda step, x0: np.array([False]), eta=3, lam=0.6, total_steps=4)
    output, decision = guarded_generate(pipeline, calm, prompt_ids=[0], num_inference_steps=4)
    assert output.frames.shape == (1, 3, 4, 16, 16) and not decision.stopped
    assert decision.flags == [[False]] * 3  # only the first eta steps are inspected


def test_step_detectors_train_deterministically_and_score_every_test_video(tmp_path):
    from detectors.lvdm.train import detector_config, step_scores, train_step_detectors

    videos = generate_trajectories(TINY, tmp_path / "x0")
    steps = materialize_steps(videos, tmp_path / "steps", 4)
    cfg = detector_config({"method": "mmvgm_mae", "config": "mini", "overrides": {
        "input.size": 16, "input.frames": 4, "model.backbone.config.image_size": 16,
        "model.backbone.config.num_frames": 4, "model.backbone.config.patch_size": 8,
        "train.epochs": 1}})
    first = train_step_detectors(steps, ["standin_a"], 2, cfg)
    torch.rand(100)  # other work in between must not change the result
    again = train_step_detectors(steps, ["standin_a"], 2, cfg)
    for key in (("standin_a", 0), ("standin_a", 1)):  # the second starts from the shared init
        a, b = first[key].state_dict, again[key].state_dict
        assert all(torch.equal(a[k], b[k]) for k in a)
    scores = step_scores(steps[steps["step"] == 0], first, cfg)
    test = videos[videos["split"] == "test"]
    assert sorted(scores["video_id"]) == sorted(test["video_id"])
    assert scores["score_standin_a"].between(0, 1).all() and scores["flag"].dtype == bool
