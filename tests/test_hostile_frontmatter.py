"""tag --write on hostile files (issue #14, and the front-matter item of #15).

Front matter is written by parsing it and re-serialising only the keys tag owns: the round trip
``load(new front matter) == old mapping | new keys`` holds for YAML, TOML (``+++``) and JSON front
matter, the body stays byte for byte, values are quoted when needed, keys/order/comments/line
endings/BOM are kept. A symbolic link, a read-only file or an unreadable file is reported on one
line and left byte for byte as it was, the others are still written, and the exit code is 1."""
from __future__ import annotations

import json
import os
import stat
import tomllib
from pathlib import Path

import pytest
import yaml

from contentplan.errors import InputError
from contentplan.io.documents import parse_front_matter, read_document
from contentplan.reports.tagging import updated_markdown

V = {"journey_stage": "decision", "content_format": "guide", "stage_confidence": 0.91}
TRICKY = [
    V,
    {"persona": "a\n---\nb", "content_format": "yes", "journey_stage": "x: y # z"},
    {"journey_stage": "...", "persona": "+++"},
    {"persona": "'\"\\\t\r\u2028\x85 é", "stage_confidence": 0.5},
    {"journey_stage": "", "content_format": "null"},
]


def _parts(data: bytes):
    """(kind, mapping, body) of a file as a reader sees it."""
    text = data.decode("utf-8-sig")
    fm = parse_front_matter(text, "x.md")
    content = fm.content(text)
    if fm.kind == "yaml":
        mapping = yaml.safe_load(content) or {}
    elif fm.kind == "toml":
        mapping = tomllib.loads(content)
    elif fm.kind == "json":
        mapping = json.loads(content)
    else:
        mapping = {}
    assert mapping == fm.meta
    return fm.kind, mapping, text[fm.body_start:]


def _roundtrip(original: bytes, values: dict) -> bytes:
    new = updated_markdown(original, values, "x.md")
    kind, old_map, old_body = _parts(original)
    new_kind, new_map, new_body = _parts(new)
    assert new_kind == (kind or "yaml")
    assert new_map == old_map | values
    assert new_body.encode() == old_body.encode()  # byte for byte
    assert new.startswith(b"\xef\xbb\xbf") == original.startswith(b"\xef\xbb\xbf")
    return new


# ----------------------------------------------------------------------------- YAML

YAML_FRONTS = {
    "empty-blank-line": "---\n\n---\n",
    "empty": "---\n---\n",
    "only-comment": "---\n# nothing yet\n---\n",
    "owned-list": "---\ntitle: x\njourney_stage:\n  - a\n  - b\n# keep me\nauthor: z\n---\n",
    "owned-indentless-list": "---\njourney_stage:\n- a\n- b\nz: 1\n---\n",
    "owned-block-literal": "---\njourney_stage: |\n  line one\n  line two\nauthor: z\n---\n",
    "owned-block-folded-last": "---\ntitle: x\npersona: >-\n  a\n\n  b\n---\n",
    "owned-block-keep": "---\njourney_stage: |+\n  kept\n\n\nauthor: z\n---\n",
    "owned-flow-multiline": "---\njourney_stage: [a,\n  b]   # c\nz: 1\n---\n",
    "owned-quoted-multiline": "---\njourney_stage: \"a\n  b\"\nz: 1\n---\n",
    "quoted-key": "---\n\"journey_stage\": old  # note\n---\n",
    "duplicate-key": "---\njourney_stage: a\ntitle: t\njourney_stage: b\n---\n",
    "dots-close": "---\ntitle: x\n...\n",
    "indented-root": "---\n  title: x\n  journey_stage: y\n---\n",
    "flow-root": "---\n{title: x, journey_stage: y}\n---\n",
    "nested-same-name": "---\nparams:\n  journey_stage: nested\n---\n",
    "complex-key": "---\n? journey_stage\n: x\nb: 2\n---\n",
    "merge-key": "---\n<<: {journey_stage: a}\nt: 1\n---\n",
    "types": "---\ndate: 2026-02-01\nn: .nan\nflag: yes\nstage_confidence: 0.91\n---\n",
}
BODY = "# Title\n\nBody with a rule:\n\n---\n\nand more.\n"


