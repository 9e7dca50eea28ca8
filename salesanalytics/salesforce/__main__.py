"""``python -m salesanalytics.salesforce``: rewrite a run's Salesforce folder, or fill in Ids.

Rewrite a run's Salesforce folder, or put the org's territory Ids into an association file.

Examples
--------
python -m salesanalytics.salesforce export reports/acme/latest
python -m salesanalytics.salesforce resolve data/object_territory_associations.csv territory2.csv --out accounts_ids.csv
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from salesanalytics.present.deliverables import write_csv
from salesanalytics.salesforce.export import write_salesforce_folder
from salesanalytics.salesforce.territories import resolve_territory_ids

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (2 for bad input, with the reason on stderr)."""
    ap = argparse.ArgumentParser(prog="python -m salesanalytics.salesforce", description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    ex = sub.add_parser("export", help="write RUN_DIR/salesforce/ from the run's phase outputs")
    ex.add_argument("run_dir")
    rs = sub.add_parser("resolve", help="replace Territory2Id DeveloperNames by the org's Ids")
    rs.add_argument("associations", help="user_ or object_territory_associations.csv")
    rs.add_argument("territory2", help="CSV with Id and DeveloperName of the deployed territories")
    rs.add_argument("--out", required=True, help="file to write")
    args = ap.parse_args(argv)
    try:
        if args.cmd == "export":
            res = write_salesforce_folder(args.run_dir)
            if res is None:
                print(
                    f"{args.run_dir}: no phase outputs to export (run the phases first)",
                    file=sys.stderr,
                )
                return 2
            print(res.summary())
            return 0
        out = resolve_territory_ids(args.associations, args.territory2)
        write_csv(out, args.out, lineterminator="\n", encoding="utf-8")
        print(f"{args.out}: {len(out):,} rows with territory Ids")
        return 0
    except (OSError, KeyError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
