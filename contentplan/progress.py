"""Progress on the terminal: bars with a total and an ETA where the amount of work is known, step
messages with the elapsed time where it is not.

Bars are shown only on an interactive terminal (stderr is a tty), never with ``-q`` nor when
``CONTENTPLAN_NO_PROGRESS`` is set; otherwise every call here is a no-op. Kept free of heavy
imports (tqdm is imported when a bar is really drawn).
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Self

ROW_STEP = 512          # rows classified between two updates of a bar (smooth, not 4,096 at a time)
MIN_INTERVAL = 0.2      # seconds between two redraws of a bar at most
COUNT_BLOCK = 1024 ** 2  # bytes read at a time when counting lines
LINE_TABLES = {".csv", ".tsv", ".tab", ".txt", ".text", ".jsonl", ".ndjson"}


def is_terminal(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def enabled(quiet: bool = False, stream=None) -> bool:
    """Whether progress is drawn: not with -q, not under CONTENTPLAN_NO_PROGRESS, only on a terminal."""
    if quiet or os.environ.get("CONTENTPLAN_NO_PROGRESS"):
        return False
    return is_terminal(sys.stderr if stream is None else stream)


class Bar:
    """A progress bar (tqdm) that accepts an estimated total: when the work done passes it (a CSV
    row spread over several lines was counted as several), the total follows instead of overflowing.

    Disabled, it only counts (``n``). Use as a context manager; :meth:`close` is idempotent."""

    def __init__(self, total, desc: str, show: bool, stream=None, unit: str = " rows",
                 min_interval: float | None = None):
        # ``total`` may be a function (e.g. counting a file's lines): called only when a bar is drawn,
        # so a run with -q or without a terminal never pays for it.
        if callable(total):
            total = total() if show else None
        self.n, self.total = 0, total
        self._bar = None
        if show:
            from tqdm import tqdm
            self._bar = tqdm(total=total, desc=desc, unit=unit, file=sys.stderr if stream is None else stream,
                             leave=False, mininterval=MIN_INTERVAL if min_interval is None else min_interval, miniters=1,
                             dynamic_ncols=True, smoothing=0.1)

    @property
    def shown(self) -> bool:
        """Whether a bar is drawn (a terminal, no -q): callers cut their work finer only then."""
        return self._bar is not None

    def update(self, n: int = 1) -> None:
        self.n += n
        if self.total is not None and self.n > self.total:
            self.total = self.n
            if self._bar is not None:
                self._bar.total = self.n
        if self._bar is not None:
            self._bar.update(n)

    def set_description(self, desc: str) -> None:
        if self._bar is not None:
            self._bar.set_description(desc, refresh=False)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def bar(total: int | None, desc: str, quiet: bool = False, stream=None, unit: str = " rows") -> Bar:
    """A :class:`Bar` drawn on ``stream`` (stderr) when :func:`enabled`, else a silent counter."""
    return Bar(total, desc, enabled(quiet, stream), stream, unit)


def count_rows(path) -> int | None:
    """The number of data rows of a line-based table file, counted cheaply (line breaks, in blocks),
    for a bar's total: lines minus the header for CSV/TSV, lines for text and JSONL. An estimate
    (a quoted cell over several lines counts more than once; blank lines count); None for stdin,
    pipes, workbooks, JSON documents and anything that is not a regular file."""
    p = Path(str(path))
    if str(path) == "-" or p.suffix.lower() not in LINE_TABLES | {""}:
        return None
    try:
        if not p.is_file():
            return None
        lines, last = 0, b"\n"
        with open(p, "rb") as fh:
            for block in iter(lambda: fh.read(COUNT_BLOCK), b""):
                lines += block.count(b"\n")
                last = block[-1:]
    except OSError:
        return None
    lines += last != b"\n"
    header = p.suffix.lower() in (".csv", ".tsv", ".tab", "")
    return max(lines - header, 0)


def _clock(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


class Steps:
    """Step messages for long work without a row count (training): each message gets the elapsed
    time, ``[train 1:05] step 2/5: cross-validation fold 3/6``."""

    def __init__(self, say, name: str, clock=time.monotonic):
        self.say, self.name, self.clock = say, name, clock
        self.start = clock()

    def __call__(self, message: str) -> None:
        self.say(f"[{self.name} {_clock(self.clock() - self.start)}] {message}")
