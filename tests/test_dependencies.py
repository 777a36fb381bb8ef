"""Installs are reproducible: every dependency range is bounded, and requirements/test.lock (what
scripts/test.sh installs) pins a version inside every range of pyproject.toml."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
LOCK = ROOT / "requirements" / "test.lock"


def _requirements() -> list[tuple[str, Requirement]]:
    project = PYPROJECT["project"]
    found = [("dependencies", Requirement(text)) for text in project["dependencies"]]
    for extra, texts in project["optional-dependencies"].items():
        found += [(extra, Requirement(text)) for text in texts]
    return [(where, req) for where, req in found if canonicalize_name(req.name) != "genrostore"]


def _locked() -> dict[str, str]:
    pins = re.findall(r"^([A-Za-z0-9._-]+)(?:\[[^\]]*\])?==(\S+)", LOCK.read_text(), flags=re.M)
    return {canonicalize_name(name): version for name, version in pins}


REQUIREMENTS = _requirements()
IDS = [f"{where}:{req.name}" for where, req in REQUIREMENTS]


@pytest.mark.parametrize(("where", "req"), REQUIREMENTS, ids=IDS)
def test_every_range_has_a_lower_and_an_upper_bound(where: str, req: Requirement) -> None:
    operators = {spec.operator for spec in req.specifier}
    assert operators & {">=", "==", "~="}, f"{req} ({where}) has no lower bound"
    assert operators & {"<", "<=", "==", "~="}, f"{req} ({where}) has no upper bound"


@pytest.mark.parametrize(("where", "req"), REQUIREMENTS, ids=IDS)
def test_the_lock_pins_a_version_inside_every_range(where: str, req: Requirement) -> None:
    locked = _locked().get(canonicalize_name(req.name))
    assert locked is not None, f"{req.name} ({where}) is not in {LOCK.name}: run `bash scripts/lock.sh`"
    assert req.specifier.contains(locked, prereleases=True), (
        f"{LOCK.name} pins {req.name}=={locked}, outside {req} ({where}): run `bash scripts/lock.sh`")


def test_the_locked_typer_does_not_import_pydantic_at_start_up() -> None:
    """typer 0.29 imports pydantic and hashlib, which a local `cat` must not (tests/cli/test_startup_cat.py)."""
    assert tuple(int(part) for part in _locked()["typer"].split(".")[:2]) < (0, 29)


def test_the_test_command_installs_from_the_lock() -> None:
    script = (ROOT / "scripts" / "test.sh").read_text()
    assert re.search(r"uv pip install .*-r \"\$LOCK\" -e '\.\[all,test\]'", script), script
