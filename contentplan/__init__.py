"""contentplan: classify questions, queries and content into buyer-journey stages, in French and
English, and report content gaps per stage and persona.

The public API is imported lazily so that ``import contentplan`` stays fast.
"""
from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "classify", "load_model", "load_scheme", "train_model", "gap_report", "tag", "prospects",
           "ContentplanError"]


def __getattr__(name: str):
    if name in ("classify", "load_model"):
        from . import api
        return getattr(api, name)
    if name == "train_model":
        from .training.train import train_model
        return train_model
    if name == "load_scheme":
        from .domain.schemes import load_scheme
        return load_scheme
    if name == "ContentplanError":
        from .errors import ContentplanError
        return ContentplanError
    if name == "gap_report":
        from .reports.gaps import gap_report
        return gap_report
    if name == "tag":
        from .reports.tagging import tag_documents, tags_frame

        def tag(paths, **kwargs):
            """Tag drafts (files or folders); returns a DataFrame, one row per file."""
            return tags_frame(tag_documents(paths, **kwargs))
        return tag
    if name == "prospects":
        from .reports.journeys import prospect_journeys
        return prospect_journeys
    raise AttributeError(f"module 'contentplan' has no attribute {name!r}")
