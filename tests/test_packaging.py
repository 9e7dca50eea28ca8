"""The project's install files agree with each other."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _name(spec: str) -> str:
    return re.split(r"[<>=!~\[ ;]", spec.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _pyproject_specs() -> dict[str, str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    specs = list(data["project"]["dependencies"]) + list(
        data["project"]["optional-dependencies"]["dev"]
    )
    return {_name(s): s.replace(" ", "") for s in specs}


def test_environment_yml_lists_the_same_dependencies_as_pyproject() -> None:
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    conda = {
        _name(d): d.replace(" ", "")
        for d in env["dependencies"]
        if isinstance(d, str) and _name(d) not in {"python", "pip"}
    }
    assert conda == _pyproject_specs()


def test_lock_file_pins_every_dependency() -> None:
    lock = {
        _name(line): line.strip()
        for line in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    missing = sorted(set(_pyproject_specs()) - set(lock))
    assert not missing, f"requirements.lock lacks {missing}: run `make lock`"
    assert all("==" in v for v in lock.values())


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "make test" in readme and "make demo" in readme
    assert re.search(r"^make test$", ci, flags=re.MULTILINE)


def test_every_notebook_cell_has_a_unique_id() -> None:
    """Cells without an id get a random one at every execution (nbformat), which would make the
    same input give different report text."""
    import json

    for path in sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        ids = [c.get("id") for c in cells]
        assert None not in ids, f"{path.name}: a cell without an id"
        assert len(ids) == len(set(ids)), f"{path.name}: cell ids repeat"
