"""Declarative column mappings (YAML) from a CRM export to the canonical tables.

A mapping file says which input files feed which canonical table and how their columns become
canonical columns. Built-in mappings (``salesforce``, ``maven-crm``) live in
``salesanalytics/mappings/<name>.yaml``; a client-specific mapping is a YAML file passed by path.

Structure
---------
.. code-block:: yaml

    name: my-crm
    description: What export this mapping reads.
    ignore: ["README*"]             # files to skip silently
    sources:                        # kinds of input files
      Account:
        files: ["Account", "Accounts_*"]    # name patterns (without extension; any case)
        detect: [Id, Name, BillingPostalCode]  # ... or recognised by these header columns
        absent: [OpportunityId]     # ... and none of these
        required: true              # error if no such file is in the export
    tables:
      accounts:
        warn_missing: [postal_code] # empty values are warnings (counted), not errors
        inputs:                     # several inputs are stacked (e.g. Task + Event)
          - source: Account
            columns:
              account_id: Id                    # plain source column
              status:                           # value map (any case), default for others
                source: Type
                values: {Customer: customer, Prospect: prospect}
                default: prospect
              minutes:                          # coalesce several columns, with scale
                source: [CallDurationInSeconds, Duration_Minutes__c]
                divide: {CallDurationInSeconds: 60}
              created_date: {source: Created, date_format: "%d.%m.%Y"}
              type: {constant: new_business}
              channel: {source: Channel__c, optional: true, fill: tele}  # empty -> tele
              stage: {source: StageName, known: [Prospecting, Closed Won]}  # others: a note
              status:                           # first matching case wins
                cases:
                  - {when: {IsWon: [true, 1]}, value: won}
                  - {when: {IsClosed: [true, 1]}, value: lost}
                default: open
              product_id:                       # lookup join from another file
                lookup: {source: OpportunityLineItem, column: Id, key: OpportunityId,
                         value: Product2Id, order_by: TotalPrice}

Every translated value is counted (:attr:`MappedTable.remappings`), and every cell whose text
cannot be converted to the canonical type is reported with file, column, row and value.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from salesanalytics.errors import InputNotFoundError, MappingError
from salesanalytics.ingest import io as sio
from salesanalytics.ingest import schema
from salesanalytics.ingest.derive import CustomerExtract, DeriveOptions, Transactions
from salesanalytics.ingest.problems import FILE_COL, ROW_COL, empty_problems, problem_frame

__all__ = [
    "BUILTIN_MAPPINGS",
    "CONTROL_CHARACTERS",
    "EXCEL_CELL_LIMIT",
    "CaseSpec",
    "ColumnSpec",
    "InputMapper",
    "InputSpec",
    "LookupSpec",
    "MappedTable",
    "Mapping",
    "SourceSpec",
    "TableSpec",
    "builtin_mapping_names",
    "load_mapping",
    "map_column",
    "map_input",
    "match_files",
    "stack_inputs",
    "text_cell_problems",
]

BUILTIN_MAPPINGS = "mappings"
"""Folder of the built-in mapping files inside the package."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _as_list(v: Any) -> list[Any]:
    if v is None:
        return []
    return list(v) if isinstance(v, list | tuple) else [v]


