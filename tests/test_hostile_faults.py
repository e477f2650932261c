"""Faults and limits (issue #14): a failing cache only costs speed, outputs never lose data to a
format's limits, inputs are read in bounded memory with their encoding respected, and model files
are checked before they are trusted or inflated. Each case asserts the exit code and the exact
one-line message or warning."""
from __future__ import annotations

import itertools
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contentplan import notices
from contentplan.io import cache as cache_mod
from contentplan.io.cache import EmbeddingCache, cache_max_bytes
from contentplan.model.embedders import HashingEmbedder, embed_texts


@pytest.fixture(autouse=True)
def _fresh_warnings(monkeypatch):
    """'Once per process' starts again in each test."""
    monkeypatch.setattr(notices, "_ONCE", set())


def _warnings(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("warning:")]


# ----- 1. the cache is an optimisation -----

class Counting(HashingEmbedder):
    name = "counting"

    def __init__(self):
        super().__init__(dim=64)
        self.calls = 0

    def embed(self, texts):
        self.calls += 1
        return super().embed(texts)


def _uncached(texts):
    return HashingEmbedder(dim=64).embed(texts)


def test_corrupt_cache_file_falls_back_with_one_warning(tmp_path, capsys):
    path = tmp_path / "embeddings.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    cache, emb = EmbeddingCache(path), Counting()
    a = embed_texts(emb, ["x", "y"], cache=cache)
    b = embed_texts(emb, ["x", "z"], cache=cache)
    assert np.allclose(a, _uncached(["x", "y"])) and np.allclose(b, _uncached(["x", "z"]))
    assert emb.calls == 2
    assert _warnings(capsys.readouterr().err) == [(
        f"warning: embedding cache {path} cannot be used (file is not a database); continuing without it (slower); "
        "delete that file to start a new cache")]
    assert path.read_bytes() == b"this is not a database" * 100  # never "repaired" behind the user's back


def test_locked_cache_does_not_hang(tmp_path, capsys):
    path = tmp_path / "embeddings.sqlite"
    first = EmbeddingCache(path)
    first.put_many("counting", ["a"], np.zeros((1, 64)))
    first.close()
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sqlite3, sys, time\n"
        f"db = sqlite3.connect({str(path)!r}, isolation_level=None, timeout=10)\n"
        "db.execute('PRAGMA locking_mode=EXCLUSIVE')\n"
        "db.execute('BEGIN EXCLUSIVE')\n"
        "db.execute(\"INSERT INTO txt (k, v) VALUES (x'00', 'v')\")\n"
        "print('locked', flush=True)\n"
        "time.sleep(60)\n")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        emb = Counting()
        emb.embed(["warm up"])
        start = time.monotonic()
        out = embed_texts(emb, ["a", "b"], cache=EmbeddingCache(path))
        elapsed = time.monotonic() - start
    finally:
        holder.kill()
        holder.wait()
    assert np.allclose(out, _uncached(["a", "b"]))
    assert elapsed < 2 * cache_mod.CACHE_TIMEOUT_S + 1, elapsed
    assert _warnings(capsys.readouterr().err) == [(
        f"warning: embedding cache {path} cannot be used (database is locked); continuing without it (slower); "
        "another process is writing to it; it will be used again on the next run")]


class _FailingDb:
    """A connection whose writes fail like a full (or read-only) disk."""

    def __init__(self, db, message):
        self._db, self._message = db, message

    def execute(self, sql, *args):
        if sql.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
            raise sqlite3.OperationalError(self._message)
        return self._db.execute(sql, *args)

    def executemany(self, sql, *args):
        raise sqlite3.OperationalError(self._message)

    def __getattr__(self, name):
        return getattr(self._db, name)

    def __enter__(self):
        return self._db.__enter__()

    def __exit__(self, *exc):
        return self._db.__exit__(*exc)


@pytest.mark.parametrize("message", ["database or disk is full", "attempt to write a readonly database"])
def test_full_or_read_only_disk_falls_back(tmp_path, monkeypatch, capsys, message):
    real = cache_mod._connect
    monkeypatch.setattr(cache_mod, "_connect", lambda path: _FailingDb(real(path), message))
    path = tmp_path / "embeddings.sqlite"
    cache, emb = EmbeddingCache(path), Counting()
    for texts in (["x", "y"], ["y", "z"], ["z"]):
        assert np.allclose(embed_texts(emb, texts, cache=cache), _uncached(texts))
    cache.put_text("ns", "t", "v")
    assert cache.get_text("ns", "t") is None
    assert _warnings(capsys.readouterr().err) == [(
        f"warning: embedding cache {path} cannot be used ({message}); continuing without it (slower); "
        "set CONTENTPLAN_CACHE to a writable folder of its own, or CONTENTPLAN_CACHE=off")]