@pytest.mark.parametrize("values", TRICKY, ids=range(len(TRICKY)))
@pytest.mark.parametrize("front", list(YAML_FRONTS.values()), ids=list(YAML_FRONTS))
@pytest.mark.parametrize("crlf", [False, True], ids=["lf", "crlf"])
def test_yaml_roundtrip(front, values, crlf):
    text = front + BODY
    if crlf:
        text = text.replace("\n", "\r\n")
    original = ("\ufeff" + text if crlf else text).encode()
    new = _roundtrip(original, values)
    if crlf:
        assert new.count(b"\n") == new.count(b"\r\n")
    # Keys the user wrote keep their order; new keys come after them.
    _, old_map, _ = _parts(original)
    _, new_map, _ = _parts(new)
    assert list(new_map) == list(old_map) + [k for k in values if k not in old_map]


def test_empty_front_matter_keeps_both_fences():
    assert updated_markdown(b"---\n\n---\nBody\n", {"journey_stage": "decision"}, "x.md") == \
        b"---\n\njourney_stage: decision\n---\nBody\n"
    assert updated_markdown(b"---\n---\nBody\n", {"journey_stage": "decision"}, "x.md") == \
        b"---\njourney_stage: decision\n---\nBody\n"


def test_multiline_owned_values_are_replaced_whole_and_comments_kept():
    src = (b"---\n# SEO block\ntitle: x  # shown in <title>\njourney_stage:\n  - awareness\n  - decision\n"
           b"content_format: |\n  guide\n  or blog?\n# author block\nauthor: z\n---\nBody\n")
    assert updated_markdown(src, {"journey_stage": "decision", "content_format": "guide"}, "x.md") == (
        b"---\n# SEO block\ntitle: x  # shown in <title>\njourney_stage: decision\n"
        b"content_format: guide\n# author block\nauthor: z\n---\nBody\n")


def test_values_with_newlines_or_fences_are_quoted():
    new = updated_markdown(b"---\ntitle: x\n---\nBody\n", {"persona": "a\n---\nb", "content_format": "yes"}, "x.md")
    assert new == b"---\ntitle: x\npersona: 'a\n\n  ---\n\n  b'\ncontent_format: 'yes'\n---\nBody\n"
    assert _parts(new) == ("yaml", {"title": "x", "persona": "a\n---\nb", "content_format": "yes"}, "Body\n")


def test_crlf_and_bom_survive_byte_for_byte():
    src = b"\xef\xbb\xbf---\r\ntitle: t\r\njourney_stage: >-\r\n  folded\r\n  text\r\n---\r\nBody\r\n"
    assert updated_markdown(src, {"journey_stage": "decision", "stage_confidence": 0.5}, "x.md") == \
        b"\xef\xbb\xbf---\r\ntitle: t\r\njourney_stage: decision\r\nstage_confidence: 0.5\r\n---\r\nBody\r\n"
    # A file without front matter gets one with its own line endings.
    assert updated_markdown(b"\xef\xbb\xbfBody\r\n", {"journey_stage": "decision"}, "x.md") == \
        b"\xef\xbb\xbf---\r\njourney_stage: decision\r\n---\r\nBody\r\n"


def test_same_values_leave_the_file_byte_identical():
    src = b"---\njourney_stage: \"decision\"   # mine\nstage_confidence: 0.910\n---\nBody\n"
    assert updated_markdown(src, {"journey_stage": "decision", "stage_confidence": 0.91}, "x.md") is src


def test_front_matter_that_cannot_be_updated_exactly_is_refused():
    # The owned key holds an anchor another key uses: replacing it would break the other key.
    src = b"---\njourney_stage: &s old\nother: *s\n---\nBody\n"
    with pytest.raises(InputError) as err:
        updated_markdown(src, {"journey_stage": "decision"}, "x.md")
    assert str(err.value) == ("x.md: cannot set journey_stage in its YAML front matter safely (it would no longer "
                              "parse); edit the front matter by hand")


# ----------------------------------------------------------------------------- TOML (Hugo)

TOML_FRONTS = {
    "empty": "+++\n+++\n",
    "simple": '+++\ntitle = "Hugo post"\ndate = 2026-02-01T10:00:00Z\ndraft = false\n+++\n',
    "owned-multiline-string": '+++\ntitle = "T"\njourney_stage = """\nmulti\nline"""\ntags = [\n  "a",\n  "b",\n]\n+++\n',
    "owned-literal": "+++\njourney_stage = 'old' # mine\n+++\n",
    "tables": '+++\ntitle = "T"\n# theme settings\n\n[params]\njourney_stage = "nested"\n[[menu.main]]\nname = "x"\n+++\n',
    "tables-only": "+++\n# comment\n[params]\nx = 1\n+++\n",
    "quoted-key": '+++\n"journey_stage" = "old"\nz = 1\n+++\n',
}


