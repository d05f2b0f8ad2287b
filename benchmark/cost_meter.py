"""What a run's own evaluation cost: the ``cost`` block of run.json and metrics.json.

`benchmark.cost` measures a detector on seeded clips, apart from any run. This module measures a
run while it does its real work, the evaluation passes (`RunContext.predict`, ``predict_views``;
training and its validation passes are not counted), with no extra forward pass but one:

- ``decode_ms_per_video``: the data layer's wall time per scored video, timed in the loader around
  each video's read (decode, sampling, face crops or optical flow, resizing; robustness: the
  decode once plus each view's perturbed read), summed over videos. With decoding workers this
  time runs beside the forward, so it is the work per video, not the wait it adds.
- ``forward_ms_per_video``: wall time of the detector's inference call on each batch (the clips'
  transfer to the device, the forward, aggregation and the copy back, which synchronises a GPU),
  summed over batches and divided by the videos scored.
- ``gflops_per_clip``: `benchmark.cost.count_gflops` on the first real clip the run evaluates (one
  clip's forward under ``torch.utils.flop_counter.FlopCounterMode``, outside the timed batches);
  ``gflops_per_video`` multiplies it by the mean clips per scored video.
- ``params``, ``model_memory_mb``: the evaluated model's (`benchmark.cost.model_size`).
- ``peak_memory_mb``: the highest memory during the evaluation passes. CUDA: the peak of
  ``torch.cuda.max_memory_allocated`` (tensors, weights included), reset when a pass starts. CPU:
  the process's peak resident set (``VmHWM`` of /proc/self/status), reset when a pass starts by
  writing 5 to /proc/self/clear_refs; where that cannot be reset, the process's peak since it
  started, and the record says so. Decoding workers are other processes, not counted.

Each unit's numbers are stored with its part (resumed units keep theirs); `run_cost` combines them.
"""
from __future__ import annotations

import re
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

_MB = 2.0 ** 20
STATUS, CLEAR_REFS = Path("/proc/self/status"), Path("/proc/self/clear_refs")
MEASURED_IN = ("the run's evaluation passes (RunContext.predict / predict_views); training is not "
               "counted")


def _vm_hwm_bytes() -> int | None:
    try:
        found = re.search(r"^VmHWM:\s+(\d+)\s+kB", STATUS.read_text(), re.MULTILINE)
    except OSError:
        return None
    return int(found.group(1)) * 1024 if found else None


class PeakMemory:
    """Resettable peak memory of one device: `reset` when a pass starts, `read` when it ends."""

    def __init__(self, device: str):
        self.cuda = str(device).startswith("cuda")
        self.device = device
        self.how: str | None = None

    def reset(self) -> None:
        if self.cuda:
            import torch

            torch.cuda.reset_peak_memory_stats(self.device)
            self.how = "torch.cuda.max_memory_allocated (reset when each pass starts)"
            return
        try:
            CLEAR_REFS.write_text("5")  # resets VmHWM to the current resident size (Linux >= 4.0)
            self.how = "process peak RSS (VmHWM, reset when each pass starts)"
        except OSError:
            self.how = "process peak RSS since the process started (VmHWM could not be reset)"

    def read(self) -> float | None:
        if self.cuda:
            import torch

            return torch.cuda.max_memory_allocated(self.device) / _MB
        peak = _vm_hwm_bytes()
        if peak is None:
            self.how = "unavailable: /proc/self/status has no VmHWM"
        return None if peak is None else peak / _MB