def test_read_only_cache_file(tmp_path, monkeypatch, capsys):
    """A cache opened read-only (as a non-root user gets for a file without write permission)."""
    path = tmp_path / "embeddings.sqlite"
    first = EmbeddingCache(path)
    first.put_many("counting", ["a"], _uncached(["a"]))
    first.close()
    monkeypatch.setattr(cache_mod, "_connect", lambda p: sqlite3.connect(f"file:{p}?mode=ro", uri=True, timeout=1))
    assert np.allclose(embed_texts(Counting(), ["a", "b"], cache=EmbeddingCache(path)), _uncached(["a", "b"]))
    (line,) = _warnings(capsys.readouterr().err)
    assert line.startswith(f"warning: embedding cache {path} cannot be used (attempt to write a readonly database)")


def test_cache_folder_that_is_a_symlink_to_root_is_not_used(tmp_path, monkeypatch, runner, cli, tiny_model_dir):
    link = tmp_path / "cache"
    link.symlink_to("/")
    before = set(Path("/").iterdir())
    monkeypatch.setenv("CONTENTPLAN_CACHE", str(link))
    res = runner.invoke(cli, ["classify", "prix crm", "what is churn", "-f", "csv", "--model", str(tiny_model_dir)])
    assert res.exit_code == 0, res.output
    assert len(res.stdout.splitlines()) == 3
    assert res.stderr.splitlines() == [(
        f"warning: embedding cache {link / 'embeddings.sqlite'} cannot be used (cache folder {link} is the filesystem "
        "root /); continuing without it (slower); set CONTENTPLAN_CACHE to a writable folder of its own, or CONTENTPLAN_CACHE=off")]
    assert set(Path("/").iterdir()) == before


def test_cli_with_a_corrupt_cache_warns_once(tmp_path, monkeypatch, runner, cli, tiny_model_dir):
    folder = tmp_path / "cache"
    folder.mkdir()
    (folder / "embeddings.sqlite").write_bytes(b"garbage" * 1000)
    monkeypatch.setenv("CONTENTPLAN_CACHE", str(folder))
    q = tmp_path / "q.csv"
    q.write_text("question\nprix crm\nwhat is churn\n" + "why do customers leave us so often after a year\n" * 3, encoding="utf-8")
    res = runner.invoke(cli, ["classify", "-i", str(q), "-f", "csv", "--model", str(tiny_model_dir)])
    assert res.exit_code == 0, res.output
    assert len(res.stdout.splitlines()) == 6
    assert res.stderr.splitlines() == [(
        f"warning: embedding cache {folder / 'embeddings.sqlite'} cannot be used (file is not a database); "
        "continuing without it (slower); delete that file to start a new cache")]


def test_cache_evicts_least_recently_used_rows_over_its_limit(tmp_path, monkeypatch):
    clock = itertools.count(1_000_000, 10_000)
    monkeypatch.setattr(cache_mod, "_now", lambda: next(clock))
    limit = 256 * 1024
    cache = EmbeddingCache(tmp_path / "embeddings.sqlite", max_bytes=limit)
    rng = np.random.default_rng(0)
    batches = [[f"b{b}-{i}" for i in range(20)] for b in range(60)]  # 20 x 1 KB vectors a batch: 1.2 MB in all
    for b, texts in enumerate(batches):
        cache.put_many("e", texts, rng.random((20, 256)))
        if b >= 1:
            assert len(cache.get_many("e", batches[0], 256)) == 20  # batch 0 is read again and again
        assert cache.used_bytes() <= limit + limit // 8
    assert cache.used_bytes() <= limit
    assert len(cache.get_many("e", batches[-1], 256)) == 20   # the newest stay
    assert len(cache.get_many("e", batches[0], 256)) == 20    # the most recently used stay
    assert cache.get_many("e", batches[1], 256) == {}         # the least recently used went
    n = sqlite3.connect(tmp_path / "embeddings.sqlite").execute("SELECT COUNT(*) FROM emb").fetchone()[0]
    assert 100 < n < 260


def test_cache_limit_from_the_environment(monkeypatch, capsys):
    for raw, expected in [("", 1024 ** 3), ("500", 500 * 1024 ** 2), ("2G", 2 * 1024 ** 3), ("1.5gb", int(1.5 * 1024 ** 3)),
                          ("100k", 100 * 1024), ("64MiB", 64 * 1024 ** 2), ("0", 0)]:
        monkeypatch.setenv("CONTENTPLAN_CACHE_MAX", raw)
        assert cache_max_bytes() == expected, raw
    assert capsys.readouterr().err == ""
    monkeypatch.setenv("CONTENTPLAN_CACHE_MAX", "lots")
    assert cache_max_bytes() == 1024 ** 3
    assert cache_max_bytes() == 1024 ** 3
    assert capsys.readouterr().err.splitlines() == [
        "warning: CONTENTPLAN_CACHE_MAX='lots' is not a size; using the default 1G (write e.g. 500M, 2G, or a number of MB)"]


