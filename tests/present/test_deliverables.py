"""Safe client files: formula neutralisation in every Excel/CSV writer, safe per-entity file names."""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from salesanalytics.analyses import territory as tm
from salesanalytics.engagement.pipeline.runner import _entity_file
from salesanalytics.present import deliverables as dl
from salesanalytics.present import style

ROOT = Path(__file__).resolve().parents[2]

HOSTILE = [
    '=HYPERLINK("http://evil.example","click")',
    "+41 44 123 45 67",
    "-Anna Meier",
    "@SUM(A1:A9)",
    "\tTab Name",
    "\rCR Name",
    "=cmd|' /C calc'!A0",
]


def _frame() -> pd.DataFrame:
    n = len(HOSTILE)
    return pd.DataFrame(
        {
            "rep": pd.array(HOSTILE, dtype="string"),
            "team": pd.Categorical(["=Team"] + ["Team Ost"] * (n - 1)),
            "note": pd.Series(["ok", None, "-12.5", "- 5", "x", "y", "z"], dtype=object),
            "delta": [-3, -2, -1, 0, 1, 2, 3],
            "share": [-0.5, 0.1, float("nan"), 0.3, 0.4, 0.5, 0.6],
            "flag": [True, False, True, False, True, False, True],
        }
    )


def _starts_with_formula(v: object) -> bool:
    return isinstance(v, str) and v.startswith(dl.FORMULA_PREFIXES)


@pytest.mark.parametrize("text", HOSTILE)
def test_neutralise_prefixes_a_quote_and_keeps_the_text(text: str) -> None:
    assert dl.neutralise(text) == "'" + text


@pytest.mark.parametrize("value", ["1e5", "Anna", "", "a=b", -4, 2.5, None, True])
def test_neutralise_keeps_numbers_and_plain_text(value: object) -> None:
    assert dl.neutralise(value) is value


def test_neutralise_frame_changes_only_dangerous_text_cells() -> None:
    df = _frame()
    df.columns = ["=rep", *df.columns[1:]]
    df.attrs["n_vacant"] = 2
    out = dl.neutralise_frame(df)
    assert list(out.iloc[:, 0]) == ["'" + t for t in HOSTILE]
    assert list(out["team"].astype(str))[:2] == ["'=Team", "Team Ost"]
    assert list(out["note"])[2:4] == ["'-12.5", "'- 5"]  # text, even if it looks like a number
    pd.testing.assert_series_equal(out["delta"], df["delta"])
    pd.testing.assert_series_equal(out["share"], df["share"])
    assert out.columns[0] == "'=rep"
    assert out.attrs == {"n_vacant": 2}
    assert df.iloc[0, 0] == HOSTILE[0]  # the input frame is not modified


def test_write_excel_neutralises_text_and_keeps_numbers(tmp_path: Path) -> None:
    path = dl.write_excel(tmp_path / "plan.xlsx", {"Reps: [all]": _frame()})
    wb = openpyxl.load_workbook(path)
    [ws] = wb.worksheets
    assert ws.title == "Reps- -all-"
    rows = list(ws.iter_rows(values_only=True))
    assert not [v for r in rows for v in r if _starts_with_formula(v)]
    # (depending on the XML writer a carriage return reads back as itself or as a line feed)
    back = [str(r[0]).replace("\r", "\n") for r in rows[1:]]
    assert back == ["'" + t.replace("\r", "\n") for t in HOSTILE]
    assert [r[3] for r in rows[1:]] == [-3, -2, -1, 0, 1, 2, 3]  # numbers stay numbers
    assert rows[1][4] == -0.5 and rows[3][4] is None
    assert all(c.data_type != "f" for r in ws.iter_rows() for c in r)  # no formula cell


def test_write_excel_cuts_text_to_the_excel_cell_limit(tmp_path: Path) -> None:
    long = "x" * (dl.EXCEL_CELL_LIMIT + 10)
    path = dl.write_excel(tmp_path / "long.xlsx", {"a": pd.DataFrame({"t": [long, "short"]})})
    rows = list(openpyxl.load_workbook(path).active.iter_rows(values_only=True))
    assert len(rows[1][0]) == dl.EXCEL_CELL_LIMIT and rows[1][0].endswith("[...]")
    assert rows[2][0] == "short"


def test_write_csv_neutralises_text_and_keeps_numbers(tmp_path: Path) -> None:
    path = style.write_csv(_frame(), tmp_path / "x.csv")
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["rep", "team", "note", "delta", "share", "flag"]
    assert not [v for r in rows for v in r[:3] if _starts_with_formula(v)]  # the text columns
    assert [r[0] for r in rows[1:]] == ["'" + t for t in HOSTILE]
    assert [r[3] for r in rows[1:]] == ["-3", "-2", "-1", "0", "1", "2", "3"]


