"""Benchmark of the Salesforce export of a run (prints its figures).

Copies the phase outputs of a finished run (default ``reports/demo/latest``) to a temporary folder,
writes its ``salesforce/`` folder there (wall and CPU seconds, components, rows) and, when the
Salesforce CLI is installed (``tools/salesforce-cli``), converts it with ``sf project convert
source`` (seconds).

Run: ``.venv/bin/python bench/bench_salesforce.py [--run-dir reports/demo/latest]``
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from salesanalytics.salesforce import write_salesforce_folder

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run-dir", default=str(ROOT / "reports" / "demo" / "latest"))
    args = ap.parse_args()
    src = Path(args.run_dir)
    if not (src / "data").is_dir():
        raise SystemExit(f"{src} is not a finished run (no data/ folder); run `make demo` first")
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / src.resolve().name
        shutil.copytree(src / "data", run / "data")
        shutil.copy2(src / "manifest.json", run / "manifest.json")
        t0, c0 = time.perf_counter(), time.process_time()
        res = write_salesforce_folder(run)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        if res is None:
            raise SystemExit("nothing exported")
        print(f"export: {wall:.2f} s wall, {cpu:.2f} s CPU (first call, imports included)")
        print(f"  parts: {', '.join(res.parts)}")
        for kind, members in sorted(res.components.items()):
            print(f"  {kind:16s} {len(members):6d}")
        for name, rows in res.files.items():
            print(f"  {name:45s} {rows:8,d} rows")
        t0, c0 = time.perf_counter(), time.process_time()
        write_salesforce_folder(run)
        print(f"export again: {time.perf_counter() - t0:.2f} s wall (tables cached)")
        sf = ROOT / "tools" / "salesforce-cli" / "node_modules" / ".bin" / "sf"
        if not sf.exists():
            print("sf convert: skipped (npm ci --prefix tools/salesforce-cli)")
            return
        t0 = time.perf_counter()
        proc = subprocess.run(
            [str(sf), "project", "convert", "source", "--root-dir", "force-app", "--output-dir",
             str(Path(tmp) / "mdapi"), "--json"],
            cwd=run / "salesforce", capture_output=True, text=True, check=False,
        )  # fmt: skip
        files = sum(1 for p in (Path(tmp) / "mdapi").rglob("*") if p.is_file())
        print(
            f"sf project convert source: exit {proc.returncode}, {files} files, "
            f"{time.perf_counter() - t0:.1f} s"
        )


if __name__ == "__main__":
    main()
