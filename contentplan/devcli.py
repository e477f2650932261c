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
@click.option("--pairs", type=click.Path(dir_okay=False, exists=True), default="corpora/matching/pairs.jsonl", show_default=True)
@click.option("--embedder", default="use-multilingual", show_default=True)
def calibrate_match(pairs, embedder):
    """Recalibrate the gap report's answered threshold for EMBEDDER on labeled question-page pairs."""
    from .reports.gaps import write_match_threshold
    click.echo(json.dumps({embedder: write_match_threshold(pairs, embedder)}, indent=2))


@dev.command("lang-profiles")
@click.option("--corpus", type=click.Path(file_okay=False, exists=True), default="corpora", show_default=True)
def lang_profiles(corpus):
    """Rebuild the language detector's n-gram profiles from the corpus train split."""
    from .training.corpus import write_profiles
    click.echo(f"wrote {write_profiles(corpus)}")