def test_cache_made_before_the_size_limit_is_upgraded(tmp_path):
    path = tmp_path / "embeddings.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE emb (k BLOB PRIMARY KEY, v BLOB NOT NULL)")
    db.execute("CREATE TABLE txt (k BLOB PRIMARY KEY, v TEXT NOT NULL)")
    db.execute("INSERT INTO emb VALUES (?, ?)", (EmbeddingCache.key("e", "old"), np.ones(4, dtype=np.float32).tobytes()))
    db.commit()
    db.close()
    cache = EmbeddingCache(path)
    assert np.array_equal(cache.get_many("e", ["old"], 4)[0], np.ones(4))
    cache.put_many("e", ["new"], np.zeros((1, 4)))
    assert set(cache.get_many("e", ["old", "new"], 4)) == {0, 1}


# ----- 2. XLSX output limits: refuse, never cut -----

def test_xlsx_output_over_the_row_limit_is_refused(tmp_path, monkeypatch, runner, cli, tiny_model_dir):
    from contentplan.io import writers
    monkeypatch.setattr(writers, "XLSX_MAX_ROWS", 5)
    out = tmp_path / "out.xlsx"
    res = runner.invoke(cli, ["classify", *[f"question {i}" for i in range(6)], "-o", str(out), "--model", str(tiny_model_dir)])
    assert res.exit_code == 1
    assert res.output.strip() == (
        f"Error: {out}: more than 4 rows do not fit in sheet 'results' (an .xlsx sheet holds 4 rows under its header); "
        "write CSV or JSONL instead (-f csv, or -o FILE.csv), which has no limit")
    assert not out.exists() and [p.name for p in tmp_path.iterdir()] == []
    res = runner.invoke(cli, ["classify", *[f"question {i}" for i in range(4)], "-o", str(out), "--model", str(tiny_model_dir)])
    assert res.exit_code == 0, res.output
    import openpyxl
    assert openpyxl.load_workbook(out).active.max_row == 5


def test_write_table_names_the_row_count(tmp_path, monkeypatch):
    import pandas as pd

    from contentplan.errors import OutputError
    from contentplan.io import writers
    monkeypatch.setattr(writers, "XLSX_MAX_ROWS", 3)
    with pytest.raises(OutputError) as err:
        writers.write_table(pd.DataFrame({"text": ["a", "b", "c"]}), "xlsx", tmp_path / "o.xlsx")
    assert str(err.value) == (f"{tmp_path / 'o.xlsx'}: 3 rows do not fit in sheet 'results' (an .xlsx sheet holds 2 rows "
                              "under its header); write CSV or JSONL instead (-f csv, or -o FILE.csv), which has no limit")


def test_xlsx_cell_over_the_limit_is_refused_not_cut(tmp_path, monkeypatch, runner, cli, tiny_model_dir):
    import openpyxl

    from contentplan.io import writers
    monkeypatch.setattr(writers, "XLSX_MAX_CELL", 50)
    out = tmp_path / "out.xlsx"
    fits, too_long = "why do customers leave " + "x" * 27, "why do customers leave " + "y" * 28
    assert (len(fits), len(too_long)) == (50, 51)
    res = runner.invoke(cli, ["classify", fits, too_long, "-o", str(out), "--no-explain", "--model", str(tiny_model_dir)])
    assert res.exit_code == 1
    assert res.output.strip() == (
        f"Error: {out}: the cell in column 'text', row 3 of sheet 'results' holds 51 characters, more than the 50 an "
        ".xlsx cell can hold; write CSV or JSON instead (-f csv, or -o FILE.csv), which keeps every character")
    assert not out.exists()
    res = runner.invoke(cli, ["classify", fits, "-o", str(out), "--no-explain", "--model", str(tiny_model_dir)])
    assert res.exit_code == 0, res.output
    assert openpyxl.load_workbook(out).active["A2"].value == fits


def test_gap_report_workbook_that_cannot_hold_the_data_is_not_written(tmp_path, monkeypatch, runner, cli, tiny_model_dir):
    from contentplan.io import writers
    fix = Path(__file__).parent / "fixtures" / "gaps"
    out = tmp_path / "report"
    args = ["gaps", "--content", str(fix / "content.csv"), "--questions", str(fix / "questions.csv"),
            "--model", str(tiny_model_dir), "-o", str(out), "-q"]
    assert runner.invoke(cli, args).exit_code == 0          # a previous report, with its workbook
    assert (out / "report.xlsx").is_file()
    monkeypatch.setattr(writers, "XLSX_MAX_ROWS", 3)
    res = runner.invoke(cli, args)
    assert res.exit_code == 0, res.output
    (line,) = _warnings(res.stderr)
    assert line.startswith(f"warning: {out / 'report.xlsx'}: not written: ")
    assert line.endswith("rows do not fit in sheet 'gaps' (an .xlsx sheet holds 2 rows under its header); "
                         "the CSV files of the report hold all the data")
    assert not (out / "report.xlsx").exists()
    assert {p.name for p in out.iterdir()} == {"report.md", "report.html", "gaps.csv", "briefs.csv", "questions.csv", "content.csv",
                                                 ".contentplan-report.json"}


# ----- 3. spreadsheet inputs: which sheet, and never other sheets' data silently -----

def _book(path: Path, sheets: dict[str, list[list]]) -> Path:
    import openpyxl
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
    wb.save(path)
    return path


QUESTIONS = [["question", "volume"], ["prix crm", 10], ["what is churn", 20]]


