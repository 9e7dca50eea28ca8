"""One set of numbers: every figure shown by more than one phase is the same everywhere.

A check, after every run, that every figure shown by more than one phase is the same everywhere.

The shared figures are declared as data (``config/shared_figures.yaml``): each figure names the
phase that owns it first and then every other place it appears -- a Parquet table reduced to one
number (count, sum, the value of one row), a JSON file's key, or a number in a phase's headline
findings (the text the client reads). A phase that adds a figure adds an entry there; no code.

:func:`check_run` reads every source of every figure from a run folder and compares each with the
owner's value. Sources whose phase did not run (or whose table is absent) are skipped; a figure
with fewer than two available sources is not checked. The pipeline writes the result into
``manifest.json`` (``consistency``) and, when a figure disagrees, onto the index page.

Numbers shown as text are compared within the precision they are shown with: ``CHF 159.1 Mio.``
matches anything between 159.05 and 159.15 million.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from salesanalytics.present import i18n

__all__ = [
    "FigureSource",
    "SharedFigure",
    "alert_lines",
    "check_run",
    "house_text",
    "load_figures",
    "parse_number",
    "read_source",
]

Agg = Literal["count", "sum", "value", "nunique", "mean"]


class FigureSource(BaseModel):
    """Where one phase shows a shared figure.

    Exactly one of ``table``, ``json`` or ``headline`` is given.

    Attributes
    ----------
    phase
        The phase whose output folder ``data/<phase>/`` holds the source.
    table
        A Parquet table of that phase; reduced with ``where`` (a pandas query), ``column`` and
        ``agg`` (``count`` rows, ``sum``/``mean``/``nunique`` of ``column``, or ``value``: the one
        row's ``column``, which may be a formatted text such as ``CHF 1.2 Mio.``).
    json
        A JSON file of that phase (without ``.json``); ``key`` is a dotted path into it.
    headline
        A regular expression with one group, searched in the phase's headline findings; the group
        is read as a number in Swiss format.
    by
        Optional column: the figure is compared per value of this column (e.g. per rep).
    divide_by
        The shown number is divided by this before comparing (e.g. 12 for a yearly figure of a
        monthly quantity).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    phase: str
    table: str | None = None
    json_file: str | None = Field(None, alias="json")
    headline: str | None = None
    column: str | None = None
    where: str | None = None
    agg: Agg = "count"
    key: str | None = None
    by: str | None = None
    divide_by: float = 1.0

    @model_validator(mode="after")
    def _one_kind(self) -> FigureSource:
        kinds = [k for k in (self.table, self.json_file, self.headline) if k]
        if len(kinds) != 1:
            raise ValueError(
                f"source of phase {self.phase!r}: give exactly one of table, json, headline"
            )
        if self.table and self.agg != "count" and not self.column:
            raise ValueError(f"source {self.phase}/{self.table}: agg {self.agg!r} needs a column")
        if self.json_file and not self.key:
            raise ValueError(f"source {self.phase}/{self.json_file}.json needs a key")
        if self.headline and re.compile(self.headline).groups != 1:
            raise ValueError(f"headline pattern {self.headline!r} must have exactly one group")
        return self

    def describe(self) -> str:
        """Where the value comes from, for messages (``territory/assignment[key_account].sum``)."""
        if self.table:
            col = f"[{self.column}]" if self.column else ""
            where = f" where {self.where}" if self.where else ""
            return f"{self.phase}/{self.table}{col}.{self.agg}{where}"
        if self.json_file:
            return f"{self.phase}/{self.json_file}.json:{self.key}"
        return f"{self.phase} headline /{self.headline}/"


class SharedFigure(BaseModel):
    """A figure shown by more than one phase: the owner's source first, then every other one.

    ``tolerance`` is the absolute difference accepted (0 = exactly equal, for counts);
    ``rel_tolerance`` a relative one (for money summed in different orders).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    label: str
    unit: str = ""
    tolerance: float = Field(0.0, ge=0)
    rel_tolerance: float = Field(1e-9, ge=0)
    sources: tuple[FigureSource, ...] = Field(min_length=2)


def load_figures(path: str | Path | None = None) -> list[SharedFigure]:
    """The declared shared figures (default: the package's ``config/shared_figures.yaml``).

    Raises
    ------
    ValueError
        If the file is malformed (the message names the figure).
    """
    if path is None:
        text = (
            resources.files("salesanalytics")
            .joinpath("config/shared_figures.yaml")
            .read_text(encoding="utf-8")
        )
        label = "shared_figures.yaml"
    else:
        text = Path(path).read_text(encoding="utf-8")
        label = str(path)
    raw = yaml.safe_load(text) or {}
    out: list[SharedFigure] = []
    problems: list[str] = []
    for i, item in enumerate(raw.get("figures") or []):
        try:
            out.append(SharedFigure.model_validate(item))
        except ValidationError as exc:
            fid = item.get("id", f"#{i + 1}") if isinstance(item, Mapping) else f"#{i + 1}"
            for err in exc.errors():
                where = ".".join(map(str, err["loc"]))
                problems.append(f"{label}: figure {fid}: {where}: {err['msg']}")
    ids = [f.id for f in out]
    problems += [
        f"{label}: figure id {d!r} declared twice"
        for d in sorted({i for i in ids if ids.count(i) > 1})
    ]
    if problems:
        raise ValueError("; ".join(problems))
    return out


_NUMBER = re.compile(r"[-−]?\d[\d']*(?:\.\d+)?")
_SCALE = {"mio.": 1e6, "mio": 1e6, "mrd.": 1e9, "k": 1e3}


def parse_number(text: Any) -> tuple[float, float]:
    """A number shown as text, and half a unit of its last shown digit (its precision).

    ``"CHF 1'234"`` -> (1234, 0.5); ``"CHF 159.1 Mio."`` -> (159.1e6, 0.05e6); ``"43.9%"`` ->
    (0.439, 0.0005); ``"CHF 943k"`` -> (943000, 500); a number passes through with precision 0.

    Raises
    ------
    ValueError
        If the text holds no number.
    """
    if isinstance(text, int | float) and not isinstance(text, bool):
        return float(text), 0.0
    s = str(text).strip()
    m = _NUMBER.search(s)
    if not m:
        raise ValueError(f"no number in {s!r}")
    digits = m.group(0).replace("'", "").replace("−", "-")
    value = float(digits)
    decimals = len(digits.split(".")[1]) if "." in digits else 0
    half = 0.5 * 10.0**-decimals
    rest = s[m.end() :].strip().lower()
    scale = 1.0
    for word, f in _SCALE.items():
        if rest.startswith(word):
            scale = f
            break
    if rest.startswith("%"):
        scale = 0.01
    return value * scale, half * scale


def _run_settings(run_dir: Path) -> tuple[str, str, str]:
    """The run's language, locale and currency from the intake's ``settings.json``.

    English and Swiss CHF when the run has none.
    """
    settings = _read_json(run_dir / "data" / "intake" / "settings.json")
    settings = settings if isinstance(settings, dict) else {}
    try:
        lang, loc = i18n.check_locale(settings.get("language") or "en", settings.get("locale"))
    except ValueError:
        lang, loc = "en", "en-CH"
    return lang, loc, str(settings.get("currency") or "CHF").upper()


_GROUPED = re.compile(r"(?<![\d.,])(?:\d{1,3}(?:\.\d{3})+(?:,\d+)?|\d+,\d+)(?![\d])")


def house_text(text: str, locale: str, currency: str) -> str:
    r"""A headline in the form the patterns of ``shared_figures.yaml`` are written in.

    The patterns name amounts as Swiss francs in Swiss formats (``MRR CHF ([\\d']+)``). A run in
    another currency or locale writes ``MRR USD 833'794`` or ``MRR 833.794 €``; both become
    ``MRR CHF 833'794`` here, and ``12,3 %`` becomes ``12.3%``, so one pattern per language
    finds the figure whatever the client's currency and number format.

    Parameters
    ----------
    text
        A headline as a phase wrote it.
    locale
        The run's locale (``en-CH``, ``de-CH``, ``de-DE``, ``de-AT``).
    currency
        The run's ISO 4217 currency code.

    Returns
    -------
    str
        The headline with amounts in ``CHF 1'234'567.5`` form and percentages as ``12.3%``.
    """
    if locale.endswith("-CH"):
        if currency == "CHF":
            return text
        return re.sub(rf"\b{re.escape(currency)} (?=[-−]?\d)", "CHF ", text)
    from babel.numbers import get_currency_symbol

    sym = re.escape(get_currency_symbol(currency, locale=locale.replace("-", "_")))
    text = re.sub(
        rf"([-−]?\d[\d.]*(?:,\d+)?)((?: Mio\.| Tsd\.| k)?) {sym}(?![\w])",
        lambda m: f"CHF {m.group(1)}{m.group(2)}",
        text,
    )
    text = _GROUPED.sub(lambda m: m.group(0).replace(".", "'").replace(",", "."), text)
    return re.sub(r"(\d) %", r"\1%", text)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def read_source(run_dir: str | Path, src: FigureSource) -> tuple[dict[str, float], float] | None:
    """The value(s) of one source in a run folder, and their precision.

    Returns
    -------
    tuple or None
        ``({key: value}, precision)`` -- one key ``""`` unless the source has ``by`` -- or
        ``None`` when the phase's output (or the table, file, or the row of a ``value``
        source) is not in the run.

    Raises
    ------
    KeyError, ValueError
        If the source exists but cannot be reduced as declared (missing column, no row matching
        ``where``, several rows for ``value``, no number in the text).
    """
    folder = Path(run_dir) / "data" / src.phase
    if not folder.is_dir():
        return None
    if src.headline:
        return _from_headline(Path(run_dir), src, src.headline)
    if src.json_file:
        return _from_json(folder, src)
    return _from_table(folder, src)


_Read = tuple[dict[str, float], float]


def _from_headline(run_dir: Path, src: FigureSource, headline: str) -> _Read | None:
    """The number in the first headline of the phase that matches ``headline``.

    Headlines are read in the form the patterns are written in (:func:`house_text`).
    """
    heads = _read_json(run_dir / "data" / src.phase / "headlines.json")
    if not isinstance(heads, list):
        return None
    # the pattern in the run's language (the catalogue holds its translation)
    pattern = i18n.gettext(headline)
    _lang, loc, cur = _run_settings(run_dir)
    for h in heads:
        m = re.search(pattern, house_text(str(h), loc, cur))
        if m:
            v, prec = parse_number(m.group(1))
            return {"": v / src.divide_by}, prec / src.divide_by
    raise ValueError(f"no headline of {src.phase} matches /{pattern}/")


def _from_json(folder: Path, src: FigureSource) -> _Read | None:
    """The number at the dotted ``src.key`` of the phase's JSON file ``src.json_file``."""
    obj = _read_json(folder / f"{src.json_file}.json")
    if obj is None:
        return None
    for part in str(src.key).split("."):
        if not isinstance(obj, Mapping) or part not in obj:
            raise KeyError(f"{src.describe()}: key {part!r} not found")
        obj = obj[part]
    v, prec = parse_number(obj)
    return {"": v / src.divide_by}, prec / src.divide_by


def _from_table(folder: Path, src: FigureSource) -> _Read | None:
    """``src.agg`` of ``src.column`` in the phase's table, per ``src.by`` group if given."""
    path = folder / f"{src.table}.parquet"
    if not path.is_file():
        return None
    df = pd.read_parquet(path)
    needed = [c for c in (src.column, src.by) if c]
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise KeyError(f"{src.describe()}: column(s) {missing} not in the table")
    if src.where:
        df = df.query(src.where)
    groups: Sequence[tuple[str, pd.DataFrame]] = (
        [(str(k), g) for k, g in df.groupby(src.by, dropna=False)] if src.by else [("", df)]
    )
    if src.agg == "value" and len(df) == 0:
        return None  # the phase does not show this figure (any more)
    out: dict[str, float] = {}
    prec = 0.0
    for k, g in groups:
        reduced = _reduce(g, src)
        if reduced is None:
            return None  # the phase does not compute this figure in this run
        v, p = reduced
        prec = max(prec, p)
        out[k] = v / src.divide_by
    return out, prec / src.divide_by


def _reduce(g: pd.DataFrame, src: FigureSource) -> tuple[float, float] | None:
    """One group's figure and its precision (0 unless read from a formatted ``value``).

    None when a sum or mean over the whole table has no value at all: the phase does not compute
    the figure in this run.
    """
    if src.agg == "count":
        return float(len(g)), 0.0
    if src.agg == "value":
        if len(g) != 1:
            raise ValueError(f"{src.describe()}: {len(g)} rows instead of one")
        return parse_number(g[src.column].iloc[0])
    col = g[src.column]
    if src.agg in ("sum", "mean") and col.dtype == bool:
        col = col.astype(int)
    if not src.by and src.agg in ("sum", "mean") and len(col) and col.isna().all():
        return None
    return float(getattr(col, src.agg)()), 0.0


@dataclass
class _Result:
    id: str
    label: str
    unit: str
    status: str
    values: list[dict[str, Any]] = field(default_factory=list)
    message: str = ""
    differences: list[dict[str, Any]] = field(default_factory=list)


def _fmt(v: float) -> str:
    if math.isnan(v):
        return "–"
    if abs(v - round(v)) < 1e-9:
        return f"{v:,.0f}".replace(",", "'")
    return f"{v:,.2f}".replace(",", "'")


def _check(run_dir: Path, fig: SharedFigure) -> _Result:
    res = _Result(fig.id, fig.label, fig.unit, "ok")
    read: list[tuple[FigureSource, dict[str, float], float]] = []
    errors: list[str] = []
    for src in fig.sources:
        try:
            got = read_source(run_dir, src)
        except (KeyError, ValueError, TypeError, pd.errors.UndefinedVariableError) as exc:
            errors.append(f"{src.describe()}: {exc}")
            res.values.append({"phase": src.phase, "source": src.describe(), "error": str(exc)})
            continue
        if got is None:
            res.values.append({"phase": src.phase, "source": src.describe(), "missing": True})
            continue
        vals, prec = got
        read.append((src, vals, prec))
        shown = vals[""] if set(vals) == {""} else f"{len(vals)} values by {src.by}"
        res.values.append({"phase": src.phase, "source": src.describe(), "value": shown})
    if res.values and res.values[0].get("missing"):
        res.status = "skipped"  # nothing to compare against: the owner does not show it
        res.message = "the phase that owns the figure does not show it in this run"
        return res
    if errors:
        res.status = "error"
        res.message = "; ".join(errors)
        return res
    if len(read) < 2:
        res.status = "skipped"
        res.message = "fewer than two of its sources are in this run"
        return res
    ref_src, ref, ref_prec = read[0]
    diffs: list[str] = []
    for src, vals, prec in read[1:]:
        for k in sorted(set(ref) | set(vals)):
            a, b = ref.get(k, math.nan), vals.get(k, math.nan)
            allowed = fig.tolerance + ref_prec + prec + fig.rel_tolerance * max(abs(a), abs(b))
            if math.isnan(a) or math.isnan(b) or abs(a - b) > allowed + 1e-12:
                who = f" for {k}" if k else ""
                res.differences.append(
                    {
                        "phase": src.phase,
                        "key": k,
                        "value": b,
                        "reference_phase": ref_src.phase,
                        "reference_value": a,
                    }
                )
                diffs.append(
                    f"{src.describe()} shows {_fmt(b)}{who}, {ref_src.describe()} {_fmt(a)}"
                )
    if diffs:
        res.status = "mismatch"
        listed = diffs[:5] + ([f"and {len(diffs) - 5} more"] if len(diffs) > 5 else [])
        res.message = "; ".join(listed)
    return res


def check_run(run_dir: str | Path, figures: Sequence[SharedFigure] | None = None) -> dict[str, Any]:
    """Compare every shared figure across the phases' outputs of a run.

    Parameters
    ----------
    run_dir
        The run folder (``data/<phase>/`` below it).
    figures
        The figures to check (default: :func:`load_figures`).

    Returns
    -------
    dict
        ``status`` (``passed`` or ``failed``), ``checked``, ``failed``, ``skipped`` (counts of
        figures) and ``figures``: per figure ``id``, ``label``, ``unit``, ``status`` (``ok``,
        ``mismatch``, ``error`` -- a declared source that cannot be read --, or ``skipped``),
        ``values`` (per source: phase, source, value or missing/error) and ``message``.
    """
    figs = load_figures() if figures is None else list(figures)
    # headline patterns in the run's language, whatever the caller's language is
    before = (i18n.language(), i18n.locale())
    i18n.set_language(*_run_settings(Path(run_dir))[:2])
    try:
        results = [_check(Path(run_dir), f) for f in figs]
    finally:
        i18n.set_language(*before)
    bad = [r for r in results if r.status in {"mismatch", "error"}]
    return {
        "status": "failed" if bad else "passed",
        "checked": sum(r.status != "skipped" for r in results),
        "failed": len(bad),
        "skipped": sum(r.status == "skipped" for r in results),
        "figures": [r.__dict__ for r in results],
    }


def alert_lines(result: Mapping[str, Any], titles: Mapping[str, str]) -> list[dict[str, str]]:
    """The figures that disagree, in the run's language, for the index page's alert box.

    Parameters
    ----------
    result
        The result of :func:`check_run`.
    titles
        Phase name -> the phase's report title in the run's language.

    Returns
    -------
    list of dict
        Per figure that disagrees or cannot be read: ``label`` (translated) and ``text`` (which
        reports show which value; for a source that cannot be read, the technical reason).
    """
    from salesanalytics.present import formats

    _ = i18n.gettext
    out = []
    for fig in result.get("figures", []):
        if fig.get("status") not in {"mismatch", "error"}:
            continue
        diffs = fig.get("differences") or []
        if fig["status"] == "error" or not diffs:
            text = _("a report's figure cannot be read ({detail})").format(detail=fig["message"])
        else:
            parts = []
            for d in diffs[:5]:
                shown = _("{report} shows {value}, {owner} {owner_value}").format(
                    report=titles.get(d["phase"], d["phase"]),
                    value=formats.num(d["value"], 2 if d["value"] % 1 else 0),
                    owner=titles.get(d["reference_phase"], d["reference_phase"]),
                    owner_value=formats.num(
                        d["reference_value"], 2 if d["reference_value"] % 1 else 0
                    ),
                )
                if d["key"]:
                    shown = _("{key}: {difference}").format(key=d["key"], difference=shown)
                parts.append(shown)
            if len(diffs) > 5:
                parts.append(_("and {n} more").format(n=len(diffs) - 5))
            text = "; ".join(parts)
        out.append({"label": _(fig["label"]), "text": text})
    return out
