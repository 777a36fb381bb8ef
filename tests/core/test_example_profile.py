"""mounts.example.yaml stays valid against every backend's schema, commented blocks included."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from genrostore.core.profile import load_profile

EXAMPLE = Path(__file__).resolve().parents[2] / "mounts.example.yaml"


def test_example_profile_validates(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    profile = load_profile(EXAMPLE)
    assert {"projects", "scratch", "inline"} <= set(profile.mounts)


# A commented line whose text starts with `key:` is YAML; prose comments never start that way.
_COMMENTED_YAML = re.compile(r"^(\s*)# (\s*[A-Za-z0-9_.-]+:(?:\s.*)?)$")


def test_commented_blocks_validate_too(tmp_path: Path) -> None:
    """Blocks shown commented out (`  # name:` …) are uncommented and validated."""
    lines = EXAMPLE.read_text().splitlines()
    uncommented = [_COMMENTED_YAML.sub(r"\1\2", line) for line in lines]
    document = yaml.safe_load("\n".join(uncommented))
    assert len(document["mounts"]) > len(yaml.safe_load(EXAMPLE.read_text())["mounts"])
    target = tmp_path / "all.yaml"
    target.write_text(yaml.safe_dump(document))
    variables = {name: "example" for name in re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", EXAMPLE.read_text())}
    profile = load_profile(target, environ={**variables, "HOME": str(tmp_path)})
    assert len(profile.mounts) >= len(document["mounts"])
