"""Phase parameters declared once: a ``Params`` field reusing an analysis settings object takes its
default (and a pydantic model's bounds) from there; whatever the project file accepts, the analysis
accepts too."""

from __future__ import annotations

import dataclasses
import math
from importlib import import_module

import pytest
from pydantic import BaseModel, Field, ValidationError

from salesanalytics.analyses.portfolio.model import KeyAccountCriteria
from salesanalytics.engagement.phases import all_phases, get_phase
from salesanalytics.engagement.spec import BOUNDS, PhaseParams, setting, setting_source

TIED: dict[str, dict[str, str]] = {
    # phase -> Params field -> "SettingsClass.field" it must be declared by
    "potential": {
        "ka_potential_quantile": "KeyAccountCriteria.potential_quantile",
        "ka_revenue_quantile": "KeyAccountCriteria.revenue_quantile",
        "ka_min_products": "KeyAccountCriteria.min_products",
        "ka_min_locations": "KeyAccountCriteria.min_locations",
        "ka_min_criteria": "KeyAccountCriteria.min_criteria",
    },
    "channels": {
        "white_space_weight": "AssignmentRules.white_space_weight",
        "field_uplift": "AssignmentRules.field_uplift",
        "tele_uplift": "AssignmentRules.tele_uplift",
        "field_min_complexity": "AssignmentRules.field_min_complexity",
        "online_max_complexity": "AssignmentRules.online_max_complexity",
        "preference_tolerance": "AssignmentRules.preference_tolerance",
        "field_capacity_hours": "AssignmentRules.field_capacity_hours",
        "size_basis": "MatrixRules.size_basis",
        "size_classes": "MatrixRules.size_classes",
        "min_deals": "MatrixRules.min_deals",
        "prior_deals": "MatrixRules.prior_deals",
        "hybrid_band": "MatrixRules.hybrid_band",
        "preference_share": "MatrixRules.preference_share",
        "preference_band": "MatrixRules.preference_band",
    },
    "churn": {"start_window_days": "CustomerTableConfig.start_window_days"},
}


def _tied_fields():
    for spec in all_phases():
        for name, info in spec.params.model_fields.items():
            source = setting_source(info)
            if source is not None:
                module, cls, field = source
                yield spec, name, info, getattr(import_module(module), cls), field


def _bounds(info) -> dict[str, float]:
    out = {}
    for meta in info.metadata:
        for key in BOUNDS:
            value = getattr(meta, key, None)
            if value is not None:
                out[key] = value
    return out


def _accepts(factory, **values) -> bool:
    try:
        factory(**values)
    except (ValidationError, ValueError, TypeError):
        return False
    return True


def test_the_expected_parameters_are_declared_by_their_settings_objects():
    found = {
        (spec.name, name): f"{cls.__qualname__}.{field}"
        for spec, name, _, cls, field in _tied_fields()
    }
    expected = {(phase, p): ref for phase, fields in TIED.items() for p, ref in fields.items()}
    assert {k: found.get(k) for k in expected} == expected


@pytest.mark.parametrize(
    ("phase", "name"), [(p, n) for p, fields in TIED.items() for n in fields], ids=str
)
def test_default_and_bounds_come_from_the_settings_object(phase, name):
    params = get_phase(phase).params
    info = params.model_fields[name]
    module, cls_name, field = setting_source(info)
    source = getattr(import_module(module), cls_name)
    if issubclass(source, BaseModel):
        theirs = source.model_fields[field]
        assert info.default == theirs.default
        for key, value in _bounds(theirs).items():  # every bound there holds here (or tighter)
            mine = _bounds(info)[key]
            assert mine >= value if key in ("gt", "ge") else mine <= value, (key, mine, value)
    else:
        assert dataclasses.is_dataclass(source)
        default = {f.name: f.default for f in dataclasses.fields(source)}[field]
        assert info.default == default
    # the project file's range is inside the analysis' range: every endpoint the phase accepts,
    # the settings object accepts (combinations the phase rejects by a validator are skipped)
    probes = [info.default]
    for key, value in _bounds(info).items():
        step = 1 if isinstance(info.default, int) and not isinstance(info.default, bool) else 1e-9
        probes.append(value + step if key == "gt" else value - step if key == "lt" else value)
    if not any(k in _bounds(info) for k in ("lt", "le")) and isinstance(info.default, int | float):
        probes.append(info.default * 1000 + 1000)
    for v in probes:
        if _accepts(params, **{name: v}):
            assert _accepts(source, **{field: v}), f"{phase}.{name}={v}: the analysis rejects it"


def test_key_account_criteria_built_from_the_potential_parameters():
    p = get_phase("potential").params()
    assert p.key_account_criteria() == KeyAccountCriteria()
    q = get_phase("potential").params(ka_min_products=5, ka_potential_quantile=0.9)
    assert q.key_account_criteria() == KeyAccountCriteria(min_products=5, potential_quantile=0.9)


def test_a_looser_bound_than_the_settings_object_is_refused():
    class Settings(BaseModel):
        share: float = Field(0.5, gt=0, le=1)

    class Ok(PhaseParams):
        share: float = setting(Settings, "share", lt=0.9, description="narrower is fine")

    assert Ok().share == 0.5 and not math.isnan(_bounds(Ok.model_fields["share"])["lt"])
    with pytest.raises(ValidationError):
        Ok(share=0.95)
    with pytest.raises(TypeError, match=r"le=2 is looser than the settings object's le=1"):
        setting(Settings, "share", le=2, description="x")
    with pytest.raises(TypeError, match=r"has no setting 'other'"):
        setting(Settings, "other", description="x")
