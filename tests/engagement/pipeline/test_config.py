"""Project files, parameter validation (--set and project.yaml), the phase graph and `init`."""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

import pytest
import yaml
from pydantic import Field

from salesanalytics.engagement.pipeline import commands
from salesanalytics.engagement.pipeline.config import (
    ConfigError,
    init_project,
    load_project,
    parse_set_options,
    resolve_params,
    slugify,
)
from salesanalytics.engagement.pipeline.graph import downstream, select_phases, topological_order
from salesanalytics.engagement.spec import PhaseParams, PhaseSpec
from salesanalytics.errors import UserError

NB = Path(__file__).resolve().parents[2] / "notebooks"
_spec = importlib.util.spec_from_file_location("fake_phases", NB / "fake_phases.py")
fake = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fake)


class TerritoryParams(PhaseParams):
    n_territories: int = Field(45, ge=1, le=200, description="Number of territories.")
    balance_weight: float = Field(0.5, ge=0, le=1, description="Weight of workload balance.")
    method: str = Field("kmeans", description="Clustering method.")


class IntakeParams(PhaseParams):
    source: str = Field("../data/demo/export", description="Export folder.")
    mapping: str = Field("salesforce", description="Mapping.")
    quarantine: bool = Field(False, description="Quarantine invalid rows.")


INTAKE = PhaseSpec("intake", "00_intake.ipynb", "Data intake", (), ("accounts",), IntakeParams)
TERRITORY = PhaseSpec(
    "territory", "20_territory.ipynb", "Territory design", ("intake",), ("assignment",),
    TerritoryParams,
)  # fmt: skip
PHASES = [INTAKE, TERRITORY]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "export").mkdir()
    (tmp_path / "export" / "Account.csv").write_text("Id\n1\n", encoding="utf-8")
    (tmp_path / "notebooks").mkdir()
    proj = tmp_path / "clients" / "muster"
    init_project(
        proj,
        source=tmp_path / "export",
        phases=PHASES,
        client="Müller Web AG",
        reports=tmp_path / "reports",
        notebooks=tmp_path / "notebooks",
    )
    return proj / "project.yaml"


def _set(path: Path, phase: str, **values: object) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["phases"].setdefault(phase, {}).update(values)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def test_slugify_makes_folder_safe_names() -> None:
    assert slugify("Müller Web AG") == "mueller-web-ag"
    assert slugify("  Café & Co. (Zürich) ") == "cafe-co-zuerich"
    with pytest.raises(ValueError, match="cannot make a folder name"):
        slugify("!!!")


def test_init_writes_every_parameter_with_default_and_help(project: Path) -> None:
    text = project.read_text(encoding="utf-8")
    assert "# Number of territories. [1 ≤ value ≤ 200]" in text
    assert "# Weight of workload balance." in text
    data = yaml.safe_load(text)
    assert data["client"] == {"name": "Müller Web AG", "slug": "muster"}
    assert data["source"] == "../../export"  # relative to the YAML file
    assert data["mapping"] == "salesforce"
    assert data["phases"]["territory"] == {
        "n_territories": 45,
        "balance_weight": 0.5,
        "method": "kmeans",
    }
    # source/mapping of the intake come from the top level, not from the phase section
    assert data["phases"]["intake"] == {"quarantine": False}


def test_init_accepts_a_source_relative_to_the_project_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data" / "demo" / "export").mkdir(parents=True)
    path = init_project("data/demo", source="export", phases=PHASES, slug="demo")
    assert yaml.safe_load(path.read_text(encoding="utf-8"))["source"] == "export"


def test_init_refuses_to_overwrite(project: Path) -> None:
    with pytest.raises(ConfigError, match="already exists.*--force"):
        init_project(project.parent, source="x", phases=PHASES)


