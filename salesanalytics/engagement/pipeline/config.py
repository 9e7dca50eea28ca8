"""Client projects: the ``project.yaml`` file, its scaffolding and the validation of phase parameters.

A project file looks like this (relative paths are relative to the YAML file)::

    client:
      name: Muster Web AG
      slug: muster-web-ag
    source: export            # folder with the CRM export (intake phase)
    mapping: salesforce       # built-in mapping or path to a YAML mapping
    language: de              # language of the client's reports (en, de)
    locale: de-CH             # number, money and date formats (en-CH, de-CH, de-DE, de-AT)
    reports: ../reports       # runs go to <reports>/<slug>/<run-id>/
    notebooks: ../notebooks   # phase notebooks
    run:
      cell_timeout: 900
      workers: 0              # 0 = number of available cores
    phases:
      territory:
        # Number of territories to design.
        n_territories: 45

Every parameter is validated against the phase's pydantic ``Params`` model before anything runs;
all problems are reported at once, with a suggestion for misspelled names and the allowed range for
out-of-range values.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic.fields import FieldInfo

from salesanalytics.engagement.paramcheck import is_path_param, looks_like_path
from salesanalytics.engagement.spec import PhaseSpec
from salesanalytics.errors import UserError
from salesanalytics.present.i18n import check_locale

__all__ = [
    "PROJECT_FILE",
    "TOP_LEVEL_PARAMS",
    "MOVED_PARAMS",
    "ConfigError",
    "ProjectConfig",
    "default_notebooks_dir",
    "init_project",
    "load_project",
    "parse_set_options",
    "project_yaml",
    "resolve_params",
    "resolve_path_params",
    "slugify",
    "split_top_level_options",
    "TOP_LEVEL_SET",
]

PROJECT_FILE = "project.yaml"

TOP_LEVEL_PARAMS: dict[str, dict[str, str]] = {
    "intake": {
        "source": "source",
        "mapping": "mapping",
        "language": "language",
        "locale": "locale",
    }
}
"""Phase parameters that come from the project's top level: phase -> {param: top-level key}."""

TOP_LEVEL_SET: tuple[str, ...] = ("language", "locale")
"""Top-level settings a run can override with ``--set key=value`` (``--set language=de``)."""

MOVED_PARAMS: dict[tuple[str, str], str] = {
    ("portfolio", name): "potential"
    for name in (
        "ka_potential_quantile",
        "ka_revenue_quantile",
        "ka_min_products",
        "ka_min_locations",
        "ka_min_criteria",
    )
}
"""Parameters that moved to another phase: (old phase, name) -> new phase. A project file or
``--set`` naming the old place still works (the value goes to the new phase unless that sets it
too); the key-account criteria moved to the potential phase, which now draws the one key-account
list of the engagement."""


def _relocate(section: Mapping[str, Any]) -> dict[str, Any]:
    """``{phase: {param: value}}`` with :data:`MOVED_PARAMS` moved to their new phase."""
    out = {k: dict(v) if isinstance(v, Mapping) else v for k, v in section.items()}
    for (old, name), new in MOVED_PARAMS.items():
        sec = out.get(old)
        if not isinstance(sec, dict) or name not in sec:
            continue
        value = sec.pop(name)
        target = out.setdefault(new, {})
        if isinstance(target, dict):
            target.setdefault(name, value)
    return out


_TOP_KEYS = {
    "client",
    "source",
    "mapping",
    "language",
    "locale",
    "reports",
    "notebooks",
    "run",
    "phases",
    "deck_template",
    "engine",
}
_RUN_KEYS = {"cell_timeout", "workers"}


class ConfigError(UserError, ValueError):
    """A problem with the project file or ``--set`` options; the message lists every problem."""