def _norm(v: Any) -> str:
    """Normalised text for case-insensitive comparison (YAML booleans become true/false)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip().lower()


class SourceSpec(_Model):
    """A kind of input file, found by name pattern or by its header columns."""

    files: list[str] = []
    detect: list[str] = []
    absent: list[str] = []
    required: bool = False
    description: str = ""

    @model_validator(mode="after")
    def _findable(self) -> SourceSpec:
        if not self.files and not self.detect:
            raise ValueError("give 'files' (name patterns) or 'detect' (header columns)")
        return self


class CaseSpec(_Model):
    """``value`` for rows where every ``when`` column holds one of the listed values (any case)."""

    when: dict[str, Any]
    value: Any

    @field_validator("when")
    @classmethod
    def _lists(cls, v: dict[str, Any]) -> dict[str, Any]:
        if not v:
            raise ValueError("'when' needs at least one column")
        return {k: [_norm(x) for x in _as_list(vals)] for k, vals in v.items()}


class LookupSpec(_Model):
    """Take ``value`` from the rows of source ``source`` whose ``key`` equals this row's ``column``.

    With ``order_by`` the row with the largest ``order_by`` wins, otherwise the first row.
    """

    source: str
    column: str
    key: str
    value: str
    order_by: str | None = None


class ColumnSpec(_Model):
    """How one canonical column is filled (exactly one of source, constant, cases, lookup)."""

    source: str | list[str] | None = None
    constant: Any = None
    cases: list[CaseSpec] | None = None
    lookup: LookupSpec | None = None
    values: dict[str, Any] | None = None
    default: Any = None
    fill: Any = None
    scale: dict[str, float] | float | None = None
    divide: dict[str, float] | float | None = None
    date_format: str | None = None
    optional: bool = False
    known: list[str] | None = None
    """Values of the CRM picklist the mapping knows (any case); other values are kept and
    reported as a note with the value and its count (e.g. a StageName added in the CRM)."""

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, v: Any) -> Any:
        return {"source": v} if isinstance(v, str | list) else v

    @model_validator(mode="after")
    def _one_way(self) -> ColumnSpec:
        ways = [
            n
            for n in ("source", "constant", "cases", "lookup")
            if n in self.model_fields_set and (n == "constant" or getattr(self, n) is not None)
        ]
        if len(ways) != 1:
            raise ValueError(
                "give exactly one of 'source', 'constant', 'cases' or 'lookup'"
                + (f" (got {', '.join(ways)})" if ways else "")
            )
        if isinstance(self.divide, dict) and any(v == 0 for v in self.divide.values()):
            raise ValueError("'divide' by 0")
        if self.divide == 0:
            raise ValueError("'divide' by 0")
        return self

    @property
    def sources(self) -> list[str]:
        """Source columns, in coalescing order."""
        return [str(s) for s in _as_list(self.source)]

    def factor(self, column: str) -> float:
        """Multiplier applied to numbers read from ``column``."""
        f = 1.0
        for spec, inv in ((self.scale, False), (self.divide, True)):
            if spec is None:
                continue
            v = spec.get(column, 1.0) if isinstance(spec, dict) else spec
            f = f / float(v) if inv else f * float(v)
        return f


class InputSpec(_Model):
    """One source feeding a table, with its column mapping."""

    source: str
    columns: dict[str, ColumnSpec]

    def column(self, name: str) -> ColumnSpec:
        """The spec of canonical column ``name``."""
        return self.columns[name]


class TableSpec(_Model):
    """The inputs of one canonical table."""

    inputs: list[InputSpec]
    warn_missing: list[str] = []


class Mapping(_Model):
    """A whole mapping file."""

    name: str
    description: str = ""
    ignore: list[str] = []
    sources: dict[str, SourceSpec]
    tables: dict[str, TableSpec]
    currency: str = Field("CHF", pattern="^[A-Z]{3}$")
    """ISO 4217 code of the export's money columns (shown in every report). A mapping that does
    not set it leaves the currency to the client's country (CHF in Switzerland and
    Liechtenstein, EUR in Germany and Austria; see :func:`salesanalytics.intake.load_export`)."""
    derive: DeriveOptions = DeriveOptions()
    """Options of the derivations of missing tables (``salesanalytics.ingest.derive``)."""
    transactions: Transactions | None = None
    """Invoice / order lines from which accounts, products and won deals are derived
    (``salesanalytics.ingest.derive.tables_from_transactions``)."""
    customer_extract: CustomerExtract | None = None
    """A flat customer extract (one row per customer) from which accounts and contracts are
    derived (``salesanalytics.ingest.derive.tables_from_extract``)."""

    @model_validator(mode="after")
    def _consistent(self) -> Mapping:
        errors = []
        ce = self.customer_extract or self.transactions
        if ce is not None and ce.source not in self.sources:
            errors.append(
                f"customer_extract.source: unknown source '{ce.source}'; declared sources: "
                f"{', '.join(self.sources)}"
            )
        for tname, t in self.tables.items():
            if tname not in schema.TABLES:
                errors.append(
                    f"tables.{tname}: unknown table; known tables: {', '.join(schema.TABLES)}"
                )
                continue
            table = schema.TABLES[tname]
            for w in t.warn_missing:
                if w not in table.column_names:
                    errors.append(f"tables.{tname}.warn_missing: '{w}' is not a column of {tname}")
            for i, inp in enumerate(t.inputs):
                where = f"tables.{tname}.inputs[{i}]"
                if inp.source not in self.sources:
                    errors.append(
                        f"{where}.source: unknown source '{inp.source}'; declared sources: "
                        f"{', '.join(self.sources)}"
                    )
                for col in inp.columns:
                    if col not in table.column_names:
                        errors.append(
                            f"{where}.columns.{col}: '{col}' is not a column of {tname}; "
                            f"columns: {', '.join(table.column_names)}"
                        )
                    spec = inp.column(col)
                    if spec.lookup and spec.lookup.source not in self.sources:
                        errors.append(
                            f"{where}.columns.{col}.lookup.source: unknown source "
                            f"'{spec.lookup.source}'"
                        )
                missing = [c for c in table.required_columns if c not in inp.columns]
                if missing:
                    errors.append(
                        f"{where}: required column(s) {', '.join(missing)} of {tname} are not "
                        "mapped (use {constant: null} for a column the export does not have)"
                    )
        if errors:
            raise ValueError("; ".join(errors))
        return self


def builtin_mapping_names() -> list[str]:
    """Names of the built-in mappings (``salesforce``, ``maven-crm``, ...)."""
    root = resources.files("salesanalytics").joinpath(BUILTIN_MAPPINGS)
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".yaml"))


def _format_validation_error(exc: ValidationError) -> str:
    parts = []
    for e in exc.errors():
        loc = ".".join(str(x) for x in e["loc"])
        msg = e["msg"].removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts)


def load_mapping(name_or_path: str | Path | Mapping) -> Mapping:
    """Load a built-in mapping by name, or a mapping YAML file by path, and check it.

    Parameters
    ----------
    name_or_path
        ``"salesforce"``, ``"maven-crm"``, a path to a ``.yaml`` file, or a :class:`Mapping`.

    Raises
    ------
    FileNotFoundError
        Neither a built-in name nor an existing file (the message lists the built-ins).
    ValueError
        The file is not valid YAML or not a valid mapping; the message names every problem
        with its place in the file (``tables.accounts.inputs[0].columns.foo: ...``).
    """
    if isinstance(name_or_path, Mapping):
        return name_or_path
    text_name = str(name_or_path)
    path = Path(text_name)
    if text_name in builtin_mapping_names():
        text = (
            resources.files("salesanalytics")
            .joinpath(BUILTIN_MAPPINGS, f"{text_name}.yaml")
            .read_text("utf-8")
        )
        label = f"built-in mapping '{text_name}'"
    elif path.is_file():
        text = path.read_text(encoding="utf-8")
        label = f"mapping file {path}"
    else:
        raise InputNotFoundError(
            f"mapping '{text_name}' is neither a built-in mapping "
            f"({', '.join(builtin_mapping_names())}) nor an existing YAML file"
        )
    return _parse_mapping(text, label)


_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader when PyYAML has it (same result as ``yaml.safe_load``, ~10x faster)."""