def test_writers_replace_a_hard_linked_file_instead_of_changing_it(tmp_path: Path) -> None:
    """A file shared with an earlier run through a hard link keeps its content."""
    for writer, name in ((dl.write_csv, "a.csv"), (None, "a.xlsx")):
        target = tmp_path / name
        old = pd.DataFrame({"x": [1, 2, 3]})
        if writer is None:
            dl.write_excel(target, {"s": old})
        else:
            writer(old, target)
        earlier = tmp_path / f"earlier-{name}"
        os.link(target, earlier)
        before = earlier.read_bytes()
        if writer is None:
            dl.write_excel(target, {"s": pd.DataFrame({"x": [9]})})
        else:
            writer(pd.DataFrame({"x": [9]}), target)
        assert earlier.read_bytes() == before
        assert target.stat().st_ino != earlier.stat().st_ino
        assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_failed_write_leaves_no_file(tmp_path: Path) -> None:
    class Boom:
        def __init__(self) -> None:
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        dl._replace_atomically(tmp_path / "x.csv", lambda p: Boom())
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_bytes_replaces_a_hard_linked_file(tmp_path: Path) -> None:
    """The run folder's and the Salesforce export's files: new content, the earlier link kept."""
    target = tmp_path / "sub" / "index.html"
    dl.atomic_write_bytes(target, b"first")
    earlier = tmp_path / "earlier.html"
    os.link(target, earlier)
    dl.atomic_write_bytes(target, b"second")
    assert (target.read_bytes(), earlier.read_bytes()) == (b"second", b"first")
    assert not [p for p in target.parent.iterdir() if p.name.endswith(".tmp")]


def test_territory_workbook_goes_through_the_safe_writer(tmp_path: Path) -> None:
    path = tm.write_excel(tmp_path / "territory_plan.xlsx", {"Territories": _frame()})
    rows = list(openpyxl.load_workbook(path).active.iter_rows(values_only=True))
    assert not [v for r in rows for v in r if _starts_with_formula(v)]


def test_every_client_excel_and_csv_writer_uses_the_safe_helpers() -> None:
    """No module or notebook writes Excel or CSV files except through deliverables."""
    offenders = []
    pattern = re.compile(r"\.to_csv\(|\.to_excel\(|Workbook\(|ExcelWriter\(")
    files = [
        *ROOT.joinpath("salesanalytics").rglob("*.py"),
        *ROOT.joinpath("notebooks").glob("*.ipynb"),
    ]
    for f in files:
        if f.name == "deliverables.py" or f.name == "demo.py":  # demo writes the *input* export
            continue
        text = f.read_text(encoding="utf-8")
        offenders += [f"{f.relative_to(ROOT)}: {m.group()}" for m in pattern.finditer(text)]
    assert offenders == []


NAMES = {
    "../x": "x",
    "a/b": "a-b",
    "a\\b": "a-b",
    "Team Zürich-Ostschweiz": "Team-Zuerich-Ostschweiz",
    "Chloé Rochat": "Chloe-Rochat",
    "Straße": "Strasse",
    "005Ab00000Rep07": "005Ab00000Rep07",
}


@pytest.mark.parametrize(("name", "stem"), NAMES.items())
def test_safe_file_stem_is_readable(name: str, stem: str) -> None:
    assert dl.safe_file_stem(name) == stem


HOSTILE_NAMES = [
    "../x",
    "../../etc/passwd",
    "..",
    ".",
    "",
    "CON",
    "con",
    "NUL",
    "com1",
    "LPT9",
    "a/b",
    "/abs/path",
    "C:\\Windows\\x",
    "x" * 300,
    "Zürich " * 60,
    "🚀🚀",
    "Team 🚀",
    "nul\x00byte",
    "\u202etxt.exe",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_safe_file_stem_stays_in_its_folder(tmp_path: Path, name: str) -> None:
    stem = dl.safe_file_stem(name)
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,80}", stem), stem
    assert stem.split("-")[0].upper() not in {"CON", "PRN", "AUX", "NUL"} or "-" in stem
    assert stem.upper() not in {"CON", "PRN", "AUX", "NUL", "COM1", "LPT9"}
    target = (tmp_path / f"{stem}.html").resolve()
    assert target.parent == tmp_path.resolve()
    target.write_text("ok", encoding="utf-8")  # the file system accepts it
    assert _entity_file(name) == stem  # the runner names per-entity reports the same way


def test_unique_file_stems_never_collide() -> None:
    names = ["a/b", "a-b", "A-B", "x" * 300, "x" * 300 + "y", "CON", "con", "", "🚀", "🚀🚀"]
    stems = dl.unique_file_stems(names)
    assert len({s.lower() for s in stems}) == len(names)
    assert stems[:3] == ["a-b", "a-b-2", "A-B-3"]
    assert all(len(s) <= dl.MAX_STEM for s in stems)
    assert dl.unique_file_stems(names) == stems  # reproducible