@dataclass(frozen=True)
class ProjectConfig:
    """A loaded and validated client project.

    Attributes
    ----------
    path
        The ``project.yaml`` file (absolute).
    client, slug
        Client name for the reports and its folder-safe slug.
    source, mapping
        Absolute path of the CRM export and the mapping (name or absolute path of a YAML file).
    source_display
        ``source`` as written in the project file (shown in reports; never an absolute path).
    reports_dir, notebooks_dir
        Where runs are written and where the phase notebooks are.
    cell_timeout
        Seconds a single notebook cell may run.
    workers
        Phases run in parallel (0 = number of available cores).
    phase_params
        Validated parameters per phase (``model_dump(mode="json")`` of each ``Params``), for every
        phase in the list given to :func:`load_project`.
    deck_template
        PowerPoint file whose slide master and layouts the run's ``deck.pptx`` uses (absolute);
        ``None`` = the house template.
    engine
        Where the aggregation layer runs (``engine:`` in the project file, validated by
        :class:`salesanalytics.aggregate.engine.EngineSettings`; ``{}`` = DuckDB embedded).
    """

    path: Path
    client: str
    slug: str
    source: Path
    mapping: str
    source_display: str
    reports_dir: Path
    notebooks_dir: Path
    cell_timeout: int = 900
    workers: int = 0
    phase_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    deck_template: Path | None = None
    engine: dict[str, Any] = field(default_factory=dict)

    @property
    def project_dir(self) -> Path:
        """Folder of the project file."""
        return self.path.parent


def slugify(text: str) -> str:
    """A folder-safe lower-case slug: ``"Müller Web AG"`` -> ``"mueller-web-ag"``.

    Raises
    ------
    ValueError
        If nothing usable remains (e.g. only punctuation).
    """
    t = text.strip().lower()
    for a, b in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss")):
        t = t.replace(a, b)
    t = unicodedata.normalize("NFKD", t).encode("ascii", "ignore").decode("ascii")
    t = re.sub(r"[^a-z0-9]+", "-", t).strip("-")
    if not t:
        raise ValueError(
            f"cannot make a folder name from {text!r}: use letters or digits (or pass a slug)"
        )
    return t[:60].rstrip("-")


def default_notebooks_dir(start: Path | None = None) -> Path | None:
    """Find the phase notebooks: ``./notebooks`` (or a parent's), else the package checkout's."""
    here = (start or Path.cwd()).resolve()
    for d in (here, *here.parents):
        if (d / "notebooks").is_dir():
            return d / "notebooks"
    pkg = Path(__file__).resolve().parents[3] / "notebooks"
    return pkg if pkg.is_dir() else None


def _one_line(text: str | None) -> str:
    return " ".join((text or "").split())


def _yaml_scalar(value: Any) -> str:
    dumped = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=10_000)
    dumped = dumped.strip()
    if dumped.endswith("\n..."):
        dumped = dumped[: -len("\n...")]
    return dumped.removesuffix("...").strip()


def _rel(path: Path, start: Path) -> str:
    try:
        return Path(os.path.relpath(path.resolve(), start.resolve())).as_posix()
    except ValueError:  # different drives (Windows)
        return path.resolve().as_posix()


