"""Checks shared by the phases' parameter models: combinations of values that cannot work.

A phase's ``Params`` model declares each parameter's own range with ``pydantic.Field``; what
depends on two parameters (class A must close before class B, a medium-risk quantile below the
high-risk one) or on a file the parameter names (a pay plan, a KPI system) is checked here, so that
``salesanalytics run`` and ``salesanalytics validate --config`` refuse it before anything runs.
Every message names the parameters, their values, why the combination is impossible and what to do.

Parameters that name a file are declared with ``json_schema_extra=PATH_PARAM``; a relative path in
``project.yaml`` is read relative to that file (see :mod:`salesanalytics.engagement.pipeline.config`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

__all__ = [
    "PATH_PARAM",
    "check_file",
    "check_order",
    "is_path_param",
    "looks_like_path",
]

PATH_PARAM: dict[str, Any] = {"path": True}
"""``json_schema_extra`` of a parameter that names a file (resolved relative to ``project.yaml``)."""


def is_path_param(info: Any) -> bool:
    """Whether a pydantic ``FieldInfo`` is declared with :data:`PATH_PARAM`."""
    extra = getattr(info, "json_schema_extra", None)
    return isinstance(extra, dict) and bool(extra.get("path"))


def looks_like_path(value: str) -> bool:
    """Whether a text value names a file rather than a built-in name (``proposed`` vs ``x/p.yaml``)."""
    text = str(value)
    return "/" in text or "\\" in text or Path(text).suffix.lower() in {".yaml", ".yml"}


def check_order(
    model: Any,
    low: str,
    high: str,
    why: str,
    *,
    strict: bool = True,
) -> None:
    """Raise ``ValueError`` unless ``model.low < model.high`` (``<=`` with ``strict=False``).

    Parameters
    ----------
    model
        The parameter model (after field validation).
    low, high
        Names of the two parameters.
    why
        Why the order is needed, in plain words (completes "... because ...").
    strict
        Whether equal values are refused too.
    """
    a, b = getattr(model, low), getattr(model, high)
    bad = a >= b if strict else a > b
    if bad:
        rel = "below" if strict else "at most"
        raise ValueError(
            f"{low} = {a!r} must be {rel} {high} = {b!r} because {why}; lower {low} or raise {high}"
        )


def check_file(
    name: str,
    value: str,
    loader: Callable[[str], Any],
    builtin: Iterable[str] = (),
    what: str = "file",
) -> str:
    """Check that a file parameter names a readable, valid file (or a built-in name).

    Parameters
    ----------
    name
        The parameter's name (for the message).
    value
        Its value: empty (the built-in default), a built-in name or a path.
    loader
        Reads and checks the file; raises ``FileNotFoundError``/``ValueError`` with the problems.
        Called only for a path (built-in files are tested with the package).
    builtin
        Names accepted without a file (e.g. ``current``, ``proposed``).
    what
        What the file holds (for the message: "pay plan", "KPI system").

    Returns
    -------
    str
        ``value`` unchanged.

    Raises
    ------
    ValueError
        Naming the parameter, its value and the problem(s) of the file.
    """
    names = sorted(builtin)
    if value == "" or value in names:
        return value
    if not looks_like_path(value) and names:
        raise ValueError(
            f"{name} = {value!r} is neither a built-in {what} ({', '.join(names)}) nor a YAML "
            f"file; give one of the built-in names or the path of a .yaml file"
        )
    p = Path(value)
    if not p.is_absolute():
        raise ValueError(
            f"{name} = {value!r}: the {what} file must be given as an absolute path (in "
            "project.yaml a relative path is read relative to project.yaml)"
        )
    if not p.is_file():
        raise ValueError(f"{name} = {value!r}: the {what} file does not exist; check the path")
    try:
        loader(str(p))
    except (FileNotFoundError, ValueError, KeyError, TypeError) as exc:
        detail = (str(exc.args[0]) if exc.args else str(exc)).rstrip(". ")
        raise ValueError(
            f"{name} = {value!r} is not a valid {what}: {detail}; correct the file"
        ) from None
    return value
