"""Command-line interface: a thin layer over the library.

Each command parses options, calls one library function and writes the result. Library errors
(``ContentplanError``) become one ``Error: ...`` line and exit code 1, in one place (``main``).
Heavy libraries are imported inside commands so that ``--help`` and ``--version`` stay instant.
"""
from __future__ import annotations

import functools
import os
import sys
from pathlib import Path

import click

from . import __version__
from .domain import DEFAULT_SCHEME

CSV_SAFE_HELP = ("CSV for spreadsheets: prefix with ' every text cell that would run as a formula "
                 "(=, +, -, @, tab, CR); default CSV is byte-faithful.")
CSV_DIALECT_HELP = ("CSV for Excel: 'excel' (UTF-8 with BOM), 'excel-fr' (also ';' and decimal comma); both neutralise "
                    "formula cells as --csv-safe does. Default 'plain': UTF-8 for pipes.")


def csv_options(func):
    """--csv-safe and --csv-dialect: every command that writes CSV takes them."""
    func = click.option("--csv-dialect", type=click.Choice(["plain", "excel", "excel-fr"]), default="plain",
                        show_default=True, help=CSV_DIALECT_HELP)(func)
    return click.option("--csv-safe", is_flag=True, help=CSV_SAFE_HELP)(func)


class OutputFormatChoice(click.Choice):
    """-f's choices: the output formats registered in :mod:`contentplan.io.writers`, read when first
    needed (so that --version and the group's --help do not import pandas)."""

    def __init__(self):
        super().__init__(())

    @property
    def choices(self):
        from .io.writers import FORMATS
        return tuple(FORMATS)

    @choices.setter
    def choices(self, value):   # click.Choice.__init__ sets it; the registry is the source
        pass


def output_options(func):
    """Shared -f/--format, -o/--output and -q/--quiet options (and the CSV options): every command
    that writes a result table takes them (see tests/test_cli_options.py)."""
    @click.option("-f", "--format", "fmt", type=OutputFormatChoice(), default=None,
                  help="Output format (default: from the -o extension, else table).")
    @click.option("-o", "--output", type=click.Path(dir_okay=True, allow_dash=True), default=None,
                  help="Write to this file instead of stdout (written atomically).")
    @click.option("-q", "--quiet", is_flag=True, help="No progress bars.")
    @csv_options
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        return func(*args, **kwargs)
    return wrapper


def _once(ctx, param, value):
    """For an option read once (an input file, a model): given twice, say so instead of silently
    keeping the last one."""
    if len(value) > 1:
        raise click.ClickException(f"{param.opts[-1]} given {len(value)} times ({', '.join(map(str, value))}); only one "
                                   "is read: merge the files first, or run the command once per file")
    return value[0] if value else None


# Options several commands take, declared once.
scheme_option = click.option("--scheme", default=DEFAULT_SCHEME, show_default=True, help="Built-in scheme name or scheme YAML file.")
model_option = click.option("--model", "model_dir", multiple=True, callback=_once, type=click.Path(),
                            help="Model folder (default: the shipped model).")


