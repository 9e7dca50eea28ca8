"""Every registered phase is consistent with its notebook, and notebooks follow the house rules."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from salesanalytics.engagement.phases import PHASE_MODULES, all_phases, get_phase

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
PHASES = all_phases()


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _parameters(path: Path) -> dict[str, object]:
    cells = [c for c in _cells(path) if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(cells) == 1, f"{path.name}: needs exactly one cell tagged 'parameters'"
    tree = ast.parse("".join(cells[0]["source"]))
    params: dict[str, object] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign | ast.AnnAssign):
            target = node.targets[0] if isinstance(node, ast.Assign) else node.target
            params[target.id] = ast.literal_eval(node.value)
    return params


def test_phase_order_and_dependencies_form_a_dag() -> None:
    names = [p.name for p in PHASES]
    assert names == [n for n in PHASE_MODULES if n in names]
    for i, phase in enumerate(PHASES):
        for upstream in phase.reads:
            assert upstream in names[:i], (
                f"{phase.name} reads {upstream}, which does not run before it"
            )


@pytest.mark.parametrize("phase", PHASES, ids=lambda p: p.name)
def test_notebook_parameters_match_the_phase_model(phase) -> None:
    path = NOTEBOOKS / phase.notebook
    assert path.exists(), f"phase {phase.name}: notebook {path} is missing"
    params = _parameters(path)
    defaults = {name: field.default for name, field in phase.params.model_fields.items()}
    assert {"run_dir", "output_dir"} <= set(params)
    nb_params = {k: v for k, v in params.items() if k not in {"run_dir", "output_dir"}}
    assert nb_params == defaults, (
        f"{path.name}: parameters cell differs from {phase.params.__module__}.Params"
    )
    for field in phase.params.model_fields.values():
        assert field.description, f"phase {phase.name}: every parameter needs a one-line help"


@pytest.mark.parametrize("phase", [p for p in PHASES if p.per_entity], ids=lambda p: p.name)
def test_per_entity_templates_take_their_entity_parameter(phase) -> None:
    for spec in phase.per_entity:
        params = _parameters(NOTEBOOKS / spec.notebook)
        assert "run_dir" in params and spec.entity_param in params
        assert spec.entities_table[0] == phase.name


def _titles() -> list[tuple[str, str]]:
    out = []
    for phase in PHASES:
        out.append((phase.notebook, phase.title))
        out += [(spec.notebook, spec.title or phase.title) for spec in phase.per_entity]
    return out


@pytest.mark.parametrize(("notebook", "title"), _titles(), ids=lambda v: str(v)[:30])
def test_a_report_has_one_title_the_phases(notebook: str, title: str) -> None:
    # the client page's title block shows the phase's title and drops the notebook's heading;
    # the analyst version shows the heading: both must read the same title
    first = next(c for c in _cells(NOTEBOOKS / notebook) if c["cell_type"] == "markdown")
    heading = "".join(first["source"]).splitlines()[0]
    assert heading == f"# {title}", f"{notebook}: first heading {heading!r}, phase title {title!r}"


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("*.ipynb")), ids=lambda p: p.name)
def test_notebooks_are_committed_clean_and_thin(path: Path) -> None:
    for cell in _cells(path):
        if cell["cell_type"] != "code":
            continue
        assert not cell.get("outputs") and not cell.get("execution_count"), (
            f"{path.name}: strip outputs"
        )
        source = "".join(cell["source"])
        tree = ast.parse(source)
        defs = [
            n
            for n in ast.walk(tree)
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        ]
        assert not defs, f"{path.name}: functions/classes belong in the package, not the notebook"


def test_unknown_phase_lists_known_ones() -> None:
    with pytest.raises(KeyError, match="unknown phase 'teritory'; known phases: intake"):
        get_phase("teritory")