@lru_cache(maxsize=32)
def _parse_mapping(text: str, label: str) -> Mapping:
    try:
        data = yaml.load(text, Loader=_YAML_LOADER)
    except yaml.YAMLError as exc:
        raise MappingError(f"{label} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise MappingError(f"{label} must be a YAML mapping with 'name', 'sources' and 'tables'")
    try:
        return Mapping.model_validate(data)
    except ValidationError as exc:
        raise MappingError(f"{label} is invalid: {_format_validation_error(exc)}") from exc


# --------------------------------------------------------------------------------------------
# which file is which


def _name_matches(patterns: list[str], label: str) -> bool:
    name = label.split(":")[-1] if ":" in label else label
    stem = Path(name).stem if "." in name else name
    for pat in patterns:
        target = name if "." in pat else stem
        if fnmatch.fnmatch(target.lower(), pat.lower()):
            return True
        if ":" in label:  # Excel sheet: also try the workbook name
            book = label.split(":")[0]
            t = book if "." in pat else Path(book).stem
            if fnmatch.fnmatch(t.lower(), pat.lower()):
                return True
    return False


def match_files(
    mapping: Mapping, headers: dict[str, list[str]]
) -> tuple[dict[str, str | None], pd.DataFrame]:
    """Decide which source each input file is.

    A file matches a source by name pattern (preferred) or, failing that, by its header (all
    ``detect`` columns present, no ``absent`` column). Several detections: the most specific
    (most ``detect`` columns) wins; a tie is an error.

    Parameters
    ----------
    mapping
        The mapping.
    headers
        File label -> its column names.

    Returns
    -------
    (dict, pandas.DataFrame)
        File label -> source name (``None``: not used), and problems (ambiguous files, missing
        required sources, files not used).
    """
    result: dict[str, str | None] = {}
    probs = []
    for label, cols in headers.items():
        if mapping.ignore and _name_matches(mapping.ignore, label):
            result[label] = None
            continue
        by_name = [
            n for n, s in mapping.sources.items() if s.files and _name_matches(s.files, label)
        ]
        colset = {c.strip() for c in cols}
        by_header = [
            n
            for n, s in mapping.sources.items()
            if s.detect and set(s.detect) <= colset and not (set(s.absent) & colset)
        ]
        cands = by_name or by_header
        if len(cands) > 1:
            best = max(len(mapping.sources[n].detect) for n in cands)
            cands = [n for n in cands if len(mapping.sources[n].detect) == best]
        if len(cands) == 1:
            result[label] = cands[0]
        elif len(cands) > 1:
            result[label] = None
            probs.append(
                problem_frame(
                    severity="error",
                    check="ambiguous_file",
                    message=f"file could be any of {', '.join(cands)}",
                    hint="Rename the file after its object (e.g. Account.csv) so it is recognised "
                    "by name.",
                    file=label,
                )
            )
        else:
            result[label] = None
            probs.append(
                problem_frame(
                    severity="info",
                    check="file_not_used",
                    message=f"file not used: mapping '{mapping.name}' has no source for it",
                    hint="Rename it or extend the mapping if it should be read.",
                    file=label,
                )
            )
    used = set(v for v in result.values() if v)
    for n, s in mapping.sources.items():
        if n in used:
            continue
        tables = [t for t, ts in mapping.tables.items() if any(i.source == n for i in ts.inputs)]
        what = f"for table {', '.join(tables)}" if tables else "(lookup)"
        probs.append(
            problem_frame(
                severity="error" if s.required else "warning",
                check="missing_file",
                message=f"no {n} file found {what}",
                hint=f"Add the {n} export (named like {', '.join(s.files) or n}, or with columns "
                f"{', '.join(s.detect)}) to the export folder.",
                table=tables[0] if tables else None,
            )
        )
    frames = [p for p in probs if len(p)]
    return result, (pd.concat(frames, ignore_index=True) if frames else _no_problems())


def _no_problems() -> pd.DataFrame:
    return empty_problems()


# --------------------------------------------------------------------------------------------
# mapping one input file


_CONVERT_MESSAGES = {
    "float": (
        "not_a_number",
        "cannot be read as a number",
        "Write numbers like 1234.50, 1'234.50 or 1234,50.",
    ),
    "int": (
        "not_a_whole_number",
        "cannot be read as a whole number",
        "Write whole numbers without decimals, like 12.",
    ),
    "date": (
        "not_a_date",
        "cannot be read as a date",
        "Write dates as dd.mm.yyyy or yyyy-mm-dd (or set date_format in the mapping).",
    ),
    "bool": (
        "not_a_boolean",
        "cannot be read as yes/no",
        "Write true/false, yes/no, ja/nein or 1/0.",
    ),
}


@dataclass
class MappedTable:
    """Result of mapping input files to one canonical table.

    Attributes
    ----------
    table
        Canonical table name.
    data
        Canonical columns (canonical dtypes) plus ``_file`` and ``_row`` (input file and
        spreadsheet row of every row).
    problems
        Cells that could not be converted, missing source columns, ...
    remappings
        Translated values, counted: ``file``, ``table``, ``column``, ``field``, ``from_value``,
        ``to_value``, ``count``.
    labels
        ``(file, canonical column) -> column name in the file``.
    """

    table: str
    data: pd.DataFrame
    problems: pd.DataFrame
    remappings: pd.DataFrame
    labels: dict[tuple[str, str], str] = field(default_factory=dict)


_REMAP_COLUMNS = ["file", "table", "column", "field", "from_value", "to_value", "count"]


def _value_map(txt: pd.Series, spec: ColumnSpec) -> tuple[pd.Series, list[tuple[str, str, int]]]:
    """Translate values (any case); unmapped non-empty values become ``spec.default`` if set."""
    lut = {_norm(k): (None if v is None else str(v)) for k, v in (spec.values or {}).items()}
    codes, uniques = pd.factorize(txt, use_na_sentinel=True)
    if len(uniques) == 0:
        return txt, []
    new_u = np.empty(len(uniques), dtype=object)
    changed = np.zeros(len(uniques), dtype=bool)
    for i, u in enumerate(uniques):
        k = _norm(u)
        if k in lut:
            new_u[i] = lut[k]
        elif spec.default is not None:
            new_u[i] = (
                str(spec.default) if not isinstance(spec.default, bool) else _norm(spec.default)
            )
        else:
            new_u[i] = u
        changed[i] = new_u[i] != u
    if not changed.any():
        return txt, []
    counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
    out = pd.Series(
        pd.array(np.where(codes >= 0, new_u[np.maximum(codes, 0)], None), dtype="string"),
        index=txt.index,
    )
    rec = [(str(uniques[i]), str(new_u[i]), int(counts[i])) for i in np.flatnonzero(changed)]
    return out, rec


def _lookup_series(
    spec: LookupSpec, raws: list[sio.RawTable]
) -> tuple[pd.Series | None, str | None]:
    """Key -> value series from the lookup source (first row per key, or largest ``order_by``)."""
    if not raws:
        return None, f"no {spec.source} file in the export"
    parts = []
    for r in raws:
        need = [spec.key, spec.value] + ([spec.order_by] if spec.order_by else [])
        miss = [c for c in need if c not in r.data.columns]
        if miss:
            return None, f"file {r.file} has no column {', '.join(miss)}"
        parts.append(r.data[need])
    aux = pd.concat(parts, ignore_index=True)
    aux[spec.key] = aux[spec.key].str.strip()
    aux[spec.value] = aux[spec.value].str.strip()
    aux = aux.dropna(subset=[spec.key, spec.value])
    if spec.order_by:
        aux["_o"] = sio.to_number(aux[spec.order_by]).values
        aux = aux.sort_values("_o", ascending=False, kind="stable", na_position="last")
    first = aux.drop_duplicates(spec.key).set_index(spec.key)[spec.value]
    return first, None


CONTROL_CHARACTERS = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
"""Control characters that have no place in CRM text (NUL and the other C0 codes except tab,
line feed and carriage return, and DEL)."""

EXCEL_CELL_LIMIT = 32_767
"""Characters an Excel cell holds."""


def _byte_scan(values: pd.Series) -> tuple[bool, int]:
    """(any control character?, longest value in bytes) of a text column, from its Arrow buffers.

    A pass over the raw bytes instead of a regex per value (most columns are clean).
    """
    import pyarrow as pa

    arr = pa.array(values.array)
    chunks = arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]
    control, longest = False, 0
    for ch in chunks:
        if len(ch) == 0:
            continue
        if not (pa.types.is_string(ch.type) or pa.types.is_large_string(ch.type)):
            return True, EXCEL_CELL_LIMIT + 1  # unusual storage: take the exact path
        off_type = np.int64 if pa.types.is_large_string(ch.type) else np.int32
        offsets = np.frombuffer(ch.buffers()[1], dtype=off_type)[
            ch.offset : ch.offset + len(ch) + 1
        ]
        data = ch.buffers()[2]
        if data is None:
            continue
        raw = np.frombuffer(data, dtype=np.uint8)[offsets[0] : offsets[-1]]
        bad = (raw < 0x20) | (raw == 0x7F)
        if bad.any():
            control = control or bool(np.isin(raw[bad], _CONTROL_BYTES).any())
        longest = max(longest, int(np.diff(offsets).max()))
    return control, longest


