"""Scoring clean and perturbed views of videos inside a run (robustness), with the score cache.

A mixin of `benchmark.run_context.RunContext`: it uses the context's request, unit, models, weights,
workers and timings.
"""
from __future__ import annotations


def _default_pset():
    from benchmark.perturb.config import default_set

    return default_set()


class ViewScoring:
    """``predict_views`` for protocols; see `benchmark.data.views`."""

    def predict_views(self, detector, frame, views, pset=None, decode_once: bool = True,
                      use_cache: bool = True):
        """Scores the videos of ``frame`` under every view (`benchmark.data.views.View`), each
        video decoded once; scores cached by (model, video content, view) are reused, so a new
        level or perturbation computes only its own scores.

        Returns the unit's tidy table: one row per (video, view), with ``perturbation``,
        ``severity``, ``read_seconds`` (the reader under that view) and ``decode_seconds``.
        """
        import pandas as pd

        from benchmark.score_cache import ScoreCache, model_key

        digest = self._model_digest()
        cache = ScoreCache() if use_cache and digest else None
        model = model_key(*digest) if digest else ""
        keys = [v.name if v.clean else (pset or _default_pset()).key(v.perturbation, v.level)
                for v in views]
        fingerprint = (frame["fingerprint"].astype(object) if "fingerprint" in frame.columns
                       else pd.Series([None] * len(frame), index=frame.index))
        known = [cache.get(model, [f for f in fingerprint if f], k) if cache else {} for k in keys]
        rows: list[dict] = [{} for _ in views]  # per view: video_id -> row
        for v in range(len(views)):
            for vid, fp in zip(frame["video_id"], fingerprint):
                if fp and fp in known[v]:
                    score, n_clips, status, error = known[v][fp]
                    rows[v][vid] = {"video_id": vid, "score": score, "n_clips": n_clips,
                                    "status": status, "error": error}
        missing = [tuple(v for v in range(len(views)) if vid not in rows[v]) for vid in frame["video_id"]]
        for wanted in sorted(set(m for m in missing if m)):
            todo = frame[[m == wanted for m in missing]]
            self._score_views(detector, todo, [views[v] for v in wanted], pset, decode_once,
                              [rows[v] for v in wanted])
            if cache:
                for v in wanted:
                    cache.put(model, keys[v], [(fp, r["score"], int(r["n_clips"]), r["status"], r["error"])
                                               for fp, r in ((f, rows[v][i]) for i, f in
                                                             zip(todo["video_id"], fingerprint[todo.index]))
                                               if fp])
        if cache:
            cache.close()
        return pd.concat([self._view_table(frame, rows[v], view) for v, view in enumerate(views)],
                         ignore_index=True)

    def _score_views(self, detector, todo, views, pset, decode_once, into: list[dict]) -> None:
        from benchmark.inference import predict_views

        par = self.parallelism
        preds, timings = predict_views(detector, todo, views, pset, self._batch_size(detector),
                                       par.eval_workers, self.request.progress,
                                       f"views[{self.unit.name}]", decode_once, cost=self.cost,
                                       forward_threads=par.forward_threads)
        desc = f"views[{self.unit.name}]"
        self.timings[desc] = round(self.timings.get(desc, 0.0) + sum(timings["decode"])
                                   + sum(sum(t) for t in timings["views"]), 2)
        for v, pred in enumerate(preds):
            table = pred.table()
            table["read_seconds"], table["decode_seconds"] = timings["views"][v], timings["decode"]
            into[v].update({r["video_id"]: r for r in table.to_dict("records")})

    def _view_table(self, frame, rows: dict, view):
        import pandas as pd

        table = frame[["video_id", "dataset", "generator", "label", "split", "source_id"]]
        table = table.reset_index(drop=True).merge(pd.DataFrame(list(rows.values())),
                                                   on="video_id", how="left")
        for column in ("read_seconds", "decode_seconds"):
            if column not in table.columns:
                table[column] = float("nan")
        table["method"], table["config"] = self.request.method, self.request.config
        table["protocol"], table["seed"] = self.request.protocol, self.seed
        table["unit"] = self.unit.name
        table["perturbation"], table["severity"] = view.perturbation, view.level
        return table

    def _model_digest(self) -> tuple | None:
        """(method, config, weights sha256, precision) naming the model in the score cache."""
        if self.weights is not None:
            sha = self.weights.digest
        else:
            sha = (self.models.get(self.unit.name) or {}).get("sha256")
        if not sha:
            return None
        return (self.request.method, self.config, sha, self.request.precision)

