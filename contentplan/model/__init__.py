"""The journey model: texts in, canonical-stage probabilities out (pipeline, linear runtime, encoders,
the fast encoder load, loading a model folder; passages, language, rules).

``contentplan.model.StageClassifier`` (the scikit-learn estimator) is loaded on first use, so that
importing the runtime never imports scikit-learn.
"""
from __future__ import annotations


def __getattr__(name: str):
    if name == "StageClassifier":
        from .estimator import StageClassifier
        return StageClassifier
    raise AttributeError(f"module 'contentplan.model' has no attribute {name!r}")