def test_workbook_other_sheets_with_data_are_named(tmp_path, runner, cli, tiny_model_dir):
    book = _book(tmp_path / "kw.xlsx", {"Data": QUESTIONS, "Notes": [["note"], ["keep me"]], "Empty": []})
    res = runner.invoke(cli, ["classify", "-i", str(book), "-f", "csv", "--model", str(tiny_model_dir)])
    assert res.exit_code == 0, res.output
    assert [r.split(",")[0] for r in res.stdout.splitlines()] == ["question", "prix crm", "what is churn"]
    assert res.stderr.splitlines() == [(
        f"warning: {book}: read sheet 'Data' only; sheet 'Notes' also holds data, not read; to read another sheet pass "
        f"{book}#<sheet name>, e.g. {book}#Notes")]


def test_workbook_sheet_is_chosen_with_a_hash(tmp_path, runner, cli, tiny_model_dir):
    book = _book(tmp_path / "kw.xlsx", {"Data": QUESTIONS, "Other questions": [["question"], ["devis toiture"]]})
    res = runner.invoke(cli, ["classify", "-i", f"{book}#Other questions", "-f", "csv", "--model", str(tiny_model_dir)])
    assert res.exit_code == 0, res.output
    assert [r.split(",")[0] for r in res.stdout.splitlines()] == ["question", "devis toiture"]
    assert res.stderr == ""
    res = runner.invoke(cli, ["classify", "-i", f"{book}#other questions", "-f", "csv", "--model", str(tiny_model_dir)])
    assert res.exit_code == 0 and "devis toiture" in res.stdout


def test_workbook_with_empty_other_sheets_gets_a_note(tmp_path, runner, cli, tiny_model_dir):
    book = _book(tmp_path / "kw.xlsx", {"Data": QUESTIONS, "Sheet2": [], "Blank": [[None, " "]]})
    res = runner.invoke(cli, ["classify", "-i", str(book), "-f", "csv", "--model", str(tiny_model_dir)])
    assert res.exit_code == 0, res.output
    assert res.stderr.splitlines() == [f"note: {book}: read sheet 'Data' (the other sheets are empty)"]
    single = _book(tmp_path / "one.xlsx", {"Data": QUESTIONS})
    res = runner.invoke(cli, ["classify", "-i", str(single), "-f", "csv", "--model", str(tiny_model_dir)])
    assert res.exit_code == 0 and res.stderr == ""


@pytest.mark.parametrize("sheets,suffix,message", [
    ({"Data": QUESTIONS, "Notes": [["n"], ["x"]]}, "#Note",
     "Error: {p}: no sheet 'Note'; did you mean 'Notes'? (sheets: Data, Notes); pass {p}#<sheet name>"),
    ({"Data": QUESTIONS, "Notes": []}, "#Notes",
     "Error: {p}: sheet 'Notes' is empty; put a header row and data in it, or pick another sheet"),
    ({"Cover": [], "Data": QUESTIONS}, "",
     "Error: {p}: the first sheet 'Cover' is empty but 'Data' holds data; pass {p}#Data to read it"),
])
def test_workbook_sheet_errors(tmp_path, runner, cli, tiny_model_dir, sheets, suffix, message):
    book = _book(tmp_path / "kw.xlsx", sheets)
    res = runner.invoke(cli, ["classify", "-i", f"{book}{suffix}", "--model", str(tiny_model_dir)])
    assert res.exit_code == 1
    assert res.output.strip() == message.format(p=book)


def test_output_onto_the_workbook_named_with_a_sheet_is_refused(tmp_path, runner, cli, tiny_model_dir):
    book = _book(tmp_path / "kw.xlsx", {"Data": QUESTIONS, "Notes": [["n"], ["x"]]})
    before = book.read_bytes()
    res = runner.invoke(cli, ["classify", "-i", f"{book}#Data", "-o", str(book), "--model", str(tiny_model_dir)])
    assert res.exit_code == 1
    assert res.output.strip() == f"Error: {book}: is also an input file; write the output to another file"
    assert book.read_bytes() == before


# ----- 4. streams and devices: bounded memory, a clear error for a "line" that never ends -----

@pytest.fixture
def small_limits(monkeypatch):
    """Limits small enough for small test files: lines up to 1,000 bytes, streaming above 2,000."""
    from contentplan.io import encoding, tables
    monkeypatch.setattr(encoding, "MAX_LINE_BYTES", 1000)
    monkeypatch.setattr(tables, "STREAM_THRESHOLD", 2000)


def test_stdin_is_read(runner, cli, tiny_model_dir):
    res = runner.invoke(cli, ["classify", "-i", "-", "-f", "csv", "--model", str(tiny_model_dir)],
                        input=b"question,volume\nprix crm,1\nwhat is churn,2\n")
    assert res.exit_code == 0, res.output
    assert len(res.stdout.splitlines()) == 3