def project_yaml(
    phases: Sequence[PhaseSpec],
    client: str,
    slug: str,
    source: str,
    mapping: str,
    reports: str,
    notebooks: str | None,
    language: str = "en",
    locale: str = "",
) -> str:
    """Text of a new ``project.yaml``: settings plus every phase parameter with its default and help."""
    q = _yaml_scalar
    lines = [
        f"# salesanalytics project for {_one_line(client)}",
        "# Relative paths are relative to this file. Check parameters with `salesanalytics run`;",
        "# override one for a run with `--set phase.param=value`.",
        "client:",
        f"  name: {q(client)}",
        f"  slug: {q(slug)}  # folder name for this client's reports",
        f"source: {q(source)}  # folder with the client's CRM export",
        f"mapping: {q(mapping)}  # built-in mapping name or path to a YAML mapping file",
        f"language: {q(language)}  # language of the client's reports: en or de",
        f"locale: {q(locale)}  # number, money and date formats: en-CH, de-CH, de-DE, de-AT; "
        "empty = the language's Swiss locale",
        f"reports: {q(reports)}  # each run is written to <reports>/<slug>/<run-id>/",
    ]
    if notebooks is not None:
        lines.append(f"notebooks: {q(notebooks)}  # the phase notebooks")
    lines += [
        'deck_template: ""  # PowerPoint template (slide master, layouts) of deck.pptx; empty = house template',
        "run:",
        "  cell_timeout: 900  # seconds a single notebook cell may run before the phase fails",
        "  workers: 0  # phases run in parallel; 0 = number of available cores",
        "phases:",
    ]
    for phase in phases:
        fixed = TOP_LEVEL_PARAMS.get(phase.name, {})
        fields = {k: v for k, v in phase.params.model_fields.items() if k not in fixed}
        if not fields:
            lines.append(f"  {phase.name}: {{}}  # {_one_line(phase.title)}")
            continue
        lines.append(f"  {phase.name}:  # {_one_line(phase.title)}")
        for name, info in fields.items():
            lines.append(f"    # {_one_line(info.description)}{_bounds_note(info)}")
            lines.append(f"    {name}: {q(_jsonable(info.default))}")
    return "\n".join(lines) + "\n"


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def init_project(
    directory: str | os.PathLike[str],
    source: str | os.PathLike[str],
    phases: Sequence[PhaseSpec],
    mapping: str = "salesforce",
    client: str | None = None,
    slug: str | None = None,
    reports: str | os.PathLike[str] | None = None,
    notebooks: str | os.PathLike[str] | None = None,
    force: bool = False,
    language: str = "en",
    locale: str = "",
) -> Path:
    """Scaffold a client project: write ``directory/project.yaml`` and return its path.

    Parameters
    ----------
    directory
        Project folder (created if needed).
    source
        Folder with the client's CRM export (a relative path is taken from the current directory,
        or from ``directory`` if it exists only there); stored relative to the project file.
    phases
        Phases whose parameters are written with their defaults and one-line help.
    mapping
        Built-in mapping name or path to a YAML mapping file.
    client, slug
        Client name (default: the folder name) and folder-safe slug (default: from the project
        folder's name, e.g. ``data/demo`` -> ``demo``).
    reports, notebooks
        Reports folder (default ``./reports`` of the current directory) and notebooks folder
        (default: found from the current directory).
    force
        Overwrite an existing ``project.yaml``.
    language, locale
        Language of the client's reports (``en``, ``de``) and the locale of their number, money
        and date formats (empty: ``en-CH`` / ``de-CH``); see :func:`salesanalytics.present.i18n.check_locale`.

    Raises
    ------
    ConfigError
        If the project file exists (without ``force``) or the slug is not folder-safe.
    """
    d = Path(directory)
    target = d / PROJECT_FILE
    if target.exists() and not force:
        raise ConfigError(
            f"{target} already exists; edit it, or pass --force to overwrite it with defaults"
        )
    name = client or d.resolve().name
    try:
        the_slug = slug if slug is not None else slugify(d.resolve().name or name)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", the_slug):
        raise ConfigError(
            f"slug {the_slug!r} is not folder-safe: use lower-case letters, digits, '-' and '_'"
        )
    try:
        language, _loc = check_locale(language, locale)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    d.mkdir(parents=True, exist_ok=True)
    src = Path(source)
    if not src.is_absolute() and not src.exists() and (d / src).exists():
        src = d / src  # given relative to the project folder
    mp = Path(mapping)
    mapping_text = _rel(mp, d) if mp.suffix.lower() in {".yaml", ".yml"} else mapping
    rep = Path(reports) if reports is not None else Path.cwd() / "reports"
    nbd = Path(notebooks) if notebooks is not None else default_notebooks_dir()
    text = project_yaml(
        phases,
        client=name,
        slug=the_slug,
        source=_rel(src, d),
        mapping=mapping_text,
        reports=_rel(rep, d),
        notebooks=_rel(nbd, d) if nbd is not None else None,
        language=language,
        locale=locale and _loc,
    )
    target.write_text(text, encoding="utf-8")
    return target


def _bounds(info: FieldInfo) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for m in info.metadata:
        for key in ("ge", "gt", "le", "lt", "min_length", "max_length"):
            v = getattr(m, key, None)
            if v is not None:
                out[key] = v
    return out


