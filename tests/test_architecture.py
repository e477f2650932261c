"""docs/ARCHITECTURE.md says where to add an encoder, a reader, an output format and a command, each
in one place. Each test here does one of them through that one hook only (nothing else is edited)
and runs it end to end through the CLI."""
from __future__ import annotations

import hashlib
import json

import click
import numpy as np
import pytest

from contentplan.io import documents, tables, writers
from contentplan.model import embedders

from .conftest import ROOT, TINY


@pytest.fixture
def restore_registries():
    """Registering is global: put every registry back as it was after the test."""
    saved = [(reg, dict(reg)) for reg in (embedders.ENCODERS, embedders._ALIASES, embedders._INSTANCES,
                                          tables.TABLE_READERS, tables.TABLE_KINDS, documents.DOC_READERS,
                                          writers.OUTPUT_FORMATS)]
    lists = [(lst, list(lst)) for lst in (tables._SHOWN_EXTS, documents._SHOWN_EXTS)]
    yield
    for reg, copy in saved:
        reg.clear()
        reg.update(copy)
    for lst, copy in lists:
        lst[:] = copy


def test_the_architecture_page_names_each_hook():
    page = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    for hook in ("register_encoder", "register_table_reader", "register_document_reader", "register_output_format",
                 "@cli.command()", "data/schemes/"):
        assert hook in page
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "docs/ARCHITECTURE.md" in readme


class ToyEncoder:
    """8 dimensions from the hash of each word: enough to train and classify with."""

    name = "toy-words"
    dim = 8

    def embed(self, texts):
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in str(t).lower().split():
                out[i, hashlib.sha1(w.encode()).digest()[0] % self.dim] += 1.0
        n = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(n == 0, 1.0, n)


