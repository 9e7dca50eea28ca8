"""Hypothesis strategies drawn from a phase's ``Params`` model: every value its bounds allow.

``params_strategy(phases.portfolio.Params, "abc_a_share", "abc_b_share")`` draws those parameters
within their ``ge``/``gt``/``le``/``lt`` bounds (other parameters keep their defaults) and keeps only
combinations the model accepts, so a test sees exactly what ``salesanalytics run`` lets through.
"""

from __future__ import annotations

import math
from typing import Any

from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

__all__ = ["field_strategy", "params_strategy"]

_EPS = 1e-6


def _bounds(info: Any) -> dict[str, float]:
    out: dict[str, float] = {}
    for m in info.metadata:
        for key in ("ge", "gt", "le", "lt"):
            v = getattr(m, key, None)
            if v is not None:
                out[key] = v
    return out


def field_strategy(model: type[BaseModel], name: str, soft_max: float | None = None) -> Any:
    """Values of one parameter within its model's bounds (booleans, integers and floats).

    ``soft_max`` caps an unbounded (or very wide) upper end, e.g. a seed or an effort setting,
    where the whole range would only make the test slow.
    """
    info = model.model_fields[name]
    ann = info.annotation
    b = _bounds(info)
    if ann is bool:
        return st.booleans()
    if ann is int:
        lo = int(b["ge"]) if "ge" in b else int(b["gt"]) + 1 if "gt" in b else 0
        hi = int(b["le"]) if "le" in b else int(b["lt"]) - 1 if "lt" in b else lo + 1000
        if soft_max is not None:
            hi = min(hi, int(soft_max))
        return st.integers(lo, hi)
    if ann is float:
        lo = b.get("ge", b.get("gt", 0.0))
        hi = b.get("le", b.get("lt", lo + 1000.0))
        if soft_max is not None:
            hi = min(hi, soft_max)
        lo_open, hi_open = "gt" in b, "lt" in b and hi == b["lt"]
        edges = [v for v, open_ in ((lo, lo_open), (hi, hi_open)) if not open_]
        inner = st.floats(
            lo + (_EPS if lo_open else 0.0),
            hi - (_EPS if hi_open else 0.0),
            allow_nan=False,
            allow_infinity=False,
        )
        # the bounds themselves are the edges a user may type: draw them often
        return st.one_of(st.sampled_from(edges), inner) if edges else inner
    raise TypeError(f"no strategy for parameter {name!r} of type {ann!r}")


def params_strategy(
    model: type[BaseModel], *names: str, soft_max: dict[str, float] | None = None
) -> Any:
    """Valid parameter models with ``names`` drawn within their bounds, the rest at defaults."""
    soft = soft_max or {}

    def _valid(values: dict[str, Any]) -> bool:
        try:
            model.model_validate(values)
        except ValidationError:
            return False
        return all(not (isinstance(v, float) and math.isnan(v)) for v in values.values())

    fixed = st.fixed_dictionaries({n: field_strategy(model, n, soft.get(n)) for n in names}).filter(
        _valid
    )
    return fixed.map(model.model_validate)
