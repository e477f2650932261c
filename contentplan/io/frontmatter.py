"""Set keys in a Markdown file's front matter (YAML ``---``, TOML ``+++`` or a JSON object) without
touching anything else.

Nothing is edited line by line on a guess: the front matter is parsed, the entries of the keys being
set are located from the parse (a YAML list or block scalar spans several lines; so can a TOML
multi-line string or array), replaced in place or appended, and every other byte is kept: the keys
the author wrote, their order, comments, the fences, the line endings and the body. Each value is
written by the format's own serialiser, so a value holding a newline, quotes or ``---`` is quoted.
The result is parsed again before it is returned: it must read back as the old mapping with the new
values set, with the same body, or nothing is written.
"""
from __future__ import annotations

import json
import math
import re
import tomllib

import yaml

from ..errors import InputError
from .documents import FrontMatter, parse_front_matter


def set_front_matter(text: str, values: dict, where: str) -> str:
    """``text`` with ``values`` set in its front matter (a YAML block is added when it has none)."""
    fm = parse_front_matter(text, where)
    values = {k: v for k, v in values.items() if not (k in fm.meta and _same(fm.meta[k], v))}
    if not values:
        return text
    if fm.kind is None:
        nl = m.group(0) if (m := re.search(r"\r?\n", text)) else "\n"
        new = f"---{nl}" + "".join(_yaml_entry(k, v, nl, 0) for k, v in values.items()) + f"---{nl}" + text
    elif fm.kind == "yaml":
        new = text[:fm.start] + _set_yaml(fm.content(text), values, fm.newline, where) + text[fm.end:]
    elif fm.kind == "toml":
        new = text[:fm.start] + _set_toml(fm.content(text), values, fm.newline, where) + text[fm.end:]
    else:
        new = _set_json(text[:fm.end], values, fm.newline) + text[fm.end:]
    _verify(new, fm, text, values, where)
    return new


def _verify(new: str, fm: FrontMatter, text: str, values: dict, where: str) -> None:
    kind = fm.kind or "yaml"
    problem = None
    try:
        after = parse_front_matter(new, where)
    except InputError:
        problem = "it would no longer parse"
    else:
        if after.kind != kind:
            problem = "it would no longer be read as " + kind.upper()
        elif not _same(after.meta, {**fm.meta, **values}):
            problem = "other values would change"
        elif new[after.body_start:] != text[fm.body_start:]:
            problem = "the body would change"
    if problem:
        raise InputError(f"{where}: cannot set {', '.join(values)} in its {kind.upper()} front matter safely ({problem}); "
                         "edit the front matter by hand")


