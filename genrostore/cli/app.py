"""The Typer root: global options, command registration, and the one place errors become exit codes."""

from __future__ import annotations

import logging
import os
import sys
import traceback
from collections.abc import Callable
from typing import Annotated, Any, get_type_hints

import typer

from genrostore.cli.context import App
from genrostore.core import errors, signals
from genrostore.core.secrets import redact

COMMANDS = ("ls", "cat", "cp", "mv", "rm", "mkdir", "md5", "check", "sync", "du", "b64", "stat", "mounts", "cleanup")
_GLOBAL_OPTIONS_WITH_VALUE = {"--profile", "--retries", "--timeout", "--low-speed-limit", "--low-speed-time"}
_GLOBAL_FLAGS = {"-q", "--quiet", "--debug"}
_SHELL_OPTIONS = {"--install-completion", "--show-completion"}  # the shell is optional


def _version(value: bool) -> None:
    if value:
        from genrostore import __version__

        print(f"genrostore {__version__}")
        raise typer.Exit()


def _install_completion(value: str | None) -> None:
    if value is not None:
        from genrostore.cli import complete

        shell = complete.shell_named(value)
        path = complete.install_script(shell)
        print(f"genrostore: {shell} completion installed in {path}; it takes effect in a new shell",
              file=sys.stderr)
        raise typer.Exit()


def _show_completion(value: str | None) -> None:
    if value is not None:
        from genrostore.cli import complete

        sys.stdout.write(complete.completion_script(complete.shell_named(value)))
        raise typer.Exit()


def root(
    ctx: typer.Context,
    profile: Annotated[str | None, typer.Option("--profile", envvar="GENROSTORE_PROFILE",
                       help="Profile YAML file (env: GENROSTORE_PROFILE; default "
                            "$XDG_CONFIG_HOME/genrostore/mounts.yaml).")] = None,
    debug: Annotated[bool, typer.Option("--debug", envvar="GENROSTORE_DEBUG",
                     help="Show tracebacks of errors (secrets redacted).")] = False,
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="Silence progress and info; errors still show.")] = False,
    retries: Annotated[int, typer.Option("--retries", min=0, envvar="GENROSTORE_RETRIES",
                       help="Retries of transient errors, with exponential backoff.")] = 3,
    timeout: Annotated[float, typer.Option("--timeout", min=0.1, envvar="GENROSTORE_TIMEOUT",
                       help="Connect/read time-out in seconds for network backends.")] = 30.0,
    low_speed_limit: Annotated[int, typer.Option("--low-speed-limit", min=0,
                               help="Bytes/s under which a transfer counts as stalled (0: off).")] = 0,
    low_speed_time: Annotated[float, typer.Option("--low-speed-time", min=0.1,
                              help="Seconds below --low-speed-limit before a stalled transfer is retried.")] = 30.0,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                       help="Print the version and exit.")] = False,
    install_completion: Annotated[str | None, typer.Option(
        "--install-completion", metavar="[bash|zsh|fish]", is_eager=True,
        callback=_install_completion, help="Install the completion script for the shell (default: $SHELL's).")] = None,
    show_completion: Annotated[str | None, typer.Option(
        "--show-completion", metavar="[bash|zsh|fish]", is_eager=True,
        callback=_show_completion, help="Print the completion script for the shell (default: $SHELL's).")] = None,
) -> None:
    """Global options; every command gets one App object."""
    state = App(profile=profile, debug=debug)
    state.settings.quiet = quiet
    state.settings.retries = retries
    state.settings.timeout = timeout
    state.settings.low_speed_limit = low_speed_limit
    state.settings.low_speed_time = low_speed_time
    ctx.obj = state
    ctx.call_on_close(state.close)


def build_app(only: str | None = None) -> typer.Typer:
    """The Typer app with every command, or with just the one being run (startup cost)."""
    import importlib

    application = typer.Typer(
        name="genrostore",
        help="One tree of mounts over every storage system: ls, cat, cp, mv, rm, mkdir, md5, check, sync, du, b64, "
             "stat, mounts, cleanup.",
        no_args_is_help=True,
        add_completion=False,  # our options install completions/'s scripts, not Typer's generic ones
        context_settings={"help_option_names": ["-h", "--help"]},  # `ls -h` keeps its own -h
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
    )
    application.callback()(root)
    if os.environ.get("_GENROSTORE_COMPLETE"):
        # add_completion=False also skips registering Typer's shell protocols, which the
        # committed scripts speak.
        from typer.completion import completion_init

        completion_init()
    for name in (only,) if only else COMMANDS:
        importlib.import_module(f"genrostore.cli.{name}").register(application)
    _resolve_annotations([root, *(info.callback for info in application.registered_commands if info.callback)])
    return application


def _resolve_annotations(functions: list[Callable[..., Any]]) -> None:
    """Evaluate the signatures' annotation strings once.

    Typer reads a command's signature with `typing.get_type_hints` several times per run (nine for
    `cat` and the root), and under `from __future__ import annotations` each read evaluates every
    string again: ~1.5 ms of start-up.
    """
    for function in functions:
        function.__annotations__ = get_type_hints(function, include_extras=True)


def __getattr__(name: str) -> typer.Typer:
    """`genrostore.cli.app.app`: the complete app, for docs and completion generators."""
    if name == "app":
        return build_app()
    raise AttributeError(name)


def _command_in(args: list[str]) -> str | None:
    """The subcommand about to run, so that only its module is imported; None when unsure."""
    if any(key.startswith(("_GENROSTORE_COMPLETE", "_TYPER_COMPLETE")) for key in os.environ):
        return None
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg in _GLOBAL_OPTIONS_WITH_VALUE:
            skip = True
        elif not arg.startswith("-"):
            return arg if arg in COMMANDS else None
    return None