def test_load_project_resolves_paths_relative_to_the_file(project: Path, tmp_path: Path) -> None:
    cfg = load_project(project, PHASES)
    assert cfg.client == "Müller Web AG" and cfg.slug == "muster"
    assert cfg.source == (tmp_path / "export").resolve()
    assert cfg.source_display == "../../export"
    assert cfg.reports_dir == (tmp_path / "reports").resolve()
    assert cfg.phase_params["territory"]["n_territories"] == 45
    # the intake's source and mapping come from the project's top level
    assert cfg.phase_params["intake"]["source"] == str((tmp_path / "export").resolve())
    assert cfg.phase_params["intake"]["mapping"] == "salesforce"


def test_misspelled_parameter_gets_a_suggestion(project: Path) -> None:
    _set(project, "territory", n_teritories=40)
    with pytest.raises(
        ConfigError,
        match=r"unknown parameter 'n_teritories' for phase territory; did you mean 'n_territories'\?",
    ):
        load_project(project, PHASES)


def test_set_options_are_validated_like_the_file(project: Path) -> None:
    cfg = load_project(project, PHASES, overrides=["territory.n_territories=40"])
    assert cfg.phase_params["territory"]["n_territories"] == 40
    with pytest.raises(ConfigError, match="did you mean 'n_territories'"):
        load_project(project, PHASES, overrides=["territory.n_teritories=40"])
    with pytest.raises(ConfigError, match=r"'abc' is not valid; expected int"):
        load_project(project, PHASES, overrides=["territory.n_territories=abc"])
    with pytest.raises(
        ConfigError, match=r"500 is not valid; expected int with 1 ≤ n_territories ≤ 200"
    ):
        load_project(project, PHASES, overrides=["territory.n_territories=500"])
    with pytest.raises(ConfigError, match=r"unknown phase 'teritory'; did you mean 'territory'\?"):
        load_project(project, PHASES, overrides=["teritory.n_territories=40"])
    with pytest.raises(ConfigError, match="expected phase.param=value"):
        load_project(project, PHASES, overrides=["n_territories=40"])


def test_all_problems_are_reported_at_once(project: Path) -> None:
    _set(project, "territory", n_territories=0, balance_weight="high", colour="red")
    with pytest.raises(ConfigError) as exc:
        load_project(project, PHASES, overrides=["intake.quarantine=maybe"])
    msg = str(exc.value)
    assert msg.startswith("4 problem(s) in ")
    assert "0 is not valid; expected int with 1 ≤ n_territories ≤ 200" in msg
    assert "'high' is not valid; expected float with 0 ≤ balance_weight ≤ 1" in msg
    assert "unknown parameter 'colour' for phase territory" in msg
    assert "--set intake.quarantine: parameter 'quarantine' of phase intake: 'maybe'" in msg
    assert isinstance(exc.value, UserError) and isinstance(exc.value, ValueError)


def test_set_values_are_yaml_scalars_and_text_stays_text() -> None:
    values, problems = parse_set_options(
        ["territory.balance_weight=0.25", "territory.method=0042", "intake.quarantine=true"],
        PHASES,
    )
    assert problems == []
    assert values == {
        "territory": {"balance_weight": 0.25, "method": "0042"},
        "intake": {"quarantine": True},
    }


def test_source_under_the_intake_phase_is_rejected_with_a_hint() -> None:
    _, problems = resolve_params(PHASES, {"intake": {"source": "x"}}, top_level={"source": "y"})
    assert problems == [
        "project.yaml: parameter 'source' of phase intake is set by the top-level 'source' key; "
        "move it there"
    ]


def test_unknown_settings_and_missing_source(project: Path) -> None:
    data = yaml.safe_load(project.read_text(encoding="utf-8"))
    data["sourse"] = data.pop("source")
    data["run"]["cell_timeot"] = 5
    project.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_project(project, PHASES)
    msg = str(exc.value)
    assert "unknown setting 'sourse'; did you mean 'source'?" in msg
    assert "unknown setting 'run.cell_timeot'; did you mean 'cell_timeout'?" in msg
    assert "'source' (folder with the CRM export) is missing" in msg


def test_missing_project_file_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="salesanalytics init DIR --source"):
        load_project(tmp_path / "nope.yaml", PHASES)


