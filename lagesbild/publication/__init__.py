"""Immutable, versioned publications: staging -> verify -> move -> atomic LATEST pointer.

Names are imported lazily so that the pull client (which only needs the path rules) starts without
loading pandas.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "parquet_bytes": "disclosed",
    "publication_check": "disclosed",
    "publish_marts": "disclosed",
    "reassemble": "disclosed",
    "split_by_region": "layout",
    "visible_to": "layout",
    "MANIFEST": "core",
    "PublicationError": "core",
    "PublicationInfo": "core",
    "latest": "core",
    "new_publication_id": "core",
    "publish": "core",
    "read_manifest": "core",
    "verify_publication": "core",
    "LocalFolderTarget": "target",
    "PublicationTarget": "target",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
