"""Leftovers of issue #14: what the first round of hostile-output fixes did not cover.

- ``tag --write`` on a file with other hard links is refused (replacing it would split the link),
  and a rewritten file keeps its owner and group;
- hidden folders a killed ``gaps -o DIR`` left beside DIR are removed by the next report write
  once untouched for an hour, with one note;
- the TF-IDF baseline that ``evaluate`` loads is checked against the sha256 in ``meta.json``;
- ``xlsx`` to a terminal is refused in the ``Error: <path>: <what>; <fix>`` style;
- ``train -o`` never writes into, over or around a folder training reads, nor over a folder of
  other files, and says so before training starts.

Each case checks the exit code, the exact message, and that files are byte for byte as they were."""
from __future__ import annotations

import io
import json
import os
import stat
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from contentplan.errors import CorpusError, ModelError, OutputError

FIX = Path(__file__).parent / "fixtures" / "gaps"
GOOD = "---\ntitle: Tarifs\n---\nNos tarifs : 49 euros par mois, devis gratuit.\n"


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in [root, *root.rglob("*")] if p.is_file() and not p.is_symlink()}


def _invoke(runner, cli, args):
    res = runner.invoke(cli, [str(a) for a in args])
    assert "Traceback" not in res.output, res.output
    return res


def _lines(text: str) -> list[str]:
    return text.strip().splitlines()


# ----------------------------------------------------------------------------- 1. tag --write: hard links, owner

def _hard_link_error(path: Path, others: int = 1) -> str:
    return (f"Error: {path}: file has {others} other hard link(s), which --write would split (they would keep the old "
            "text), so it was left as it is; edit its front matter by hand, or break the link "
            "(cp FILE FILE.new && mv FILE.new FILE) and rerun")


@pytest.mark.parametrize("dry_run", [False, True], ids=["write", "dry-run"])
def test_hard_linked_file_is_refused_and_the_others_written(runner, cli, tiny_model_dir, tmp_path, dry_run):
    d = tmp_path / "drafts"
    d.mkdir()
    linked, ok, mirror = d / "linked.md", d / "ok.md", tmp_path / "mirror.md"
    linked.write_text(GOOD, encoding="utf-8")
    ok.write_text(GOOD, encoding="utf-8")
    os.link(linked, mirror)   # the same file under a second name, outside the tagged folder
    res = _invoke(runner, cli, ["tag", d, "--write", *(["--dry-run"] if dry_run else []), "--model", tiny_model_dir])
    assert res.exit_code == 1, res.output
    assert _lines(res.stderr) == [_hard_link_error(linked)]
    if dry_run:
        assert ok.read_text(encoding="utf-8") == GOOD
    else:
        assert _lines(res.stdout) == [f"{ok}: wrote journey_stage, content_format, stage_confidence"]
        assert b"journey_stage:" in ok.read_bytes()
    # Both names still hold the same, untouched file.
    assert linked.read_text(encoding="utf-8") == GOOD and os.path.samefile(linked, mirror)
    assert linked.stat().st_nlink == 2
    assert sorted(p.name for p in d.iterdir()) == ["linked.md", "ok.md"]   # no temporary file left


def test_two_names_of_one_file_in_the_tagged_folder_are_both_refused(runner, cli, tiny_model_dir, tmp_path):
    a, b = tmp_path / "a.md", tmp_path / "b.md"
    a.write_text(GOOD, encoding="utf-8")
    os.link(a, b)
    os.link(a, tmp_path / "c.txt")
    res = _invoke(runner, cli, ["tag", a, b, "--write", "--model", tiny_model_dir])
    assert res.exit_code == 1
    assert _lines(res.stderr) == [_hard_link_error(a, 2), _hard_link_error(b, 2)]
    assert a.read_text(encoding="utf-8") == GOOD and a.stat().st_nlink == 3


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="only root can give a file to another owner")
def test_rewritten_file_keeps_its_owner_group_and_mode(runner, cli, tiny_model_dir, tmp_path):
    p = tmp_path / "post.md"
    p.write_text(GOOD, encoding="utf-8")
    os.chown(p, 4321, 4322)
    p.chmod(0o640)
    res = _invoke(runner, cli, ["tag", p, "--write", "--model", tiny_model_dir])
    assert res.exit_code == 0, res.output
    st = p.stat()
    assert b"journey_stage:" in p.read_bytes()
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (4321, 4322, 0o640)