def test_an_encoder_added_in_one_place_trains_saves_and_classifies(restore_registries, tmp_path, runner, cli):
    from contentplan.model.artifacts import save_model
    from contentplan.model.estimator import StageClassifier

    embedders.register_encoder("toy-words", lambda arg: ToyEncoder())
    assert isinstance(embedders.get_embedder("toy-words"), ToyEncoder)
    assert "toy-words" in embedders.encoder_names()

    texts, labels = zip(*TINY)
    est = StageClassifier(embedder="toy-words", C=10.0, calibrate=False).fit(list(texts), list(labels))
    assert est.embedding_dim_ == 8
    model = tmp_path / "toy-model"
    save_model(est, {"name": "toy", "labels": list(est.classes_), "embedder": "toy-words", "embedding_dim": 8,
                     "corpus_sha256": "0" * 64, "min_confidence": 0.0, "scheme": "canonical"}, model, "# toy\n")
    res = runner.invoke(cli, ["classify", "--model", str(model), "-f", "json", "comment choisir un crm"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)[0]["stage"] in ("awareness", "consideration", "decision", "post-purchase", "none")


def _toy_table(text, name, ext):
    """'.qlist': one question per line after a '>' (anything else is a comment)."""
    import pandas as pd
    return pd.DataFrame({"question": [ln[1:].strip() for ln in text.splitlines() if ln.startswith(">")]}, dtype=str)


def test_a_table_reader_added_in_one_place_reads_every_table_input(restore_registries, tmp_path, runner, cli, tiny_model_dir):
    src = tmp_path / "queries.qlist"
    src.write_text("# from the sales team\n> combien coûte votre CRM ?\n> what is lead nurturing\n", encoding="utf-8")
    res = runner.invoke(cli, ["classify", "-i", str(src), "--model", str(tiny_model_dir)])
    assert res.exit_code == 1 and "unsupported file type '.qlist'; use .csv, .tsv, .txt, .jsonl, .json or .xlsx" in res.output

    tables.register_table_reader("qlist", (".qlist",), tables.TableReader(parse=_toy_table))
    res = runner.invoke(cli, ["classify", "-i", str(src), "--model", str(tiny_model_dir), "-f", "csv"])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert lines[0].startswith("question,stage,") and len(lines) == 3
    assert tables.read_table(src).question.tolist() == ["combien coûte votre CRM ?", "what is lead nurturing"]
    bad = tmp_path / "x.pdf"
    bad.write_bytes(b"%PDF")
    with pytest.raises(Exception, match=r"use \.csv, \.tsv, \.txt, \.jsonl, \.json, \.xlsx or \.qlist"):
        tables.read_table(bad)


def test_a_document_reader_added_in_one_place_tags_that_file(restore_registries, tmp_path, runner, cli, tiny_model_dir):
    draft = tmp_path / "draft.note"
    draft.write_text("TITLE: Tarifs du CRM\nCombien coûte notre CRM par utilisateur et par mois ?\n", encoding="utf-8")

    def read_note(path, data, name):
        title, _, body = data.decode("utf-8").partition("\n")
        return documents.Document(str(path), title.removeprefix("TITLE:").strip(), body.strip(), {}, "note")

    documents.register_document_reader((".note",), read_note)
    res = runner.invoke(cli, ["tag", str(draft), "--model", str(tiny_model_dir), "-f", "json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)[0]["title"] == "Tarifs du CRM"


def test_an_output_format_added_in_one_place_is_written_by_o_and_f(restore_registries, tmp_path, runner, cli, tiny_model_dir):
    def markdown(frame, name, csv_safe, csv_dialect):
        cols = list(frame.columns)
        rows = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        return "\n".join(rows + ["| " + " | ".join(str(v) for v in r) + " |" for r in frame.itertuples(index=False)]) + "\n"

    writers.register_output_format("markdown", writers.OutputFormat(markdown, extensions=("md",)))
    out = tmp_path / "staged.md"
    res = runner.invoke(cli, ["classify", "--model", str(tiny_model_dir), "comment choisir un crm", "-o", str(out)])
    assert res.exit_code == 0, res.output
    text = out.read_text(encoding="utf-8")
    assert text.startswith("| text | stage | confidence |") and "| comment choisir un crm |" in text
    res = runner.invoke(cli, ["classify", "--model", str(tiny_model_dir), "comment choisir un crm", "-f", "markdown"])
    assert res.exit_code == 0 and res.output.startswith("| text | stage |"), res.output
    res = runner.invoke(cli, ["classify", "--model", str(tiny_model_dir), "x", "-o", str(tmp_path / "a.ods")])
    assert "name the file .csv, .json, .jsonl, .xlsx, .md or .txt, or pass -f csv|json|jsonl|xlsx|markdown|table" in res.output


def test_a_command_added_in_one_place_runs_with_the_shared_options(restore_registries, tmp_path, runner, cli, tiny_model_dir,
                                                                   monkeypatch):
    """Its work in one function of api.py (set here for the test), its options in cli.py."""
    from contentplan import api
    from contentplan.cli import output_options

    def run_count_stages(texts, model_dir, fmt, output, csv_safe=False, csv_dialect="plain"):
        from contentplan.io.writers import resolve_format, write_table
        staged = api.classify(list(texts), model=model_dir, explain=False)
        counts = staged.stage.value_counts().rename_axis("stage").reset_index(name="texts")
        write_table(counts, resolve_format(fmt, output), output, csv_safe=csv_safe, csv_dialect=csv_dialect)

    monkeypatch.setattr(api, "run_count_stages", run_count_stages, raising=False)

    @cli.command("count-stages")
    @click.argument("texts", nargs=-1, required=True)
    @click.option("--model", "model_dir", type=click.Path())
    @output_options
    def count_stages(texts, model_dir, fmt, output, quiet, csv_safe, csv_dialect):
        """How many texts fall in each stage.

        Example:

        \b
            contentplan count-stages "comment choisir un crm" "tarif crm"
        """
        from contentplan.api import run_count_stages
        run_count_stages(texts, model_dir, fmt, output, csv_safe=csv_safe, csv_dialect=csv_dialect)

    try:
        out = tmp_path / "counts.xlsx"
        res = runner.invoke(cli, ["count-stages", "comment choisir un crm", "tarif crm", "--model", str(tiny_model_dir),
                                  "-o", str(out), "-q"])
        assert res.exit_code == 0, res.output
        import pandas as pd
        assert pd.read_excel(out).texts.sum() == 2
        assert "count-stages" in runner.invoke(cli, ["--help"]).output
    finally:
        cli.commands.pop("count-stages", None)
