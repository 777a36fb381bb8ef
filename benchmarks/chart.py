"""Draws the benchmark chart: one panel per case, median seconds per tool (genrostore highlighted).

Run as a script by the tools venv's Python (matplotlib lives there): chart.py RESULTS.json OUT.png
"""

import json
import math
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def main(results_path: str, out_path: str) -> None:
    with open(results_path) as handle:
        cases = json.load(handle)["cases"]
    columns = 2
    rows = math.ceil(len(cases) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(12, 2.6 * rows), squeeze=False)
    for axis, case in zip(axes.flat, cases, strict=False):
        names = [tool["name"] for tool in case["tools"]]
        medians = [tool["median"] for tool in case["tools"]]
        colours = ["#d95f02" if name == "genrostore" else "#7570b3" for name in names]
        axis.barh(names, medians, color=colours)
        axis.invert_yaxis()
        axis.set_title(case["title"], fontsize=10)
        axis.set_xlabel("median seconds (lower is better)", fontsize=8)
        axis.tick_params(labelsize=8)
        for y, value in enumerate(medians):
            axis.text(value, y, f" {value:.2f}", va="center", fontsize=7)
        axis.set_xlim(0, max(medians) * 1.2)
    for axis in list(axes.flat)[len(cases):]:
        axis.set_visible(False)
    figure.tight_layout()
    figure.savefig(out_path, dpi=110)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