def test_graph_selection_adds_upstream_and_orders() -> None:
    phases = [fake.GAMMA, fake.DELTA, fake.BETA, fake.ALPHA]
    assert [p.name for p in topological_order(phases)] == ["alpha", "delta", "beta", "gamma"]
    assert [p.name for p in select_phases(phases, ["gamma"])] == ["alpha", "beta", "gamma"]
    assert [p.name for p in select_phases(phases, ["delta"])] == ["alpha", "delta"]
    assert downstream(phases, "alpha") == ["delta", "beta", "gamma"]
    assert downstream(phases, "beta") == ["gamma"]
    with pytest.raises(KeyError, match=r"unknown phase 'gama'; did you mean 'gamma'\?"):
        select_phases(phases, ["gama"])


def test_graph_ignores_absent_upstream_and_rejects_cycles() -> None:
    lonely = PhaseSpec("summary", "x.ipynb", "S", ("alpha", "roles"), (), fake.AlphaParams)
    assert [p.name for p in select_phases([fake.ALPHA, lonely], ["summary"])] == [
        "alpha",
        "summary",
    ]
    a = PhaseSpec("a", "a.ipynb", "A", ("b",), (), fake.AlphaParams)
    b = PhaseSpec("b", "b.ipynb", "B", ("a",), (), fake.AlphaParams)
    with pytest.raises(ValueError, match="cycle among: a, b"):
        topological_order([a, b])


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="salesanalytics")
    commands.register_cli(parser.add_subparsers(dest="command"))
    return parser


def test_cli_init_scaffolds_a_project_named_after_its_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notebooks").mkdir()
    args = _parser().parse_args(
        ["init", "data/demo", "--source", "data/demo/export", "--client", "Webwerk Demo AG"]
    )
    assert args.func(args) == 0
    data = yaml.safe_load((tmp_path / "data/demo/project.yaml").read_text(encoding="utf-8"))
    assert data["client"] == {"name": "Webwerk Demo AG", "slug": "demo"}
    assert data["source"] == "export"
    assert data["reports"] == "../../reports"
    assert data["notebooks"] == "../../notebooks"


