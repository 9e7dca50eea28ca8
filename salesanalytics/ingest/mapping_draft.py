"""Draft a column mapping for an unknown CRM export: ``salesanalytics mapping draft``.

:func:`draft_mapping` reads the header and a sample of every file of an export, matches the
columns to the canonical model (:mod:`salesanalytics.ingest.schema`) by name (the canonical names, common
synonyms and, with ``like``, the column names a built-in mapping uses), checks the guesses against
the sample values (dates, numbers) and proposes value translations for coded columns (status,
type, channel). It writes a YAML proposal in which every guess is commented (which column, how
sure, sample values) and every required column without a candidate is marked ``TODO``
(``source: TODO``): ``salesanalytics validate --mapping draft.yaml`` then lists exactly what is
left to fill in by hand.
"""

from __future__ import annotations

import argparse
import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from salesanalytics.errors import InputNotFoundError, UserError
from salesanalytics.ingest import io as sio
from salesanalytics.ingest import schema

__all__ = ["ColumnGuess", "TableDraft", "draft_mapping", "register_cli", "render_yaml"]

SAMPLE_ROWS = 200
"""Rows of each file looked at for types and value sets."""

SYNONYMS: dict[str, dict[str, tuple[str, ...]]] = {
    "accounts": {
        "account_id": (
            "accountid",
            "account",
            "customerid",
            "customer",
            "companyid",
            "clientid",
            "hsobjectid",
            "id",
        ),
        "name": ("name", "accountname", "companyname", "customername", "company", "firma"),
        "postal_code": (
            "postalcode",
            "zip",
            "zipcode",
            "plz",
            "billingpostalcode",
            "address1postalcode",
            "postcode",
        ),
        "municipality": ("city", "town", "ort", "billingcity", "address1city", "municipality"),
        "canton": ("canton", "state", "kanton", "billingstate", "region"),
        "industry": ("industry", "sector", "branche", "industrycode"),
        "employees": ("employees", "numberofemployees", "headcount", "mitarbeiter"),
        "company_revenue": ("revenue", "annualrevenue", "turnover", "umsatz"),
        "status": (
            "status",
            "type",
            "customertype",
            "lifecyclestage",
            "customertypecode",
            "accounttype",
        ),
        "customer_since": ("customersince", "firstpurchase", "startdate"),
        "owner_id": ("ownerid", "owner", "accountowner", "hubspotownerid", "salesagent", "rep"),
        "parent_account_id": ("parentid", "parentaccountid", "subsidiaryof", "parent"),
    },
    "reps": {
        "rep_id": ("userid", "systemuserid", "ownerid", "salesagent", "agent", "repid", "id"),
        "name": ("name", "fullname", "salesagent", "agent", "username"),
        "role": ("role", "salesrole", "title", "jobtitle"),
        "home_postal_code": ("postalcode", "zip", "address1postalcode"),
        "team": ("team", "department", "regionaloffice", "businessunit", "businessunitidname"),
        "manager_id": ("managerid", "manager", "parentsystemuserid"),
        "active": ("isactive", "active", "enabled"),
    },
    "products": {
        "product_id": ("productid", "product", "stockcode", "sku", "productcode", "id"),
        "name": ("name", "productname", "description", "product"),
        "product_group": ("family", "productgroup", "series", "category", "producttype"),
        "list_price": ("price", "listprice", "salesprice", "unitprice"),
    },
    "contracts": {
        "contract_id": ("contractid", "contractnumber", "subscriptionid", "id"),
        "account_id": ("accountid", "customerid", "account", "customer"),
        "start_date": ("startdate", "start", "contractstart", "begin"),
        "end_date": ("enddate", "end", "cancellationdate", "canceldate"),
        "term_months": ("term", "contractterm", "termmonths", "duration"),
        "mrr": ("mrr", "monthlyrevenue", "monthlyfee", "monthlycharges"),
    },
    "opportunities": {
        "opportunity_id": (
            "opportunityid",
            "dealid",
            "opportunity",
            "invoice",
            "invoiceno",
            "hsobjectid",
            "id",
        ),
        "account_id": (
            "accountid",
            "account",
            "customerid",
            "parentaccountid",
            "associatedcompanyid",
            "company",
        ),
        "owner_id": ("ownerid", "owner", "salesagent", "hubspotownerid", "rep"),
        "type": ("type", "dealtype", "opportunitytype"),
        "product_id": ("productid", "product", "stockcode"),
        "amount": ("amount", "closevalue", "value", "actualvalue", "estimatedvalue", "dealvalue"),
        "created_date": ("createddate", "createdate", "createdon", "engagedate", "created"),
        "close_date": ("closedate", "actualclosedate", "closed", "invoicedate"),
        "status": ("status", "stage", "dealstage", "stagename", "statecode", "iswon"),
        "stage": ("stage", "stagename", "dealstage", "stepname"),
    },
}
"""Canonical column -> header names (lower case, letters and digits only) that usually hold it."""