@pytest.mark.parametrize("values", TRICKY, ids=range(len(TRICKY)))
@pytest.mark.parametrize("front", list(TOML_FRONTS.values()), ids=list(TOML_FRONTS))
@pytest.mark.parametrize("crlf", [False, True], ids=["lf", "crlf"])
def test_toml_roundtrip(front, values, crlf):
    text = front + BODY
    original = (text.replace("\n", "\r\n") if crlf else text).encode()
    new = _roundtrip(original, values)
    assert new.startswith(b"+++") and b"\n---" not in new.split(b"+++")[1]
    _, old_map, _ = _parts(original)
    _, new_map, _ = _parts(new)
    assert [k for k in new_map if k in old_map] == list(old_map)  # the author's keys keep their order


def test_toml_in_place_exact():
    src = (b'+++\ntitle = "Hugo post"\njourney_stage = """\nawareness\nor decision"""\ndraft = false\n\n'
           b'[params]\nx = 1\n+++\nBody\n')
    assert updated_markdown(src, V, "x.md") == (
        b'+++\ntitle = "Hugo post"\njourney_stage = "decision"\ndraft = false\ncontent_format = "guide"\n'
        b'stage_confidence = 0.91\n\n[params]\nx = 1\n+++\nBody\n')


def test_toml_strings_are_escaped():
    value = 'say "hi" \\ now\nnext\tline \x01\x7f é'
    new = updated_markdown(b'+++\ntitle = "T"\n+++\nBody\n', {"persona": value}, "x.md")
    assert new == b'+++\ntitle = "T"\npersona = "say \\"hi\\" \\\\ now\\nnext\\tline \\u0001\\u007F \xc3\xa9"\n+++\nBody\n'
    assert tomllib.loads(new.decode().split("+++")[1])["persona"] == value


def test_toml_and_json_titles_are_read(tmp_path):
    (tmp_path / "hugo-file-name.md").write_text('+++\ntitle = "From TOML"\nurl = "/pricing/"\n+++\nBody.\n', encoding="utf-8")
    (tmp_path / "json-file-name.md").write_text('{\n  "title": "From JSON"\n}\nBody.\n', encoding="utf-8")
    toml_doc = read_document(tmp_path / "hugo-file-name.md")
    json_doc = read_document(tmp_path / "json-file-name.md")
    assert (toml_doc.title, toml_doc.meta["url"], toml_doc.text) == ("From TOML", "/pricing/", "Body.")
    assert (json_doc.title, json_doc.text) == ("From JSON", "Body.")


# ----------------------------------------------------------------------------- JSON (Hugo)

JSON_FRONTS = {
    "indent-4": '{\n    "title": "J",\n    "journey_stage": ["x"],\n    "tags": ["a", "b"]\n}\n',
    "one-line": '{"title": "J", "n": 1.5e3}\n',
    "empty": "{}\n",
    "nested-same-name": '{\n  "params": {"journey_stage": "nested"}\n}\n',
}


@pytest.mark.parametrize("values", TRICKY, ids=range(len(TRICKY)))
@pytest.mark.parametrize("front", list(JSON_FRONTS.values()), ids=list(JSON_FRONTS))
@pytest.mark.parametrize("crlf", [False, True], ids=["lf", "crlf"])
def test_json_roundtrip(front, values, crlf):
    text = front + BODY
    original = (text.replace("\n", "\r\n") if crlf else text).encode()
    new = _roundtrip(original, values)
    _, old_map, _ = _parts(original)
    _, new_map, _ = _parts(new)
    assert list(new_map) == list(old_map) + [k for k in values if k not in old_map]


def test_json_keeps_indentation_and_layout():
    src = b'{\n    "title": "J",\n    "journey_stage": ["x",\n        "y"],\n    "n": 1.5e3\n}\nBody\n'
    assert updated_markdown(src, V, "x.md") == (
        b'{\n    "title": "J",\n    "journey_stage": "decision",\n    "n": 1.5e3,\n    "content_format": "guide",\n'
        b'    "stage_confidence": 0.91\n}\nBody\n')


def test_hugo_shortcode_is_not_json_front_matter():
    assert updated_markdown(b"{{< note >}}\nhi\n", {"journey_stage": "decision"}, "x.md") == \
        b"---\njourney_stage: decision\n---\n{{< note >}}\nhi\n"


# ----------------------------------------------------------------------------- tag --write, per file