def test_cli_run_reports_parameter_problems_before_running(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import salesanalytics.engagement.phases

    monkeypatch.setattr(salesanalytics.engagement.phases, "all_phases", lambda: PHASES)
    args = _parser().parse_args(
        ["run", "--config", str(project), "--set", "territory.n_teritories=3", "--quiet"]
    )
    with pytest.raises(UserError, match="did you mean 'n_territories'"):
        args.func(args)
    args = _parser().parse_args(["run", "--config", str(project), "--phase", "teritory"])
    with pytest.raises(UserError, match="unknown phase 'teritory'; did you mean 'territory'"):
        args.func(args)
    args = _parser().parse_args(["run", "--config", str(project)])
    with pytest.raises(UserError, match=r"phase intake: notebook .*00_intake.ipynb not found"):
        args.func(args)


def test_run_refuses_notebooks_without_parameters_cell(tmp_path: Path) -> None:
    from nbformat.v4 import new_code_cell, new_notebook

    from salesanalytics.engagement.pipeline.runner import RunOptions, run_pipeline

    nbformat = pytest.importorskip("nbformat")
    nbformat.write(new_notebook(cells=[new_code_cell("x = 1")]), tmp_path / "20_territory.ipynb")
    nbformat.write(new_notebook(cells=[new_code_cell("x = 1")]), tmp_path / "00_intake.ipynb")
    opts = RunOptions(PHASES, tmp_path, tmp_path / "reports", "C", "c", quiet=True)
    with pytest.raises(
        ValueError, match="phase intake: notebook .* has no cell tagged 'parameters'"
    ):
        run_pipeline(opts)
    assert not (tmp_path / "reports").exists()  # nothing ran


def _real_project(tmp_path: Path) -> Path:
    from salesanalytics.engagement.phases import all_phases

    (tmp_path / "export").mkdir()
    proj = tmp_path / "clients" / "muster"
    init_project(
        proj,
        source=tmp_path / "export",
        phases=all_phases(),
        reports=tmp_path / "reports",
        notebooks=Path(__file__).resolve().parents[3] / "notebooks",
    )
    return proj / "project.yaml"


def test_impossible_combinations_are_listed_with_where_they_were_set(tmp_path: Path) -> None:
    from salesanalytics.engagement.phases import all_phases

    path = _real_project(tmp_path)
    _set(path, "portfolio", abc_a_share=0.97)
    with pytest.raises(ConfigError) as info:
        load_project(
            path,
            all_phases(),
            overrides=["churn.risk_medium_quantile=0.95", "channels.online_max_complexity=5"],
        )
    text = str(info.value)
    assert text.startswith("3 problem(s) in")
    assert (
        "project.yaml phases.portfolio: phase portfolio: abc_a_share = 0.97 must be below "
        "abc_b_share = 0.95 because" in text
    )
    assert "lower abc_a_share or raise abc_b_share" in text
    assert (
        "--set churn.risk_medium_quantile; project.yaml phases.churn: phase churn: "
        "risk_medium_quantile = 0.95 must be below risk_high_quantile = 0.9" in text
    )
    assert "online_max_complexity = 5 must be at most field_min_complexity = 3" in text


def test_file_parameters_are_read_relative_to_the_project_file(tmp_path: Path) -> None:
    from salesanalytics.engagement.phases import all_phases

    path = _real_project(tmp_path)
    plan = yaml.safe_load(
        (
            Path(__file__).resolve().parents[3] / "salesanalytics/config/plans/current.yaml"
        ).read_text(encoding="utf-8")
    )
    (path.parent / "plans").mkdir()
    (path.parent / "plans" / "mine.yaml").write_text(yaml.safe_dump(plan), encoding="utf-8")
    _set(path, "compensation", proposed_plan="plans/mine.yaml", current_plan="current")
    _set(path, "controlling", kpi_system="kpis/missing.yaml")
    with pytest.raises(ConfigError) as info:
        load_project(path, all_phases())
    missing = (path.parent / "kpis" / "missing.yaml").resolve()
    assert f"kpi_system = '{missing}': the KPI system file does not exist" in str(info.value)
    _set(path, "controlling", kpi_system="")
    cfg = load_project(path, all_phases())
    assert cfg.phase_params["compensation"]["proposed_plan"] == str(
        (path.parent / "plans" / "mine.yaml").resolve()
    )
    assert cfg.phase_params["compensation"]["current_plan"] == "current"  # a built-in name


def test_validate_checks_the_project_parameters_first(tmp_path: Path, capsys) -> None:
    from salesanalytics.cli import main

    path = _real_project(tmp_path)
    _set(path, "funnel", stages_existing="Proposal, Proposal")
    assert main(["validate", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "phase funnel: stages_existing = 'Proposal, Proposal': stage(s) named twice" in err
    assert main(["validate"]) == 2
    assert "give the export folder with --source, or a project file with --config" in (
        capsys.readouterr().err
    )


def test_key_account_criteria_set_for_the_portfolio_phase_move_to_the_potential_phase() -> None:
    from salesanalytics.engagement.phases import get_phase

    phases = [get_phase("potential"), get_phase("portfolio")]
    params, problems = resolve_params(
        phases,
        {"portfolio": {"ka_min_criteria": 3, "window_months": 6}},
        overrides={"portfolio": {"ka_min_products": 4}},
    )
    assert problems == []
    assert params["potential"]["ka_min_criteria"] == 3
    assert params["potential"]["ka_min_products"] == 4
    assert "ka_min_criteria" not in params["portfolio"]
    assert params["portfolio"]["window_months"] == 6
    # set in both places: the new place wins
    params, _ = resolve_params(
        phases, {"portfolio": {"ka_min_criteria": 3}, "potential": {"ka_min_criteria": 1}}
    )
    assert params["potential"]["ka_min_criteria"] == 1


def test_language_and_locale_are_project_settings_set_at_the_top_or_with_set(
    tmp_path: Path,
) -> None:
    from salesanalytics.engagement.phases import intake

    (tmp_path / "export").mkdir()
    (tmp_path / "notebooks").mkdir()
    phases = [intake.PHASE]
    path = init_project(
        tmp_path / "p",
        source=tmp_path / "export",
        phases=phases,
        notebooks=tmp_path / "notebooks",
        language="de",
    )
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert raw["language"] == "de" and raw["locale"] == ""
    assert "language" not in (raw["phases"].get("intake") or {})
    cfg = load_project(path, phases)
    assert (cfg.phase_params["intake"]["language"], cfg.phase_params["intake"]["locale"]) == (
        "de",
        "",
    )
    cfg = load_project(path, phases, overrides=["language=en", "locale=en-CH"])
    assert cfg.phase_params["intake"]["language"] == "en"
    with pytest.raises(ConfigError, match=r"locale 'de-DE' does not fit language 'en'"):
        load_project(path, phases, overrides=["language=en", "locale=de-DE"])
    with pytest.raises(ConfigError, match=r"language 'fr' is not supported"):
        init_project(tmp_path / "q", source=tmp_path / "export", phases=phases, language="fr")


def test_load_project_steps_collect_problems_without_stopping(tmp_path):
    from salesanalytics.engagement.pipeline.config import (
        _client_settings,
        _folder_settings,
        _run_settings,
        _source_setting,
    )

    problems: list[str] = []
    assert _run_settings({"run": {"cell_timeout": 0, "workers": 2}}, "p.yaml", problems) == (900, 2)
    assert _run_settings({}, "p.yaml", problems) == (900, 0)
    assert problems == ["p.yaml: run.cell_timeout must be a whole number of seconds ≥ 1, not 0"]
    problems.clear()
    assert _client_settings({"client": "Acme AG"}, tmp_path, "p.yaml", problems) == (
        "Acme AG",
        "acme-ag",
    )
    _client_settings({"client": {"name": "X", "slug": "Bad Slug"}}, tmp_path, "p.yaml", problems)
    assert problems == [
        "p.yaml: client.slug 'Bad Slug' is not folder-safe; use lower-case letters, digits, '-', '_'"
    ]
    problems.clear()
    source, shown = _source_setting({"source": str(tmp_path)}, tmp_path, "p.yaml", problems)
    assert source == tmp_path.resolve() and shown == tmp_path.name and not problems
    mapping, reports, _ = _folder_settings(
        {"mapping": "m.yaml", "notebooks": "nb"}, tmp_path, "p.yaml", problems
    )
    assert mapping == str((tmp_path / "m.yaml").resolve())
    assert reports == (tmp_path / "reports").resolve()
    assert problems == [
        f"p.yaml: notebooks folder {(tmp_path / 'nb').resolve()} does not exist; set 'notebooks'"
    ]


def test_engine_setting_defaults_to_duckdb_and_accepts_spark(project: Path) -> None:
    assert load_project(project, PHASES).engine == {}  # DuckDB embedded
    data = yaml.safe_load(project.read_text(encoding="utf-8"))
    data["engine"] = {"engine": "spark", "master": "spark://head:7077", "location": "s3a://b/p"}
    project.write_text(yaml.safe_dump(data), encoding="utf-8")
    cfg = load_project(project, PHASES)
    assert cfg.engine == {"engine": "spark", "master": "spark://head:7077", "location": "s3a://b/p"}


def test_engine_setting_problems_are_listed_with_the_rest(project: Path) -> None:
    data = yaml.safe_load(project.read_text(encoding="utf-8"))
    data["engine"] = {"engine": "oracle", "mastr": "local[2]"}
    data["run"]["cell_timeot"] = 5
    project.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_project(project, PHASES)
    msg = str(exc.value)
    assert "engine.engine: Input should be 'duckdb' or 'spark' (got 'oracle')" in msg
    assert "engine.mastr: Extra inputs are not permitted" in msg
    assert "unknown setting 'run.cell_timeot'" in msg