def test_stdin_line_without_end_stops_with_the_line_number(small_limits, runner, cli, tiny_model_dir):
    res = runner.invoke(cli, ["classify", "-i", "-", "--model", str(tiny_model_dir)],
                        input=b"question\nprix crm\n" + b"x" * 5000)
    assert res.exit_code == 1
    assert res.output.strip() == ("Error: <stdin>: line 3 is over 1000 bytes without a line break (a binary file or an "
                                  "endless stream?); pass a text table with one row per line")


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_huge_line_in_a_file_names_file_and_line(tmp_path, monkeypatch, runner, cli, tiny_model_dir, stream):
    from contentplan.io import encoding, tables
    monkeypatch.setattr(encoding, "MAX_LINE_BYTES", 1000)
    monkeypatch.setattr(tables, "STREAM_THRESHOLD", 100 if stream else 10 ** 6)
    p = tmp_path / "q.csv"
    p.write_bytes(b"question\nprix crm\nwhy churn\n" + b"tarif " * 1000 + b"\nlast\n")
    res = runner.invoke(cli, ["classify", "-i", str(p), "--model", str(tiny_model_dir)])
    assert res.exit_code == 1
    assert res.output.strip() == (f"Error: {p}: line 4 is over 1000 bytes without a line break (a binary file or an "
                                  "endless stream?); pass a text table with one row per line")


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_quote_never_closed_stops_at_the_line_limit(tmp_path, monkeypatch, runner, cli, tiny_model_dir, stream):
    """An unclosed quote would make the rest of the file one cell: it stops at the line limit, naming where it starts."""
    from contentplan.io import encoding, tables
    monkeypatch.setattr(encoding, "MAX_LINE_BYTES", 1000)
    monkeypatch.setattr(tables, "STREAM_THRESHOLD", 100 if stream else 10 ** 6)
    p = tmp_path / "q.csv"
    p.write_bytes(b'question,volume\nprix crm,1\n"unclosed,2\n' + b"more text,3\n" * 500)
    res = runner.invoke(cli, ["classify", "-i", str(p), "--model", str(tiny_model_dir)])
    assert res.exit_code == 1
    assert res.output.strip() == (f"Error: {p}: the row starting on line 3 has a cell over 1000 bytes (a quote never "
                                  "closed?); check the quotes on that line")

@pytest.mark.parametrize("kind", ["csv", "txt"])
def test_streamed_chunks_are_bounded_by_characters_not_only_rows(tmp_path, monkeypatch, kind):
    """Cells holding whole pages: a streamed chunk ends once it holds CHUNK_CHARS characters, so
    memory follows the rows read, not the size of each cell; no row is lost or split."""
    from contentplan.io import tables
    monkeypatch.setattr(tables, "STREAM_THRESHOLD", 100)
    monkeypatch.setattr(tables, "CHUNK_CHARS", 2500)
    p = tmp_path / f"pages.{kind}"
    rows = [f"page {i} " + "word " * 199 for i in range(12)]     # ~1,000 characters each
    p.write_text(("text\n" if kind == "csv" else "") + "\n".join(rows) + "\n", encoding="utf-8")
    chunks = list(tables.iter_table(p, chunksize=4096))
    assert [len(c) for c in chunks] == [3, 3, 3, 3]
    assert [t.strip() for c in chunks for t in c.text] == [r.strip() for r in rows]


def test_classify_parts_hold_a_bounded_amount_of_text(tmp_path, monkeypatch, runner, cli, tiny_model_dir):
    """Rows classified together hold at most PART_CHARS characters (a few whole pages at a time);
    the output has every row, in order, with the same stages as one part at a time."""
    from contentplan import api
    seen = []
    real = api.classify_frame

    def spy(model, part, *args, **kwargs):
        seen.append(int(part.iloc[:, 0].str.len().sum()))
        return real(model, part, *args, **kwargs)
    p = tmp_path / "pages.csv"
    texts = [f"Tarif {i} : " + "prix devis essai gratuit " * 40 for i in range(10)]   # ~1,000 characters each
    p.write_text("text\n" + "\n".join(texts) + "\n", encoding="utf-8")
    whole = runner.invoke(cli, ["classify", "-i", str(p), "-f", "csv", "--model", str(tiny_model_dir)])
    monkeypatch.setattr(api, "PART_CHARS", 2500)
    monkeypatch.setattr(api, "classify_frame", spy)
    res = runner.invoke(cli, ["classify", "-i", str(p), "-f", "csv", "--model", str(tiny_model_dir)])
    assert res.exit_code == 0, res.output
    assert len(seen) == 5 and max(seen) <= 2500
    assert res.stdout == whole.stdout


def test_row_parts():
    from contentplan.api import row_parts
    assert row_parts(pd.Series(["a" * 10] * 7), 3, 100) == [(0, 3), (3, 6), (6, 7)]
    assert row_parts(pd.Series(["a" * 60, "b" * 60, "c" * 200, "d", None]), 10, 100) == [(0, 1), (1, 2), (2, 3), (3, 5)]
    assert row_parts(pd.Series([], dtype=str), 10, 100) == []


