"""Fitted self-exciting models kept under the data home, reused instead of refitted.

An alert after a serious incident needs a fitted ETAS model; fitting one on two years of events
takes tens of seconds. The store keeps each fit (:meth:`ETASForecaster.to_state`: parameters,
convergence and trust, the events it saw, its background) as a JSON file and a NumPy archive
(no pickle), with what it was fitted on: the dataset, the study area, the settings, the data
window and a digest of the events in that window. A later alert reuses the newest fit whose
cut-off is before the incident and at most ``max_age_days`` old, *if* the events of its window
are still the same (a re-ingested or corrected dataset gives another digest and a refit), and
conditions it on the events since (:meth:`ETASForecaster.conditioned_on`). The alert says which
fit it used and how old it is.

Layout: ``<home>/models/<key>/<cut-off>.json`` and ``.npz``, ``key`` a digest of dataset, study
area and settings. Files are written to a temporary name and moved into place.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from patrolcast.errors import InputError
from patrolcast.events import EventSet, from_days
from patrolcast.forecast.etas import ETASForecaster

__all__ = ["ModelStore", "StoredFit", "events_digest", "fit_key"]

FORMAT = 1


def events_digest(events: EventSet) -> str:
    """SHA-256 of the events' times, places and marks, in time order (the data a fit saw)."""
    order = np.argsort(events.t, kind="stable")
    h = hashlib.sha256()
    for arr in (events.t, events.x, events.y):
        h.update(np.ascontiguousarray(np.asarray(arr, dtype=np.float64)[order]).tobytes())
    marks = events.mark if len(events.mark) else np.zeros(0, dtype=np.int64)
    h.update(np.ascontiguousarray(np.asarray(marks, dtype=np.int64)[order] if marks.size
                                  else marks).tobytes())  # fmt: skip
    return h.hexdigest()


# bumped when the estimator's fit changes, so that fits made by an older version are not reused
ESTIMATOR_VERSION = 3


def fit_key(dataset: str, study_area: dict[str, Any], settings: dict[str, Any]) -> str:
    """Digest naming the fits of one dataset, study area and set of fit settings."""
    doc = json.dumps(
        {"dataset": dataset, "study_area": {k: study_area.get(k) for k in ("source", "km2",
                                                                            "crs")},
         "settings": settings, "estimator": ESTIMATOR_VERSION},
        sort_keys=True, default=str,
    )  # fmt: skip
    return hashlib.sha256(doc.encode()).hexdigest()[:20]


@dataclass(frozen=True)
class StoredFit:
    """A fit read back from (or just written to) the store, with what it was fitted on."""

    model: ETASForecaster
    meta: dict[str, Any]
    path: Path
    reused: bool = False
    reason: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def cutoff(self) -> float:
        return float(self.model.fit_cutoff_)

    def describe(self, at: float) -> dict[str, Any]:
        """Which fit an alert used, how old it was at ``at`` (days since epoch), and why."""
        return {
            "fit": str(self.path),
            "reused": self.reused,
            "why": self.reason,
            "fit_cutoff": from_days(self.cutoff).isoformat(timespec="minutes"),
            "age_days": round(at - self.cutoff, 3),
            "saved_at": self.meta.get("saved_at"),
            "events_in_window": self.meta.get("events_in_window"),
            "window_days": self.meta.get("window_days"),
            **self.extra,
        }


class ModelStore:
    """Fits under ``root`` (``<home>/models``), one folder per :func:`fit_key`."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def _folder(self, key: str) -> Path:
        if not key or not all(c in "0123456789abcdef" for c in key):
            raise InputError(f"bad model key {key!r}")
        return self.root / key

    @staticmethod
    def _stem(cutoff: float) -> str:
        return f"{cutoff:.6f}".replace(".", "_")

    def save(
        self,
        key: str,
        model: ETASForecaster,
        *,
        window_events: EventSet,
        window_start: float,
        info: dict[str, Any],
    ) -> StoredFit:
        """Keep a fresh fit under ``key``.

        ``window_events`` are the events it was fitted on, all those of the dataset in
        ``[window_start, cut-off)``: their digest is checked before the fit is reused.
        """
        meta, arrays = model.to_state()
        folder = self._folder(key)
        folder.mkdir(parents=True, exist_ok=True)
        stem = self._stem(model.fit_cutoff_)
        doc = {
            "format": FORMAT,
            "key": key,
            "fit_cutoff": model.fit_cutoff_,
            "window_days": model.window_days_,
            "digest_from": float(window_start),
            "events_in_window": len(window_events),
            "events_digest": events_digest(window_events),
            "saved_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "summary": {k: v for k, v in model.params_summary().items() if k != "restarts"},
            "state": meta,
            **info,
        }
        npz = folder / f"{stem}.npz"
        tmp = folder / f".{stem}.{os.getpid()}.npz"
        np.savez_compressed(tmp, **arrays)  # type: ignore[arg-type]
        os.replace(tmp, npz)
        path = folder / f"{stem}.json"
        tmp_json = folder / f".{stem}.{os.getpid()}.json"
        tmp_json.write_text(json.dumps(doc, indent=1, default=str), encoding="utf-8")
        os.replace(tmp_json, path)
        return StoredFit(model, doc, path, reused=False, reason="fitted now and saved")

    def fits(self, key: str) -> list[tuple[float, Path]]:
        """The saved fits of ``key``: (cut-off, JSON path), oldest first."""
        folder = self._folder(key)
        if not folder.is_dir():
            return []
        out = []
        for path in folder.glob("[0-9]*.json"):
            try:
                out.append((float(path.stem.replace("_", ".")), path))
            except ValueError:
                continue
        return sorted(out)

    def load(self, path: Path) -> StoredFit:
        doc = json.loads(path.read_text(encoding="utf-8"))
        if doc.get("format") != FORMAT:
            raise InputError(f"{path} holds a model of another format ({doc.get('format')!r})")
        with np.load(path.with_suffix(".npz"), allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        model = ETASForecaster.from_state(doc["state"], arrays)
        return StoredFit(model, doc, path, reused=True)

    def latest(
        self, key: str, at: float, *, max_age_days: float, current: EventSet | None = None
    ) -> tuple[StoredFit | None, str]:
        """The newest fit of ``key`` with its cut-off in ``[at - max_age_days, at]``.

        With ``current`` (the dataset's events as they are now), a fit whose window's events
        have changed since is not reused. Returns the fit (or None) and the reason in words.
        """
        tol = 1e-5  # days (about a second): file names keep the cut-off to 1e-6 days
        eligible = [(c, p) for c, p in self.fits(key) if at - max_age_days - tol <= c <= at + tol]
        if not eligible:
            older = [c for c, _ in self.fits(key) if c <= at]
            if older:
                age = at - max(older)
                return None, f"the newest stored fit is {age:.1f} days old (> {max_age_days:g})"
            return None, "no stored fit for this dataset, study area and settings"
        fit = self.load(eligible[-1][1])
        cutoff, path = fit.cutoff, eligible[-1][1]
        if current is not None:
            start = float(fit.meta["digest_from"])
            window = current.select((current.t >= start - 1e-9) & (current.t < cutoff))
            if events_digest(window) != fit.meta["events_digest"]:
                return None, (
                    f"the events before the stored fit of {from_days(cutoff).date()} have "
                    "changed since (re-ingested or corrected data)"
                )
        age = max(at - fit.cutoff, 0.0)
        return (
            StoredFit(fit.model, fit.meta, path, True,
                      f"stored fit {age:.1f} days old (at most {max_age_days:g}), same events"),
            "",
        )  # fmt: skip