def test_atomic_write_still_writes_when_the_owner_cannot_be_kept(tmp_path, monkeypatch):
    from contentplan.io import writers
    p = tmp_path / "out.csv"
    p.write_text("old\n", encoding="utf-8")
    p.chmod(0o600)

    def refuse(*args, **kwargs):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(writers.os, "chown", refuse)
    monkeypatch.setattr(writers.os, "stat", _stat_with_owner(os.stat, p, 4321, 4322))
    with writers.atomic_write(p) as fh:
        fh.write("new\n")
    assert p.read_text(encoding="utf-8") == "new\n" and stat.S_IMODE(os.lstat(p).st_mode) == 0o600
    assert sorted(x.name for x in tmp_path.iterdir()) == ["out.csv"]


def _stat_with_owner(real_stat, path: Path, uid: int, gid: int):
    """os.stat, except that ``path`` looks owned by ``uid``:``gid`` (as another user's file would)."""
    def fake(target, *args, **kwargs):
        st = real_stat(target, *args, **kwargs)
        if str(target) != str(path):
            return st
        fields = list(st)
        fields[stat.ST_UID], fields[stat.ST_GID] = uid, gid
        return os.stat_result(fields)
    return fake


# ----------------------------------------------------------------------------- 2. stale report folders

def _gaps_args(out: Path, model: Path) -> list:
    return ["gaps", "--content", FIX / "content.csv", "--questions", FIX / "questions.csv", "-o", out, "-q",
            "--model", model]


def _age(path: Path, seconds: float) -> None:
    """Make ``path`` and everything in it look untouched for ``seconds``."""
    when = time.time() - seconds
    for p in sorted([path, *path.rglob("*")], reverse=True):
        os.utime(p, (when, when), follow_symlinks=False)