_CONTROL_BYTES = np.array([b for b in range(0x20) if b not in (9, 10, 13)] + [0x7F], dtype=np.uint8)


def _is_id(column: schema.Column, table: str) -> bool:
    return bool(column.unique or column.references or schema.TABLES[table].key == column.name)


def text_cell_problems(
    conv: sio.Converted,
    txt: pd.Series,
    column: schema.Column,
    rows: np.ndarray,
    known: list[str] | None,
    where: dict[str, Any],
) -> tuple[sio.Converted, list[pd.DataFrame]]:
    """Check the cells of one text column: control characters, very long text, unknown values.

    Rules (see ``docs/validation.md``):

    * control characters (:data:`CONTROL_CHARACTERS`, e.g. NUL) in an id or reference column are
      an **error** (the id cannot be matched; the cell is left empty so that no follow-on
      "does not exist" error is reported for it);
    * control characters in other text are a **warning**; they are removed from the value;
    * text longer than :data:`EXCEL_CELL_LIMIT` characters is a **note** (kept whole);
    * a value not in ``known`` (any case) is a **note** per distinct value, with its count and
      its first row.

    Parameters
    ----------
    conv
        :func:`salesanalytics.ingest.io.to_text` result of ``txt``.
    txt
        The cells as read (text).
    column
        The canonical column the cells feed (its table's key and references make it an id).
    rows
        Spreadsheet row of every cell.
    known
        Known picklist values, or ``None``.
    where
        ``file``, ``table``, ``column`` (as named in the file) and ``field`` of the problems.

    Returns
    -------
    (Converted, list of pandas.DataFrame)
        The values (cleaned) and the problem frames.
    """
    probs: list[pd.DataFrame] = []
    if len(conv.values) == 0:
        return conv, probs
    any_control, longest = _byte_scan(conv.values)
    if any_control:
        conv = _control_characters(conv, txt, column, rows, where, probs)
    if longest > EXCEL_CELL_LIMIT:  # bytes >= characters
        probs.extend(_long_texts(conv.values, column, rows, where))
    if known is not None:
        probs.extend(_unknown_values(conv.values, column, rows, known, where))
    return conv, probs


