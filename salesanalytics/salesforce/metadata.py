"""Salesforce metadata XML in source format: building, writing and checking files.

Metadata files are written with the Metadata API namespace, an XML declaration, UTF-8 and two-space
indentation, as ``sf project retrieve`` writes them. Child elements are given in the order of the
Metadata API's schema (``xs:sequence``), which a deployment enforces.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from salesanalytics.errors import InputFileError
from salesanalytics.present.deliverables import atomic_write_bytes

__all__ = [
    "API_VERSION",
    "NS",
    "Field",
    "element",
    "parse_metadata",
    "to_xml",
    "write_metadata",
]

NS = "http://soap.sforce.com/2006/04/metadata"
"""Namespace of every Metadata API file."""
API_VERSION = "62.0"
"""API version written into ``sfdx-project.json`` and ``package.xml`` (Winter '25; accepted by
every org on a current release)."""

Field = tuple[str, Any]
"""One child: ``(tag, value)``. A value is text (str, int, float, bool), a sequence of further
``Field``s (a nested element) or ``None`` (left out). Repeat a tag to repeat an element."""


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value) if value != int(value) else f"{value:.1f}"
    return str(value)


def element(tag: str, fields: Iterable[Field], *, root: bool = False) -> ET.Element:
    """An element ``tag`` with the children ``fields`` (see :data:`Field`)."""
    el = ET.Element(tag, {"xmlns": NS} if root else {})
    for name, value in fields:
        if value is None:
            continue
        if isinstance(value, (list, tuple)) and not isinstance(value, str):
            el.append(element(name, value))
        else:
            child = ET.SubElement(el, name)
            child.text = _text(value)
    return el


def to_xml(root_tag: str, fields: Sequence[Field]) -> bytes:
    """The file content of a metadata component: declaration, namespace, indented, UTF-8."""
    root = element(root_tag, fields, root=True)
    ET.indent(root, space="    ")
    body = ET.tostring(root, encoding="unicode", short_empty_elements=True)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n").encode("utf-8")


def write_metadata(path: Path, root_tag: str, fields: Sequence[Field]) -> Path:
    """Write one metadata file (atomically) and return its path."""
    atomic_write_bytes(path, to_xml(root_tag, fields))
    return path


def parse_metadata(path: str | Path) -> ET.Element:
    """Parse a metadata file.

    ``ValueError`` naming the file and position if it is not well formed or not in the Metadata API
    namespace.
    """
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise InputFileError(f"{path}: not well-formed XML ({exc})") from exc
    if not root.tag.startswith("{" + NS + "}"):
        raise InputFileError(f"{path}: root element {root.tag!r} is not in the namespace {NS}")
    return root