def _tag(runner, cli, model, *args):
    res = runner.invoke(cli, ["tag", *map(str, args), "--model", str(model)])
    assert "Traceback" not in res.output, res.output
    return res


def _lines(res) -> list[str]:
    return res.output.strip().splitlines()


GOOD = "---\ntitle: Tarifs\n---\nNos tarifs : 49 euros par mois, devis gratuit.\n"


@pytest.mark.parametrize("name,data,message", [
    ("broken-yaml.md", b"---\ntitle: [oops\n---\nbody",
     "{p}: line 2, column 13: front matter syntax error: expected ',' or ']', but got '<stream end>'; fix it and retry"),
    ("open-toml.md", b'+++\ntitle = "x"\nbody', "{p}: front matter starts with '+++' but has no closing '+++' line; close it or remove it"),
    ("broken-toml.md", b'+++\ntitle = "x"\ndraft = maybe\n+++\nbody',
     "{p}: line 3, column 9: front matter TOML syntax error: invalid value; fix it and retry"),
    ("broken-json.md", b'{\n  "title": "x",\n}\nbody',
     "{p}: line 3, column 1: front matter JSON syntax error: Expecting property name enclosed in double quotes; fix it and retry"),
    ("deep-yaml.md", b"---\na: " + b"[" * 5000 + b"\n---\nbody", "{p}: front matter is nested too deeply to read; flatten it"),
    ("deep-toml.md", b"+++\na = " + b"[" * 5000 + b"]" * 5000 + b"\n+++\nbody",
     "{p}: front matter is nested too deeply to read; flatten it"),
    ("deep-json.md", b'{"a": ' + b"[" * 5000 + b"]" * 5000 + b"}\nbody", "{p}: front matter is nested too deeply to read; flatten it"),
])
def test_bad_front_matter_one_line_error_file_unchanged(runner, cli, tiny_model_dir, tmp_path, name, data, message):
    p = tmp_path / name
    p.write_bytes(data)
    res = _tag(runner, cli, tiny_model_dir, p, "--write")
    assert res.exit_code == 1
    assert res.output.strip() == "Error: " + message.format(p=p)
    assert p.read_bytes() == data


def test_write_toml_file_in_place(runner, cli, tiny_model_dir, tmp_path):
    p = tmp_path / "hugo.md"
    p.write_bytes(b'+++\ntitle = "Nos tarifs"\n[params]\nx = 1\n+++\nNos tarifs : 49 euros par mois, devis gratuit.\n')
    res = _tag(runner, cli, tiny_model_dir, p, "-f", "json")
    assert json.loads(res.output)[0]["title"] == "Nos tarifs"
    res = _tag(runner, cli, tiny_model_dir, p, "--write")
    assert res.exit_code == 0, res.output
    new = p.read_bytes()
    assert new.startswith(b'+++\ntitle = "Nos tarifs"\njourney_stage = "') and b"---" not in new
    assert new.endswith(b'[params]\nx = 1\n+++\nNos tarifs : 49 euros par mois, devis gratuit.\n')
    assert _tag(runner, cli, tiny_model_dir, p, "--write").output.strip() == f"{p}: unchanged"


def test_declared_values_kept_and_non_answers_not_written_in_toml_and_json(runner, cli, tiny_model_dir, tmp_path):
    toml_file, json_file = tmp_path / "a.md", tmp_path / "b.md"
    toml_file.write_bytes(b'+++\ncontent_format = "guide"\n+++\nNos tarifs : 49 euros par mois.\n')
    json_file.write_bytes(b'{"content_format": "guide"}\nNos tarifs : 49 euros par mois.\n')
    res = _tag(runner, cli, tiny_model_dir, toml_file, json_file, "--write", "--min-confidence", "1")
    assert res.exit_code == 0, res.output
    assert _lines(res) == [f"{p}: unchanged (journey_stage not written (unclear); kept declared content_format "
                           "(--overwrite replaces))" for p in (toml_file, json_file)]
    assert toml_file.read_bytes() == b'+++\ncontent_format = "guide"\n+++\nNos tarifs : 49 euros par mois.\n'
    assert json_file.read_bytes() == b'{"content_format": "guide"}\nNos tarifs : 49 euros par mois.\n'


