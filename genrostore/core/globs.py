"""Remote globs: `*` and `?` stay inside one segment, `**` recurses, `[...]` classes.

`\\` before a glob character (`*`, `?`, `[`, `]`, `\\`) makes it literal; any other backslash is
an ordinary character of the name (`back\\slash.txt` is that name).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAGIC = "*?["
ESCAPABLE = "*?[]\\"


def first_magic(pattern: str) -> int | None:
    """Index of the first unescaped wildcard of `pattern`, None when it has none."""
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and pattern[i + 1 : i + 2] and pattern[i + 1] in ESCAPABLE:
            i += 2
            continue
        if c in MAGIC:
            return i
        i += 1
    return None


def has_magic(pattern: str) -> bool:
    """True when `pattern` holds an unescaped wildcard."""
    return first_magic(pattern) is not None


def unescape(pattern: str) -> str:
    """The literal name of a pattern without magic (`\\*` becomes `*`; `\\s` stays `\\s`)."""
    return re.sub(r"\\([*?\[\]\\])", r"\1", pattern)


def _segment_regex(segment: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(segment):
        c = segment[i]
        if c == "\\" and segment[i + 1 : i + 2] and segment[i + 1] in ESCAPABLE:
            out.append(re.escape(segment[i + 1]))
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end = segment.find("]", i + 2 if segment[i + 1 : i + 2] in ("!", "^", "]") else i + 1)
            if end == -1:
                out.append(re.escape(c))
            else:
                body = segment[i + 1 : end]
                if body[:1] in ("!", "^"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = end
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


@dataclass(frozen=True)
class Glob:
    """A compiled pattern, split into the literal base directory and the part that needs listing."""

    base: str
    regex: re.Pattern[str]
    recursive: bool

    def matches(self, path: str) -> bool:
        return self.regex.fullmatch(path) is not None


def compile_glob(pattern: str) -> Glob:
    """Compile a mount-relative pattern (already stripped of leading slashes)."""
    segments = [s for s in pattern.split("/") if s not in ("", ".")]
    base: list[str] = []
    while segments and not has_magic(segments[0]):
        base.append(unescape(segments.pop(0)))
    prefix = re.escape("/".join(base))
    regex_parts: list[str] = [prefix + "/" if base and segments else prefix]
    recursive = False
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == "**":
            recursive = True
            regex_parts.append(".*" if last else "(?:[^/]+/)*")
        else:
            if not has_magic(segment):
                segment_re = re.escape(unescape(segment))
            else:
                segment_re = _segment_regex(segment)
            recursive = recursive or not last
            regex_parts.append(segment_re + ("" if last else "/"))
    return Glob(base="/".join(base), regex=re.compile("".join(regex_parts), re.DOTALL), recursive=recursive)