def _same(a, b) -> bool:
    """Equality that also holds for NaN, and tells 1 from True and 1.0 from '1.0'."""
    if isinstance(a, dict) and isinstance(b, dict):
        return set(a) == set(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


# ----------------------------------------------------------------------------- YAML

class _EntryDumper(yaml.SafeDumper):
    """safe_dump, except that a string holding U+0085, U+2028 or U+2029 is double-quoted: in any
    other style PyYAML writes them raw, and a reader takes them for line breaks."""


def _represent_str(dumper, data: str):
    style = '"' if re.search("[\x85\u2028\u2029]", data) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_EntryDumper.add_representer(str, _represent_str)


def _yaml_entry(key: str, value, nl: str, indent: int) -> str:
    """One ``key: value`` entry as ``yaml.safe_dump`` writes it (quoted when needed; a multi-line value
    continues on indented lines, so it can never close the front matter)."""
    out = yaml.dump({key: value}, Dumper=_EntryDumper, allow_unicode=True, default_flow_style=False, sort_keys=False,
                    width=2 ** 31)
    pad = " " * indent
    return "".join(pad + line + nl for line in out.rstrip("\n").split("\n"))


def _node_end(node, lo: int, hi: int) -> int:
    """Index just after the last character of a value written between ``lo`` and ``hi``. Block
    collections are walked down to their items: their own end mark can lie after trailing comments."""
    best = lo
    stack, seen = [node], set()
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        if not lo <= n.start_mark.index < hi:  # an alias: the node is written elsewhere
            continue
        if isinstance(n, yaml.ScalarNode) or n.flow_style:
            best = max(best, n.end_mark.index)
        elif isinstance(n, yaml.SequenceNode):
            stack.extend(n.value)
        else:
            stack.extend(x for pair in n.value for x in pair)
    return best


def _set_yaml(content: str, values: dict, nl: str, where: str) -> str:
    node = yaml.compose(content, Loader=yaml.SafeLoader)
    if node is None:
        return content + "".join(_yaml_entry(k, v, nl, 0) for k, v in values.items())
    if not isinstance(node, yaml.MappingNode) or node.flow_style:
        # '{title: x, ...}' on one line: no line of it is one key's; write it out as key: value lines.
        merged = {**yaml.safe_load(content), **values}
        dumped = yaml.dump(merged, Dumper=_EntryDumper, allow_unicode=True, default_flow_style=False, sort_keys=False,
                           width=2 ** 31)
        return dumped.replace("\n", nl)
    pairs = node.value
    line_starts = [content.rfind("\n", 0, k.start_mark.index) + 1 for k, _ in pairs]
    first = content[line_starts[0]:] if pairs else ""
    indent = len(first) - len(first.lstrip(" "))  # a root mapping may be indented: new entries follow it
    spans: dict[str, list[tuple[int, int]]] = {}
    for i, (key, value) in enumerate(pairs):
        name = key.value if isinstance(key, yaml.ScalarNode) and key.tag == "tag:yaml.org,2002:str" else None
        if name not in values:
            continue
        start = line_starts[i]
        if content[start:key.start_mark.index].strip(" \t") not in ("", "?"):
            raise InputError(f"{where}: cannot set {name} in its YAML front matter safely (its entry shares a line "
                             "with other YAML); edit the front matter by hand")
        nxt = line_starts[i + 1] if i + 1 < len(pairs) else len(content)
        end = max(_node_end(value, key.start_mark.index, nxt), key.end_mark.index)
        while end > key.end_mark.index and content[end - 1] in " \t\r\n":
            end -= 1
        eol = content.find("\n", end)
        end = len(content) if eol < 0 else eol + 1
        spans.setdefault(name, []).append((start, min(end, nxt)))
    edits = []  # (start, end, replacement): the first entry of a key is replaced, any duplicate removed
    for name, found in spans.items():
        edits.append((found[0][0], found[0][1], _yaml_entry(name, values[name], nl, indent)))
        edits += [(s, e, "") for s, e in found[1:]]
    out = content
    for start, end, new in sorted(edits, reverse=True):
        out = out[:start] + new + out[end:]
    return out + "".join(_yaml_entry(k, v, nl, indent) for k, v in values.items() if k not in spans)


# ----------------------------------------------------------------------------- TOML

_TOML_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def toml_value(value) -> str:
    """A TOML literal for a scalar: booleans, integers, finite floats; anything else a basic string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return repr(value)
    out = []
    for ch in str(value):
        if ch in _TOML_ESCAPES:
            out.append(_TOML_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else toml_value(key)


def _lines(text: str) -> list[str]:
    """Lines with their line break; only '\\n' ends a line (as in TOML and YAML, not str.splitlines)."""
    return [m.group(0) for m in re.finditer(r"[^\n]*(?:\n|\Z)", text) if m.group(0)]


def _set_toml(content: str, values: dict, nl: str, where: str) -> str:
    lines = _lines(content)
    # Walk the root table statement by statement (a statement ends at the first line where what was read
    # so far parses: a multi-line string or array spans several lines) up to the first [table] header.
    entries = []  # (first line, line after, key)
    i = 0
    while i < len(lines):
        stripped = lines[i].strip()
        if not stripped or stripped.startswith("#"):
            i += 1
            continue
        if stripped.startswith("["):
            break
        for j in range(i + 1, len(lines) + 1):
            try:
                parsed = tomllib.loads("".join(lines[i:j]))
            except tomllib.TOMLDecodeError:
                continue
            break
        else:  # pragma: no cover - the whole front matter parsed, so every statement does
            raise InputError(f"{where}: cannot tell where the TOML front matter's line {i + 2} ends; fix it and retry")
        key = next(iter(parsed)) if len(parsed) == 1 else None
        entries.append((i, j, key if key in values and not isinstance(parsed[key], dict) else None))
        i = j
    new = {k: f"{_toml_key(k)} = {toml_value(v)}{nl}" for k, v in values.items()}
    present = {key for _, _, key in entries if key is not None}
    out = list(lines)
    at = entries[-1][1] if entries else 0  # new keys go after the root table's last entry, before any [table]
    out[at:at] = [new[k] for k in values if k not in present]
    for first, after, key in reversed(entries):
        if key is not None:
            out[first:after] = [new[key]]
    return "".join(out)


# ----------------------------------------------------------------------------- JSON

_WS = re.compile(r"[ \t\r\n]*")


def _json_members(obj: str) -> tuple[list[tuple[str, int, int, int, int]], int]:
    """(key, key start, key end, value start, value end) of each member of the object that ``obj``
    holds (already known to be valid JSON), and the index of its closing brace."""
    dec = json.JSONDecoder()
    members = []
    i = _WS.match(obj, 1).end()
    if obj[i] == "}":
        return members, i
    while True:
        key, key_end = dec.raw_decode(obj, i)
        value_start = _WS.match(obj, _WS.match(obj, key_end).end() + 1).end()
        _, value_end = dec.raw_decode(obj, value_start)
        members.append((key, i, key_end, value_start, value_end))
        j = _WS.match(obj, value_end).end()
        if obj[j] == "}":
            return members, j
        i = _WS.match(obj, j + 1).end()


def _set_json(obj: str, values: dict, nl: str) -> str:
    members, close = _json_members(obj)

    def dump(value) -> str:
        return json.dumps(value, ensure_ascii=False)

    edits = [(vs, ve, dump(values[k])) for k, _, _, vs, ve in members if k in values]
    missing = [k for k in values if k not in {m[0] for m in members}]
    if missing and members:
        if len(members) > 1:  # what separates two members, e.g. ',\n  '
            sep = obj[members[0][4]:members[1][1]]
        else:
            sep = "," + (obj[1:members[0][1]] or " ")
        colon = obj[members[0][2]:members[0][3]]
        end = members[-1][4]
        edits.append((end, end, "".join(f"{sep}{dump(k)}{colon}{dump(values[k])}" for k in missing)))
    elif missing:
        inner = f",{nl}".join(f"  {dump(k)}: {dump(values[k])}" for k in missing)
        edits.append((0, close + 1, f"{{{nl}{inner}{nl}}}"))
    for start, end, new in sorted(edits, reverse=True):
        obj = obj[:start] + new + obj[end:]
    return obj