def test_symlink_out_of_the_folder_is_not_followed(runner, cli, tiny_model_dir, tmp_path):
    outside = tmp_path / "private"
    outside.mkdir()
    secret = outside / "secret.md"
    secret.write_bytes(b"---\ntitle: Top secret salaries\n---\nCONFIDENTIAL payroll 123\n")
    d = tmp_path / "drafts"
    d.mkdir()
    (d / "ok.md").write_text(GOOD, encoding="utf-8")
    (d / "link.md").symlink_to(secret)
    note = f"skipped: {d / 'link.md'}: symbolic link to a file outside {d}; not followed (pass that file itself to tag it)"
    res = _tag(runner, cli, tiny_model_dir, d, "-f", "csv")
    assert res.exit_code == 0, res.output
    assert _lines(res)[0] == note
    assert "secret" not in res.output.lower().replace("secret.md", "") and "CONFIDENTIAL" not in res.output
    res = _tag(runner, cli, tiny_model_dir, d, "--write")
    assert res.exit_code == 0, res.output
    assert _lines(res) == [note, f"{d / 'ok.md'}: wrote journey_stage, content_format, stage_confidence"]
    assert secret.read_bytes() == b"---\ntitle: Top secret salaries\n---\nCONFIDENTIAL payroll 123\n"
    assert (d / "link.md").is_symlink() and os.readlink(d / "link.md") == str(secret)


def test_write_never_replaces_a_link(runner, cli, tiny_model_dir, tmp_path):
    target = tmp_path / "target.md"
    target.write_text(GOOD, encoding="utf-8")
    link, ok = tmp_path / "link.md", tmp_path / "ok.md"
    link.symlink_to(target)
    ok.write_text(GOOD, encoding="utf-8")
    res = _tag(runner, cli, tiny_model_dir, link, ok, "--write")
    assert res.exit_code == 1
    assert _lines(res) == [f"{ok}: wrote journey_stage, content_format, stage_confidence",
                           (f"Error: {link}: is a symbolic link, and --write never replaces or follows a link; "
                           "pass the file it points to instead")]
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text(encoding="utf-8") == GOOD
    assert b"journey_stage:" in ok.read_bytes()


def test_link_inside_the_folder_to_a_tagged_file_is_skipped(runner, cli, tiny_model_dir, tmp_path):
    d = tmp_path / "site"
    d.mkdir()
    (d / "post.md").write_text(GOOD, encoding="utf-8")
    (d / "alias.md").symlink_to("post.md")
    res = _tag(runner, cli, tiny_model_dir, d, "--write")
    assert res.exit_code == 0, res.output
    assert _lines(res) == [(f"{d / 'alias.md'}: skipped (a symbolic link to {(d / 'post.md').resolve()}, which is written "
                           "under its own name)"), f"{d / 'post.md'}: wrote journey_stage, content_format, stage_confidence"]
    assert (d / "alias.md").is_symlink() and (d / "post.md").read_text(encoding="utf-8").count("journey_stage") == 1


def test_read_only_file_is_reported_and_the_others_written(runner, cli, tiny_model_dir, tmp_path):
    ro, ok = tmp_path / "ro.md", tmp_path / "ok.md"
    ro.write_text(GOOD, encoding="utf-8")
    ok.write_text(GOOD, encoding="utf-8")
    ro.chmod(0o444)
    error = (f"Error: {ro}: file is read-only, so it was left as it is; make it writable (chmod u+w) and rerun, "
             "or leave it out")
    res = _tag(runner, cli, tiny_model_dir, ro, ok, "--write", "--dry-run")
    assert res.exit_code == 1 and _lines(res)[-1] == error
    assert ok.read_text(encoding="utf-8") == GOOD
    res = _tag(runner, cli, tiny_model_dir, ro, ok, "--write")
    assert res.exit_code == 1
    assert _lines(res) == [f"{ok}: wrote journey_stage, content_format, stage_confidence", error]
    assert ro.read_text(encoding="utf-8") == GOOD and stat.S_IMODE(ro.stat().st_mode) == 0o444
    assert b"journey_stage:" in ok.read_bytes()


UNDECODABLE = b"# T\n" + bytes(range(0x80, 0xA0)) * 3


