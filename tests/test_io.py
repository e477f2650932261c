"""Readers and writers: every supported format, and an exact one-line error for each bad input."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from contentplan.errors import ColumnError, InputError, OutputError
from contentplan.io import detect_column, read_document, read_documents, read_table, write_table
from contentplan.io.writers import atomic_write

FIX = Path(__file__).parent / "fixtures"


def test_semicolon_cp1252_csv_with_french_accents(tmp_path):
    p = tmp_path / "export.csv"
    p.write_bytes("Requête;Volume\nprix pompe à chaleur;1200\nqu'est-ce qu'un délai de rétractation;90\n".encode("cp1252"))
    df = read_table(p)
    assert list(df.columns) == ["Requête", "Volume"]
    assert df["Requête"].tolist() == ["prix pompe à chaleur", "qu'est-ce qu'un délai de rétractation"]
    assert df["Volume"].tolist() == ["1200", "90"]  # kept as text, carried through unchanged


def test_utf8_bom_csv(tmp_path):
    p = tmp_path / "bom.csv"
    p.write_bytes(b"\xef\xbb\xbfkeyword,search volume\ncrm pricing,880\n")
    df = read_table(p)
    assert list(df.columns) == ["keyword", "search volume"]
    assert detect_column(df, "text") == "keyword"
    assert detect_column(df, "volume") == "search volume"


@pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
def test_delimiter_is_sniffed(tmp_path, sep):
    p = tmp_path / "q.csv"
    p.write_text(f"query{sep}clicks\nhello world{sep}3\nbonjour{sep}4\n", encoding="utf-8")
    assert read_table(p)["query"].tolist() == ["hello world", "bonjour"]


def test_xlsx(tmp_path):
    p = tmp_path / "kw.xlsx"
    pd.DataFrame({"Keyword": ["devis toiture", "roof repair cost"], "Avg. monthly searches": [320, 1900]}).to_excel(p, index=False)
    df = read_table(p)
    assert df["Keyword"].tolist() == ["devis toiture", "roof repair cost"]
    assert df["Avg. monthly searches"].tolist() == ["320", "1900"]
    assert detect_column(df, "volume") == "Avg. monthly searches"


def test_jsonl_json_and_text(tmp_path):
    (tmp_path / "a.jsonl").write_text('{"text": "a", "n": 1}\n{"text": "b", "n": 2}\n', encoding="utf-8")
    (tmp_path / "a.json").write_text(json.dumps([{"question": "x"}, {"question": "y"}]), encoding="utf-8")
    (tmp_path / "a.txt").write_text("first question\n\nsecond question\n", encoding="utf-8")
    assert read_table(tmp_path / "a.jsonl")["n"].tolist() == ["1", "2"]
    assert read_table(tmp_path / "a.json")["question"].tolist() == ["x", "y"]
    assert read_table(tmp_path / "a.txt")["text"].tolist() == ["first question", "second question"]


def test_ragged_rows_keep_their_data(tmp_path):
    p = tmp_path / "r.csv"
    p.write_text("query,volume\nfoo,1,extra\nbar\n", encoding="utf-8")
    df = read_table(p)
    assert df["query"].tolist() == ["foo", "bar"]
    assert df["volume"].tolist() == ["1,extra", ""]


def test_duplicate_column_names_are_made_unique(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("text,text\na,b\n", encoding="utf-8")
    assert list(read_table(p).columns) == ["text", "text.1"]


def test_search_console_and_inventory_columns():
    gsc = pd.DataFrame(columns=["Top queries", "Clicks", "Impressions", "CTR", "Position"])
    assert detect_column(gsc, "text") == "Top queries"
    assert detect_column(gsc, "volume") == "Impressions"
    inv = pd.DataFrame(columns=["Titre", "URL", "Contenu", "Type de contenu", "Persona", "Date de publication"])
    assert detect_column(inv, "title") == "Titre"
    assert detect_column(inv, "body") == "Contenu"
    assert detect_column(inv, "url") == "URL"
    assert detect_column(inv, "format") == "Type de contenu"
    assert detect_column(inv, "date") == "Date de publication"


def test_explicit_column_wins_and_missing_column_lists_columns():
    df = pd.DataFrame({"query": ["a"], "notes": ["b"]})
    assert detect_column(df, "text", "notes") == "notes"
    with pytest.raises(ColumnError) as err:
        detect_column(df, "text", "Query text", where="kw.csv", option="--text-column")
    assert str(err.value) == "kw.csv: no column 'Query text' (columns found: query, notes); pass --text-column with one of them"


@pytest.mark.parametrize("name,data,message", [
    ("empty.csv", b"", "empty.csv: file is empty; it needs a header row and at least one row of data"),
    ("blank.csv", b"  \n\n", "blank.csv: file is empty; it needs a header row and at least one row of data"),
    ("header.csv", b"query,volume\n", "header.csv: no data rows (only a header?); add at least one row"),
    ("binary.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "binary.csv: looks like a binary file (NUL bytes), not text; pass a CSV, TSV, XLSX, JSON or text file"),
    ("data.parquet", b"PAR1", "data.parquet: unsupported file type '.parquet'; use .csv, .tsv, .txt, .jsonl, .json or .xlsx"),
    ("old.xls", b"\xd0\xcf\x11\xe0", "old.xls: old Excel .xls files are not supported; save it as .xlsx or .csv"),
    ("bad.xlsx", b"not a zip", "bad.xlsx: not a valid .xlsx file (not a zip archive); re-save it from Excel as .xlsx"),
    ("bad.jsonl", b'{"text": "a"}\n{oops\n', "bad.jsonl: line 2 is not valid JSON (Expecting property name enclosed in double quotes); fix that line"),
])
def test_bad_table_inputs_give_exact_errors(tmp_path, name, data, message):
    p = tmp_path / name
    p.write_bytes(data)
    with pytest.raises(InputError) as err:
        read_table(p)
    assert str(err.value) == message.replace(name, str(p), 1)


def test_undecodable_bytes(tmp_path):
    p = tmp_path / "weird.csv"
    p.write_bytes(b"text\n" + b"\x81\x8d\x8f\x90\x9d" * 50 + b"\n")
    with pytest.raises(InputError) as err:
        read_table(p)
    assert str(err.value) == f"{p}: cannot decode byte 0x81 at position 5 as UTF-8 or cp1252; re-save the file as UTF-8"


def test_utf16_with_bom(tmp_path):
    p = tmp_path / "u16.csv"
    p.write_bytes("query,volume\ndéménagement prix,30\n".encode("utf-16"))
    assert read_table(p)["query"].tolist() == ["déménagement prix"]


def test_missing_file():
    with pytest.raises(InputError) as err:
        read_table("no/such/file.csv")
    assert str(err.value) == "no/such/file.csv: no such file; check the path"


# ----- documents -----

def test_markdown_front_matter_is_metadata():
    doc = read_document(FIX / "draft_fr.md")
    assert doc.title == "Pompe à chaleur : pourquoi votre facture grimpe en hiver"
    assert doc.meta["tags"] == ["chauffage", "énergie"]
    assert str(doc.meta["date"]) == "2026-01-15"
    assert "rendement" in doc.text and "**" not in doc.text and "title:" not in doc.text


def test_html_main_text_without_scripts_or_navigation():
    doc = read_document(FIX / "page.html")
    assert doc.title == "How to choose a CRM | Acme blog"
    assert "Choosing a CRM starts with your sales process" in doc.text
    for junk in ("should not appear", "nope", "Pricing", "Legal notice", "color:red"):
        assert junk not in doc.text


def test_docx(tmp_path):
    import docx
    d = docx.Document()
    d.add_heading("Étude de cas : Fromagerie Morel", level=1)
    d.add_paragraph("Grâce à notre logiciel, la fromagerie a réduit ses pertes de 18 %.")
    d.save(tmp_path / "case.docx")
    doc = read_document(tmp_path / "case.docx")
    assert doc.title == "Étude de cas : Fromagerie Morel"
    assert "réduit ses pertes" in doc.text


def test_plain_text_first_line_is_title(tmp_path):
    (tmp_path / "n.txt").write_text("Webinar: onboarding in 30 days\nJoin us on Tuesday.\n", encoding="utf-8")
    doc = read_document(tmp_path / "n.txt")
    assert (doc.title, doc.text) == ("Webinar: onboarding in 30 days", "Join us on Tuesday.")


def test_directory_is_read_recursively_in_order(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "two.md").write_text("# Two\nbody two", encoding="utf-8")
    (tmp_path / "one.txt").write_text("One\nbody one", encoding="utf-8")
    (tmp_path / "skip.png").write_bytes(b"\x89PNG")
    docs = read_documents(tmp_path)
    assert [d.title for d in docs] == ["Two", "One"] or [d.title for d in docs] == ["One", "Two"]
    assert len(docs) == 2


@pytest.mark.parametrize("name,data,message", [
    ("broken.md", b"---\ntitle: [unclosed\n---\nbody", "broken.md: line 2, column 17: front matter syntax error: expected ',' or ']', but got '<stream end>'; fix it and retry"),
    ("open.md", b"---\ntitle: x\nbody without end", "open.md: front matter starts with '---' but has no closing '---' line; close it or remove it"),
    ("fake.docx", b"this is not a zip", "fake.docx: not a valid .docx file (not a zip archive); re-save it from Word as .docx"),
    ("empty.md", b"", "empty.md: file is empty; write some text in it"),
    ("x.pdf", b"%PDF-1.4", "x.pdf: unsupported document type '.pdf'; use .md, .html, .txt or .docx"),
])
def test_bad_documents_give_exact_errors(tmp_path, name, data, message):
    p = tmp_path / name
    p.write_bytes(data)
    with pytest.raises(InputError) as err:
        read_document(p)
    assert str(err.value) == message.replace(name, str(p), 1)


def test_yaml_alias_bomb_is_refused(tmp_path):
    lines = ["---", 'a: &a ["x","x","x","x","x","x","x","x","x"]']
    for i, prev in zip("bcdefghij", "abcdefghi"):
        lines.append(f"{i}: &{i} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]")
    lines += ["---", "body"]
    p = tmp_path / "bomb.md"
    p.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_document(p)
    assert "alias bomb" in str(err.value)


def test_big_yaml_without_aliases_is_not_taken_for_a_bomb(tmp_path):
    """10,000 personas with example questions: more than 100,000 YAML nodes, all written out: accepted."""
    from contentplan.domain.personas import load_personas
    lines = ["personas:"]
    for i in range(10_000):
        lines += [f"  - id: p{i}", f"    name: Persona {i}", "    example_questions:"]
        lines += [f"      - question {j} of persona {i}" for j in range(5)]
    p = tmp_path / "personas.yaml"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    personas = load_personas(p)
    assert len(personas) == 10_000 and personas[-1].id == "p9999"


def test_zip_guard_tells_a_bomb_from_a_big_workbook():
    from contentplan.io.documents import zip_is_bomb
    MB = 1024 ** 2
    assert not zip_is_bomb(520 * MB, 61 * MB)        # a 61 MB workbook of 1M rows (~8x)
    assert not zip_is_bomb(15 * MB, 20 * 1024)        # small, however compressible
    assert zip_is_bomb(300 * MB, 300 * 1024)          # 1,000x: a bomb
    assert zip_is_bomb(5 * 1024 * MB, 1024 * MB)      # past 4 GB: never opened


def test_recursive_yaml_alias_is_refused(tmp_path):
    from contentplan.io.documents import safe_yaml
    with pytest.raises(InputError) as err:
        safe_yaml("a: &a [1, *a]\n", "r.yaml")
    assert str(err.value) == "r.yaml: YAML holds a recursive alias; write it out plainly"


# ----- writers -----

@pytest.mark.parametrize("fmt", ["csv", "json", "jsonl", "table"])
def test_writers(tmp_path, fmt):
    frame = pd.DataFrame({"text": ["a, b", "é"], "confidence": [0.5, 1.0]})
    out = tmp_path / f"out.{fmt}"
    write_table(frame, fmt, out)
    text = out.read_text(encoding="utf-8")
    assert "é" in text
    if fmt == "csv":
        assert pd.read_csv(out)["text"].tolist() == ["a, b", "é"]
    if fmt == "jsonl":
        assert [json.loads(x)["text"] for x in text.splitlines()] == ["a, b", "é"]


def test_xlsx_writer_never_writes_formulas(tmp_path):
    import openpyxl
    out = tmp_path / "o.xlsx"
    write_table(pd.DataFrame({"text": ["=HYPERLINK(\"x\")", "ok"], "n": [1.5, float("nan")]}), "xlsx", out)
    ws = openpyxl.load_workbook(out).active
    assert [(c.value, c.data_type) for c in ws["A"]] == [("text", "s"), ('=HYPERLINK("x")', "s"), ("ok", "s")]
    assert [c.value for c in ws["B"]] == ["n", 1.5, None]


def test_xlsx_writer_cell_types_and_missing_values(tmp_path):
    """Each kind of cell a report holds, written column by column: missing values of every pandas
    flavour are blank cells (never the text '<NA>' or 'NaT', never a crash), numpy scalars are numbers,
    an infinite score is an Excel error cell rather than a crash, ISO dates are dates."""
    import datetime as dt

    import numpy as np
    import openpyxl
    out = tmp_path / "o.xlsx"
    frame = pd.DataFrame({
        "text": pd.Series(["a", None, "", "d"], dtype="str"),
        "count": pd.Series([1, None, 3, 4], dtype="Int64"),
        "when": pd.to_datetime(["2026-01-02", None, "2026-03-04", "2026-05-06"]),
        "iso": ["2026-01-02", "", "2026-03-04", "2026-05-06"],
        "mixed": [np.float32(0.5), np.float32("nan"), np.int64(7), True],
        "score": [0.25, float("inf"), float("nan"), 1.0],
        "flag": [True, False, True, False],
    })
    write_table(frame, "xlsx", out)
    ws = openpyxl.load_workbook(out).active
    col = {c.value: c.column_letter for c in ws[1]}
    values = {name: [c.value for c in ws[letter]][1:] for name, letter in col.items()}
    assert values["text"] == ["a", None, None, "d"]
    assert values["count"] == [1, None, 3, 4]
    assert values["when"][1] is None and str(values["when"][0]).startswith("2026-01-02")
    assert values["iso"] == [dt.datetime(2026, 1, 2), None, dt.datetime(2026, 3, 4), dt.datetime(2026, 5, 6)]
    assert values["mixed"] == [0.5, None, 7, True]
    assert values["score"][0] == 0.25 and values["score"][2] is None and values["score"][3] == 1
    assert ws[f"{col['score']}3"].value == "=1/0"       # inf: XlsxWriter's #DIV/0! cell, loud in Excel
    assert values["flag"] == [True, False, True, False]


def test_output_never_overwrites_an_input(tmp_path):
    inp = tmp_path / "in.csv"
    inp.write_text("text\na\n", encoding="utf-8")
    with pytest.raises(OutputError) as err:
        write_table(pd.DataFrame({"text": ["b"]}), "csv", inp, inputs=[inp])
    assert str(err.value) == f"{inp}: is also an input file; write the output to another file"
    assert inp.read_text(encoding="utf-8") == "text\na\n"


def test_output_path_is_a_directory(tmp_path):
    with pytest.raises(OutputError) as err:
        write_table(pd.DataFrame({"a": [1]}), "csv", tmp_path)
    assert str(err.value) == f"{tmp_path}: is a directory; pass a file name for -o"


def test_atomic_write_leaves_original_on_failure(tmp_path):
    target = tmp_path / "keep.txt"
    target.write_text("original", encoding="utf-8")
    with pytest.raises(RuntimeError):
        with atomic_write(target) as fh:
            fh.write("half")
            raise RuntimeError("boom")
    assert target.read_text(encoding="utf-8") == "original"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]
