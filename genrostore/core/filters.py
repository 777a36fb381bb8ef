"""rclone's filter rules, ported: which files and directories an operation sees.

The semantics follow rclone's fs/filter (filter.go, rules.go, glob.go) and
docs/content/filtering.md, so a rule file written for rclone means the same here:

- A glob becomes an anchored regexp: `/x` matches from the operation's root (`^x$`), any other
  pattern matches the path's tail (`(^|/)x$`). `*` stays within a segment, `**` crosses `/`,
  `?` one character but `/`, `[...]` a class, `{a,b}` alternatives, `{{re}}` a raw regexp,
  `\\` escapes.
- Rules are tried in order; the first that matches decides; none matching includes.
- `--include`, `--include-from`, `--exclude`, `--exclude-from`, `--filter`, `--filter-from` are
  added in that fixed order (not the order typed); any include adds a final `- /**`.
- File rules decide files; directory rules (derived from each rule) decide whether a directory
  is entered at all: an excluded directory is never listed.
- `--min-size/--max-size/--min-age/--max-age` and `--shard K/N` (rclone's `--hash-filter`)
  apply to files only.

Pure: no I/O. Rule files are read by the caller and passed in as lines.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from genrostore.core.errors import UsageError


class FilterError(UsageError):
    """A malformed rule, size, age or shard (exit 2)."""


# -- globs -------------------------------------------------------------------------------------

_POSIX_CLASSES = {
    "alnum": "0-9A-Za-z", "alpha": "A-Za-z", "ascii": "\\x00-\\x7F", "blank": "\\t ",
    "cntrl": "\\x00-\\x1F\\x7F", "digit": "0-9", "graph": "!-~", "lower": "a-z", "print": " -~",
    "punct": "!-/:-@[-`{-~", "space": "\\t\\n\\v\\f\\r ", "upper": "A-Z", "word": "0-9A-Za-z_",
    "xdigit": "0-9A-Fa-f",
}
# Patterns as strings, compiled (and cached by `re`) when a rule is parsed: most commands parse none.
_POSIX_CLASS = r"\[:(\^?)([a-z]+):\]"


@dataclass(frozen=True)
class Pattern:
    """A glob compiled to a regexp; `text` is the regexp as rclone writes it (`--dump-filters`)."""

    text: str
    regexp: re.Pattern[str]

    def matches(self, path: str) -> bool:
        return self.regexp.search(path) is not None


def glob_to_regexp(glob: str, *, ignore_case: bool = False) -> Pattern:
    """rclone's `GlobPathToRegexp`: the same regexp text for the same glob."""
    text = _translate(glob, ignore_case=ignore_case)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # `[[` inside a class, as Go reads it
            compiled = re.compile(_to_python(text))
    except re.error as exc:
        raise FilterError(f"bad glob pattern {glob!r} (regexp {text!r}): {exc}") from None
    return Pattern(text, compiled)


def _translate(glob: str, *, ignore_case: bool) -> str:
    out: list[str] = ["(?i)"] if ignore_case else []
    if glob.startswith("/"):
        glob = glob[1:]
        out.append("^")
    else:
        out.append("(^|/)")
    stars = 0
    brace_depth = 0
    in_brackets = 0
    slashed = in_regexp = in_regexp_end = False
    last = ""

    def flush_stars() -> None:
        nonlocal stars
        if stars == 1:
            out.append("[^/]*")
        elif stars == 2:
            out.append(".*")
        elif stars > 2:
            raise FilterError(f"too many stars in {glob!r}")
        stars = 0

    previous = ""
    for char in glob:
        last, previous = previous, char
        if slashed:
            out.append(char)
            slashed = False
            continue
        if in_regexp_end:
            if char == "}":
                out[-1] = out[-1][:-1] + "}"  # `}}}`: the regexp ends at the last pair
                out.append(")")
                continue
            in_regexp_end = False
        if in_regexp:
            if char == "}" and last == "}":
                in_regexp = False
                in_regexp_end = True
                out[-1] = out[-1][:-1] + ")"
            else:
                out.append(char)
            continue
        if char != "*":
            flush_stars()
        if in_brackets:
            out.append(char)
            in_brackets += (char == "[") - (char == "]")
            continue
        if char == "\\":
            out.append(char)
            slashed = True
        elif char == "*":
            stars += 1
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            out.append(char)
            in_brackets += 1
        elif char == "]":
            raise FilterError(f"mismatched ']' in glob {glob!r}")
        elif char == "{":
            if brace_depth > 0 and last == "{":
                in_regexp = True  # `{{` opens a raw regexp; the `(` of the first `{` wraps it
                brace_depth -= 1
            else:
                brace_depth += 1
                out.append("(")
        elif char == "}":
            if brace_depth <= 0:
                raise FilterError(f"mismatched '{{' and '}}' in glob {glob!r}")
            out.append(")")
            brace_depth -= 1
        elif char == "," and brace_depth > 0:
            out.append("|")
        elif char in ".+()|^$":
            out.append("\\" + char)
        else:
            out.append(char)
    flush_stars()
    if in_brackets:
        raise FilterError(f"mismatched '[' and ']' in glob {glob!r}")
    if brace_depth:
        raise FilterError(f"mismatched '{{' and '}}' in glob {glob!r}")
    if in_regexp:
        raise FilterError(f"mismatched '{{{{' and '}}}}' in glob {glob!r}")
    out.append("$")
    return "".join(out)