def _control_characters(
    conv: sio.Converted,
    txt: pd.Series,
    column: schema.Column,
    rows: np.ndarray,
    where: dict[str, Any],
    probs: list[pd.DataFrame],
) -> sio.Converted:
    """Cells with control characters.

    In an id an error (the cell is emptied), in other text a warning (they are removed); the
    problems go to ``probs``, the cleaned values back.
    """
    values = conv.values
    table = str(where["table"])
    ctrl = values.str.contains(CONTROL_CHARACTERS, regex=True).fillna(False).to_numpy(dtype=bool)
    if not ctrl.any():
        return conv
    if _is_id(column, table):
        probs.append(
            problem_frame(
                severity="error",
                check="control_character_in_id",
                message=f"id contains control characters such as NUL ({table}.{column.name})",
                hint="Correct the id in the export: an id with invisible characters matches "
                "no other row. The row is read without this id.",
                row=rows[ctrl],
                value=txt[ctrl].to_numpy(dtype=object),
                n=int(ctrl.sum()),
                **where,
            )
        )
        values = values.mask(ctrl)
    else:
        probs.append(
            problem_frame(
                severity="warning",
                check="control_characters",
                message=f"text contains control characters such as NUL; they were removed "
                f"({table}.{column.name})",
                hint="Clean the text in the CRM; the analyses use it without the "
                "control characters.",
                row=rows[ctrl],
                value=txt[ctrl].to_numpy(dtype=object),
                n=int(ctrl.sum()),
                **where,
            )
        )
        cleaned = values.str.replace(CONTROL_CHARACTERS, "", regex=True).str.strip()
        values = cleaned.mask(cleaned == "")
    return sio.Converted(values, conv.failed, conv.out_of_range)


def _long_texts(
    values: pd.Series, column: schema.Column, rows: np.ndarray, where: dict[str, Any]
) -> list[pd.DataFrame]:
    """A note for the cells longer than an Excel cell holds (kept whole)."""
    long = (values.str.len() > EXCEL_CELL_LIMIT).fillna(False).to_numpy(dtype=bool)
    if not long.any():
        return []
    return [
        problem_frame(
            severity="info",
            check="long_text",
            message="text longer than 32'767 characters (kept whole; Excel deliverables "
            f"cut it) ({where['table']}.{column.name})",
            hint="",
            row=rows[long],
            value=values[long].to_numpy(dtype=object),
            n=int(long.sum()),
            **where,
        )
    ]


