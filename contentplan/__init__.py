"""contentplan: classify questions, queries and content into buyer-journey stages, in French and
English, and report content gaps per stage and persona.

The public API is listed once, in ``_API`` below, and imported on first use so that
``import contentplan`` stays fast (see docs/ARCHITECTURE.md).
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

# public name -> (module, name in it); one function per user command, plus the model and scheme loaders
_API = {
    "classify": ("api", "classify"),
    "load_model": ("api", "load_model"),
    "tag": ("api", "tag"),
    "gap_report": ("reports.gaps", "gap_report"),
    "prospects": ("reports.journeys", "prospect_journeys"),
    "train_model": ("training.train", "train_model"),
    "load_scheme": ("domain.schemes", "load_scheme"),
    "ContentplanError": ("errors", "ContentplanError"),
}

__all__ = ["__version__", *_API]


def __getattr__(name: str):
    if name in _API:
        module, attr = _API[name]
        return getattr(importlib.import_module(f"{__name__}.{module}"), attr)
    raise AttributeError(f"module 'contentplan' has no attribute {name!r}")