def test_dev_zero_is_refused_at_once(runner, cli, tiny_model_dir):
    start = time.monotonic()
    res = runner.invoke(cli, ["classify", "-i", "/dev/zero", "--model", str(tiny_model_dir)])
    assert res.exit_code == 1
    assert res.output.strip() == ("Error: /dev/zero: looks like a binary file (NUL bytes), not text; "
                                  "pass a CSV, TSV, XLSX, JSON or text file")
    assert time.monotonic() - start < 10


def _fifo_writer(path: Path, head: bytes, forever: bytes | None = None, tail: bytes = b""):
    import threading

    def run():
        try:
            with open(path, "wb") as fh:
                fh.write(head)
                while forever:
                    fh.write(forever)
                fh.write(tail)
        except (BrokenPipeError, ValueError):
            pass
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def test_endless_fifo_without_line_breaks_stops(tmp_path, small_limits, runner, cli, tiny_model_dir):
    import os
    fifo = tmp_path / "q.csv"
    os.mkfifo(fifo)
    writer = _fifo_writer(fifo, b"question\nprix crm\n", forever=b"y" * 4096)
    res = runner.invoke(cli, ["classify", "-i", str(fifo), "--model", str(tiny_model_dir)])
    writer.join(10)
    assert res.exit_code == 1
    assert res.output.strip() == (f"Error: {fifo}: line 3 is over 1000 bytes without a line break (a binary file or "
                                  "an endless stream?); pass a text table with one row per line")
    assert not writer.is_alive()


def test_large_legitimate_inputs_stream_from_a_fifo_and_a_file(tmp_path, small_limits, runner, cli, tiny_model_dir):
    """Over the stream threshold, every line under the line limit: all rows come out, in order."""
    import csv
    import io
    import os
    rows = [[f"question {i} " + "pourquoi " * (i % 100), str(i)] for i in range(300)]  # lines up to ~900 bytes, 150 KB
    buf = io.StringIO()
    csv.writer(buf).writerows([["question", "volume"], *rows])
    data = buf.getvalue().encode()
    fifo, plain = tmp_path / "fifo.csv", tmp_path / "plain.csv"
    os.mkfifo(fifo)
    plain.write_bytes(data)
    writer = _fifo_writer(fifo, data)
    for source in (fifo, plain):
        res = runner.invoke(cli, ["classify", "-i", str(source), "-f", "csv", "--no-explain", "--model", str(tiny_model_dir)])
        assert res.exit_code == 0, res.output
        out = list(csv.reader(io.StringIO(res.stdout, newline="")))
        assert [r[:2] for r in out[1:]] == rows
    writer.join(10)


def test_whole_read_of_a_stream_is_bounded(monkeypatch):
    import io

    from contentplan.errors import InputError
    from contentplan.io import encoding
    from contentplan.io.tables import read_table
    monkeypatch.setattr(encoding, "MAX_BYTES", 10 * 1024)

    class Stdin:
        buffer = io.BytesIO(b"question\n" + b"prix crm\n" * 5000)
    monkeypatch.setattr(sys, "stdin", Stdin)
    with pytest.raises(InputError) as err:
        read_table("-")
    assert str(err.value) == "<stdin>: input is over 10 KB (an endless stream?); save it to a file under 10 KB, or split it"


# ----- 5. encodings: valid text is never mangled; mixed files are reported by line -----

MIXED = "question\nprix déménagement\n".encode() + "tarif entrée\n".encode("cp1252") + "coût réel\n".encode()


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_mixed_encodings_are_decoded_per_line_and_reported(tmp_path, monkeypatch, runner, cli, tiny_model_dir, stream):
    from contentplan.io import tables
    if stream:
        monkeypatch.setattr(tables, "STREAM_THRESHOLD", 20)
    p = tmp_path / "q.csv"
    p.write_bytes(MIXED)
    res = runner.invoke(cli, ["classify", "-i", str(p), "-f", "csv", "--no-explain", "--model", str(tiny_model_dir)])
    assert res.exit_code == 0, res.output
    assert [r.split(",")[0] for r in res.stdout.splitlines()[1:]] == ["prix déménagement", "tarif entrée", "coût réel"]
    assert res.stderr.splitlines() == [(
        f"warning: {p}: mixed encodings: line 3 is not UTF-8 like the rest of the file; read as cp1252; "
        "check it, or re-save the file as UTF-8")]


def test_mostly_cp1252_file_names_its_utf8_lines():
    from contentplan.io.encoding import MIXED as MIXED_ENC
    from contentplan.io.encoding import decode
    lines = ["é" * 3 + str(i) for i in range(8)]
    data = b"\n".join(line.encode("cp1252") if i != 5 else line.encode() for i, line in enumerate(lines))
    text, enc = decode(data, "x.csv")
    assert text.split("\n") == lines and enc == MIXED_ENC


def test_single_encoding_files_are_decoded_silently(tmp_path, capsys):
    from contentplan.io.tables import read_table
    texts = ["prix déménagement", "tarif entrée – 20 €", "œuvre « naïve »"]
    for enc in ("utf-8", "utf-8-sig", "cp1252", "utf-16"):
        p = tmp_path / f"{enc}.csv"
        p.write_bytes(("question\n" + "\n".join(texts) + "\n").encode(enc))
        assert read_table(p)["question"].tolist() == texts, enc
    assert capsys.readouterr().err == ""