def _to_python(text: str) -> str:
    """Go's RE2 text as Python's `re` reads it: POSIX classes (`[[:alpha:]]`) spelled out."""
    def posix(match: re.Match[str]) -> str:
        negate, name = match.groups()
        if name not in _POSIX_CLASSES or negate:
            raise FilterError(f"unknown character class [:{negate}{name}:]")
        return _POSIX_CLASSES[name]

    return _scoped_flags(re.sub(_POSIX_CLASS, posix, text))


_INLINE_FLAGS = r"(?<=.)\(\?([aiLmsux]+)\)"


def _scoped_flags(text: str) -> str:
    """RE2 lets `(?i)` start any group (`*.{{(?i)jpg}}`); Python only at the very start, so
    `((?i)jpg)` becomes `((?i:jpg))`: the flags scoped to the rest of the enclosing group."""
    while (found := re.search(_INLINE_FLAGS, text)) is not None:
        start, end = found.span()
        depth, index = 0, end
        while index < len(text):
            char = text[index]
            if char == "\\":
                index += 2
                continue
            depth += (char == "(") - (char == ")")
            if depth < 0:
                break
            index += 1
        text = f"{text[:start]}(?{found.group(1)}:{text[end:index]}){text[index:]}"
    return text


_TOO_HARD = r"({[^{}]*(\*\*|/)[^{}]*})|\{\{|\}\}|\{[^{}]*\{"
_SLASHES = r"/{2,}"


def dir_globs(glob: str) -> list[str]:
    """rclone's `globToDirGlobs`: the directory globs a file glob can lie below, so an include
    rule lets the walk enter only the directories that may hold a match."""
    if re.search(_TOO_HARD, glob):
        return ["/**"]
    glob = re.sub(_SLASHES, "/", glob)
    out: list[str] = []
    while True:
        slash, stars = glob.rfind("/"), glob.rfind("**")
        what = ""
        if stars > slash:
            slash, what = stars, "**"
        if slash < 0:
            if not out:
                out.append("/**")
            return out
        glob = glob[:slash]
        directory = glob + what + "/"
        if not out or out[-1] != directory:
            out.append(directory)


# -- rules -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Rule:
    include: bool
    pattern: Pattern

    def __str__(self) -> str:
        return f"{'+' if self.include else '-'} {self.pattern.text}"


@dataclass
class Rules:
    """An ordered rule list; a rule already present is not added twice (as rclone)."""

    rules: list[Rule] = field(default_factory=list)

    def add(self, include: bool, pattern: Pattern) -> None:
        rule = Rule(include, pattern)
        if all(str(rule) != str(existing) for existing in self.rules):
            self.rules.append(rule)

    def include(self, path: str) -> bool:
        for rule in self.rules:
            if rule.pattern.matches(path):
                return rule.include
        return True

    def clear(self) -> None:
        self.rules.clear()


def rule_lines(lines: Iterable[str]) -> Iterable[str]:
    """The rules of a rule file: stripped, blank lines and `#`/`;` comments dropped."""
    for raw in lines:
        line = raw.strip()
        if line and line[0] not in "#;":
            yield line


# -- sizes, ages, shards -----------------------------------------------------------------------