def _bounds_note(info: FieldInfo) -> str:
    text = _range_text("x", info)
    return f" [{text.replace('x', 'value', 1)}]" if text else ""


def _range_text(name: str, info: FieldInfo) -> str:
    b = _bounds(info)
    low = f"{b['ge']} ≤ " if "ge" in b else f"{b['gt']} < " if "gt" in b else ""
    high = f" ≤ {b['le']}" if "le" in b else f" < {b['lt']}" if "lt" in b else ""
    if low or high:
        return f"{low}{name}{high}"
    if "min_length" in b or "max_length" in b:
        return f"length of {name} between {b.get('min_length', 0)} and {b.get('max_length', '∞')}"
    return ""


def _type_text(info: FieldInfo) -> str:
    ann = info.annotation
    return getattr(ann, "__name__", None) or str(ann).replace("typing.", "")


def _suggest(name: str, choices: Iterable[str], what: str) -> str:
    match = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    if match:
        return f"; did you mean '{match[0]}'?"
    known = ", ".join(sorted(choices))
    return f"; known {what}: {known}" if known else f"; this phase takes no {what}"


def _param_problems(
    phase: PhaseSpec, values: Mapping[str, Any], origin: Mapping[str, str]
) -> list[str]:
    """Validate ``values`` against ``phase.params``; one message per problem."""
    model = phase.params
    fields = model.model_fields
    problems = []
    try:
        model.model_validate(dict(values))
    except ValidationError as exc:
        for err in exc.errors():
            loc = err.get("loc") or ()
            name = str(loc[0]) if loc else "?"
            where = origin.get(name, "")
            where = f"{where}: " if where else ""
            if err["type"] == "extra_forbidden":
                problems.append(
                    f"{where}unknown parameter '{name}' for phase {phase.name}"
                    + _suggest(name, fields, "parameters")
                )
                continue
            if err["type"] == "value_error":
                # a check of the model (cross-field) or of a field's validator: its message
                # already names the parameters, their values and what to do
                text = str(err["msg"]).removeprefix("Value error, ")
                if not loc:
                    named = [n for n in fields if re.search(rf"\b{re.escape(n)}\b", text)]
                    sources = sorted({origin[n] for n in named if n in origin})
                    where = f"{'; '.join(sources)}: " if sources else ""
                problems.append(f"{where}phase {phase.name}: {text}")
                continue
            info = fields.get(name)
            value = values.get(name, err.get("input"))
            msg = f"{where}parameter '{name}' of phase {phase.name}: {value!r} is not valid"
            if info is not None:
                rng = _range_text(name, info)
                msg += f"; expected {_type_text(info)}"
                if rng:
                    msg += f" with {rng}"
            msg += f" ({err['msg']})"
            problems.append(msg)
    return problems


