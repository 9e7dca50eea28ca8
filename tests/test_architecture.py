"""The package's shape, read from its source with ``ast``: import rules, function size.

The rules are those of ``docs/architecture.md`` ("Import rules") plus two size limits (no function
over ``MAX_LINES`` lines, at most ``MAX_PARAMS`` parameters besides ``self``/``cls``/``settings``).

What does not meet them yet is listed explicitly below, each entry with its reason. The lists may
only shrink: an entry that is no longer needed fails the test (remove it), a new breach fails the
test (fix it; do not add it here without the integrator's agreement).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG_DIR = ROOT / "salesanalytics"
PKG = "salesanalytics"

MAX_LINES = 120
MAX_PARAMS = 12
NOT_COUNTED = {"self", "cls", "settings"}

# --- allow-lists (may only shrink) ------------------------------------------------------------

LONG_FUNCTIONS: dict[str, str] = {
    # module:function -> reason it is still over MAX_LINES lines
}

MANY_PARAMETERS: dict[str, str] = {
    # module:function -> reason it still takes more than MAX_PARAMS parameters
}

IMPORT_EXCEPTIONS: dict[tuple[str, str], str] = {
    # (importing module, imported module or third-party package) -> reason the rule is not met yet
}

# --- reading the source -----------------------------------------------------------------------


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, without the "salesanalytics." prefix
    target: str  # the imported module, full name ("from x import y": x, and x.y if a module)
    line: int


def _module_name(path: Path) -> str:
    rel = path.relative_to(PKG_DIR).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


@cache
def _sources() -> dict[str, ast.Module]:
    out = {}
    for path in sorted(PKG_DIR.rglob("*.py")):
        out[_module_name(path)] = ast.parse(path.read_text(encoding="utf-8"), str(path))
    return out


def _is_package(module: str) -> bool:
    return (PKG_DIR / Path(*module.split(".")) / "__init__.py").exists() if module else True


def _resolve(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = f"{PKG}.{module}".split(".") if module else [PKG]
    if not _is_package(module):
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


@cache
def _imports() -> tuple[Import, ...]:
    """Every import anywhere in a module (top level, inside functions, under TYPE_CHECKING).

    A module of the package is named in full (``from x import y`` names ``x.y`` when that is a
    module, else ``x``); a third-party one by its distribution's top level (``matplotlib``).
    """
    out = []
    for module, tree in _sources().items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(module, node)
                names = [
                    f"{base}.{a.name}" if _own(f"{base}.{a.name}") in _sources() else base
                    for a in node.names
                ]
            else:
                continue
            for name in dict.fromkeys(names):
                target = name if _inside(name, PKG) else name.split(".")[0]
                out.append(Import(module, target, node.lineno))
    return tuple(out)


def _inside(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _own(target: str) -> str | None:
    """``target`` without the package prefix, or None for a third-party / stdlib module."""
    return target[len(PKG) + 1 :] if _inside(target, PKG) and target != PKG else None


def _analysis(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "analyses" and len(parts) > 1 else None


# --- import rules -----------------------------------------------------------------------------

HEAVY = ("matplotlib", "seaborn", "IPython")
MODEL_FORBIDDEN_OWN = ("present.theme", "present.style", "present.maps", "engagement")


LAYERS: dict[str, tuple[tuple[str, ...], str]] = {
    # layer -> (what of the package it may import, the rule)
    "reference": (("reference", "errors"), "reference imports nothing of the package but errors"),
    "ingest": (("ingest", "reference", "errors"), "ingest imports only reference and errors"),
    "aggregate": (
        ("aggregate", "ingest", "reference", "errors"),
        "aggregate imports only ingest, reference and errors",
    ),
    "present": (
        ("present", "reference", "errors"),
        "present imports only reference, errors, itself",
    ),
    "runfolder": (
        ("runfolder",),
        "runfolder (reading a run's phase outputs) imports nothing of the package",
    ),
}


def _layer_breach(module: str, own: str) -> str | None:
    layer = module.split(".")[0]
    if layer in LAYERS and not any(_inside(own, p) for p in LAYERS[layer][0]):
        return LAYERS[layer][1]
    return None


def _engagement_breach(module: str, own: str) -> str | None:
    if not _inside(own, "engagement"):
        return None
    if module.split(".")[0] not in ("engagement", "cli"):
        return "only cli and the engagement layer import engagement"
    base = ("engagement.spec", "engagement.paramcheck")
    if any(_inside(module, b) for b in base) and not any(_inside(own, b) for b in base):
        return "spec/paramcheck sit below every other engagement module"
    if _inside(module, "engagement.phases") and (
        _inside(own, "engagement.pipeline") or _inside(own, "engagement.workspace")
    ):
        return "phases declare; the pipeline imports them, never the other way round"
    return None


def _breach(imp: Import) -> str | None:
    m, own = imp.module, _own(imp.target)
    if not m:  # the package's __init__ installs the compatibility shim
        return None
    if _analysis(m):
        return _analysis_breach(m, imp.target, own)
    if own is None:
        return None
    if _inside(own, "_compat"):
        return "package code uses the new import paths, never the compatibility shim"
    return _layer_breach(m, own) or _engagement_breach(m, own)


def _breaches() -> list[tuple[str, str, int, str]]:
    """(module, imported, line, rule) for every import that breaks a rule."""
    found = []
    for imp in _imports():
        rule = _breach(imp)
        if rule is not None:
            found.append((imp.module, imp.target, imp.line, rule))
    return found


def _analysis_breach(module: str, target: str, own: str | None) -> str | None:
    block = _analysis(module)
    leaf = module.split(".")[-1]
    if own is not None and _analysis(own) and _analysis(own) != block:
        return "an analysis never imports another analysis"
    if own is not None and _inside(own, "engagement"):
        return "an analysis never imports the engagement layer (the run folder, phases)"
    if leaf == "plots":
        if own is not None and not any(
            _inside(own, p)
            for p in (f"analyses.{block}", "present", "reference", "errors", "ingest.schema")
        ):
            return "plots imports its own model, present and the canonical tokens (ingest.schema)"
        return None
    if any(_inside(target, h) for h in HEAVY):
        return "an analysis model never imports matplotlib, seaborn or IPython (plots.py does)"
    if own is not None and any(_inside(own, p) for p in MODEL_FORBIDDEN_OWN):
        return "an analysis model uses present.formats only (charts and tables go in plots.py)"
    return None


def test_import_rules():
    found = [(m, _own(t) or t, line, rule) for m, t, line, rule in _breaches()]
    seen = {(m, t) for m, t, _, _ in found}
    new = [
        f"salesanalytics/{m.replace('.', '/')}.py:{line} imports {t}: {rule}"
        for m, t, line, rule in found
        if (m, t) not in IMPORT_EXCEPTIONS
    ]
    stale = [f"{m} -> {t}" for (m, t) in IMPORT_EXCEPTIONS if (m, t) not in seen]
    assert not new, "import rules of docs/architecture.md broken:\n" + "\n".join(new)
    assert not stale, "IMPORT_EXCEPTIONS no longer needed (remove them):\n" + "\n".join(stale)


def test_import_rules_catch_breaches():
    """The rule reader itself: a model importing matplotlib or another analysis is a breach."""
    assert _analysis_breach("analyses.churn.model", "matplotlib.pyplot", None)
    assert _analysis_breach(
        "analyses.churn.model", f"{PKG}.analyses.funnel.model", "analyses.funnel.model"
    )
    assert _analysis_breach("analyses.churn.model", f"{PKG}.present.style", "present.style")
    assert _analysis_breach("analyses.churn.plots", "matplotlib.pyplot", None) is None
    assert (
        _analysis_breach("analyses.churn.model", f"{PKG}.present.formats", "present.formats")
        is None
    )
    node = ast.parse("from ..pipeline import spec").body[0]
    assert isinstance(node, ast.ImportFrom)
    assert _resolve("engagement.phases.churn", node) == f"{PKG}.engagement.pipeline"


def test_phases_and_pipeline_have_no_cycle():
    """``pipeline`` -> ``phases`` -> ``spec``: the phase declarations never import the pipeline."""
    back = [
        i
        for i in _imports()
        if _inside(i.module, "engagement.phases")
        and _own(i.target)
        and _inside(_own(i.target) or "", "engagement.pipeline")
    ]
    assert not back, back


def test_summary_is_handed_titles_not_the_registry():
    summary = [i for i in _imports() if _inside(i.module, "analyses.summary")]
    assert summary, "the summary analysis was not found"
    assert not [i for i in summary if _inside(_own(i.target) or "", "engagement")]


# --- size limits ------------------------------------------------------------------------------


def _functions() -> list[tuple[str, int, int]]:
    """(``module:qualname``, lines, parameters) for every function and method."""
    out = []

    def visit(module: str, node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                visit(module, child, f"{prefix}{child.name}.")
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                a = child.args
                named = [x.arg for x in (*a.posonlyargs, *a.args, *a.kwonlyargs)]
                params = len([n for n in named if n not in NOT_COUNTED])
                lines = (child.end_lineno or child.lineno) - child.lineno + 1
                out.append((f"{module}:{prefix}{child.name}", lines, params))
                visit(module, child, f"{prefix}{child.name}.")
            else:
                visit(module, child, prefix)

    for module, tree in _sources().items():
        visit(module, tree, "")
    return out


@pytest.mark.parametrize(
    ("limit", "index", "allowed", "what"),
    [
        (MAX_LINES, 1, LONG_FUNCTIONS, "lines"),
        (MAX_PARAMS, 2, MANY_PARAMETERS, "parameters"),
    ],
    ids=["function-length", "parameter-count"],
)
def test_function_size(limit, index, allowed, what):
    over = {f[0]: f[index] for f in _functions() if f[index] > limit}
    new = [f"{name}: {n} {what} (limit {limit})" for name, n in over.items() if name not in allowed]
    stale = [name for name in allowed if name not in over]
    assert not new, (
        f"functions over {limit} {what}: split them into named steps / take a settings object:\n"
        + "\n".join(new)
    )
    assert not stale, f"allow-listed but now within {limit} {what} (remove them):\n" + "\n".join(
        stale
    )