VALUE_SYNONYMS: dict[str, dict[str, str]] = {
    "status": {
        "won": "won", "closedwon": "won", "gewonnen": "won", "1": "won",
        "lost": "lost", "closedlost": "lost", "verloren": "lost", "2": "lost",
        "open": "open", "engaging": "open", "prospecting": "open", "0": "open",
        "customer": "customer", "kunde": "customer", "prospect": "prospect", "lead": "prospect",
        "formercustomer": "former_customer", "excustomer": "former_customer",
    },
    "type": {
        "newbusiness": "new_business", "new": "new_business", "upsell": "upsell",
        "existingbusiness": "upsell", "renewal": "renewal",
    },
}  # fmt: skip
"""Value spellings -> canonical value, for coded columns."""


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


@dataclass
class ColumnGuess:
    """One canonical column: the guessed source column (``None`` = TODO) and why."""

    column: str
    source: str | None
    score: float = 0.0
    note: str = ""
    values: dict[str, str] = field(default_factory=dict)
    unmatched_values: list[str] = field(default_factory=list)


@dataclass
class TableDraft:
    """The draft of one canonical table from one source file."""

    table: str
    source: str
    file: str
    score: float
    columns: list[ColumnGuess]
    repeated_ids: int = 0


def _like_names(like: str | None) -> dict[tuple[str, str], list[str]]:
    """(table, column) -> source column names a built-in mapping uses."""
    if not like:
        return {}
    from salesanalytics.ingest.mapping import load_mapping

    m = load_mapping(like)
    out: dict[tuple[str, str], list[str]] = {}
    for t, ts in m.tables.items():
        for inp in ts.inputs:
            for col in inp.columns:
                spec = inp.column(col)
                out.setdefault((t, col), []).extend(spec.sources)
    return out


def _kind_ok(kind: str, sample: pd.Series) -> tuple[bool, str]:
    vals = sample.dropna().astype(str).str.strip()
    vals = vals[vals != ""]
    if not len(vals):
        return True, "no values in the sample"
    if kind == "date":
        share = pd.to_datetime(vals, errors="coerce", format="mixed").notna().mean()
        return share >= 0.8, f"{share:.0%} of the sample reads as dates"
    if kind in ("float", "int"):
        share = pd.to_numeric(vals.str.replace("'", ""), errors="coerce").notna().mean()
        return share >= 0.8, f"{share:.0%} of the sample reads as numbers"
    return True, ""