def progress(total: int | None, desc: str, quiet: bool, unit: str = " rows"):
    """A progress bar on stderr (total and ETA when ``total`` is known), only for an interactive
    terminal and never with -q (see :mod:`contentplan.progress`)."""
    from .progress import bar
    return bar(total, desc, quiet, unit=unit)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that every ``with`` block removes its temporary file or folder."""


def _on_sigterm():
    """Turn SIGTERM into :class:`Terminated` while a command runs; returns the function restoring the old handler."""
    import signal

    def handler(signum, frame):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)   # a second SIGTERM must not interrupt the clean-up
        raise Terminated

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        return lambda: None
    return lambda: signal.signal(signal.SIGTERM, previous)


class ContentplanGroup(click.Group):
    """Turns library errors into one-line messages; no traceback unless CONTENTPLAN_DEBUG=1."""

    def invoke(self, ctx):
        from .errors import ContentplanError
        from .terminal import clean_line
        restore = _on_sigterm()
        try:
            return super().invoke(ctx)
        except ContentplanError as err:
            raise click.ClickException(clean_line(err)) from None
        except Terminated:
            click.echo("Error: terminated (SIGTERM); no output file was written", err=True)
            ctx.exit(143)
        except KeyboardInterrupt:
            click.echo("Error: interrupted; no output file was written", err=True)
            ctx.exit(130)
        except BrokenPipeError:
            sys.stderr.close()
            ctx.exit(1)
        except MemoryError:
            raise click.ClickException("out of memory; split the input into smaller files") from None
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort, SystemExit):
            raise
        except Exception as err:  # a bug: still one line, with the way to get details
            if os.environ.get("CONTENTPLAN_DEBUG"):
                raise
            raise click.ClickException(clean_line(
                f"unexpected {err.__class__.__name__}: {err}; rerun with CONTENTPLAN_DEBUG=1 for details and report it")) from None
        finally:
            restore()


@click.group(cls=ContentplanGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="contentplan")
def cli():
    """Plan inbound content: classify questions, queries and content into buyer-journey stages
    (French and English) and report content gaps per stage and persona.

    Example:

    \b
        contentplan classify "combien coûte votre CRM ?" "what is lead nurturing"
    """


@cli.command()
@click.argument("texts", nargs=-1)
@click.option("-i", "--input", "input_path", multiple=True, callback=_once, type=click.Path(dir_okay=False, allow_dash=True),
              help="Table or text file to classify (CSV/TSV/XLSX/JSON/JSONL/TXT, '-' for stdin).")
@click.option("--text-column", help="Column holding the text (detected when omitted).")
@scheme_option
@model_option
@click.option("--min-confidence", type=click.FloatRange(0, 1), default=None,
              help="Below this confidence the stage is 'unclear' (default: the model's tuned value; 0 disables).")
@click.option("--brand", "brands", multiple=True, help="Brand or site name that makes a query navigational (repeatable).")
@click.option("--no-explain", is_flag=True, help="Skip the explanation column (a little faster).")
@click.option("--engine", type=click.Choice(["process", "dask"]), default="process", show_default=True,
              help="dask: -i is a glob or folder (one partition per file), -o a pattern such as 'out/*.csv' (pip install 'contentplan[dask]').")
@click.option("--scheduler", help="With --engine dask: the address of a running Dask scheduler (tcp://host:8786).")
@click.option("--workers", type=click.IntRange(1, None), help="With --engine dask: local worker processes, one BLAS thread each (default: the cores).")
@output_options
def classify(texts, input_path, text_column, scheme, model_dir, min_confidence, brands, no_explain, engine, scheduler, workers,
             fmt, output, quiet, csv_safe, csv_dialect):
    """Assign a journey stage, confidence, language and search intent to each text.

    Every input column is kept (volume, position, URL...), one output row per input row, same order.

    Example:

    \b
        contentplan classify "combien coûte votre CRM ?" "what is lead nurturing"
        contentplan classify -i queries.csv --text-column Query -o staged.csv
        contentplan classify -i 'keywords/*.parquet' --engine dask --workers 2 -o 'staged/*.parquet'
    """
    if engine == "dask" or scheduler or workers:
        if engine != "dask":
            raise click.UsageError("--scheduler and --workers go with --engine dask")
        if texts or not input_path or input_path == "-":
            raise click.UsageError("--engine dask reads files: give -i 'keywords/*.csv' (a glob, a folder or a file), no inline texts")
        if scheduler and workers:
            raise click.UsageError("give --scheduler (a running cluster) or --workers (a local one), not both")
        if fmt:
            raise click.UsageError("with --engine dask the -o pattern's extension sets the format ('out/*.csv', *.jsonl, *.parquet); drop -f")
        from .dask import run_classify_dask
        run_classify_dask(input_path, output, text_column, scheme, model_dir, min_confidence, brands, not no_explain,
                          csv_safe, scheduler, workers, quiet, csv_dialect=csv_dialect)
        return
    from .api import run_classify
    if not texts and not input_path:
        raise click.UsageError("give texts as arguments or a file with -i FILE (use -i - for stdin)")
    run_classify(texts, input_path, text_column, scheme, model_dir, min_confidence, brands, not no_explain,
                 fmt, output, lambda total, desc: progress(total, desc, quiet), csv_safe=csv_safe,
                 csv_dialect=csv_dialect)


@cli.command()
@click.option("--corpus", type=click.Path(file_okay=False), default="corpora", show_default=True, help="Corpus folder (train/ and test/).")
@click.option("-o", "--output", type=click.Path(), required=True,
              help="Model folder to write (only a model folder is ever replaced; never a folder training reads).")
@click.option("--embedder", default="use-multilingual", show_default=True,
              help="use-multilingual, tfidf-hash, none, or sentence-transformers:<model name or path>.")
@click.option("--C", "c_value", type=float, default=None, help="Inverse regularisation strength (default: the shipped model's, 3.0).")
@click.option("--real/--no-real", default=True, show_default=True,
              help="Also train on the trainable real-text labels (corpora/real), when ../shared/realtext is present; "
                   "calibrate on their leave-one-source-out predictions.")
@click.option("--real-weight", type=click.FloatRange(0, None, min_open=True), default=None,
              help="Sample weight of a real-text item against a corpus item (default: 3.0).")
@click.option("--balance", type=click.FloatRange(0, 1), default=None,
              help="Class balancing exponent: weights times (mean class total / class total) ** balance (default: 0.5; 0 = none).")
@click.option("--knn-share", type=click.FloatRange(0, 1), default=None,
              help="Share of the nearest-neighbour vote (15 most similar training texts) blended into the probabilities "
                   "(default: 0.3; 0 = linear model only). Needs an embedder.")
@click.option("-q", "--quiet", is_flag=True, help="No progress messages.")
def train(corpus, output, embedder, c_value, real, real_weight, balance, knn_share, quiet):
    """Train a stage classifier on a labeled corpus and write a model folder.

    Example:

    \b
        contentplan train --corpus corpora -o models/my-model
    """
    from .api import run_train
    from .progress import Steps
    say = (lambda m: None) if quiet else Steps(lambda m: click.echo(m, err=True), "train")
    meta = run_train(corpus, output, None if embedder == "none" else embedder, c_value, real, real_weight, balance, knn_share,
                     progress=say, bar=lambda total, desc: progress(total, desc, quiet, unit=" texts"))
    if real and not meta.get("real_sources_trained"):
        click.echo("note: no real-text labels used (corpora/real/labels.csv or ../shared/realtext not found)", err=True)
    bj = meta.get("metrics_test", {}).get("buyer-journey", {}).get("questions", {}).get("model")
    click.echo(f"wrote {output}" + (f" (test buyer-journey questions: macro-F1 {bj['macro_f1']:.3f})" if bj else ""))


@cli.command()
@model_option
@click.option("--data", "data_path", type=click.Path(dir_okay=False, allow_dash=True),
              help="Labeled file (text + stage/label columns, any scheme); default: the corpus test split.")
@click.option("--corpus", type=click.Path(file_okay=False), default="corpora", show_default=True, help="Corpus folder for the test split.")
@click.option("--text-column", help="Column holding the text.")
@click.option("--label-column", help="Column holding the gold stage.")
@click.option("--scheme", default=None, help="Scheme of the labels (default: guessed; canonical labels use buyer-journey).")
@click.option("--real", "real", is_flag=True,
              help="Score on the labeled real text (corpora/real + ../shared/realtext) and the test split, per source, language and kind, with calibration.")
@click.option("-f", "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def evaluate(model_dir, data_path, corpus, text_column, label_column, scheme, real, fmt):
    """Score the model against labeled data, with the cue-word rules and TF-IDF-only baselines.

    Reports accuracy, macro-F1, per-stage F1, per-language scores and the confusion matrix;
    with --real, per source file (real sets and corpus), per language and per kind, with the
    expected calibration error and a reliability table.

    Example:

    \b
        contentplan evaluate
        contentplan evaluate --real
        contentplan evaluate --data labeled.csv --scheme oni
    """
    from .api import run_evaluate
    if real and data_path:
        raise click.UsageError("--real and --data are exclusive: --real scores the labeled real text")
    from .terminal import clean_text
    text = run_evaluate(model_dir, data_path, corpus, text_column, label_column, scheme, fmt, real)
    click.echo(text if fmt == "json" else clean_text(text), nl=False)


@cli.command()
@click.option("-i", "--input", "data_path", multiple=True, callback=_once, required=True, type=click.Path(dir_okay=False),
              help="Your labeled texts (CSV/TSV/XLSX/JSON/JSONL), a classify output with corrected stages, or a review file.")
@click.option("-o", "--output", type=click.Path(), required=True, help="Model folder to write (only a model folder is ever replaced).")
@click.option("--model", "model_dir", multiple=True, callback=_once, type=click.Path(), help="Base model folder (default: the shipped model).")
@click.option("--text-column", help="Column holding the text (detected when omitted).")
@click.option("--label-column", help="Column holding the label (detected when omitted: stage_corrected, stage, label...).")
@click.option("--scheme", default=None, help="Scheme the labels use (default: guessed; a YAML file for your own stage names).")
@click.option("--all-rows", is_flag=True, help="With a classify output: every row's stage is a label, not only the changed ones.")
@click.option("--label-weight", type=click.FloatRange(0, None, min_open=True), default=None,
              help="How many training items of the base one label counts as (default: 3).")
@click.option("--corpus", type=click.Path(file_okay=False), default="corpora", show_default=True,
              help="Corpus folder whose test split is scored before and after (skipped when absent).")
@click.option("--no-cv", is_flag=True, help="Skip the cross-validated score on your labels (faster on large files).")
@click.option("-q", "--quiet", is_flag=True, help="No progress messages.")
def adapt(data_path, output, model_dir, text_column, label_column, scheme, all_rows, label_weight, corpus, no_cv, quiet):
    """Adapt a model to your own labeled texts (seconds) and write a new model folder.

    Labels may be in any scheme and language (Decision, TOFU, Après-achat, support, your scheme's ids).

    Example:

    \b
        contentplan adapt -i my-labels.csv -o models/mine
        contentplan classify -i queries.csv --model models/mine -o staged.csv
    """
    from .api import run_adapt
    from .progress import Steps
    from .terminal import clean_line
    say = (lambda m: None) if quiet else Steps(lambda m: click.echo(clean_line(m), err=True), "adapt")
    res = run_adapt(data_path, output, model_dir, text_column, label_column, scheme, all_rows, label_weight, corpus,
                    cv=not no_cv, progress=say)
    for note in res.notes:
        click.echo(clean_line(note), err=True)
    m = res.meta["adapted"]["metrics"]
    line = f"wrote {output} ({res.meta['adapted']['data']['labels_used']} labels, {res.meta['adapted']['label_scheme']})"
    if "cross_validated" in m:
        cv = m["cross_validated"]
        line += f"; macro-F1 on your labels, cross-validated: {cv['base']['macro_f1']:.3f} -> {cv['adapted']['macro_f1']:.3f}"
    if "corpus_test_questions" in m:
        ct = m["corpus_test_questions"]
        line += f"; corpus test questions: {ct['base']['macro_f1']:.3f} -> {ct['adapted']['macro_f1']:.3f}"
    click.echo(clean_line(line))


@cli.command()
@click.option("-i", "--input", "input_path", multiple=True, callback=_once, required=True, type=click.Path(dir_okay=False),
              help="Texts to label (a table or text file, as for classify).")
@click.option("-o", "--output", "log_path", type=click.Path(dir_okay=False), default=None,
              help="Answers file, appended to after every answer (default: INPUT-NAME.labels.csv in the current folder).")
@click.option("--text-column", help="Column holding the text (detected when omitted).")
@scheme_option
@model_option
@click.option("-n", "--max", "limit", type=click.IntRange(1, None), default=200, show_default=True, help="Texts to ask about at most.")
def review(input_path, log_path, text_column, scheme, model_dir, limit):
    """Label, in the terminal, the texts whose label would teach the model most; then adapt.

    Keys: Enter accepts the model's guess, 1-9 pick a stage, 0 none, s skip, u undo, q quit.
    Every answer is saved at once (append-only file; Ctrl-C loses nothing).

    Example:

    \b
        contentplan review -i queries.csv -o my-labels.csv
        contentplan adapt -i my-labels.csv -o models/mine
    """
    from .api import start_review
    from .progress import is_terminal
    from .terminal import clean_line
    from .training.review import run_session
    if not is_terminal(sys.stdin):
        raise click.UsageError("review asks questions in a terminal, and standard input is not one; run it in a terminal")
    log_path = log_path or f"{Path(input_path).stem}.labels.csv"
    queue = start_review(input_path, log_path, text_column, scheme, model_dir, limit)
    if queue.log.repair():
        click.echo(clean_line(f"note: {log_path}: its last line was incomplete (a crash?) and was cut"), err=True)
    click.echo(clean_line(f"{queue.source}: {len(queue.items)} text(s) to review, most useful first ({queue.pool} not answered yet, "
                          f"{queue.answered_before} answered in {log_path} before); answers saved to {log_path}"))
    interrupted = False
    try:
        with _cbreak(sys.stdin) as read_key:
            run_session(queue, read_key, lambda s: click.echo(s, nl=False))
    except KeyboardInterrupt:
        interrupted = True
        click.echo("\ninterrupted; every answer given is saved")
    n = sum(1 for a in queue.log.current().values() if a.stage)
    click.echo(clean_line(f"{n} label(s) in {log_path}; adapt with: contentplan adapt -i {log_path} -o models/mine"))
    if interrupted:
        raise click.exceptions.Exit(130)


class _cbreak:
    """Single keys from a terminal (no Enter needed); the terminal's settings are restored on exit."""

    def __init__(self, stream):
        self.fd = stream.fileno()

    def __enter__(self):
        import signal
        import termios
        import tty
        # Ctrl-C must stop the session even when started from a context that ignores SIGINT
        # (a background job of a script): the answers given are on disk, nothing is lost.
        self.sigint = signal.signal(signal.SIGINT, signal.default_int_handler)
        self.saved = termios.tcgetattr(self.fd)
        tty.setcbreak(self.fd)
        return self.read_key

    def read_key(self) -> str:
        import select
        ch = os.read(self.fd, 1)
        if ch == b"\x1b":   # an escape sequence (arrow keys): read it all, answer nothing
            while select.select([self.fd], [], [], 0.05)[0]:
                os.read(self.fd, 8)
            return "\x1b"
        return ch.decode("latin-1")

    def __exit__(self, *exc):
        import signal
        import termios
        termios.tcsetattr(self.fd, termios.TCSADRAIN, self.saved)
        signal.signal(signal.SIGINT, self.sigint)
        return False


@cli.command()
@click.argument("name", required=False)
@click.option("--lang", type=click.Choice(["en", "fr"]), default="en", show_default=True, help="Language of labels.")
def schemes(name, lang):
    """List the stage schemes, or show one scheme's stages, descriptions and formats.

    Example:

    \b
        contentplan schemes
        contentplan schemes oni --lang fr
    """
    from .api import show_schemes
    from .terminal import clean_text
    click.echo(clean_text(show_schemes(name, lang)), nl=False)


@cli.command()
@click.option("--content", "content_path", multiple=True, callback=_once, type=click.Path(exists=False), required=True,
              help="Content inventory (CSV/XLSX/JSON table), a WordPress export (.xml), a sitemap.xml or sitemap "
                   "index, or a folder of .md/.html/.txt/.docx files.")
@click.option("--questions", "questions_path", multiple=True, type=click.Path(dir_okay=False, allow_dash=True), required=True,
              help="Questions / queries (table or text file); persona, volume, date columns are used when present. "
                   "Repeatable (Search Console, Semrush, sales notes, tickets): the same query is one question, "
                   "its demand counted once (see the README).")
@click.option("--personas", "personas_path", multiple=True, callback=_once, type=click.Path(dir_okay=False), help="Personas YAML file (without it: per stage only).")
@scheme_option
@model_option
@click.option("--text-column", help="Column of the questions file holding the text (several files: in those that have it).")
@click.option("--match-precision", type=click.Choice(["high", "balanced", "recall"]), default="balanced", show_default=True,
              help="When a question counts as answered: high = few false answers, recall = few missed ones (calibrated operating points).")
@click.option("--match-threshold", type=click.FloatRange(0, 1),
              help="P(answered) from which a question counts as answered (overrides --match-precision).")
@click.option("--compare-intent", is_flag=True, help="Print how far the questions' Intent column (Semrush, Ahrefs) agrees with their stage.")
@click.option("--fetch", is_flag=True,
              help="With a sitemap as --content: fetch each page (and remote child sitemaps) for its title and text, "
                   "politely: robots.txt honoured, one request at a time, pages cached (see the README).")
@click.option("--fetch-delay", type=click.FloatRange(0, None), default=None,
              help="With --fetch: seconds to wait between two requests (default 1; a longer robots.txt Crawl-delay wins).")
@click.option("--fetch-max", type=click.IntRange(1, None), default=None,
              help="With --fetch: at most this many pages requested per run (default 500; cached pages do not count).")
@click.option("-o", "--output", "out_dir", type=click.Path(file_okay=False), default="gap-report", show_default=True,
              help="Folder to write report.html, report.md, CSVs and report.xlsx into.")
@click.option("-q", "--quiet", is_flag=True, help="No progress messages.")
@csv_options
@click.option("--lang", type=click.Choice(["fr", "en"]), default=None,
              help="Language of report.html, report.md, the workbook's Summary and this summary (default: the questions' dominant language).")
@click.option("--engine", type=click.Choice(["process", "dask"]), default="process", show_default=True,
              help="dask: questions classified and matched as Dask tasks (--questions may be a quoted glob); pip install 'contentplan[dask]'.")
@click.option("--scheduler", help="With --engine dask: the address of a running Dask scheduler (tcp://host:8786).")
@click.option("--workers", type=click.IntRange(1, None), help="With --engine dask: local worker processes, one BLAS thread each (default: the cores).")
def gaps(content_path, questions_path, personas_path, scheme, model_dir, text_column, match_precision, match_threshold, compare_intent,
         fetch, fetch_delay, fetch_max, out_dir, quiet, csv_safe, csv_dialect, lang, engine, scheduler, workers):
    """Report content gaps per stage and persona, and what to write next.

    Writes report.html, report.md, gaps.csv, briefs.csv, questions.csv, content.csv and report.xlsx.

    Example:

    \b
        contentplan gaps --content corpora/examples/content.csv \\
            --questions corpora/examples/questions.csv \\
            --personas corpora/examples/personas.yaml -o gap-report
        contentplan gaps --content wordpress-export.csv --questions gsc.csv \\
            --questions semrush.csv --questions sales-notes.csv --compare-intent
        contentplan gaps --content sitemap.xml --fetch --questions gsc.csv
        contentplan gaps --content site.csv --questions 'keywords/*.csv' --engine dask --workers 2
    """
    from .api import run_gaps
    from .terminal import clean_line
    if (scheduler or workers) and engine != "dask":
        raise click.UsageError("--scheduler and --workers go with --engine dask")
    if scheduler and workers:
        raise click.UsageError("give --scheduler (a running cluster) or --workers (a local one), not both")
    if not fetch and (fetch_delay is not None or fetch_max is not None):
        raise click.UsageError("--fetch-delay and --fetch-max go with --fetch")
    say = (lambda m: None) if quiet else (lambda m: click.echo(f"[gaps] {m}", err=True))
    report, files = run_gaps(content_path, questions_path, personas_path, scheme, model_dir, text_column, match_precision,
                             match_threshold, compare_intent, out_dir, fetch, fetch_delay, fetch_max,
                             bar=lambda total, desc: progress(total, desc, quiet, unit=" pages"), progress=say,
                             csv_safe=csv_safe, csv_dialect=csv_dialect, lang=lang,
                             engine=engine, scheduler=scheduler, workers=workers)
    for line in report.summary_lines() + report.intent_lines():
        click.echo(clean_line(line))
    click.echo(clean_line(f"wrote {len(files)} files to {out_dir}/ (open {Path(out_dir) / 'report.html'})"))


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@scheme_option
@click.option("--personas", "personas_path", multiple=True, callback=_once, type=click.Path(dir_okay=False), help="Personas YAML file (adds a persona column).")
@model_option
@click.option("--min-confidence", type=click.FloatRange(0, 1), default=None, help="Below this the stage is 'unclear'.")
@click.option("--write", "do_write", is_flag=True, help="Store journey_stage, content_format, stage_confidence (and persona) in Markdown front matter (YAML, TOML or JSON); declared values are kept.")
@click.option("--overwrite", is_flag=True, help="With --write: replace values the front matter already declares.")
@click.option("--dry-run", is_flag=True, help="With --write: show the front-matter diff, change nothing.")
@click.option("--check", "do_check", is_flag=True, help="Exit 1 when declared front-matter values disagree with the predictions.")
@output_options
def tag(paths, scheme, personas_path, model_dir, min_confidence, do_write, overwrite, dry_run, do_check, fmt, output, quiet,
        csv_safe, csv_dialect):
    """Tag drafts (md, html, txt, docx; folders recursively): stage, stage mix, format, persona,
    confidence, why, and advice.

    Example:

    \b
        contentplan tag drafts/ --personas personas.yaml
        contentplan tag post.md --write --dry-run
        contentplan tag content/ --check
        contentplan tag drafts/ -o tags.xlsx
    """
    from .api import run_tag
    from .terminal import clean_line, clean_text
    if (dry_run or overwrite) and not do_write:
        raise click.UsageError("--dry-run and --overwrite go with --write")
    if do_write and (output or fmt):
        raise click.UsageError("-o/-f write the tag table; --write stores tags in the files themselves: use one or the other")
    code = run_tag(paths, scheme, personas_path, model_dir, min_confidence, do_write, overwrite, dry_run, do_check, fmt, output,
                   csv_safe=csv_safe, csv_dialect=csv_dialect, say=lambda m: click.echo(clean_text(m)),
                   warn=lambda m: click.echo(clean_line(m), err=True))
    if code:
        raise click.exceptions.Exit(code)


@cli.command()
@click.option("-i", "--input", "input_path", multiple=True, callback=_once, type=click.Path(dir_okay=False, allow_dash=True), required=True,
              help="One row per question/interaction: prospect id, timestamp, text (columns detected).")
@click.option("--prospect-column", help="Column with the prospect id.")
@click.option("--time-column", help="Column with the timestamp.")
@click.option("--text-column", help="Column with the question text.")
@click.option("--content", "content_path", multiple=True, callback=_once, type=click.Path(), help="Content inventory or folder, to propose the next piece to send.")
@click.option("--personas", "personas_path", multiple=True, callback=_once, type=click.Path(dir_okay=False), help="Personas YAML file.")
@scheme_option
@model_option
@click.option("--timeline", "timeline_path", multiple=True, callback=_once, type=click.Path(dir_okay=False), help="Also write each prospect's timeline as JSON.")
@click.option("--dayfirst/--monthfirst", "dayfirst", default=None,
              help="How to read numeric dates such as 02/12/2026 (default: decided from the column; an error when it cannot be).")
@output_options
def prospects(input_path, prospect_column, time_column, text_column, content_path, personas_path, scheme, model_dir,
              timeline_path, dayfirst, fmt, output, quiet, csv_safe, csv_dialect):
    """Place each prospect on the journey: stage, milestones, score 0-100, next content to send.

    Example:

    \b
        contentplan prospects -i corpora/examples/prospects.csv \\
            --content corpora/examples/content.csv --personas corpora/examples/personas.yaml
    """
    from .api import run_prospects
    run_prospects(input_path, prospect_column, time_column, text_column, content_path, personas_path, scheme, model_dir,
                  timeline_path, dayfirst, fmt, output, csv_safe=csv_safe, csv_dialect=csv_dialect,
                  note=None if quiet else (lambda m: click.echo(m, err=True)))


from .devcli import dev  # noqa: E402  (maintainers' commands: contentplan dev …)

cli.add_command(dev)

if __name__ == "__main__":  # pragma: no cover
    cli(prog_name="contentplan")
