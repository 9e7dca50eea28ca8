"""Content fingerprints that decide whether a phase can be reused from an earlier run."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = ["file_digest", "folder_fingerprint", "json_digest", "package_fingerprint"]

_PKG_SUFFIXES = {".py", ".yaml", ".yml", ".css", ".j2", ".html", ".tpl", ".po"}


def file_digest(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file's content (hex)."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def json_digest(obj: Any) -> str:
    """SHA-256 of the canonical JSON form of ``obj`` (sorted keys)."""
    text = json.dumps(obj, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def folder_fingerprint(
    folder: str | os.PathLike[str], skip: Mapping[str, Any] | None = None
) -> dict[str, str]:
    """``{relative path: sha256}`` of every file under ``folder`` (or of ``folder`` if a file).

    Hidden files (``.name``) and names in ``skip`` are left out.
    """
    root = Path(folder)
    if root.is_file():
        return {root.name: file_digest(root)}
    out: dict[str, str] = {}
    if not root.exists():
        return out
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "__pycache__")
        for fn in sorted(filenames):
            if fn.startswith(".") or (skip and fn in skip):
                continue
            p = Path(dirpath) / fn
            out[p.relative_to(root).as_posix()] = file_digest(p)
    return out


@lru_cache(maxsize=4)
def _package_fp(root: str, stamp: tuple[tuple[str, int, int], ...]) -> str:
    h = hashlib.sha256()
    for rel, _size, _mtime in stamp:
        h.update(rel.encode())
        h.update(bytes.fromhex(file_digest(Path(root) / rel)))
    return h.hexdigest()


def package_fingerprint(root: str | os.PathLike[str] | None = None) -> str:
    """Hash of the ``salesanalytics`` package source.

    Python files, mappings, templates, the language catalogues.

    Large data files (``data/``) are not included.
    """
    base = Path(root) if root is not None else Path(__file__).resolve().parents[2]
    stamp = []
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = sorted(
            d for d in dirnames if d not in {"__pycache__", "data"} and not d.startswith(".")
        )
        for fn in sorted(filenames):
            p = Path(dirpath) / fn
            if p.suffix in _PKG_SUFFIXES:
                st = p.stat()
                stamp.append((p.relative_to(base).as_posix(), st.st_size, st.st_mtime_ns))
    return _package_fp(str(base), tuple(stamp))