def _guess_column(
    table: str, col: schema.Column, headers: list[str], sample: pd.DataFrame, like: dict
) -> ColumnGuess:
    syn = [_norm(s) for s in like.get((table, col.name), [])]
    syn += [_norm(col.name), *SYNONYMS.get(table, {}).get(col.name, ())]
    best: tuple[float, str, str] | None = None
    for h in headers:
        n = _norm(h)
        if n in syn:
            score, how = 1.0 - 0.01 * syn.index(n), "name"
        else:
            score = max((difflib.SequenceMatcher(None, n, s).ratio() for s in syn), default=0)
            how = "similar name"
            if score < 0.85:
                continue
        ok, why = _kind_ok(col.dtype, sample[h].head(SAMPLE_ROWS)) if h in sample else (True, "")
        if not ok:
            continue
        if best is None or score > best[0]:
            best = (score, h, how + (f"; {why}" if why else ""))
    if best is None:
        return ColumnGuess(col.name, None)
    score, h, how = best
    shown = (
        ", ".join(sample[h].dropna().astype(str).drop_duplicates().head(3)) if h in sample else ""
    )
    g = ColumnGuess(col.name, h, round(score, 2), f"{how}; sample: {shown}" if shown else how)
    if col.allowed:
        table_syn = VALUE_SYNONYMS.get(col.name, {})
        for v in sample[h].dropna().astype(str).str.strip().value_counts().index[:30]:
            canon = table_syn.get(_norm(v)) or (v.lower() if v.lower() in col.allowed else None)
            if canon in col.allowed:
                g.values[v] = canon
            else:
                g.unmatched_values.append(v)
    return g


def draft_mapping(source: str | Path, like: str | None = None) -> list[TableDraft]:
    """Guess, for every canonical table, the export file that holds it and its columns.

    Parameters
    ----------
    source
        The export folder.
    like
        Built-in mapping whose column names count as the best guesses (``salesforce``,
        ``hubspot``, ``dynamics365``, ``maven-crm``).

    Returns
    -------
    list of TableDraft
        One per canonical table a file matches (at least its id column and one other column).
    """
    files = sio.list_files(source)
    if not files:
        raise InputNotFoundError(
            f"the export folder {source} contains no CSV, Excel or Parquet file"
        )
    names = _like_names(like)
    samples: dict[str, pd.DataFrame] = {}
    for p in files:
        for raw in sio.read_file(p):
            samples[raw.file] = raw.data
    drafts = []
    for t in SYNONYMS:
        table = schema.TABLES[t]
        best: TableDraft | None = None
        for label, sample in samples.items():
            headers = list(sample.columns)
            guesses = [_guess_column(t, c, headers, sample, names) for c in table.columns]
            if guesses[0].source and len(guesses) > 1 and guesses[1].column == "name":
                if guesses[1].source is None:  # no name column: the id is the name
                    guesses[1] = ColumnGuess(
                        "name", guesses[0].source, 0.5, "no name column: the id is shown as name"
                    )
            found = [g for g in guesses if g.source]
            if not found or guesses[0].source is None or len(found) < 2:
                continue
            score = sum(g.score for g in found) / len(table.columns)
            if best is None or score > best.score:
                src = re.sub(r"[^A-Za-z0-9_]", "_", Path(label.split(":")[-1]).stem)
                ids = sample[guesses[0].source].dropna()
                best = TableDraft(
                    t, src, label, round(score, 2), guesses, int(ids.duplicated().sum())
                )
        if best is not None:
            drafts.append(best)
    return drafts


def _q(v: Any) -> str:
    s = str(v)
    return s if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_ .-]*", s) and s.lower() not in {
        "yes", "no", "true", "false", "null", "on", "off"
    } else repr(s).replace("\\'", "''")  # fmt: skip