class CostMeter:
    """Accumulates one run's evaluation cost, unit by unit (`RunContext.cost`)."""

    def __init__(self, device: str):
        self.memory = PeakMemory(device)
        self.gflops: dict[str, Any] | None = None  # counted once per process, on a real clip
        self.worker_peak_mb: float | None = None  # of the pass's forwarding loader workers
        self.start_unit()

    def start_unit(self) -> None:
        self.decode_s = self.forward_s = 0.0
        self.n_videos = self.n_clips = 0
        self.peak_mb: float | None = None
        self.model: dict[str, Any] | None = None

    @contextmanager
    def evaluating(self, detector) -> Iterator["CostMeter"]:
        """One evaluation pass of ``detector``: its size recorded, the memory peak taken."""
        from benchmark.cost import model_size

        if self.model is None:
            self.model = model_size(detector.model)
        self.memory.reset()
        self.worker_peak_mb = None
        try:
            yield self
        finally:
            peak = self.memory.read()
            if self.worker_peak_mb is not None:  # the forward ran in loader workers
                peak = max(peak or 0.0, self.worker_peak_mb)
                self.memory.how = (f"{self.memory.how}; and the peak resident set of the loader "
                                   f"workers that ran the forward (VmHWM, from their fork)")
            if peak is not None:
                self.peak_mb = peak if self.peak_mb is None else max(self.peak_mb, peak)

    def add(self, detector, clips, n_videos: int, read_seconds: float, forward_seconds: float,
            n_clips: int | None = None, worker_peak_mb: float | None = None) -> None:
        """One scored batch: ``clips`` uint8 ``[N_clips, 3, T, H, W]`` of ``n_videos`` videos.

        Args:
            n_clips: the clips scored, where ``clips`` holds only the first of them (a batch
                scored in a loader worker); None: ``len(clips)``.
            worker_peak_mb: the peak resident memory of the loader worker that ran the forward;
                the pass's peak is the larger of it and the main process's.
        """
        self.decode_s += read_seconds
        self.forward_s += forward_seconds
        self.n_videos += n_videos
        self.n_clips += len(clips) if n_clips is None else n_clips
        if worker_peak_mb is not None:
            self.worker_peak_mb = max(self.worker_peak_mb or 0.0, worker_peak_mb)
        if self.gflops is None and len(clips):
            from benchmark.cost import FLOP_COUNTER, count_gflops

            one = clips[:1].to(detector.device)  # [1, 3, T, H, W]
            self.gflops = {"gflops_per_clip": count_gflops(detector, one),
                           "clip_shape": [int(d) for d in one.shape[1:]],
                           "flops_counted_by": f"{FLOP_COUNTER} on the run's first clip"}

    def unit_record(self) -> dict[str, Any]:
        """This unit's numbers (stored with its part), then a fresh start for the next unit."""
        record = {"decode_s": round(self.decode_s, 6), "forward_s": round(self.forward_s, 6),
                  "n_videos": self.n_videos, "n_clips": self.n_clips,
                  "peak_memory_mb": self.peak_mb, "memory_measured_by": self.memory.how,
                  **(self.model or {}), **(self.gflops if self.n_videos and self.gflops else {})}
        self.start_unit()
        return record


def _per_video(seconds: float, n: int) -> float | None:
    return 1e3 * seconds / n if n else None


def run_cost(units: Iterable[Mapping[str, Any]], device: Mapping[str, Any]) -> dict[str, Any]:
    """The run's ``cost`` block from its units' records (`CostMeter.unit_record`).

    Args:
        units: one record per unit; a unit stored before cost was measured has none (skipped,
            and the note says how many).
        device: ``device``, ``device_name``, ``threads``, ``workers``, ``world_size``, ``torch``.
    """
    units = list(units)
    known = [u for u in units if u]
    n = sum(int(u.get("n_videos", 0)) for u in known)
    clips = sum(int(u.get("n_clips", 0)) for u in known)
    first = lambda key: next((u[key] for u in known if u.get(key) is not None), None)  # noqa: E731
    peaks = [u["peak_memory_mb"] for u in known if u.get("peak_memory_mb") is not None]
    per_clip = first("gflops_per_clip")
    notes = []
    if len(known) < len(units):
        notes.append(f"{len(units) - len(known)} unit(s) stored without cost records: not counted")
    if not n:
        notes.append("no video was scored through the detector interface in this run (a "
                     "defence, or every video failed): decoding, forward, FLOPs and memory per "
                     "video do not apply; see the run's timings")
    clips_per_video = clips / n if n else None
    return {**dict(device), "params": first("params"), "model_memory_mb": first("model_memory_mb"),
            "gflops_per_clip": per_clip, "clip_shape": first("clip_shape"),
            "flops_counted_by": first("flops_counted_by"), "clips_per_video": clips_per_video,
            "gflops_per_video": (per_clip * clips_per_video
                                 if per_clip is not None and clips_per_video else None),
            "decode_ms_per_video": _per_video(sum(u.get("decode_s", 0.0) for u in known), n),
            "forward_ms_per_video": _per_video(sum(u.get("forward_s", 0.0) for u in known), n),
            "n_videos": n, "n_clips": clips,
            "peak_memory_mb": max(peaks) if peaks else None,
            "memory_measured_by": first("memory_measured_by"), "measured_in": MEASURED_IN,
            "note": "; ".join(notes)}