def _unknown_values(
    values: pd.Series,
    column: schema.Column,
    rows: np.ndarray,
    known: list[str],
    where: dict[str, Any],
) -> list[pd.DataFrame]:
    """A note per distinct value not in ``known`` (any case), with its count.

    Spelled as in its first row (Verhandlung = verhandlung).
    """
    known_lower = {_norm(k) for k in known}
    codes, uniques = pd.factorize(values.str.lower(), use_na_sentinel=True)
    if not len(uniques):
        return []
    probs = []
    counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
    for i, u in enumerate(uniques):
        if _norm(u) in known_lower:
            continue
        first = int(np.flatnonzero(codes == i)[0])
        u = values.iloc[first]
        k = int(counts[i])
        probs.append(
            problem_frame(
                severity="info",
                check="unknown_value",
                message=f"unknown value of {where['table']}.{column.name}, not in the "
                f"mapping's list of known values ({k:,} rows; the first is shown)".replace(
                    f"{k:,}", f"{k:,}".replace(",", "'")
                ),
                hint="Kept as it is. If it is a new picklist value, add it to 'known' "
                "(and, for stages, to the funnel's stage order).",
                row=int(rows[first]),
                value=str(u),
                **where,
            )
        )
    return probs


@dataclass
class InputMapper:
    """The state of mapping one input file: its cells, where they come from, and what was found.

    The steps below (one per kind of column spec) add problems and counted translations here.
    """

    mapping: Mapping
    table: str
    raw: sio.RawTable
    lookups: dict[str, list[sio.RawTable]]
    probs: list[pd.DataFrame] = field(default_factory=list)
    remaps: list[dict[str, Any]] = field(default_factory=list)

    @property
    def df(self) -> pd.DataFrame:
        """The file's cells as text."""
        return self.raw.data

    @property
    def n(self) -> int:
        """Number of data rows."""
        return len(self.raw.data)

    @property
    def rows(self) -> np.ndarray:
        """Spreadsheet row of every data row."""
        return self.raw.rows

    def empty_text(self) -> pd.Series:
        """A text column without values, one cell per row."""
        return pd.Series([None] * self.n, index=self.df.index, dtype="str")

    def remap(
        self, column: str, field_name: str, from_value: str, to_value: str, count: int
    ) -> None:
        """Count ``count`` values of ``column`` translated from ``from_value`` to ``to_value``."""
        self.remaps.append(
            {
                "column": column,
                "field": field_name,
                "from_value": from_value,
                "to_value": to_value,
                "count": count,
            }
        )

    def missing_column(self, col_name: str, source_cols: list[str]) -> None:
        """Report that none of ``source_cols`` (feeding ``col_name``) is in the file."""
        have = ", ".join(list(self.df.columns)[:40])
        self.probs.append(
            problem_frame(
                severity="error",
                check="missing_column",
                message=f"column {' or '.join(source_cols)} is missing (needed for "
                f"{self.table}.{col_name})",
                hint=f"The file has the columns: {have}. Add the column to the export or "
                f"adapt the mapping '{self.mapping.name}'.",
                file=self.raw.file,
                table=self.table,
                column=" or ".join(source_cols),
                field=col_name,
            )
        )

    def convert(
        self, txt: pd.Series, col_name: str, dtype: str, label: str, spec: ColumnSpec
    ) -> sio.Converted:
        """Convert text cells to ``dtype``, reporting every cell that does not convert."""
        conv = sio.convert(txt, dtype, spec.date_format)
        table, rows = self.table, self.rows
        where = {"file": self.raw.file, "table": table, "column": label, "field": col_name}
        if dtype == "date" and conv.out_of_range is not None and conv.out_of_range.any():
            m = conv.out_of_range.to_numpy(dtype=bool)
            lo, hi = (d.strftime("%d.%m.%Y") for d in sio.DATE_RANGE)
            self.probs.append(
                problem_frame(
                    severity="error",
                    check="date_out_of_range",
                    message=f"date outside {lo}-{hi}, not a plausible date for {table}.{col_name}",
                    hint="Correct the date in the CRM (a typing error such as 2999 for 2029?).",
                    row=rows[m],
                    value=txt[m].to_numpy(dtype=object),
                    n=int(m.sum()),
                    **where,
                )
            )
        if dtype == "str":
            conv, text_probs = text_cell_problems(
                conv, txt, schema.TABLES[table].column(col_name), rows, spec.known, where
            )
            self.probs.extend(text_probs)
        if dtype != "str" and conv.failed.any():
            check, msg, hint = _CONVERT_MESSAGES[dtype]
            m = conv.failed.to_numpy(dtype=bool)
            self.probs.append(
                problem_frame(
                    severity="error",
                    check=check,
                    message=f"{msg} ({table}.{col_name})",
                    hint=hint,
                    file=self.raw.file,
                    table=table,
                    column=label,
                    field=col_name,
                    row=rows[m],
                    value=txt[m].to_numpy(dtype=object),
                    n=int(m.sum()),
                )
            )
        return conv


