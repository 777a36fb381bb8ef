"""Results as Markdown: spliced into docs/benchmarks.md between markers, so the hand-written
analysis around them survives a new run."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from benchmarks.cases import GENROSTORE, RSS_LIMIT_MIB, Case
from benchmarks.measure import ToolResult

BEGIN = "<!-- benchmark results: begin (written by `python -m benchmarks`) -->"
END = "<!-- benchmark results: end -->"


@dataclass
class CaseOutcome:
    case: Case
    results: list[ToolResult]

    def result(self, name: str) -> ToolResult | None:
        return next((r for r in self.results if r.name == name), None)

    def anchor(self, name: str) -> ToolResult | None:
        """A named anchor (prefix match: "rclone" finds "rclone cat"), or the fastest for "best anchor"."""
        anchors = [r for r, t in zip(self.results, self.case.tools, strict=True) if r.name != GENROSTORE and not t.reference]
        if name == "best anchor":
            return min(anchors, key=lambda r: r.median, default=None)
        return next((r for r in anchors if r.name == name or r.name.startswith(name + " ")), None)

    def checks(self) -> list[tuple[str, float | None, bool | None]]:
        """(what, genrostore/anchor ratio, met) for each limit of the target and the RSS ceiling."""
        mine = self.result(GENROSTORE)
        assert mine is not None
        found: list[tuple[str, float | None, bool | None]] = []
        for name, limit in self.case.target.limits if self.case.target else ():
            other = self.anchor(name)
            if other is None:
                found.append((f"vs {name}: ≤ {limit:g}×", None, None))
                continue
            ratio = mine.median / other.median
            label = other.name if name != "best anchor" else f"best anchor ({other.name})"
            found.append((f"vs {label}: ≤ {limit:g}×", ratio, ratio <= limit))
        rss = mine.peak_rss_mib
        found.append((f"peak RSS ≤ {RSS_LIMIT_MIB:g} MiB", rss, rss <= RSS_LIMIT_MIB))
        return found


def render(outcomes: list[CaseOutcome], *, meta: dict[str, dict[str, str]], chart: str | None) -> str:
    lines = [BEGIN, "", f"Run on {meta['run']['date']} with `{meta['run']['command']}`.", ""]
    for title, table in (("Machine", meta["machine"]), ("Versions", meta["versions"]), ("Settings", meta["settings"])):
        lines += [f"**{title}:** " + " · ".join(f"{k} {v}" for k, v in table.items()), ""]
    lines += ["### Targets", "", "| case | check | genrostore/anchor | met |", "|---|---|---:|:---:|"]
    for outcome in outcomes:
        for what, value, met in outcome.checks():
            shown = "—" if value is None else (f"{value:.0f} MiB" if "RSS" in what else f"{value:.2f}×")
            verdict = "n/a" if met is None else ("yes" if met else "**no**")
            lines.append(f"| {outcome.case.title} | {what} | {shown} | {verdict} |")
    lines.append("")
    if chart:
        lines += [f"![time per tool, per case]({chart})", ""]
    for outcome in outcomes:
        lines += _case_table(outcome)
    lines.append(END)
    return "\n".join(lines) + "\n"


def _case_table(outcome: CaseOutcome) -> list[str]:
    mine = outcome.result(GENROSTORE)
    assert mine is not None
    runs = len(mine.samples)
    lines = [f"### {outcome.case.title}", "", f"Median of {runs} run(s).", "",
             "| tool | median s | min–max s | peak RSS MiB | genrostore/tool |", "|---|---:|---:|---:|---:|"]
    for result, tool in zip(outcome.results, outcome.case.tools, strict=True):
        times = [s.seconds for s in result.samples]
        ratio = "—" if result is mine else f"{mine.median / result.median:.2f}×"
        name = f"{result.name} (reference)" if tool.reference else result.name
        lines.append(f"| {name} | {result.median:.3f} | {min(times):.3f}–{max(times):.3f} | "
                     f"{result.peak_rss_mib:.0f} | {ratio} |")
    lines.append("")
    lines += [f"{note}" for note in outcome.case.notes] + ([""] if outcome.case.notes else [])
    return lines


def splice(document: Path, block: str) -> None:
    """Replace the generated block of `document`, or append one (creating the file if needed)."""
    text = document.read_text() if document.exists() else "# Benchmarks\n\n"
    pattern = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END) + r"\n?", re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text)
    else:
        text = text.rstrip("\n") + "\n\n" + block
    document.write_text(text)
