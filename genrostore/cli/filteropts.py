"""The filter options every tree command shares (rclone's names), as one decorator.

`@with_filters` adds the options to a Typer command and calls it with `filters=Filter`, built
once from them; `--dump-filters` prints the rules and exits 0 instead. cp -r, sync, check and
mv -r take the same decorator, so the flags are declared once.
"""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Callable
from typing import Annotated, Any

import typer

from genrostore.core.filters import Filter, FilterOptions

_MANY = "many"  # a repeatable option: list[str] | None
_ONE = "one"  # str | None
_FLAG = "flag"  # bool

# (parameter, flag, kind, metavar, help): added after the command's own options, in this order.
_TABLE: tuple[tuple[str, str, str, str, str], ...] = (
    ("include", "--include", _MANY, "PATTERN",
     "Include files matching PATTERN (rclone glob; repeatable; implies excluding the rest)."),
    ("exclude", "--exclude", _MANY, "PATTERN",
     "Exclude files matching PATTERN; 'dir/' excludes a directory, which is then never listed."),
    ("filter", "--filter", _MANY, "RULE",
     "A rule '+ PATTERN' or '- PATTERN' ('!' clears); applied after --include/--exclude."),
    ("include_from", "--include-from", _MANY, "FILE",
     "Read include patterns from FILE ('-': stdin), one a line; '#'/';' comments."),
    ("exclude_from", "--exclude-from", _MANY, "FILE", "Read exclude patterns from FILE ('-': stdin)."),
    ("filter_from", "--filter-from", _MANY, "FILE", "Read '+ '/'- ' rules from FILE ('-': stdin); '!' clears."),
    ("min_size", "--min-size", _ONE, "SIZE",
     "Only files of at least SIZE (100b, 10k, 1M, 2G; base 1024; no unit: KiB)."),
    ("max_size", "--max-size", _ONE, "SIZE", "Only files of at most SIZE."),
    ("min_age", "--min-age", _ONE, "AGE",
     "Only files older than AGE (ms s m h d w M y, e.g. 2h, 7d) or last modified before a date."),
    ("max_age", "--max-age", _ONE, "AGE", "Only files younger than AGE or modified since a date."),
    ("ignore_case", "--ignore-case", _FLAG, "", "Match filter patterns case-insensitively."),
    ("shard", "--shard", _ONE, "K/N",
     "Only files whose path hashes into shard K of N (0 <= K < N; rclone's --hash-filter)."),
    ("dump_filters", "--dump-filters", _FLAG, "", "Print the filter rules (as rclone does) and exit."),
)
_TYPES: dict[str, Any] = {_MANY: list[str] | None, _ONE: str | None, _FLAG: bool}


def _parameter(name: str, flag: str, kind: str, metavar: str, help: str) -> inspect.Parameter:
    option = (typer.Option(flag, help=help) if kind == _FLAG
              else typer.Option(flag, help=help, metavar=metavar, show_default=False))
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=Annotated[_TYPES[kind], option],
                             default=False if kind == _FLAG else None)


_PARAMETERS = [_parameter(*row) for row in _TABLE]


def with_filters(command: Callable[..., Any]) -> Callable[..., Any]:
    """Give `command` the filter options; it receives them built as `filters: Filter`."""
    own = [param for name, param in inspect.signature(command, eval_str=True).parameters.items()
           if name != "filters"]
    added = _PARAMETERS

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        values = {param.name: kwargs.pop(param.name) for param in _PARAMETERS}
        filters = build_filter(**values)
        if values["dump_filters"]:
            sys.stdout.write(filters.dump() + "\n")
            raise typer.Exit(0)
        return command(*args, filters=filters, **kwargs)

    parameters = [param.replace(kind=inspect.Parameter.POSITIONAL_OR_KEYWORD) for param in own]
    wrapper.__signature__ = inspect.Signature([*parameters, *added])  # type: ignore[attr-defined]  # inspect reads it; functions do not declare it
    wrapper.__annotations__ = {param.name: param.annotation for param in [*parameters, *added]}
    return wrapper


def build_filter(*, include: list[str] | None = None, exclude: list[str] | None = None,
                 filter: list[str] | None = None, include_from: list[str] | None = None,
                 exclude_from: list[str] | None = None, filter_from: list[str] | None = None,
                 min_size: str | None = None, max_size: str | None = None, min_age: str | None = None,
                 max_age: str | None = None, ignore_case: bool = False, shard: str | None = None,
                 dump_filters: bool = False) -> Filter:
    """The Filter the flags describe (FilterError, exit 2, on a malformed one)."""
    options = FilterOptions(
        include=include or [], exclude=exclude or [], filter=filter or [],
        include_from=[_rule_file("--include-from", name) for name in include_from or []],
        exclude_from=[_rule_file("--exclude-from", name) for name in exclude_from or []],
        filter_from=[_rule_file("--filter-from", name) for name in filter_from or []],
        min_size=min_size, max_size=max_size, min_age=min_age, max_age=max_age, shard=shard,
        ignore_case=ignore_case,
    )
    return Filter.from_options(options)


def _rule_file(flag: str, name: str) -> list[str]:
    """A rule file's lines (a local file, or stdin for '-')."""
    from genrostore.core.errors import UsageError

    if name == "-":
        return sys.stdin.read().splitlines()
    try:
        with open(name, encoding="utf-8") as handle:
            return handle.read().splitlines()
    except OSError as exc:
        raise UsageError(f"{flag} {name}: cannot read the rules file: {exc.strerror}") from None
