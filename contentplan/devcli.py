"""``contentplan dev …``: the maintainers' commands (regenerate shipped data files), one click group
beside the user commands instead of separate ``python -m`` entry points."""
from __future__ import annotations

import json

import click


@click.group()
def dev():
    """Maintainers' commands: regenerate the data files shipped with the package and the corpus.

    Example:

    \b
        contentplan dev datacard --corpus corpora
        contentplan dev export-runtime models/old
    """


@dev.command("datacard")
@click.option("--corpus", type=click.Path(file_okay=False, exists=True), default="corpora", show_default=True)
def datacard(corpus):
    """Regenerate CORPUS/DATACARD.md (counts per stage, language, kind and industry)."""
    from pathlib import Path

    from .training.corpus import data_card
    out = Path(corpus, "DATACARD.md")
    out.write_text(data_card(corpus), encoding="utf-8")
    click.echo(f"wrote {out}")


@dev.command("corpus-hash")
@click.option("--corpus", type=click.Path(file_okay=False, exists=True), default="corpora", show_default=True)
def corpus_hash_cmd(corpus):
    """Print the sha256 of the corpus files (what a model's meta.json records)."""
    from .training.corpus import corpus_hash
    click.echo(corpus_hash(corpus))


@dev.command("export-runtime")
@click.argument("model_dir", type=click.Path(file_okay=False, exists=True))
def export_runtime_cmd(model_dir):
    """Write MODEL_DIR/inference.npz from its estimator.skops and record the files' hashes."""
    from .model.artifacts import export_runtime
    click.echo(str(export_runtime(model_dir)))


@dev.command("calibrate-match")
@click.option("--pairs", type=click.Path(file_okay=False, exists=True), default="corpora/matching/real", show_default=True,
              help="Real-page pair set: questions.csv + judgments.csv (the split=fit questions are used).")
@click.option("--pages", type=click.Path(file_okay=False, exists=True), default=None,
              help="Folder of the realtext pages files the pair set refers to (default: ../shared/realtext/pages).")
@click.option("--old-pairs", type=click.Path(dir_okay=False, exists=True), default=None,
              help="Also fit on these hand-written pairs (corpora/matching/pairs.jsonl); off by default: they did not help.")
@click.option("--model", "model_dir", type=click.Path(file_okay=False), default=None, help="Model folder (default: the shipped model).")
def calibrate_match(pairs, pages, old_pairs, model_dir):
    """Fit the gap report's matching (fusion weights, P(answered) calibration, --match-precision
    thresholds) for the model's embedder and store it in contentplan/data/match_model.json."""
    from .match import write_match_model
    from .training.matchdata import calibrate
    from .model.pipeline import JourneyModel
    if pages is None:
        from .training.realtext import find_realtext
        rt = find_realtext()
        if rt is None:
            raise click.UsageError("real pages not found (../shared/realtext or $CONTENTPLAN_REALTEXT); give --pages")
        pages = rt / "pages"
    model = JourneyModel.load(model_dir)
    mm = calibrate(pairs, pages, model, old_pairs)
    emb = model.meta.get("embedder") or "none"
    path = write_match_model(mm, emb, {"fitted_on": f"{pairs} (split=fit) + corpora/matching/actions (split=fit)"
                                                    + (f" + {old_pairs}" if old_pairs else ""),
                                       "measured_on": f"{pairs} (split=heldout); heldout_actions: corpora/matching/actions "
                                                      "(split=heldout)"})
    click.echo(json.dumps({emb: mm.to_dict()}, indent=2))
    click.echo(f"wrote {path}")


@dev.command("lang-profiles")
@click.option("--corpus", type=click.Path(file_okay=False, exists=True), default="corpora", show_default=True)
def lang_profiles(corpus):
    """Rebuild the language detector's n-gram profiles from the corpus train split."""
    from .training.corpus import write_profiles
    click.echo(f"wrote {write_profiles(corpus)}")