@pytest.mark.parametrize("in_folder", [False, True], ids=["named", "in-folder"])
def test_unreadable_files_do_not_stop_the_batch(runner, cli, tiny_model_dir, tmp_path, in_folder):
    d = tmp_path / "d"
    d.mkdir()
    files = {"a_undecodable.md": UNDECODABLE, "b_binary.md": b"# T\n\x00\x01\x02",
             "c_cp1252.md": "# Tarifs\n\nNos tarifs : 49 € par mois, devis gratuit.\n".encode("cp1252"),
             "d_ok.md": GOOD.encode()}
    for name, data in files.items():
        (d / name).write_bytes(data)
    args = [d] if in_folder else [*(d / n for n in files), d / "e_missing.md"]
    res = _tag(runner, cli, tiny_model_dir, *args, "--write")
    assert res.exit_code == 1
    expected = [(f"Error: {d / 'a_undecodable.md'}: cannot decode byte 0x80 at position 4 as UTF-8 or cp1252; "
                "re-save the file as UTF-8"),
                (f"Error: {d / 'b_binary.md'}: looks like a binary file (NUL bytes), not text; pass a CSV, TSV, XLSX, "
                "JSON or text file")]
    if not in_folder:
        expected.append(f"Error: {d / 'e_missing.md'}: no such file or folder; check the path")
    expected += [f"{d / 'd_ok.md'}: wrote journey_stage, content_format, stage_confidence",
                 f"Error: {d / 'c_cp1252.md'}: is cp1252, not UTF-8; re-save it as UTF-8 before using --write"]
    assert _lines(res) == expected
    for name, data in files.items():
        assert ((d / name).read_bytes() == data) == (name != "d_ok.md"), name
    assert sorted(p.name for p in d.iterdir()) == sorted(files)  # no temporary file left


def test_broken_link_and_pipe_in_a_folder(runner, cli, tiny_model_dir, tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    (d / "a_broken.md").symlink_to("nowhere.md")
    (d / "b_loop.md").symlink_to("b_loop.md")
    os.mkfifo(d / "c_pipe.md")
    (d / "d_ok.md").write_text(GOOD, encoding="utf-8")
    res = _tag(runner, cli, tiny_model_dir, d, "--write")
    assert res.exit_code == 1
    assert _lines(res) == [
        f"Error: {d / 'a_broken.md'}: broken symbolic link (its target is missing or loops); fix the link or remove it",
        f"Error: {d / 'b_loop.md'}: broken symbolic link (its target is missing or loops); fix the link or remove it",
        f"Error: {d / 'c_pipe.md'}: not a regular file (a pipe, socket or device); pass a regular file",
        f"{d / 'd_ok.md'}: wrote journey_stage, content_format, stage_confidence"]
    # Without --write the folder's unreadable files are skipped, as before: exit 0.
    res = _tag(runner, cli, tiny_model_dir, d, "-f", "csv")
    assert res.exit_code == 0 and _lines(res)[0].startswith(f"skipped: {d / 'a_broken.md'}: broken symbolic link")


def test_failed_write_is_reported_atomic_and_the_others_written(runner, cli, tiny_model_dir, tmp_path, monkeypatch):
    a, b = tmp_path / "a.md", tmp_path / "b.md"
    a.write_text(GOOD, encoding="utf-8")
    b.write_text(GOOD, encoding="utf-8")
    a.chmod(0o640)
    real_replace = os.replace

    def refuse_b(src, dst, *args, **kwargs):
        if Path(dst).name == "b.md":
            raise PermissionError(13, "Permission denied")
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", refuse_b)
    res = _tag(runner, cli, tiny_model_dir, a, b, "--write")
    assert res.exit_code == 1
    assert _lines(res) == [f"{a}: wrote journey_stage, content_format, stage_confidence",
                           (f"Error: {b}: cannot write it (Permission denied), so it was left as it is; check that "
                           "its folder is writable and rerun")]
    assert b.read_text(encoding="utf-8") == GOOD and b"journey_stage:" in a.read_bytes()
    assert stat.S_IMODE(a.stat().st_mode) == 0o640  # the mode survives the rename
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.md", "b.md"]


def test_refused_front_matter_is_reported_per_file(runner, cli, tiny_model_dir, tmp_path):
    anchored, ok = tmp_path / "anchored.md", tmp_path / "ok.md"
    anchored.write_bytes(b"---\njourney_stage: &s old\nother: *s\n---\nNos tarifs : 49 euros par mois.\n")
    ok.write_text(GOOD, encoding="utf-8")
    res = _tag(runner, cli, tiny_model_dir, anchored, ok, "--write", "--overwrite")
    assert res.exit_code == 1
    assert _lines(res) == [f"{ok}: wrote journey_stage, content_format, stage_confidence",
                           (f"Error: {anchored}: cannot set journey_stage, content_format, stage_confidence in its YAML "
                           "front matter safely (it would no longer parse); edit the front matter by hand")]
    assert anchored.read_bytes() == b"---\njourney_stage: &s old\nother: *s\n---\nNos tarifs : 49 euros par mois.\n"