def device_record(device: str, workers: int, world_size: int,
                  forward_threads: int | None = None) -> dict[str, Any]:
    """Where the cost was measured: device, its name, torch threads, decoding workers.

    Args:
        workers: the evaluation's loader workers.
        forward_threads: None: the forward ran in the main process (its torch threads are
            recorded); a number: in each loader worker with that many threads
            (``forward: "loader workers"``).
    """
    import platform

    import torch

    name = (torch.cuda.get_device_name(device) if device.startswith("cuda")
            else platform.processor() or platform.machine())
    from benchmark.parallelism import forwards_in_workers

    in_workers = forwards_in_workers(forward_threads, workers)
    return {"device": device, "device_name": name,
            "threads": forward_threads if in_workers else torch.get_num_threads(),
            "workers": workers, "forward": "loader workers" if in_workers else "main process",
            "world_size": world_size, "torch": torch.__version__}


def cost_columns(cost: Mapping[str, Any] | None) -> dict[str, Any]:
    """A run's cost as leaderboard columns (`benchmark.metric_catalog.COST_COLUMNS`); every
    value None for a run recorded before cost was measured."""
    from benchmark.metric_catalog import COST_COLUMNS

    cost = cost or {}
    row: dict[str, Any] = {key: cost.get(key) for key in COST_COLUMNS}
    row["cost_device"] = device_text(cost) if cost else None
    return row


def device_text(cost: Mapping[str, Any]) -> str:
    """``cpu (x86_64), 2 threads, 0 decoding workers`` (or ``..., 1 threads in each of 2 loader
    workers that decode and forward``)."""
    text = f"{cost.get('device')} ({cost.get('device_name')}), {cost.get('threads')} threads"
    if cost.get("forward") == "loader workers":
        text += f" in each of {cost['workers']} loader workers that decode and forward"
    elif cost.get("workers") is not None:
        text += f", {cost['workers']} decoding workers"
    if (cost.get("world_size") or 1) > 1:
        text += f", rank 0 of {cost['world_size']}"
    return text


def cost_text(value: Any, key: str) -> str:
    """One cost column as shown: parameters in millions, milliseconds and MiB to one decimal,
    GFLOPs to three significant digits; ``n/a`` where not measured."""
    if value is None or (isinstance(value, float) and value != value):
        return "n/a"
    if isinstance(value, str):
        return value
    if key == "params":
        return f"{value / 1e6:.3g} M"
    if key.startswith("gflops"):
        return f"{value:.3g}"
    return f"{value:.1f}"


def cost_summary(cost: Mapping[str, Any]) -> str:
    """The cost block in one line (the report's run details and the terminal)."""
    parts = [f"decode {cost_text(cost.get('decode_ms_per_video'), 'ms')} ms/video",
             f"forward {cost_text(cost.get('forward_ms_per_video'), 'ms')} ms/video "
             f"over {cost.get('n_videos')} scored videos",
             f"{cost_text(cost.get('params'), 'params')} parameters",
             f"{cost_text(cost.get('gflops_per_clip'), 'gflops')} GFLOPs/clip",
             f"{cost_text(cost.get('gflops_per_video'), 'gflops')} GFLOPs/video",
             f"peak memory {cost_text(cost.get('peak_memory_mb'), 'mb')} MiB "
             f"({cost.get('memory_measured_by') or 'not measured'})",
             f"on {device_text(cost)}"]
    if cost.get("note"):
        parts.append(str(cost["note"]))
    return "; ".join(parts)
