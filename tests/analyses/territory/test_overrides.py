"""Manual territory changes: the overrides file, its checks, locking in the design, and the
workshop editor's moves, undo and balance figures."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from salesanalytics.analyses import territory as tm
from salesanalytics.analyses.territory import overrides as tov
from salesanalytics.analyses.territory.editor import EditSession
from salesanalytics.reference import geo


@pytest.fixture(scope="module")
def demo_inputs(demo_export: Path) -> tm.TerritoryInputs:
    from salesanalytics.analyses.potential import model as pt
    from salesanalytics.ingest import intake

    res = intake.load_export(demo_export, mapping="salesforce")
    t = res.tables
    pot = pt.estimate_potential(t["accounts"], pt.current_mrr(t["contracts"], res.as_of))
    return tm.prepare_inputs(t["accounts"], pot.accounts, t["activities"], t["reps"])


@pytest.fixture(scope="module")
def demo_plan(demo_inputs: tm.TerritoryInputs) -> tm.TerritoryPlan:
    return tm.run_scenario(
        demo_inputs, tolerance=0.1, settings=tm.solver_settings(tm.SCENARIO_SETTINGS, max_passes=20)
    )


@pytest.fixture(scope="module")
def session(demo_inputs: tm.TerritoryInputs, demo_plan: tm.TerritoryPlan) -> EditSession:
    return EditSession(
        tm.unit_table(demo_plan, demo_inputs), demo_plan.territories, demo_inputs.postal_edges
    )


def _boundary_moves(s: EditSession, n: int) -> list[tuple[str, str, str]]:
    """``n`` postal codes on a territory boundary with accounts: (code, from, to)."""
    pcs = s.postal_codes()
    whole = s.units.groupby("postal_code")["territory_id"].nunique() == 1  # not shared
    pcs = pcs[(pcs["potential_mrr"] > 0) & pcs["postal_code"].map(whole)].set_index("postal_code")
    adj = geo.postal_code_adjacency()
    out, used = [], set()
    for a, b in adj.iloc[:, :2].astype(str).itertuples(index=False):
        if a in pcs.index and b in pcs.index and a not in used:
            ta, tb = pcs.at[a, "territory_id"], pcs.at[b, "territory_id"]
            if ta != tb and tb not in {m[2] for m in out} and ta not in {m[2] for m in out}:
                out.append((a, ta, tb))
                used.add(a)
        if len(out) == n:
            break
    return out


def test_file_round_trip_keeps_lines_and_fields(tmp_path: Path) -> None:
    entries = [
        tov.Override(
            unit="8004",
            rep_id="R1",
            who="Lea Keller",
            why="knows the customers",
            territory="T05",
            rep="Anna",
            from_territory="T07",
            from_rep_id="R2",
            date="2026-12-07",
        ),
        tov.Override(unit="3011#2", rep_id="R3", who="Lea Keller", why="same valley"),
    ]
    p = tov.save_overrides(tmp_path / tov.OVERRIDES_FILE, entries)
    back = tov.load_overrides(p)
    assert [o.unit for o in back] == ["8004", "3011#2"]
    assert back[0].from_rep_id == "R2" and back[1].why == "same valley"
    text = p.read_text(encoding="utf-8").splitlines()
    assert text[back[1].line - 1].lstrip().startswith("- unit:")


def test_bad_file_names_every_problem_with_its_line(tmp_path: Path) -> None:
    p = tmp_path / tov.OVERRIDES_FILE
    p.write_text(
        "overrides:\n"
        "  - unit: '8004'\n"
        "    rep_id: R1\n"
        "    who: Lea\n"
        "    why: x\n"
        "  - unit: '8005'\n"
        "    rep_id: R1\n"
        "  - unit: '8004'\n"
        "    rep_id: R2\n"
        "    who: Lea\n"
        "    why: y\n"
        "    colour: red\n",
        encoding="utf-8",
    )
    with pytest.raises(tov.OverrideError) as err:
        tov.load_overrides(p)
    msg = str(err.value)
    assert "territory_overrides.yaml, line 6: missing ['who', 'why']" in msg
    assert "line 8: unknown field(s) ['colour']" in msg
    assert "line 8: unit 8004 is already moved at line 2" in msg
    p.write_text("overrides: [unit: 1\n", encoding="utf-8")
    with pytest.raises(
        tov.OverrideError, match=r"territory_overrides.yaml, line \d+: not valid YAML"
    ):
        tov.load_overrides(p)


def test_override_that_no_longer_fits_is_an_error_naming_the_line(
    tmp_path: Path, demo_inputs: tm.TerritoryInputs
) -> None:
    rep = str(demo_inputs.field_reps["rep_id"].iloc[0])
    p = tov.save_overrides(
        tmp_path / tov.OVERRIDES_FILE,
        [
            tov.Override(
                unit=str(demo_inputs.units["postal_code"].iloc[0]), rep_id=rep, who="a", why="b"
            ),
            tov.Override(unit="0000", rep_id=rep, who="a", why="b"),
            tov.Override(
                unit=str(demo_inputs.units["postal_code"].iloc[1]),
                rep_id="GONE",
                rep="Max Alt",
                territory="T09",
                who="a",
                why="b",
            ),
        ],
    )
    entries = tov.load_overrides(p)
    with pytest.raises(tov.OverrideError) as err:
        tov.apply_overrides(demo_inputs, entries, path=p)
    msg = str(err.value)
    assert f"territory_overrides.yaml, line {entries[1].line}: unit 0000 is not in the data" in msg
    assert (
        f"territory_overrides.yaml, line {entries[2].line}: territory T09 of Max Alt (GONE) "
        "no longer exists" in msg
    )
    assert f"line {entries[0].line}" not in msg
    # the reps named by manual changes each keep a territory: at least that many territories
    reps = demo_inputs.field_reps["rep_id"].astype(str)
    two = [
        entries[0],
        dataclasses.replace(entries[0], rep_id=next(r for r in reps if r != entries[0].rep_id)),
    ]
    with pytest.raises(
        tov.OverrideError, match=r"territories of 2 reps, but the plan has only 1 territories"
    ):
        tov.apply_overrides(demo_inputs, two, n_territories=1)
    assert tov.apply_overrides(demo_inputs, two, n_territories=2).units["manual"].sum() > 0


def test_editor_moves_undoes_and_recomputes_balance(session: EditSession) -> None:
    (code, src, dst), (code2, src2, dst2) = _boundary_moves(session, 2)
    before = session.balance().set_index("territory_id")
    u = session.units[session.units["postal_code"] == code]
    pot_in = u.loc[u["territory_id"] != dst, "potential_mrr"].sum()  # pieces of it may be there
    pot_out = u.loc[u["territory_id"] == src, "potential_mrr"].sum()
    session.move(code, dst)
    after = session.balance().set_index("territory_id")
    assert pot_in > 0
    assert after.at[dst, "potential_mrr"] == pytest.approx(before.at[dst, "potential_mrr"] + pot_in)
    assert after.at[src, "potential_mrr"] == pytest.approx(
        before.at[src, "potential_mrr"] - pot_out
    )
    assert after.at[dst, "dev_potential_mrr"] == pytest.approx(
        after.at[dst, "potential_mrr"] / after.at[dst, "target_potential_mrr"] - 1
    )
    pieces = session.contiguity().set_index("territory_id")
    assert pieces.at[dst, "pieces"] <= pieces.at[dst, "pieces_plan"]  # a boundary code joins dst
    d = session.disruption()
    assert d["customers_changing_now"] >= 0 and "mrr_changing_plan" in d
    moved_acc = u.loc[u["territory_id"] != dst, "n_accounts"].sum()
    assert abs(d["accounts_changing_now"] - d["accounts_changing_plan"]) <= moved_acc
    with pytest.raises(ValueError, match=rf"{code} is already in {dst}"):
        session.move(code, dst)
    with pytest.raises(ValueError, match=r"territory 'T999' is not in the plan"):
        session.move(code2, "T999")
    rows2 = session.units["postal_code"] == code2
    start2 = session.units.loc[rows2, "territory_id"].tolist()
    session.move(code2, dst2)
    assert (session.units.loc[rows2, "territory_id"] == dst2).all()
    assert session.undo().unit == code2
    assert session.units.loc[rows2, "territory_id"].tolist() == start2
    assert session.undo().unit == code
    pd.testing.assert_frame_equal(session.balance().set_index("territory_id"), before)
    assert session.contiguity()["pieces"].tolist() == session.contiguity()["pieces_plan"].tolist()
    assert session.undo() is None


def test_editor_saves_net_moves_with_who_and_why(tmp_path: Path, session: EditSession) -> None:
    (code, src, dst), (code2, _src2, dst2) = _boundary_moves(session, 2)
    session.move(code, dst)
    session.move(code2, dst2)
    session.move(code2, _src2)
    with pytest.raises(ValueError, match="say who makes the change and why"):
        session.save(tmp_path / "o.yaml", "", "x")
    p = session.save(tmp_path / tov.OVERRIDES_FILE, "Lea Keller", "workshop 7 December")
    saved = tov.load_overrides(p)
    assert [o.unit for o in saved] == [code]  # moved back: no change
    t = session.territories
    assert saved[0].rep_id == t.at[dst, "rep_id"] and saved[0].from_rep_id == t.at[src, "rep_id"]
    while session.undo():
        pass


def test_locked_overrides_hold_in_the_design_and_their_cost_is_listed(
    demo_inputs: tm.TerritoryInputs, demo_plan: tm.TerritoryPlan, session: EditSession
) -> None:
    moves = _boundary_moves(session, 2)
    for code, _src, dst in moves:
        session.move(code, dst)
    entries = session.overrides("Lea Keller", "workshop")
    while session.undo():
        pass
    locked = tov.apply_overrides(demo_inputs, entries)
    assert locked.units["manual"].sum() >= 2
    assert not demo_inputs.units["locked"].equals(locked.units["locked"])  # inputs unchanged
    plan = tm.run_scenario(
        locked, tolerance=0.1, settings=tm.solver_settings(tm.SCENARIO_SETTINGS, max_passes=20)
    )
    ut = tm.unit_table(plan, demo_inputs)
    for o in entries:
        reps = ut.loc[ut["postal_code"] == o.unit, "rep_id"].astype(str)
        assert (reps == o.rep_id).all(), o
    costs = tov.override_costs(plan, demo_inputs, entries)
    assert list(costs["unit"]) == [o.unit for o in entries]
    assert costs["to_territory"].tolist() == [
        {str(r): str(k) for k, r in plan.territory_rep.items()}[o.rep_id] for o in entries
    ]
    assert np.isfinite(costs[["cost_potential_pp", "cost_workload_pp"]].to_numpy()).all()
    lines = tov.change_findings(costs)
    assert lines[0].startswith("2 postal code(s) were moved by hand")
    assert tov.change_findings(tov.override_costs(plan, demo_inputs, []))[0].startswith(
        "No manual changes"
    )


def test_recorded_overrides_round_trip_for_the_scenarios() -> None:
    o = tov.Override(unit="8004", rep_id="R1", who="Lea Keller", why="workshop", territory="T01")
    assert tov.overrides_from_records([o.as_dict()]) == [o]
    with pytest.raises(tov.OverrideError, match=r"lack unit or rep_id \(entries \[0\]\)"):
        tov.overrides_from_records([{"unit": "8004", "who": "x"}])