def test_utf8_character_across_read_boundaries_is_not_mangled(tmp_path, monkeypatch):
    """A multi-byte character cut by the 64 KB head, the stream threshold or a read block."""
    from contentplan.io import encoding, tables
    from contentplan.io.tables import iter_table
    line = "é" * 40 + "\n"                      # 81 bytes a line: every boundary below falls inside a character
    data = ("question\n" + line * 3000).encode()
    p = tmp_path / "q.csv"
    p.write_bytes(data)
    monkeypatch.setattr(encoding, "READ_BLOCK", 4097)
    for threshold in (65537, 1001, 10 ** 7):
        monkeypatch.setattr(tables, "STREAM_THRESHOLD", threshold)
        rows = [t for chunk in iter_table(p, chunksize=500) for t in chunk["question"]]
        assert rows == ["é" * 40] * 3000, threshold


def test_bom_file_with_a_cp1252_line_is_a_warning_not_an_error(tmp_path, capsys):
    from contentplan.io.tables import read_table
    p = tmp_path / "q.csv"
    p.write_bytes(b"\xef\xbb\xbf" + b"question\nprix\n" + "entrée\n".encode("cp1252"))
    assert read_table(p)["question"].tolist() == ["prix", "entrée"]
    assert capsys.readouterr().err.splitlines() == [(
        f"warning: {p}: mixed encodings: line 3 is not UTF-8 like the rest of the file; read as cp1252; "
        "check it, or re-save the file as UTF-8")]


# ----- 6. every cell survives a round trip through classify -f csv -----

# Anything a CSV field can hold except NUL (refused as binary) and lone surrogates (not text).
ANY_CELL = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40)
TRICKY_CELLS = ['a "quoted" word', "a, comma", "cr\ronly", "lf\nonly", "crlf\r\ninside", "\r", "\n", "\r\n\r\n",
                "  leading and trailing  ", "=1+2", "=HYPERLINK(\"http://x\")", "+33 6 12", "-3", "@SUM(A1)", "",
                " ", "\t", "é€😀", "\u2028line sep", "\x85nel", "\ufeffbom", ";", "|", '"', '""', "\\"]


def _round_trip(runner, cli, model, path: Path, rows: list[list[str]], terminator: str) -> None:
    import csv
    import io
    buf = io.StringIO()
    # Python's writer leaves a bare CR unquoted unless CR is in the line terminator: quote all then.
    quoting = csv.QUOTE_MINIMAL if "\r" in terminator else csv.QUOTE_ALL
    csv.writer(buf, lineterminator=terminator, quoting=quoting).writerows([["query", "note", "id"], *rows])
    path.write_bytes(buf.getvalue().encode("utf-8"))
    res = runner.invoke(cli, ["classify", "-i", str(path), "-f", "csv", "--no-explain", "--model", str(model)])
    assert res.exit_code == 0, res.output
    # (click's Result.stdout turns CRLF into LF: read the bytes)
    out = list(csv.reader(io.StringIO(res.stdout_bytes.decode("utf-8"), newline="")))
    assert out[0][:3] == ["query", "note", "id"]
    assert [r[:3] for r in out[1:]] == rows


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize("terminator", ["\r\n", "\n"], ids=["crlf", "lf"])
def test_tricky_cells_round_trip(tmp_path, monkeypatch, runner, cli, tiny_model_dir, stream, terminator):
    from contentplan.io import tables
    if stream:
        monkeypatch.setattr(tables, "STREAM_THRESHOLD", 64)
    rows = [[a, b, str(i)] for i, (a, b) in enumerate(zip(TRICKY_CELLS, reversed(TRICKY_CELLS)))]
    _round_trip(runner, cli, tiny_model_dir, tmp_path / "q.csv", rows, terminator)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cells=st.lists(st.tuples(ANY_CELL, ANY_CELL), min_size=1, max_size=12), stream=st.booleans(),
       terminator=st.sampled_from(["\r\n", "\n"]))
def test_any_cell_round_trips(tmp_path, monkeypatch, runner, cli, tiny_model_dir, cells, stream, terminator):
    from contentplan.io import tables
    monkeypatch.setattr(tables, "STREAM_THRESHOLD", 64 if stream else 64 * 1024 ** 2)
    rows = [[a, b, str(i)] for i, (a, b) in enumerate(cells)]
    _round_trip(runner, cli, tiny_model_dir, tmp_path / "q.csv", rows, terminator)


# ----- 7. model files: hashes required, arrays inflated only within bounds -----

def _copy_model(src: Path, dst: Path) -> Path:
    import shutil
    shutil.copytree(src, dst)
    return dst


def _edit_meta(folder: Path, change) -> None:
    import json
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    change(meta)
    (folder / "meta.json").write_text(json.dumps(meta), encoding="utf-8")


