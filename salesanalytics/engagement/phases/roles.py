"""Phase ``roles``: role profiles of the new sales model and the headcount each role needs."""

from __future__ import annotations

from pydantic import Field, field_validator

from salesanalytics.engagement.paramcheck import PATH_PARAM, check_file
from salesanalytics.engagement.spec import Need, PhaseParams, PhaseSpec

__all__ = ["PHASE", "Params"]


class Params(PhaseParams):
    """Parameters of the roles phase."""

    roles_file: str = Field(
        "",
        description="Role catalogue YAML (tasks, KPIs, development paths); empty = built-in roles.yaml.",
        json_schema_extra=PATH_PARAM,
    )

    @field_validator("roles_file")
    @classmethod
    def _catalogue_is_valid(cls, value: str) -> str:
        return check_file("roles_file", value, _load_roles, what="role catalogue")


def _load_roles(path: str) -> object:
    from salesanalytics.analyses.roles.model import load_roles

    return load_roles(path)


PHASE = PhaseSpec(
    name="roles",
    notebook="85_role_profiles.ipynb",
    title="Role profiles and headcount",
    reads=("intake", "territory", "portfolio", "channels", "compensation"),
    writes=("role_profiles", "development_paths", "headcount"),
    params=Params,
    seconds=1,
    needs=(Need("role profiles and development paths", requires=("reps",)),),
    optional_reads=(
        ("territory", "no FTE per new territory"),
        ("portfolio", "no key-account count for the key-account role"),
        ("channels", "the FTE needed per role is not computed (no channel workload)"),
        ("compensation", "role profiles without pay"),
    ),
)