_SIZE_UNITS = {"b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50, "e": 1 << 60}
_SIZE = r"(\d+(?:\.\d*)?|\.\d+)([bkmgtpe]?)(i?b?)"


def parse_size(text: str) -> int:
    """rclone's size: `10k`, `1.5M`, `2Gi`, `3GiB`, `100b`; base 1024; a bare number is KiB."""
    match = re.fullmatch(_SIZE, text.strip(), re.IGNORECASE)
    if match is None or (match.group(3) and not match.group(2)):
        raise FilterError(f"bad size {text!r}", hint="a number with an optional unit: 100b, 10k, 1M, 2G, 1T (base 1024; no unit: KiB)")
    number, unit, _ = match.groups()
    return int(float(number) * (_SIZE_UNITS[unit.lower()] if unit else 1 << 10))


def size_text(size: int) -> str:
    """rclone's `ByteUnit`: `100 KiB`, `1.500 MiB`."""
    if size == 0:
        return "0 B"
    for power, unit in ((60, "Ei"), (50, "Pi"), (40, "Ti"), (30, "Gi"), (20, "Mi"), (10, "Ki")):
        if size >= 1 << power:
            scaled = size / (1 << power)
            return f"{scaled:.0f} {unit}B" if scaled.is_integer() else f"{scaled:.3f} {unit}B"
    return f"{size} B"


_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "\u00b5s": 1e-6, "\u03bcs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}
_GO_DURATION = r"((\d+(\.\d*)?|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h))+"
_GO_PART = r"(\d+(?:\.\d*)?|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)"
_DAY = 86400
_SUFFIXES = (("d", _DAY), ("w", 7 * _DAY), ("M", 30 * _DAY), ("y", 365 * _DAY), ("", 1))
_DATES = ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d")


def parse_age(text: str, now: datetime) -> timedelta:
    """rclone's age: a Go duration (`90m`, `1h30m`, `500ms`), a number with `d w M y` (or none:
    seconds), or a date (`2026-01-31`, `2026-01-31 12:00:00`, RFC 3339; local time) → now - date."""
    text = text.strip()
    sign = -1 if text.startswith("-") else 1
    body = text.lstrip("+-")
    if body == "0" or re.fullmatch(_GO_DURATION, body):
        seconds = sum(float(n) * _GO_UNITS[u] for n, u in re.findall(_GO_PART, body))
        return timedelta(seconds=sign * seconds)
    for suffix, unit in _SUFFIXES:
        if text.endswith(suffix):
            try:
                return timedelta(seconds=float(text[: len(text) - len(suffix)]) * unit)
            except ValueError:
                break
    for form in _DATES:
        try:
            instant = datetime.strptime(text.replace("Z", "+0000"), form)
        except ValueError:
            continue
        if instant.tzinfo is None:
            instant = instant.astimezone()  # local time, as rclone
        return now - instant
    raise FilterError(f"bad age {text!r}", hint="e.g. 90s, 30m, 2h, 7d, 2w, 1M, 1y or a date 2026-01-31")


def parse_shard(text: str) -> tuple[int, int]:
    """`K/N` with 0 <= K < N."""
    k, slash, n = text.partition("/")
    if not slash or not k.isdigit() or not n.isdigit():
        raise FilterError(f"--shard {text!r}: expected K/N, e.g. 0/4")
    if int(n) == 0 or int(k) >= int(n):
        raise FilterError(f"--shard {text!r}: K must be 0 to N-1 and N at least 1")
    return int(k), int(n)


def shard_of(path: str, count: int) -> int:
    """The shard of a relative path, the same on every machine and the same as rclone's
    `--hash-filter`: md5 of the path (NFC, lower case), first 8 bytes little-endian, mod N."""
    normalised = unicodedata.normalize("NFC", path.strip("/")).lower()
    digest = hashlib.md5(normalised.encode("utf-8", "surrogateescape"), usedforsecurity=False).digest()
    return int.from_bytes(digest[:8], "little") % count


# -- the filter --------------------------------------------------------------------------------

@dataclass
class FilterOptions:
    """The flags as given; the `*_from` fields hold each file's lines, already read."""

    include: list[str] = field(default_factory=list)
    include_from: list[list[str]] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    exclude_from: list[list[str]] = field(default_factory=list)
    filter: list[str] = field(default_factory=list)
    filter_from: list[list[str]] = field(default_factory=list)
    min_size: str | None = None
    max_size: str | None = None
    min_age: str | None = None
    max_age: str | None = None
    shard: str | None = None
    ignore_case: bool = False


@dataclass
class Filter:
    """Decides files (`include_file`) and directories (`include_dir`) by relative path."""

    ignore_case: bool = False
    file_rules: Rules = field(default_factory=Rules)
    dir_rules: Rules = field(default_factory=Rules)
    min_size: int | None = None
    max_size: int | None = None
    modified_after: datetime | None = None  # --max-age: older files are out
    modified_before: datetime | None = None  # --min-age: newer files are out
    shard: tuple[int, int] | None = None

    @classmethod
    def from_options(cls, options: FilterOptions, *, now: datetime | None = None) -> Filter:
        now = now or datetime.now(UTC)
        made = cls(ignore_case=options.ignore_case)
        made.min_size = None if options.min_size is None else parse_size(options.min_size)
        made.max_size = None if options.max_size is None else parse_size(options.max_size)
        if options.min_age is not None:
            made.modified_before = now - parse_age(options.min_age, now)
        if options.max_age is not None:
            made.modified_after = now - parse_age(options.max_age, now)
        if made.modified_after and made.modified_before and made.modified_before < made.modified_after:
            raise FilterError(f"--min-age {options.min_age!r} can't be larger than --max-age {options.max_age!r}")
        made.shard = None if options.shard is None else parse_shard(options.shard)
        made._add_rules(options)
        return made

    def _add_rules(self, options: FilterOptions) -> None:
        """rclone's fixed order (filtering.md): includes, excludes, then --filter rules."""
        includes = [*options.include, *(rule for lines in options.include_from for rule in rule_lines(lines))]
        for glob in includes:
            self.add(True, glob)
        for glob in [*options.exclude, *(rule for lines in options.exclude_from for rule in rule_lines(lines))]:
            self.add(False, glob)
        for rule in [*options.filter, *(rule for lines in options.filter_from for rule in rule_lines(lines))]:
            self.add_rule(rule)
        if includes:
            self.add(False, "/**")

    def add(self, include: bool, glob: str) -> None:
        """rclone's `Filter.Add`: a file rule, a directory rule, or both, from one glob."""
        is_dir_rule = glob.endswith("/")
        is_file_rule = not is_dir_rule
        if is_dir_rule and not include:
            glob += "**"  # excluding `dir/` is excluding `dir/**`
        if "**" in glob:
            is_dir_rule = is_file_rule = True
        pattern = glob_to_regexp(glob, ignore_case=self.ignore_case)
        if is_file_rule:
            self.file_rules.add(include, pattern)
            # An include says which directories must be entered; an exclude rules none out,
            # except `*`, which matches everything.
            if include or glob == "*":
                for directory in dir_globs(glob):
                    if directory != "/":
                        self.dir_rules.add(include, glob_to_regexp(directory, ignore_case=self.ignore_case))
        if is_dir_rule:
            self.dir_rules.add(include, pattern)

    def add_rule(self, rule: str) -> None:
        """`+ glob`, `- glob`, or `!` (clear every rule so far)."""
        if rule == "!":
            self.file_rules.clear()
            self.dir_rules.clear()
        elif rule.startswith(("+ ", "- ")):
            self.add(rule[0] == "+", rule[2:])
        else:
            raise FilterError(f"malformed rule {rule!r}", hint="a filter rule is '+ PATTERN', '- PATTERN' or '!'")

    @property
    def active(self) -> bool:
        return bool(self.file_rules.rules or self.dir_rules.rules or self.shard
                    or self.min_size is not None or self.max_size is not None
                    or self.modified_after or self.modified_before)

    def include_dir(self, path: str) -> bool:
        """Whether the walk enters the directory at `path` (relative to the operation's root)."""
        return self.dir_rules.include(path.strip("/") + "/")

    def include_path(self, path: str) -> bool:
        """The path rules and the shard, without size or age (for a file not yet listed)."""
        if self.shard is not None and shard_of(path, self.shard[1]) != self.shard[0]:
            return False
        return self.file_rules.include(path)

    def include_file(self, path: str, size: int | None = None, mtime: datetime | None = None) -> bool:
        """Whether a file is in scope. An unknown size counts as -1 (as rclone: out under
        --min-size, in under --max-size); an unknown mtime is out under any age rule."""
        known = -1 if size is None else size
        if self.min_size is not None and known < self.min_size:
            return False
        if self.max_size is not None and known > self.max_size:
            return False
        if self.modified_after is not None or self.modified_before is not None:
            if mtime is None:
                return False
            if self.modified_after is not None and mtime < self.modified_after:
                return False
            if self.modified_before is not None and mtime > self.modified_before:
                return False
        return self.include_path(path)

    def dump(self) -> str:
        """The rules as rclone's `--dump filters` prints them."""
        lines: list[str] = []
        if self.modified_after is not None:
            lines.append(f"Last-modified date must be equal or greater than: {self.modified_after.isoformat()}")
        if self.modified_before is not None:
            lines.append(f"Last-modified date must be equal or less than: {self.modified_before.isoformat()}")
        if self.min_size is not None:
            lines.append(f"Minimum size is: {size_text(self.min_size)}")
        if self.max_size is not None:
            lines.append(f"Maximum size is: {size_text(self.max_size)}")
        if self.shard is not None:
            lines.append(f"Shard is: {self.shard[0]}/{self.shard[1]} (md5 of the NFC lower-case path, mod N)")
        lines.append("--- File filter rules ---")
        lines.extend(str(rule) for rule in self.file_rules.rules)
        lines.append("--- Directory filter rules ---")
        lines.extend(str(rule) for rule in self.dir_rules.rules)
        return "\n".join(lines)


NO_FILTER = Filter()