def test_stale_hidden_folders_of_a_killed_report_are_removed_by_the_next_write(runner, cli, tiny_model_dir, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    out = work / "rep"
    assert _invoke(runner, cli, _gaps_args(out, tiny_model_dir)).exit_code == 0
    # What a SIGKILL can leave: the new report half written (.tmp) or the previous one swapped out (.old).
    stale_tmp, stale_old = work / ".rep.k3j9x0q_.tmp", work / ".rep.ab12cd34.old"
    for folder in (stale_tmp, stale_old):
        folder.mkdir()
        (folder / "gaps.csv").write_bytes(b"half\n")
        _age(folder, 2 * 3600)
    # Kept: a fresh one (a run writing now), an old one with a file just written in it, the user's own
    # hidden folders, a name of another report's folder, a link, and a plain file.
    fresh = work / ".rep.fresh123.tmp"
    busy = work / ".rep.busy1234.tmp"
    mine = [work / ".rep.backup.old", work / ".rep.abcdefghi.tmp", work / ".report.ab12cd34.tmp", work / ".rep.ab12cd34.bak"]
    for folder in (fresh, busy, *mine):
        folder.mkdir()
        (folder / "keep.txt").write_bytes(b"keep\n")
    for folder in (busy, *mine):
        _age(folder, 2 * 3600)
    (busy / "report.md").write_bytes(b"being written\n")
    link, plain = work / ".rep.lnk12345.tmp", work / ".rep.file1234.old"
    link.symlink_to(mine[0], target_is_directory=True)
    plain.write_bytes(b"a file\n")
    for p in (link, plain):
        os.utime(p, (time.time() - 7200,) * 2, follow_symlinks=False)
    kept = _snapshot(work / ".rep.backup.old") | {str(plain): plain.read_bytes()}

    res = _invoke(runner, cli, _gaps_args(out, tiny_model_dir))
    assert res.exit_code == 0, res.output
    note = (f"note: {out}: removed 2 leftover folder(s) of an earlier report write that was killed (beside it, "
            "untouched for over 1 hour): .rep.ab12cd34.old, .rep.k3j9x0q_.tmp")
    assert [line for line in _lines(res.stderr) if "leftover" in line] == [note]
    assert not stale_tmp.exists() and not stale_old.exists()
    assert sorted(p.name for p in work.iterdir()) == sorted(
        ["rep", fresh.name, busy.name, link.name, plain.name, *(m.name for m in mine)])
    assert link.is_symlink() and all((m / "keep.txt").read_bytes() == b"keep\n" for m in mine)
    assert all(Path(p).read_bytes() == data for p, data in kept.items())
    assert (out / "report.md").read_text(encoding="utf-8").startswith("# Content gap report")

    # Nothing left to clean: no note.
    res = _invoke(runner, cli, _gaps_args(out, tiny_model_dir))
    assert res.exit_code == 0 and "leftover" not in res.stderr


def test_a_failed_report_write_cleans_nothing(tmp_path, tiny_model_dir):
    from contentplan.reports.gaps import gap_report
    from contentplan.reports.render import write_report
    work = tmp_path / "work"
    mine = work / "mine"
    mine.mkdir(parents=True)
    (mine / "thesis.tex").write_bytes(b"chapter 1\n")
    stale = work / ".mine.ab12cd34.tmp"
    stale.mkdir()
    _age(stale, 2 * 3600)
    rep = gap_report(FIX / "content.csv", FIX / "questions.csv", model=tiny_model_dir)
    with pytest.raises(OutputError, match="holds no contentplan report"):
        write_report(rep, mine)
    assert stale.is_dir() and (mine / "thesis.tex").read_bytes() == b"chapter 1\n"


# ----------------------------------------------------------------------------- 3. baseline hash

@pytest.fixture(scope="module")
def baseline_model_dir(tmp_path_factory) -> Path:
    """A tiny model folder with a TF-IDF baseline beside it, as 'contentplan train' writes one."""
    from contentplan.model.artifacts import save_model
    from contentplan.model.estimator import StageClassifier
    from tests.conftest import TINY

    texts, labels = map(list, zip(*TINY))
    est = StageClassifier(embedder="tfidf-hash", C=10.0, calibrate=False).fit(texts, labels)
    base = StageClassifier(embedder=None, C=10.0, calibrate=False).fit(texts, labels)
    meta = {"name": "tiny-baseline", "labels": list(est.classes_), "embedder": "tfidf-hash",
            "embedding_dim": est.embedding_dim_, "corpus_sha256": "0" * 64, "min_confidence": 0.0, "scheme": "canonical"}
    return save_model(est, meta, tmp_path_factory.mktemp("models") / "with-baseline", "# tiny\n", baseline=base)


@pytest.fixture
def model_copy(baseline_model_dir, tmp_path) -> Path:
    import shutil
    return Path(shutil.copytree(baseline_model_dir, tmp_path / "model"))


LABELED = b"text,stage\ncombien coute un crm,decision\nwhat is churn,awareness\nmy parcel arrived broken,post-purchase\n"


def _evaluate(runner, cli, model: Path, tmp_path: Path):
    data = tmp_path / "labeled.csv"
    data.write_bytes(LABELED)
    return _invoke(runner, cli, ["evaluate", "--model", model, "--data", data, "-f", "json"])


def test_save_records_the_baseline_hash_and_evaluate_loads_it(runner, cli, model_copy, tmp_path):
    from contentplan.model.artifacts import BASELINE, file_sha256
    meta = json.loads((model_copy / "meta.json").read_text(encoding="utf-8"))
    assert BASELINE == "baseline_tfidf.skops"
    assert sorted(meta["files"]) == ["baseline_tfidf.skops", "estimator.skops", "inference.npz"]
    assert meta["files"]["baseline_tfidf.skops"] == file_sha256(model_copy / BASELINE)
    assert sorted(p.name for p in model_copy.parent.iterdir()) == ["model"]   # nothing left beside it
    res = _evaluate(runner, cli, model_copy, tmp_path)
    assert res.exit_code == 0, res.output
    assert set(json.loads(res.stdout)[0]["results"]) == {"model", "tfidf_only", "rules"}


def test_changed_baseline_is_refused(runner, cli, model_copy, tmp_path):
    with open(model_copy / "baseline_tfidf.skops", "ab") as fh:
        fh.write(b"\0")
    before = _snapshot(model_copy)
    res = _evaluate(runner, cli, model_copy, tmp_path)
    assert res.exit_code == 1
    assert res.output.strip() == (f"Error: {model_copy / 'baseline_tfidf.skops'}: file does not match the sha256 in "
                                  "meta.json (changed after training); retrain with 'contentplan train'")
    assert _snapshot(model_copy) == before


def test_baseline_without_a_recorded_hash_is_refused_only_when_loaded(runner, cli, model_copy, tmp_path):
    """A model folder saved before the baseline was hashed (the shipped one until its retrain)."""
    meta_file = model_copy / "meta.json"
    meta = json.loads(meta_file.read_text(encoding="utf-8"))
    del meta["files"]["baseline_tfidf.skops"]
    meta_file.write_text(json.dumps(meta), encoding="utf-8")
    before = _snapshot(model_copy)
    res = _evaluate(runner, cli, model_copy, tmp_path)
    assert res.exit_code == 1
    assert res.output.strip() == (
        f"Error: {model_copy}: meta.json records no sha256 for baseline_tfidf.skops, so the model files cannot be "
        f"checked; retrain with 'contentplan train', or re-export with 'contentplan dev export-runtime {model_copy}'")
    # Classifying never loads the baseline: unaffected.
    res = _invoke(runner, cli, ["classify", "what is churn", "--model", model_copy, "-f", "csv"])
    assert res.exit_code == 0, res.output
    assert _snapshot(model_copy) == before
    # The re-export the message names records it.
    from contentplan.model.artifacts import export_runtime
    from contentplan.model.pipeline import _load_cached
    export_runtime(model_copy)
    _load_cached.cache_clear()   # a new process in real use: the meta.json read again
    assert "baseline_tfidf.skops" in json.loads(meta_file.read_text(encoding="utf-8"))["files"]
    assert _evaluate(runner, cli, model_copy, tmp_path).exit_code == 0


def test_a_model_without_a_baseline_evaluates_without_it(runner, cli, tiny_model_dir, tmp_path):
    res = _evaluate(runner, cli, tiny_model_dir, tmp_path)
    assert res.exit_code == 0, res.output
    assert set(json.loads(res.stdout)[0]["results"]) == {"model", "rules"}


# ----------------------------------------------------------------------------- 4. xlsx to a terminal

XLSX_TTY = "Error: -: an .xlsx workbook cannot be written to a terminal; pass -o FILE.xlsx or pipe the output"


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_xlsx_to_a_terminal_is_refused(monkeypatch):
    from contentplan.io.writers import StreamWriter, write_table
    monkeypatch.setattr(sys, "stdout", _Tty())
    frame = pd.DataFrame({"text": ["a"]})
    for call in (lambda: write_table(frame, "xlsx"), lambda: write_table(frame, "xlsx", "-"),
                 lambda: StreamWriter("xlsx", None)):
        with pytest.raises(OutputError) as err:
            call()
        assert "Error: " + str(err.value) == XLSX_TTY
    assert sys.stdout.getvalue() == ""


def test_classify_xlsx_to_a_terminal_is_one_line(runner, cli, tiny_model_dir, monkeypatch):
    import click.testing
    monkeypatch.setattr(click.testing._NamedTextIOWrapper, "isatty", lambda self: True, raising=False)
    res = _invoke(runner, cli, ["classify", "what is churn", "-f", "xlsx", "--model", tiny_model_dir])
    assert res.exit_code == 1
    assert res.output.strip() == XLSX_TTY
    monkeypatch.undo()
    res = runner.invoke(cli, ["classify", "what is churn", "-f", "xlsx", "--model", str(tiny_model_dir)])
    assert res.exit_code == 0 and res.stdout_bytes.startswith(b"PK")   # piped: the workbook's bytes


# ----------------------------------------------------------------------------- 5. train -o

def _corpus(root: Path) -> Path:
    corpus = root / "corp"
    for split in ("train", "test"):
        (corpus / split).mkdir(parents=True)
        (corpus / split / "q.jsonl").write_text(json.dumps({"text": "what is churn", "stage": "problem", "lang": "en"}) + "\n",
                                                encoding="utf-8")
    (corpus / "real").mkdir()
    (corpus / "real" / "labels.csv").write_bytes(b"id,stage\n")
    return corpus


def _realtext(root: Path) -> Path:
    rt = root / "realtext"
    (rt / "messages").mkdir(parents=True)
    (rt / "README.md").write_bytes(b"# real text\n")
    (rt / "messages" / "a.csv").write_bytes(b"id,text\n1,hello\n")
    return rt


def _no_training(*args, **kwargs):
    raise CorpusError("training started")


TRAIN_REFUSED = [
    ("corpus", "{c}", "{c}: is the corpus folder {c}"),
    ("corpus-dotdot", "{c}/train/..", "{c}/train/..: is the corpus folder {c}"),
    ("corpus-symlink", "{t}/link-to-corp", "{t}/link-to-corp: is the corpus folder {c}"),
    ("file-in-corpus", "{c}/train/q.jsonl", "{c}/train/q.jsonl: is inside the corpus folder {c}"),
    ("labels-in-corpus", "{c}/real/labels.csv", "{c}/real/labels.csv: is inside the corpus folder {c}"),
    ("new-folder-in-corpus", "{c}/train/model", "{c}/train/model: is inside the corpus folder {c}"),
    ("parent-of-corpus", "{t}", "{t}: holds the corpus folder {c}"),
    ("realtext", "{rt}", "{rt}: is the real-text folder {rt}"),
    ("in-realtext", "{rt}/messages/model", "{rt}/messages/model: is inside the real-text folder {rt}"),
]


@pytest.mark.parametrize("case", TRAIN_REFUSED, ids=[c[0] for c in TRAIN_REFUSED])
def test_train_never_writes_the_model_where_training_reads(runner, cli, tmp_path, monkeypatch, case):
    from contentplan.training import train as training
    _, output, message = case
    corpus, rt = _corpus(tmp_path), _realtext(tmp_path / "shared")
    (tmp_path / "link-to-corp").symlink_to(corpus, target_is_directory=True)
    monkeypatch.setenv("CONTENTPLAN_REALTEXT", str(rt))
    monkeypatch.setattr(training, "load_split", _no_training)
    before = _snapshot(tmp_path)
    fill = {"c": str(corpus), "t": str(tmp_path), "rt": str(rt)}
    res = _invoke(runner, cli, ["train", "--corpus", corpus, "-o", output.format(**fill), "--embedder", "none", "-q"])
    assert res.exit_code == 1
    assert res.output.strip() == ("Error: " + message.format(**fill) + ", which training reads; write the model to "
                                  "another folder, e.g. -o models/my-model")
    assert _snapshot(tmp_path) == before
    assert not (corpus / "train" / "model").exists() and not (rt / "messages" / "model").exists()


@pytest.mark.parametrize("kind", ["folder", "file"])
def test_train_refuses_a_non_model_output_before_training(runner, cli, tmp_path, monkeypatch, kind):
    from contentplan.training import train as training
    corpus = _corpus(tmp_path)
    monkeypatch.delenv("CONTENTPLAN_REALTEXT", raising=False)
    monkeypatch.setattr(training, "load_split", _no_training)
    target = tmp_path / "work"
    if kind == "folder":
        target.mkdir()
        (target / "thesis.tex").write_bytes(b"chapter 1\n")
    else:
        target.write_bytes(b"notes\n")
    before = _snapshot(tmp_path)
    res = _invoke(runner, cli, ["train", "--corpus", corpus, "-o", target, "--embedder", "none", "-q"])
    assert res.exit_code == 1
    assert res.output.strip() == (f"Error: {target}: exists and is not a contentplan model folder (no meta.json); "
                                  "write the model to a new or empty folder")
    assert _snapshot(tmp_path) == before


@pytest.mark.parametrize("kind", ["new", "empty", "model"])
def test_train_accepts_a_new_empty_or_model_folder(runner, cli, tmp_path, monkeypatch, kind, tiny_model_dir):
    import shutil

    from contentplan.training import train as training
    corpus = _corpus(tmp_path)
    monkeypatch.delenv("CONTENTPLAN_REALTEXT", raising=False)
    monkeypatch.setattr(training, "load_split", _no_training)   # reached: the output was accepted
    target = tmp_path / "models" / "m"
    if kind == "empty":
        target.mkdir(parents=True)
    elif kind == "model":
        shutil.copytree(tiny_model_dir, target)
    res = _invoke(runner, cli, ["train", "--corpus", corpus, "-o", target, "--embedder", "none", "-q"])
    assert res.exit_code == 1 and res.output.strip() == "Error: training started"


def test_train_model_checks_the_output_itself(tmp_path, monkeypatch):
    from contentplan.training import train as training
    corpus = _corpus(tmp_path)
    monkeypatch.delenv("CONTENTPLAN_REALTEXT", raising=False)
    monkeypatch.setattr(training, "load_split", _no_training)
    with pytest.raises(OutputError, match="is inside the corpus folder"):
        training.train_model(corpus, corpus / "m", embedder=None)
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "a.txt").write_bytes(b"a")
    with pytest.raises(ModelError, match="is not a contentplan model folder"):
        training.train_model(corpus, tmp_path / "x", embedder=None)
