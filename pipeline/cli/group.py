"""The `netgarden` group: global options, the `App` every command shares, and the translation of
errors into one line and an exit code.

Every NetgardenError becomes one line on stderr and its exit code (1 unless it says otherwise);
usage errors exit 2; an import that quarantined records under --strict, or a sync or run in which
a source failed, exits 3. No input makes it print a traceback (-v shows one for an internal error,
to report it).
"""

from __future__ import annotations

import gc
import json
import os
import re
import signal
import sqlite3
import sys
import traceback
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import click

from pipeline import __version__
from pipeline.config import STORE_FILE, Config, load_config, resolve_home
from pipeline.errors import NetgardenError

EXIT_USER = 1
EXIT_PARTIAL = 3


@dataclass
class App:
    """What every command shares: the home, its settings, and how much to say."""

    home: Path
    verbose: int
    quiet: bool
    log_format: str = "text"
    _config: Config | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(self.home)
        return self._config

    def say(self, message: str) -> None:
        """A progress or summary line (stderr, so stdout stays data); silent under -q."""
        if not self.quiet:
            log("info", message)

    def warn(self, message: str) -> None:
        """Something the user should look at; silent under -q, which keeps only errors."""
        if not self.quiet:
            log("warning", message)

    def error(self, message: str) -> None:
        """Something that failed, said even under -q (the command goes on or exits after)."""
        log("error", message)


#: How messages are written to stderr: `text` lines for a person, or (`--log-format json`)
#: one JSON object a line for a log collector. Set once, by the group, for the whole process.
_LOG_FORMAT = ["text"]


def log(level: str, message: str) -> None:
    """A message on stderr: `warning: ...` and `error: ...` as text, else a JSON line with
    its time, level and message."""
    if _LOG_FORMAT[0] == "json":
        click.echo(
            json.dumps(
                {
                    "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
                    "level": level,
                    "message": safe(message),
                },
                ensure_ascii=False,
            ),
            err=True,
        )
        return
    echo(message if level == "info" else f"{level}: {message}", err=True)


# C0 controls but tab and line feed, DEL and C1: what could move a terminal's cursor, change
# its title or hide text (ESC ] 0 ; ... BEL) if a name or a file name carried it.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def safe(text: str) -> str:
    """`text` with every control character shown as `\\xNN` instead of acted upon."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def echo(text: str, *, err: bool = False) -> None:
    """Print a line of text (data on stdout, messages on stderr), never a control sequence."""
    click.echo(safe(text), err=err)


def fail(message: str, code: int = EXIT_USER) -> NoReturn:
    """One line on stderr, then exit with `code`."""
    log("error", message)
    sys.exit(code)


class Terminated(BaseException):
    """SIGTERM (a scheduler stopping a job, `kill`): unwinds like Ctrl-C, so that the open
    transaction is rolled back and worker processes are stopped."""


def _terminated(signum: int, frame: object) -> None:
    raise Terminated


#: The group's options, which may also be written after the command (`netgarden report -q`).
_GLOBAL_FLAGS = frozenset({"-q", "--quiet", "-v", "-vv", "-vvv", "--verbose"})


def _globals_first(args: list[str]) -> list[str]:
    """`args` with the group's options moved before the command, wherever they were written
    (up to a `--`)."""
    front: list[str] = []
    rest: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "--":
            rest.extend(args[index:])
            break
        if arg in _GLOBAL_FLAGS or arg.startswith(("--home=", "--log-format=")):
            front.append(arg)
        elif arg in ("--home", "--log-format") and index + 1 < len(args):
            front.extend(args[index : index + 2])
            index += 1
        else:
            rest.append(arg)
        index += 1
    return front + rest


#: Allocations between two collections of the youngest objects (Python's default: 700).
GC_THRESHOLD = 100_000


class _Group(click.Group):
    """Turns typed errors into one clear line and an exit code."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, _globals_first(args))

    def invoke(self, ctx: click.Context) -> Any:
        # A command builds a few objects per person and keeps them to its end: with the
        # collector's default thresholds, a hundred thousand people set off hundreds of full
        # collections that find nothing to free, a third of a report's time.
        gc.set_threshold(GC_THRESHOLD, 50, 100)
        previous = signal.signal(signal.SIGTERM, _terminated)
        try:
            return super().invoke(ctx)
        except NetgardenError as exc:
            fail(str(exc), exc.exit_code)
        except KeyboardInterrupt:
            fail("interrupted; nothing half-written was kept", 130)
        except BrokenPipeError:  # `netgarden next | head`: the reader has seen enough
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(141)
        except Terminated:
            fail("stopped (SIGTERM); nothing half-written was kept", 143)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except Exception as exc:
            app = ctx.find_object(App)
            if isinstance(exc, sqlite3.OperationalError) and app is not None:
                from pipeline.store import StoreBusy, busy_error

                busy = busy_error(app.home / STORE_FILE, exc)
                if isinstance(busy, StoreBusy):
                    fail(str(busy))
            if ctx.params.get("verbose"):
                traceback.print_exc()
            fail(f"internal error: {type(exc).__name__}: {exc} (run with -v for details)")
        finally:
            signal.signal(signal.SIGTERM, previous)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where netgarden keeps its store and settings "
    "(default: $NETGARDEN_HOME, else your user data folder).",
)
@click.option("-v", "--verbose", count=True, help="Say more (tracebacks for internal errors).")
@click.option("-q", "--quiet", is_flag=True, help="Say only errors.")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Messages on stderr as lines of text, or one JSON object a line (for log collectors).",
)
@click.version_option(__version__, prog_name="netgarden")
@click.pass_context
def main(ctx: click.Context, home: Path | None, verbose: int, quiet: bool, log_format: str) -> None:
    """Keep your professional network from going cold.

    Import your address book and the history of who you talked to, sort everyone into target
    networks by rules, and report who is overdue for contact.
    """
    _LOG_FORMAT[0] = log_format
    ctx.obj = App(home=resolve_home(home), verbose=verbose, quiet=quiet, log_format=log_format)


def app_of(ctx: click.Context) -> App:
    """The App of the running command."""
    app = ctx.find_object(App)
    assert app is not None
    return app