def parse_set_options(
    options: Sequence[str], phases: Sequence[PhaseSpec]
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Parse ``--set phase.param=value`` options; values are YAML scalars.

    Returns
    -------
    overrides, problems
        ``{phase: {param: value}}`` and the list of problems (bad syntax, unknown phase).
    """
    by_name = {p.name: p for p in phases}
    out: dict[str, dict[str, Any]] = {}
    problems = []
    for opt in options:
        if split_top_level_options([opt])[0]:
            continue  # a top-level setting (--set language=de): see split_top_level_options
        m = re.fullmatch(r"\s*([A-Za-z_][\w-]*)\.([A-Za-z_]\w*)\s*=(.*)", opt, flags=re.S)
        if not m:
            problems.append(
                f"--set {opt!r}: expected phase.param=value, e.g. --set territory.n_territories=40"
            )
            continue
        phase, param, raw = m.group(1), m.group(2), m.group(3).strip()
        if phase not in by_name:
            problems.append(
                f"--set {opt!r}: unknown phase '{phase}'" + _suggest(phase, by_name, "phases")
            )
            continue
        try:
            value = yaml.safe_load(raw) if raw else ""
        except yaml.YAMLError:
            value = raw
        info = by_name[phase].params.model_fields.get(param)
        if info is not None and info.annotation is str and not isinstance(value, str):
            value = raw  # a text parameter keeps the text as typed (e.g. "0042")
        out.setdefault(phase, {})[param] = value
    return out, problems


def split_top_level_options(options: Sequence[str]) -> tuple[dict[str, str], list[str]]:
    """The ``--set key=value`` options that set a top-level setting, and the other options.

    Top-level settings are those of :data:`TOP_LEVEL_SET` (``--set language=de``, ``--set
    locale=de-DE``).
    """
    top: dict[str, str] = {}
    rest: list[str] = []
    for opt in options:
        m = re.fullmatch(r"\s*([A-Za-z_]\w*)\s*=(.*)", opt, flags=re.S)
        if m and m.group(1) in TOP_LEVEL_SET:
            top[m.group(1)] = m.group(2).strip()
        else:
            rest.append(opt)
    return top, rest


def resolve_params(
    phases: Sequence[PhaseSpec],
    from_file: Mapping[str, Any] | None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    top_level: Mapping[str, Any] | None = None,
    file_label: str = PROJECT_FILE,
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Merge and validate phase parameters (defaults < project file < ``--set``).

    Parameters
    ----------
    phases
        Known phases.
    from_file
        The project file's ``phases`` mapping (``{phase: {param: value}}``).
    overrides
        ``--set`` values, same shape.
    top_level
        Values of top-level keys injected into phases (see :data:`TOP_LEVEL_PARAMS`).
    file_label
        Name of the project file for messages.

    Returns
    -------
    params, problems
        Validated parameters per phase (JSON-compatible values) and every problem found.
    """
    by_name = {p.name: p for p in phases}
    problems: list[str] = []
    file_section = _relocate(from_file or {})
    overrides = _relocate(overrides or {})
    for name in file_section:
        if name not in by_name:
            problems.append(
                f"{file_label}: unknown phase '{name}' under 'phases'"
                + _suggest(name, by_name, "phases")
            )
    result: dict[str, dict[str, Any]] = {}
    for phase in phases:
        values: dict[str, Any] = {}
        origin: dict[str, str] = {}
        section = file_section.get(phase.name) or {}
        if not isinstance(section, Mapping):
            problems.append(
                f"{file_label}: 'phases.{phase.name}' must be a mapping of parameter: value, "
                f"not {section!r}"
            )
            section = {}
        fixed = TOP_LEVEL_PARAMS.get(phase.name, {})
        for k, v in section.items():
            if k in fixed:
                problems.append(
                    f"{file_label}: parameter '{k}' of phase {phase.name} is set by the top-level "
                    f"'{fixed[k]}' key; move it there"
                )
                continue
            values[str(k)] = v
            origin[str(k)] = f"{file_label} phases.{phase.name}"
        for k, v in (overrides or {}).get(phase.name, {}).items():
            if k in fixed:
                problems.append(
                    f"--set {phase.name}.{k}: set the top-level '{fixed[k]}' in {file_label} instead"
                )
                continue
            values[k] = v
            origin[k] = f"--set {phase.name}.{k}"
        for k, key in fixed.items():
            if top_level is not None and key in top_level and k in phase.params.model_fields:
                values[k] = top_level[key]
                origin[k] = f"{file_label} '{key}'"
        found = _param_problems(phase, values, origin)
        problems += found
        if not found:
            model = phase.params.model_validate(values)
            result[phase.name] = model.model_dump(mode="json")
    return result, problems


def resolve_path_params(
    phases: Sequence[PhaseSpec], sections: Mapping[str, Any], base: Path
) -> dict[str, Any]:
    """Make relative file paths in phase parameters absolute, relative to ``base``.

    Only parameters declared with :data:`~salesanalytics.engagement.paramcheck.PATH_PARAM` are
    touched, and only values that look like a path (a built-in name such as ``proposed`` stays).
    Phase notebooks run inside the run folder, so a relative path would not be found there.

    Parameters
    ----------
    phases
        Known phases.
    sections
        ``{phase: {param: value}}`` as read from ``project.yaml`` or ``--set``.
    base
        Folder the relative paths are relative to (the project file's, or the current one for
        ``--set``).
    """
    by_name = {p.name: p for p in phases}
    out: dict[str, Any] = {}
    for name, section in sections.items():
        phase = by_name.get(name)
        if phase is None or not isinstance(section, Mapping):
            out[name] = section
            continue
        fields = phase.params.model_fields
        fixed = dict(section)
        for k, v in section.items():
            info = fields.get(str(k))
            if (
                info is not None
                and is_path_param(info)
                and isinstance(v, str)
                and v
                and looks_like_path(v)
                and not Path(v).is_absolute()
            ):
                fixed[k] = str((base / v).resolve())
        out[name] = fixed
    return out


def _read_project_file(path: str | os.PathLike[str]) -> tuple[Path, dict[str, Any]]:
    """The resolved path of ``project.yaml`` (or of the folder's) and its top-level mapping."""
    p = Path(path)
    if p.is_dir():
        p = p / PROJECT_FILE
    if not p.exists():
        raise ConfigError(
            f"project file {p} not found; create one with "
            "`salesanalytics init DIR --source EXPORT_FOLDER`"
        )
    p = p.resolve()
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{p}: expected a mapping of settings at the top level")
    return p, raw


def _client_settings(
    raw: dict[str, Any], base: Path, label: str, problems: list[str]
) -> tuple[str, str]:
    """Client name and folder-safe slug (problems appended)."""
    client_sec = raw.get("client") or {}
    if isinstance(client_sec, str):
        client_sec = {"name": client_sec}
    client = str(client_sec.get("name") or base.name)
    slug = client_sec.get("slug")
    if slug is None:
        try:
            slug = slugify(client)
        except ValueError as exc:
            problems.append(f"{label}: {exc}")
            slug = "client"
    elif not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", str(slug)):
        problems.append(
            f"{label}: client.slug {slug!r} is not folder-safe; use lower-case letters, digits, '-', '_'"
        )
    return client, str(slug)


def _source_setting(
    raw: dict[str, Any], base: Path, label: str, problems: list[str]
) -> tuple[Path, str]:
    """The export folder (resolved) and its name as shown in the reports (problems appended)."""
    source_text = raw.get("source")
    if not source_text:
        problems.append(f"{label}: 'source' (folder with the CRM export) is missing")
        source = base
    else:
        source = (base / str(source_text)).resolve()
        if not source.exists():
            problems.append(f"{label}: source {source_text!r} does not exist (looked at {source})")
    source_display = str(source_text or "")
    if Path(source_display).is_absolute():
        source_display = Path(source_display).name
    return source, source_display


def _folder_settings(
    raw: dict[str, Any], base: Path, label: str, problems: list[str]
) -> tuple[str, Path, Path]:
    """Mapping (built-in name or resolved file), reports and notebooks folders."""
    mapping = str(raw.get("mapping") or "salesforce")
    if Path(mapping).suffix.lower() in {".yaml", ".yml"}:
        mapping = str((base / mapping).resolve())
    reports = (base / str(raw.get("reports") or "reports")).resolve()
    if raw.get("notebooks"):
        notebooks = (base / str(raw["notebooks"])).resolve()
    else:
        notebooks = default_notebooks_dir(base) or base / "notebooks"
    if not notebooks.is_dir():
        problems.append(f"{label}: notebooks folder {notebooks} does not exist; set 'notebooks'")
    return mapping, reports, notebooks


def _run_settings(raw: dict[str, Any], label: str, problems: list[str]) -> tuple[int, int]:
    """``run.cell_timeout`` and ``run.workers`` (defaults 900 and 0; problems appended)."""
    run_sec = raw.get("run") or {}
    cell_timeout, workers = 900, 0
    if not isinstance(run_sec, dict):
        problems.append(f"{label}: 'run' must be a mapping (cell_timeout, workers)")
        run_sec = {}
    for key in run_sec:
        if key not in _RUN_KEYS:
            problems.append(
                f"{label}: unknown setting 'run.{key}'" + _suggest(str(key), _RUN_KEYS, "settings")
            )
    ct = run_sec.get("cell_timeout", 900)
    if not isinstance(ct, int) or isinstance(ct, bool) or ct < 1:
        problems.append(
            f"{label}: run.cell_timeout must be a whole number of seconds ≥ 1, not {ct!r}"
        )
    else:
        cell_timeout = ct
    wk = run_sec.get("workers", 0)
    if not isinstance(wk, int) or isinstance(wk, bool) or wk < 0:
        problems.append(f"{label}: run.workers must be a whole number ≥ 0, not {wk!r}")
    else:
        workers = wk
    return cell_timeout, workers


def _engine_settings(raw: dict[str, Any], label: str, problems: list[str]) -> dict[str, Any]:
    """``engine:`` (DuckDB by default; Spark with a master URL and a location), as a plain dict."""
    from salesanalytics.aggregate.engine import EngineSettings

    sec = raw.get("engine")
    if sec is None:
        return {}
    if isinstance(sec, str):
        sec = {"engine": sec}
    if not isinstance(sec, dict):
        problems.append(f"{label}: 'engine' must be a mapping (engine, master, location, ...)")
        return {}
    try:
        settings = EngineSettings.model_validate(sec)
    except ValidationError as exc:
        for err in exc.errors():
            where = ".".join(str(x) for x in err["loc"])
            problems.append(f"{label}: engine.{where}: {err['msg']} (got {err.get('input')!r})")
        return {}
    return settings.model_dump(mode="json", exclude_defaults=True)


def load_project(
    path: str | os.PathLike[str],
    phases: Sequence[PhaseSpec],
    overrides: Sequence[str] = (),
) -> ProjectConfig:
    """Load ``project.yaml`` (or a folder containing it), apply ``--set`` options and validate.

    Raises
    ------
    ConfigError
        Listing every problem: unreadable YAML, unknown keys, missing source, unknown phases or
        parameters (with suggestions), wrong types and out-of-range values (with the allowed range).
    """
    p, raw = _read_project_file(path)
    label = p.name
    problems: list[str] = []
    for key in raw:
        if key not in _TOP_KEYS:
            problems.append(
                f"{label}: unknown setting '{key}'" + _suggest(str(key), _TOP_KEYS, "settings")
            )
    base = p.parent
    client, slug = _client_settings(raw, base, label, problems)
    source, source_display = _source_setting(raw, base, label, problems)
    mapping, reports, notebooks = _folder_settings(raw, base, label, problems)
    cell_timeout, workers = _run_settings(raw, label, problems)
    engine = _engine_settings(raw, label, problems)
    deck_template = None
    if raw.get("deck_template"):
        deck_template = (base / str(raw["deck_template"])).resolve()
        from salesanalytics.engagement.deck import DeckError, check_template

        try:
            check_template(deck_template)
        except DeckError as exc:
            problems.append(f"{label}: {exc}")
    overrides_map, set_problems = parse_set_options(overrides, phases)
    problems += set_problems
    phases_sec = raw.get("phases") or {}
    if not isinstance(phases_sec, dict):
        problems.append(f"{label}: 'phases' must be a mapping of phase: parameters")
        phases_sec = {}
    phases_sec = resolve_path_params(phases, phases_sec, base)
    overrides_map = resolve_path_params(phases, overrides_map, Path.cwd())
    top_level: dict[str, Any] = {"source": str(source), "mapping": mapping}
    for key in TOP_LEVEL_SET:
        if raw.get(key) is not None:
            top_level[key] = str(raw[key])
    top_level.update(split_top_level_options(overrides)[0])
    params, param_problems = resolve_params(
        phases,
        phases_sec,
        overrides_map,
        top_level=top_level,
        file_label=label,
    )
    problems += param_problems
    if problems:
        raise ConfigError(
            f"{len(problems)} problem(s) in {p}:\n" + "\n".join(f"  - {x}" for x in problems)
        )
    return ProjectConfig(
        path=p,
        client=client,
        slug=slug,
        source=source,
        mapping=mapping,
        source_display=source_display,
        reports_dir=reports,
        notebooks_dir=notebooks,
        cell_timeout=cell_timeout,
        workers=workers,
        phase_params=params,
        deck_template=deck_template,
        engine=engine,
    )
