"""spaCy pipeline component: ``nlp.add_pipe("journey_stage")`` fills ``doc.cats`` with the
probability of each stage of a scheme.

    import spacy, contentplan.spacy_component
    nlp = spacy.blank("fr")
    nlp.add_pipe("journey_stage", config={"scheme": "oni"})
    nlp("combien coûte votre CRM ?").cats
"""
from __future__ import annotations

from spacy.language import Language
from spacy.tokens import Doc

from .domain.schemes import DEFAULT_SCHEME, load_scheme
from .model.pipeline import JourneyModel


class JourneyStageComponent:
    def __init__(self, nlp: Language, name: str, model: str | None, scheme: str):
        self.name = name
        self.model = JourneyModel.load(model or None)
        self.scheme = load_scheme(scheme)

    def __call__(self, doc: Doc) -> Doc:
        return next(iter(self.pipe([doc])))

    def pipe(self, docs, batch_size: int = 256):
        batch = []
        for doc in docs:
            batch.append(doc)
            if len(batch) >= batch_size:
                yield from self._label(batch)
                batch = []
        if batch:
            yield from self._label(batch)

    def _label(self, docs):
        dec = self.scheme.decide(self.model.proba([d.text for d in docs]))
        for k, (doc, row) in enumerate(zip(docs, dec.scheme_proba)):
            doc.cats = {sid: float(p) for sid, p in zip(self.scheme.ids, row)}
            if self.model.has_none:   # text on no journey (guide rule 17)
                doc.cats["none"] = float(dec.p_none[k])
            yield doc


@Language.factory("journey_stage", default_config={"model": "", "scheme": DEFAULT_SCHEME})
def make_journey_stage(nlp: Language, name: str, model: str, scheme: str) -> JourneyStageComponent:
    return JourneyStageComponent(nlp, name, model, scheme)