def test_model_without_file_hashes_is_refused_until_re_exported(tmp_path, runner, cli, tiny_model_dir):
    from contentplan.model.artifacts import export_runtime, load_runtime, read_meta
    bad = _copy_model(tiny_model_dir, tmp_path / "old-model")
    _edit_meta(bad, lambda m: m.pop("files"))
    res = runner.invoke(cli, ["classify", "prix crm", "--model", str(bad)])
    assert res.exit_code == 1
    assert res.output.strip() == (
        f"Error: {bad}: meta.json records no sha256 for inference.npz, so the model files cannot be checked; retrain "
        f"with 'contentplan train', or re-export with 'contentplan dev export-runtime {bad}'")
    export_runtime(bad)
    rt, _ = load_runtime(bad, read_meta(bad))
    assert list(rt.classes_) == read_meta(tiny_model_dir)["labels"]


def test_estimator_fallback_is_checked_too(tmp_path, tiny_model_dir):
    from contentplan.model.artifacts import load_runtime, read_meta
    from contentplan.errors import ModelError
    bad = _copy_model(tiny_model_dir, tmp_path / "no-runtime")
    (bad / "inference.npz").unlink()
    _edit_meta(bad, lambda m: m["files"].pop("estimator.skops"))
    with pytest.raises(ModelError) as err:
        load_runtime(bad, read_meta(bad))
    assert str(err.value).startswith(f"{bad}: meta.json records no sha256 for estimator.skops, so the model files cannot be checked;")
    _edit_meta(bad, lambda m: m["files"].update({"estimator.skops": "0" * 64}))
    with pytest.raises(ModelError) as err:
        load_runtime(bad, read_meta(bad))
    assert str(err.value) == (f"{bad / 'estimator.skops'}: file does not match the sha256 in meta.json (changed after "
                              "training); retrain with 'contentplan train'")


def _npz_with(path: Path, members: dict[str, bytes]) -> None:
    import zipfile
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def _npy(array: np.ndarray) -> bytes:
    import io
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


def _header_only(shape, dtype="<f8") -> bytes:
    import io

    from numpy.lib import format as npy
    buf = io.BytesIO()
    npy.write_array_header_1_0(buf, {"descr": dtype, "fortran_order": False, "shape": shape})
    return buf.getvalue() + b"\x00" * 64


@pytest.mark.parametrize("members,message", [
    ({"coef.npy": _npy(np.zeros(400_000))},
     ("{npz}: array 'coef' would inflate from {csize} to 3,200,128 bytes (zip bomb?); refusing to load it; "
      "retrain with 'contentplan train'")),
    ({"coef.npy": _header_only((10 ** 9,))},
     ("{npz}: array 'coef' declares shape (1000000000,) of float64, which does not match its 192 bytes; "
      "refusing to load it; retrain with 'contentplan train'")),
    ({"payload.bin": b"x"},
     "{npz}: unexpected member 'payload.bin' (not an array); refusing to load it; retrain with 'contentplan train'"),
])
def test_model_arrays_are_bounded_before_inflating(tmp_path, tiny_model_dir, members, message):
    import zipfile

    from contentplan.model.artifacts import file_sha256, load_runtime, read_meta
    from contentplan.errors import ModelError
    bad = _copy_model(tiny_model_dir, tmp_path / "bomb")
    npz = bad / "inference.npz"
    _npz_with(npz, members)
    digest = file_sha256(npz)
    _edit_meta(bad, lambda m: m["files"].update({"inference.npz": digest}))  # hashes match: the bound is the guard
    csize = zipfile.ZipFile(npz).infolist()[0].compress_size
    with pytest.raises(ModelError) as err:
        load_runtime(bad, read_meta(bad))
    assert str(err.value) == message.format(npz=npz, csize=f"{csize:,}")


def test_model_arrays_total_is_bounded(monkeypatch, tiny_model_dir):
    from contentplan.model import runtime
    from contentplan.model.artifacts import load_runtime, read_meta
    from contentplan.errors import ModelError
    monkeypatch.setattr(runtime, "MAX_NPZ_BYTES", 1000)
    with pytest.raises(ModelError) as err:
        load_runtime(tiny_model_dir, read_meta(tiny_model_dir))
    assert str(err.value).startswith(f"{tiny_model_dir / 'inference.npz'}: arrays would inflate to ")
    assert str(err.value).endswith(" MB (zip bomb?); refusing to load it; retrain with 'contentplan train'")


@pytest.mark.model
def test_shipped_model_has_hashes_and_loads_within_bounds():
    from contentplan.model.artifacts import (
        default_model_dir,
        file_sha256,
        load_runtime,
        read_meta,
    )
    from contentplan.model.runtime import check_npz
    folder = default_model_dir()
    meta = read_meta(folder)
    assert set(meta["files"]) == {"estimator.skops", "inference.npz", "baseline_tfidf.skops"}
    for name in meta["files"]:
        assert meta["files"][name] == file_sha256(folder / name), name
    check_npz(folder / "inference.npz")
    rt, fingerprint = load_runtime(folder, meta)
    assert list(rt.classes_) == meta["labels"] and fingerprint == meta["files"]["inference.npz"][:16]