_Column = tuple[pd.Series, str, "pd.Series | None"]
"""What a column step returns: the values, the column's label in the report, and which cells
were blank in the file (for ``fill``; ``None``: the cells without a value)."""


def _constant_column(ctx: InputMapper, c: schema.Column, spec: ColumnSpec) -> _Column:
    """A ``constant`` column: the same value in every row."""
    const = spec.constant
    txt = pd.Series(
        [None if const is None else (_norm(const) if isinstance(const, bool) else str(const))]
        * ctx.n,
        index=ctx.df.index,
        dtype="str",
    )
    label = "(constant)"
    return ctx.convert(txt, c.name, c.dtype, label, spec).values, label, None


def _cases_column(ctx: InputMapper, c: schema.Column, spec: ColumnSpec) -> _Column:
    """A ``cases`` column.

    The value of the first case whose conditions a row meets, else the default; each case's rows are
    counted as translations.
    """
    assert spec.cases is not None
    df, n = ctx.df, ctx.n
    label = "/".join(dict.fromkeys(k for case in spec.cases for k in case.when))
    res = pd.Series(pd.NA, index=df.index, dtype="object")
    unset = np.ones(n, dtype=bool)
    lowered: dict[str, pd.Series] = {}
    for case in spec.cases:
        if any(k not in df.columns for k in case.when):
            continue
        m = np.ones(n, dtype=bool)
        for k, vals in case.when.items():
            if k not in lowered:
                lowered[k] = df[k].str.strip().str.lower()
            m &= lowered[k].isin(vals).fillna(False).to_numpy(dtype=bool)
        hit = m & unset
        if hit.any():
            res[hit] = str(case.value)
            unset &= ~hit
            cond = " and ".join(f"{k} = {'/'.join(v)}" for k, v in case.when.items())
            ctx.remap(label, c.name, cond, str(case.value), int(hit.sum()))
    if spec.default is not None and unset.any():
        res[unset] = str(spec.default)
        ctx.remap(label, c.name, "(no case matched)", str(spec.default), int(unset.sum()))
    txt = res.astype("str")
    return ctx.convert(txt, c.name, c.dtype, label, spec).values, label, None


def _lookup_column(ctx: InputMapper, c: schema.Column, spec: ColumnSpec) -> _Column:
    """A ``lookup`` column: the value of another file's row whose key is in this row's column."""
    lk = spec.lookup
    assert lk is not None
    df = ctx.df
    label = f"{lk.source}.{lk.value}"
    if lk.column not in df.columns:
        ctx.missing_column(c.name, [lk.column])
        return sio.convert(ctx.empty_text(), c.dtype).values, label, None
    series, why = _lookup_series(lk, ctx.lookups.get(lk.source, []))
    if series is None:
        ctx.probs.append(
            problem_frame(
                severity="warning",
                check="lookup_unavailable",
                message=f"{ctx.table}.{c.name} stays empty: {why}",
                hint=f"Add the {lk.source} export to fill it.",
                file=ctx.raw.file,
                table=ctx.table,
                column=label,
                field=c.name,
            )
        )
        txt = ctx.empty_text()
    else:
        txt = df[lk.column].str.strip().map(series).astype("str")
        n_miss = int((txt.isna() & df[lk.column].notna()).sum())
        if n_miss:
            ctx.remap(label, c.name, f"(no {lk.source} row)", "(empty)", n_miss)
    return ctx.convert(txt, c.name, c.dtype, label, spec).values, label, None


def _source_column(ctx: InputMapper, c: schema.Column, spec: ColumnSpec) -> _Column:
    """A column read from the file.

    The first of its source columns with a value, translated by ``values``/``default`` and scaled by
    its ``factor``.
    """
    df, dtype = ctx.df, c.dtype
    srcs = spec.sources
    present = [s for s in srcs if s in df.columns]
    label = "/".join(srcs)
    blank_for_fill = pd.Series(True, index=df.index)
    if not present:
        if not spec.optional:
            ctx.missing_column(c.name, srcs)
        return sio.convert(ctx.empty_text(), dtype).values, label, blank_for_fill
    values = None
    for s in present:
        txt = df[s]
        if spec.values is not None or spec.default is not None:
            txt, rec = _value_map(txt.str.strip(), spec)
            for a, b, k in rec:
                ctx.remap(s, c.name, a, b, k)
        v = ctx.convert(txt, c.name, dtype, s, spec).values
        f = spec.factor(s)
        if f != 1.0 and dtype in ("float", "int"):
            v = (v.astype("float64") * f).astype(v.dtype if dtype == "float" else "float64")
            if dtype == "int":
                v = v.round().astype("Int64")
        if spec.fill is not None:  # only then: which cells were empty
            blank = txt.isna() | (txt.str.strip() == "")
            blank_for_fill &= blank.fillna(True).to_numpy(dtype=bool)
        values = v if values is None else values.fillna(v)
    return values, label, blank_for_fill