def _normalized(args: list[str], own: set[str]) -> list[str]:
    """The command line as the root parses it.

    Global options may follow the subcommand (`cp a b -q --profile p.yaml`), as with GNU tools;
    they are moved in front of it unless the subcommand has an option of that name (`--` ends the
    search). `--install-completion` with no shell gets an empty one: the user's ($SHELL).
    """
    front: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        index += 1
        if arg in _SHELL_OPTIONS and (index == len(args) or args[index].startswith("-")):
            front.append(f"{arg}=")
            continue
        front.append(arg)
        if arg in _GLOBAL_OPTIONS_WITH_VALUE and index < len(args):
            front.append(args[index])
            index += 1
        elif not arg.startswith("-"):
            break  # the subcommand
    else:
        return front
    hoisted: list[str] = []
    rest: list[str] = []
    tail = args[index:]
    while tail:
        arg = tail.pop(0)
        name = arg.split("=", 1)[0] if arg.startswith("--") else arg
        if arg == "--" or name in own:
            rest.append(arg)
            if arg == "--":
                rest.extend(tail)
                break
        elif arg in _GLOBAL_FLAGS or (name in _GLOBAL_OPTIONS_WITH_VALUE and "=" in arg):
            hoisted.append(arg)
        elif arg in _GLOBAL_OPTIONS_WITH_VALUE and tail:
            hoisted.extend((arg, tail.pop(0)))
        else:
            rest.append(arg)
    return [*front[:-1], *hoisted, front[-1], *rest]


def _own_options(command: Any, name: str | None) -> set[str]:
    sub = command.commands.get(name) if name and hasattr(command, "commands") else None
    return {opt for param in (sub.params if sub else ()) for opt in (*param.opts, *param.secondary_opts)}


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; every error leaves as one stderr line and its documented exit code.

    SIGTERM and SIGHUP are handled as Ctrl-C is (clean up, exit 128 + the signal) for the whole
    command, instead of killing it with its temp files and multipart uploads left behind.
    """
    restore = signals.install()
    try:
        with errors.for_cli():  # an error's fix reads as a flag ("use -p"), not as the API's parameter
            return _run_command(argv)
    finally:
        restore()


def _run_command(argv: list[str] | None) -> int:
    from typer._click import exceptions as click_exceptions
    from typer.main import get_command

    args = list(argv if argv is not None else sys.argv[1:])
    name = _command_in(args)
    command = get_command(build_app(name))
    args = _normalized(args, _own_options(command, name))
    debug = "--debug" in args or bool(os.environ.get("GENROSTORE_DEBUG"))
    _configure_logging(debug)
    try:
        result = command.main(args=args, prog_name="genrostore", standalone_mode=False)
    except click_exceptions.ClickException as exc:
        exc.show()
        return errors.USAGE if isinstance(exc, click_exceptions.UsageError) else exc.exit_code
    except typer.Abort:
        return signals.exit_code()
    except errors.OutputClosed:
        return _quiet_broken_pipe()
    except errors.GenrostoreError as exc:
        if debug:
            _print_traceback()
        print(redact(f"genrostore: {exc}"), file=sys.stderr)
        if isinstance(exc, errors.PartialFailure):
            for where, failure in exc.failures:
                print(redact(f"  failed: {where}: {failure}"), file=sys.stderr)
        return signals.exit_code() if isinstance(exc, errors.Interrupted) else exc.exit_code
    except KeyboardInterrupt:
        print(f"genrostore: {signals.describe()}", file=sys.stderr)
        return signals.exit_code()
    except BrokenPipeError:
        return _quiet_broken_pipe()
    except Exception as exc:  # noqa: BLE001 - last line of defence: never a raw traceback
        if debug:
            _print_traceback()
        print(redact(f"genrostore: unexpected error: {type(exc).__name__}: {exc} (rerun with --debug "
                     "and report it)"), file=sys.stderr)
        return errors.ERROR
    if isinstance(result, int):
        if result == errors.INTERRUPTED:
            print(f"genrostore: {signals.describe()}", file=sys.stderr)
            return signals.exit_code()
        return result
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        return _quiet_broken_pipe()
    return errors.OK


def _print_traceback() -> None:
    print(redact(traceback.format_exc()), file=sys.stderr, end="")


def _quiet_broken_pipe() -> int:
    """The reader of stdout left (`| head`): stop without a word, as `cat` does."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return errors.BROKEN_PIPE


def run() -> None:
    """Console-script entry point.

    Leaves with `os._exit` once the output is flushed: by then every writer has committed and
    every mount is closed, and Python's own teardown — collecting a client library's thousands
    of objects, and joining a worker still blocked on a source that never ends (stdin) after
    Ctrl-C — would only add time (~0.1 s after an S3 command) or hang.
    """
    code = main()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BrokenPipeError:
            if stream is sys.stdout and code == errors.OK:
                code = _quiet_broken_pipe()
        except (OSError, ValueError):
            pass
    logging.shutdown()
    os._exit(code)


class _RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def _configure_logging(debug: bool) -> None:
    """Client libraries log through `logging`: shown (redacted) with --debug, silent otherwise.

    Without a handler, Python's last-resort handler would print their warnings and tracebacks
    (gcsfs, paramiko) on stderr, around our one-line error, and possibly with secrets.
    """
    root = logging.getLogger()
    if debug:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(_RedactingFormatter("%(name)s: %(levelname)s: %(message)s"))
        root.addHandler(handler)
        root.setLevel(logging.WARNING)
    else:
        root.addHandler(logging.NullHandler())