def render_yaml(drafts: list[TableDraft], name: str, source: str, like: str | None) -> str:
    """The draft as a commented mapping YAML (see the module docs)."""
    lines = [
        f"# Draft mapping for the export in {source}, written by `salesanalytics mapping draft`"
        + (f" (like {like})" if like else "")
        + ".",
        "# Every guess is commented with how it was found. Check each one; replace every TODO",
        "# (required columns without a candidate), then run",
        "#   salesanalytics validate --source <export> --mapping <this file>",
        "# which lists what is still missing or wrong.",
        f"name: {_q(name)}",
        "description: TODO describe the export",
        "currency: CHF  # TODO the currency of the amounts (ISO code)",
        "",
        "sources:",
    ]
    seen: set[str] = set()
    for d in drafts:
        if d.source in seen:
            continue
        seen.add(d.source)
        ids = [g.source for g in d.columns[:1] if g.source]
        lines += [f"  {d.source}:", f"    files: [{_q(Path(d.file.split(':')[-1]).stem)}]"]
        if ids:
            lines.append(f"    detect: [{_q(ids[0])}]")
    lines += ["", "tables:"]
    for d in drafts:
        table = schema.TABLES[d.table]
        lines += [
            f"  {d.table}:  # from {d.file} (match {d.score:.0%})",
            "    inputs:",
            f"      - source: {d.source}",
            "        columns:",
        ]
        if d.repeated_ids:
            lines[-3:-3] = [
                f"    # TODO {d.columns[0].source} repeats on {d.repeated_ids:,} rows: several "
                "rows per id (e.g. invoice lines).",
                "    # For invoice or order lines use a transactions: block instead (see the "
                "built-in mapping online-retail).",
            ]
        for col, g in zip(table.columns, d.columns, strict=True):
            if g.source is None:
                if col.required and not col.nullable:
                    lines.append(
                        f"          {col.name}: {{source: TODO}}  # TODO required: {col.description}"
                    )
                elif col.required:
                    lines.append(
                        f"          {col.name}: {{constant: null}}  # not found (optional)"
                    )
                continue
            opt = "" if col.required else ", optional: true"
            if g.values or g.unmatched_values:
                lines.append(f"          {col.name}:  # {g.note}")
                lines.append(f"            source: {_q(g.source)}")
                if opt:
                    lines.append("            optional: true")
                lines.append("            values:")
                for v, c in g.values.items():
                    lines.append(f"              {_q(v)}: {c}")
                for v in g.unmatched_values:
                    lines.append(
                        f"              {_q(v)}: TODO  # one of {', '.join(col.allowed or ())}"
                    )
            else:
                lines.append(f"          {col.name}: {{source: {_q(g.source)}{opt}}}  # {g.note}")
    return "\n".join(lines) + "\n"


def register_cli(subparsers: Any) -> None:
    """Add ``salesanalytics mapping draft``."""
    p = subparsers.add_parser(
        "mapping",
        help="help writing a column mapping for a CRM export",
        description="Column mappings: 'draft' proposes one for an unknown export.",
    )
    sub = p.add_subparsers(dest="mapping_command", metavar="ACTION")
    d = sub.add_parser(
        "draft",
        help="write a commented mapping YAML proposal from an export's headers and values",
        description="Read the header and a sample of every file in DIR, match the columns to the "
        "canonical model (names, types, date formats, value sets) and write a mapping proposal "
        "in which every guess is commented and every required column without a candidate is "
        "marked TODO. Then run 'salesanalytics validate --mapping FILE' to see what is left.",
    )
    d.add_argument("--source", required=True, metavar="DIR", help="folder with the export")
    d.add_argument(
        "--like",
        metavar="NAME",
        help="built-in mapping whose column names to prefer (salesforce, hubspot, dynamics365)",
    )
    d.add_argument("--name", default="draft", help="name of the mapping (default: draft)")
    d.add_argument("--output", "-o", metavar="FILE", help="write the YAML here (default: print it)")
    d.set_defaults(func=_cmd_draft)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _cmd_draft(args: argparse.Namespace) -> int:
    like = {"dynamics": "dynamics365"}.get(args.like, args.like)
    try:
        drafts = draft_mapping(args.source, like)
    except (FileNotFoundError, ValueError) as exc:
        raise UserError(str(exc)) from exc
    text = render_yaml(drafts, args.name, args.source, like)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        todo = text.count("TODO")
        print(f"wrote {args.output}: {len(drafts)} table(s), {todo} TODO(s) to resolve")
    else:
        print(text, end="")
    return 0