def _fill_blanks(
    ctx: InputMapper,
    c: schema.Column,
    spec: ColumnSpec,
    column: _Column,
) -> pd.Series:
    """The values with ``spec.fill`` in the cells that were blank (counted as translations)."""
    values, label, blank_for_fill = column
    blank = (
        blank_for_fill
        if blank_for_fill is not None
        else pd.Series(values.isna().to_numpy(), index=ctx.df.index)
    )
    m = values.isna().to_numpy() & np.asarray(blank, dtype=bool)
    if not m.any():
        return values
    fill_txt = pd.Series(
        [_norm(spec.fill) if isinstance(spec.fill, bool) else str(spec.fill)] * int(m.sum()),
        dtype="str",
    )
    fv = sio.convert(fill_txt, c.dtype).values.to_numpy()
    values = values.copy()
    values[m] = fv
    ctx.remap(label, c.name, "(empty)", str(spec.fill), int(m.sum()))
    return values


def map_column(ctx: InputMapper, c: schema.Column, spec: ColumnSpec) -> tuple[pd.Series, str]:
    """Map one canonical column by the kind of its spec, then fill its blank cells.

    Kinds: constant, cases, lookup, source columns. Returns the values and the column's label in the
    report.
    """
    if "constant" in spec.model_fields_set:
        column = _constant_column(ctx, c, spec)
    elif spec.cases is not None:
        column = _cases_column(ctx, c, spec)
    elif spec.lookup is not None:
        column = _lookup_column(ctx, c, spec)
    else:
        column = _source_column(ctx, c, spec)
    values = _fill_blanks(ctx, c, spec, column) if spec.fill is not None else column[0]
    return values, column[1]


def map_input(
    mapping: Mapping,
    table: str,
    inp: InputSpec,
    raw: sio.RawTable,
    lookups: dict[str, list[sio.RawTable]] | None = None,
) -> MappedTable:
    """Map one input file to canonical table ``table``.

    Parameters
    ----------
    mapping
        The mapping (for messages).
    table
        Canonical table name.
    inp
        The input spec (its ``source`` matched ``raw``).
    raw
        The file's cells as text.
    lookups
        Source name -> raw tables, for ``lookup`` columns.

    Returns
    -------
    MappedTable
        Canonical columns in canonical dtypes plus ``_file`` and ``_row``; conversion problems
        (one per cell), translated values (counted) and column labels.
    """
    ctx = InputMapper(mapping, table, raw, lookups or {})
    out: dict[str, Any] = {}
    labels: dict[tuple[str, str], str] = {}
    for c in schema.TABLES[table].columns:
        if c.name not in inp.columns:
            continue
        out[c.name], labels[(raw.file, c.name)] = map_column(ctx, c, inp.column(c.name))
    frame = pd.DataFrame(out, index=raw.data.index)
    frame[FILE_COL] = raw.file
    frame[ROW_COL] = raw.rows
    frame = frame.reset_index(drop=True)
    remap_df = pd.DataFrame(
        ctx.remaps, columns=["column", "field", "from_value", "to_value", "count"]
    )
    remap_df.insert(0, "table", table)
    remap_df.insert(0, "file", raw.file)
    probs = [p for p in ctx.probs if len(p)]
    return MappedTable(
        table,
        frame,
        pd.concat(probs, ignore_index=True) if probs else _no_problems(),
        remap_df[_REMAP_COLUMNS],
        labels,
    )


def stack_inputs(table: str, parts: list[MappedTable]) -> MappedTable:
    """Stack the mapped inputs of one table (e.g. Task + Event -> activities).

    The result has every canonical column in its canonical dtype (missing optional columns are
    empty) plus ``_file`` and ``_row``.
    """
    cols = schema.TABLES[table].column_names
    if len(parts) == 1:
        data = parts[0].data
    elif parts:
        data = pd.concat([p.data for p in parts], ignore_index=True)
    else:
        data = pd.DataFrame({FILE_COL: pd.Series(dtype="str"), ROW_COL: pd.Series(dtype="int64")})
    # map_input already returns canonical dtypes: only add the columns no input maps
    empty = schema.empty_frame(table)
    missing = [c for c in cols if c not in data.columns]
    if missing:
        data = data.assign(
            **{c: pd.Series(index=data.index, dtype=empty[c].dtype) for c in missing}
        )
    for c in cols:
        if data[c].dtype != empty[c].dtype:
            data[c] = data[c].astype(empty[c].dtype)
    data[FILE_COL] = data[FILE_COL].astype("category")
    data[ROW_COL] = data[ROW_COL].astype("int64")
    data = data[[*cols, FILE_COL, ROW_COL]]
    probs = [p.problems for p in parts if len(p.problems)]
    rem = [p.remappings for p in parts if len(p.remappings)]
    labels: dict[tuple[str, str], str] = {}
    for p in parts:
        labels.update(p.labels)
    return MappedTable(
        table,
        data,
        pd.concat(probs, ignore_index=True) if probs else _no_problems(),
        pd.concat(rem, ignore_index=True) if rem else pd.DataFrame(columns=_REMAP_COLUMNS),
        labels,
    )
