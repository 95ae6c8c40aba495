"""The one estimator contract every forecaster follows (after scikit-learn's).

- ``__init__`` stores keyword-only hyperparameters and nothing else; validation happens in
  :meth:`Forecaster.fit`, which returns ``self``.
- ``fit(events, cutoff=...)`` learns only from records strictly before ``cutoff`` (days since
  the epoch, UTC); it sets ``cutoff_`` and other learned state ending in ``_``.
- ``predict(support, start, end)`` returns a :class:`Forecast`: expected counts (and harm) per
  unit of ``support`` for the window ``[start, end)``, which must not begin before ``cutoff_``.
- Calling ``predict`` before ``fit`` raises :class:`NotFittedError`.

One conformance suite (``tests/forecast/test_conformance.py``) runs over every forecaster in
:data:`patrolcast.forecast.registry.FORECASTERS`, including a check that nothing after the
cut-off leaks into a fit.
"""

from __future__ import annotations

import copy
import hashlib
import inspect
import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Self

import numpy as np
import numpy.typing as npt

from patrolcast.events import EventSet, from_days, to_days
from patrolcast.geo.support import Support

FloatArray = npt.NDArray[np.float64]


class NotFittedError(RuntimeError):
    """A forecaster was used before ``fit``."""


@dataclass(frozen=True)
class Forecast:
    """Expected counts and harm per unit of a support for the window ``[start, end)``.

    ``expected_count[i]`` is the expected number of events in unit ``i``; ``expected_harm[i]``
    the expected total harm. ``terms`` may hold named components (for example an ETAS model's
    background and triggered parts) that sum to ``expected_count``, for explanation.
    """

    method: str
    params: dict[str, Any]
    unit_ids: list[str]
    start: float
    end: float
    expected_count: FloatArray
    expected_harm: FloatArray
    terms: dict[str, FloatArray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.unit_ids)
        if self.expected_count.shape != (n,) or self.expected_harm.shape != (n,):
            raise ValueError("forecast arrays must have one value per unit")
        if self.end <= self.start:
            raise ValueError("forecast window must have end after start")

    def digest(self) -> str:
        """SHA-256 of the forecast's identity and values, ``"sha256:<hex>"``.

        Covers the method, its parameters, the window, the unit ids and every expected count and
        harm (as IEEE-754 doubles, little-endian), so a decision that relied on this forecast can
        later prove which values it saw. Terms are explanation, not values, and are left out.
        """
        header = json.dumps(
            {
                "method": self.method,
                "params": self.params,
                "start": self.start,
                "end": self.end,
                "unit_ids": self.unit_ids,
            },
            sort_keys=True,
            separators=(",", ":"),
            default=str,
        ).encode()
        h = hashlib.sha256(header)
        h.update(np.ascontiguousarray(self.expected_count, dtype="<f8").tobytes())
        h.update(np.ascontiguousarray(self.expected_harm, dtype="<f8").tobytes())
        return "sha256:" + h.hexdigest()

    def ranking_score(self, target: str = "harm") -> FloatArray:
        """The score used to rank units: expected harm (default) or expected count."""
        if target == "harm":
            return self.expected_harm
        if target == "count":
            return self.expected_count
        raise ValueError(f"unknown target {target!r}: use 'harm' or 'count'")


def _month_floor(t: float) -> float:
    """The start (UTC) of the calendar month holding ``t`` (``t`` itself on a month start)."""
    when = from_days(t)
    return to_days(datetime(when.year, when.month, 1, tzinfo=UTC))


class Forecaster(ABC):
    """Base class: parameter handling, fitted-state checks and the cut-off discipline."""

    name: str = "forecaster"
    #: Whether the method can learn from month-precision records (aggregated counts dated to
    #: the month's start). Self-exciting models need each event's own time, so they say no.
    accepts_month_records: bool = True

    # -- scikit-learn style parameter handling ---------------------------------------------
    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [
            p.name
            for p in sig.parameters.values()
            if p.name != "self" and p.kind == p.KEYWORD_ONLY
        ]

    def get_params(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._param_names()}

    def clone(self) -> Self:
        """An unfitted copy with the same hyperparameters."""
        return type(self)(**copy.deepcopy(self.get_params()))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    # -- the contract ------------------------------------------------------------------------
    def fit(self, events: EventSet, *, cutoff: float) -> Self:
        """Learn from ``events`` strictly before ``cutoff``; returns ``self``."""
        if not np.isfinite(cutoff):
            raise ValueError("cutoff must be a finite time (days since epoch)")
        # A month-precision record (dated the 1st) stands for the whole month: with a cut-off
        # inside a month, only the months ended by then are known, so the fit stops there.
        fit_cutoff = _month_floor(cutoff) if events.time_precision == "month" else float(cutoff)
        history = events.before(fit_cutoff)
        self._validate_params()
        self._fit(history, fit_cutoff)
        self.cutoff_ = float(cutoff)
        self.crs_ = events.crs
        return self

    def predict(self, support: Support, start: float, end: float) -> Forecast:
        """Expected counts and harm per unit of ``support`` in ``[start, end)``."""
        self._check_fitted()
        if end <= start:
            raise ValueError("prediction window must have end after start")
        if start < self.cutoff_ - 1e-9:
            raise ValueError(
                f"prediction window starts at {start} before the fit cut-off {self.cutoff_}: "
                "that would score the model on its own training data"
            )
        if support.crs != self.crs_:
            raise ValueError(f"support CRS {support.crs} differs from the events' {self.crs_}")
        count, harm, terms = self._predict(support, start, end)
        return Forecast(
            method=self.name,
            params=self.get_params(),
            unit_ids=support.unit_ids,
            start=start,
            end=end,
            expected_count=np.asarray(count, dtype=np.float64),
            expected_harm=np.asarray(harm, dtype=np.float64),
            terms=terms,
        )

    def lookback_used(self, window_days: float) -> float:
        """How many days of history before the cut-off the method uses for a window of
        ``window_days`` (``inf``: all of it). Read from ``lookback_days`` or ``history_days``
        hyperparameters; methods with another rule override it. Backtests give each method the
        history it asks for and reports say what was used."""
        params = self.get_params()
        for key in ("lookback_days", "history_days"):
            value = params.get(key)
            if isinstance(value, int | float) and value > 0:
                return float(value)
        return float("inf")

    def _check_fitted(self) -> None:
        if not hasattr(self, "cutoff_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted: call fit(events, cutoff=)")

    def _validate_params(self) -> None:  # noqa: B027 - optional hook
        """Check hyperparameters; raise ValueError with a clear message."""

    @abstractmethod
    def _fit(self, history: EventSet, cutoff: float) -> None:
        """Learn from ``history`` (already restricted to records before ``cutoff``)."""

    @abstractmethod
    def _predict(
        self, support: Support, start: float, end: float
    ) -> tuple[FloatArray, FloatArray, dict[str, FloatArray]]:
        """Return (expected_count, expected_harm, terms) per unit."""
