"""Python API functions that are not a library function as they stand: ``contentplan.classify``,
``contentplan.load_model`` and ``contentplan.tag`` (the others are listed in ``contentplan._API``)."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from .domain.schemes import DEFAULT_SCHEME, Scheme, load_scheme
from .io.tables import detect_column
from .model.pipeline import JourneyModel, classify_frame


def load_model(path: str | Path | None = None) -> JourneyModel:
    """Load a model folder (the shipped default when ``path`` is None)."""
    return JourneyModel.load(path)


def classify(texts: str | Sequence[str] | pd.DataFrame, scheme: str | Scheme = DEFAULT_SCHEME,
             text_column: str | None = None, model: str | Path | JourneyModel | None = None,
             min_confidence: float | None = None, brands: Sequence[str] = (), explain: bool = True) -> pd.DataFrame:
    """Classify texts into journey stages.

    Args:
        texts: a string, a list of strings, or a DataFrame (its columns are kept).
        scheme: built-in scheme name or path to a scheme YAML file.
        text_column: the DataFrame column holding the text (detected when None).
        model: model folder or loaded model (default: the shipped model).
        min_confidence: below it the stage is ``unclear`` (default: the model's tuned threshold; 0 disables).
        brands: brand / site names that make a query navigational.

    Returns:
        A DataFrame: input columns, then stage, confidence, lang, intent, p_<stage>..., explanation.

    Example:
        >>> import contentplan
        >>> contentplan.classify(["combien coûte votre CRM ?"])[["stage", "confidence"]]  # doctest: +SKIP
    """
    sch = load_scheme(scheme)
    m = model if isinstance(model, JourneyModel) else JourneyModel.load(model)
    if isinstance(texts, str):
        texts = [texts]
    if isinstance(texts, pd.DataFrame):
        frame = texts
        col = detect_column(frame, "text", text_column, where="DataFrame", option="text_column")
    else:
        frame = pd.DataFrame({"text": list(texts)})
        col = "text"
    return classify_frame(m, frame, col, sch, min_confidence, brands, explain)


def tag(paths, **kwargs) -> pd.DataFrame:
    """Tag drafts (files or folders); returns a DataFrame, one row per file. Keyword arguments are
    :func:`contentplan.reports.tagging.tag_documents`' (scheme, personas, model, min_confidence)."""
    from .reports.tagging import tag_documents, tags_frame
    return tags_frame(tag_documents(paths, **kwargs))
