"""The docs site builds strictly and documents every command, backend and exit code."""

from __future__ import annotations

import html
import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from genrostore.core.errors import EXIT_CODES
from genrostore.core.profile import load_profile
from genrostore.core.registry import BACKEND_MODULES

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def _available_types() -> list[str]:
    """Every type in BACKEND_MODULES whose module exists in this build."""
    found = []
    for name, module in BACKEND_MODULES.items():
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            continue
        found.append(name)
    return found


def _text(page: Path) -> str:
    """The visible text of a built page's article."""
    source = page.read_text(encoding="utf-8")
    article = source[source.find("<article"): source.find("</article>")]
    return html.unescape(re.sub(r"<[^>]+>", " ", article))


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-f", str(ROOT / "mkdocs.yml"),
         "-d", str(out)],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
    )
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stdout}\n{result.stderr}"
    return out


def test_every_command_has_a_section_with_its_options(site: Path) -> None:
    from typer.main import get_command

    from genrostore.cli.app import app

    page = (site / "commands" / "index.html").read_text(encoding="utf-8")
    text = _text(site / "commands" / "index.html")
    for name, command in get_command(app).commands.items():
        assert f'id="{name}"' in page, f"no section for command {name}"
        for param in command.params:
            names = [param.name.upper()] if param.param_type_name == "argument" else [*param.opts,
                                                                                      *param.secondary_opts]
            for flag in names:
                assert re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", text), f"{name}: {flag} missing"


def test_every_global_option_is_documented(site: Path) -> None:
    text = _text(site / "commands" / "index.html")
    for flag in ("--profile", "--debug", "--quiet", "--retries", "--timeout", "--version",
                 "--install-completion", "--show-completion"):
        assert flag in text


def test_every_available_backend_has_a_page_with_its_generated_options(site: Path) -> None:
    from genrostore.core.registry import spec_for

    for name in _available_types():
        page = site / "backends" / name / "index.html"
        assert page.exists(), f"no page for backend {name}"
        text = _text(page)
        for option in spec_for(name).all_options:
            assert f"GENROSTORE_MOUNT_<NAME>_{option.name.upper()}" in text, f"{name}: option {option.name}"


def test_every_available_backend_is_listed_in_the_overview(site: Path) -> None:
    text = _text(site / "backends" / "index.html")
    for name in _available_types():
        assert re.search(rf"\b{name}\b", text), name


def test_every_backend_type_has_hand_written_prose() -> None:
    missing = [name for name in BACKEND_MODULES if not (DOCS / "backends" / f"{name}.md").exists()]
    assert not missing, f"write docs/backends/<type>.md for: {missing}"


def test_backend_prose_covers_auth_example_limits_and_fsspec() -> None:
    for name in BACKEND_MODULES:
        prose = (DOCS / "backends" / f"{name}.md").read_text(encoding="utf-8")
        for heading in ("## Authentication", "## Example", "## Limitations", "## How it maps to fsspec",
                        "<!-- gen:options -->", "<!-- gen:facts -->"):
            assert heading in prose, f"backends/{name}.md lacks {heading!r}"


def test_every_exit_code_is_documented(site: Path) -> None:
    text = _text(site / "exit-codes" / "index.html")
    for code, meaning in EXIT_CODES.items():
        assert re.search(rf"\b{code}\b", text), code
        assert " ".join(meaning.split()) in " ".join(text.split()), meaning


def test_api_reference_lists_the_node_methods(site: Path) -> None:
    text = _text(site / "api" / "index.html")
    for name in ("from_profile", "node", "read", "read_bytes", "write", "open", "copy_to", "md5", "fullpath",
                 "exists", "is_file", "is_dir", "size", "mtime", "list", "mkdir", "delete"):
        assert re.search(rf"\.{name}\b", text), name


def _yaml_profiles() -> list[tuple[str, str]]:
    blocks = []
    for page in sorted(DOCS.rglob("*.md")):
        for block in re.findall(r"```yaml\n(.*?)```", page.read_text(encoding="utf-8"), re.DOTALL):
            if re.match(r"(mounts:|- name:)", block):
                blocks.append((str(page.relative_to(DOCS)), block))
    return blocks


@pytest.mark.parametrize(("page", "block"), _yaml_profiles())
def test_profile_examples_are_valid_for_the_backends_of_this_build(page: str, block: str, tmp_path: Path) -> None:
    document = yaml.safe_load(block)
    items = document["mounts"].items() if isinstance(document, dict) else [(m["name"], m) for m in document]
    available = set(_available_types())
    # A relative mount (`path: 'mount:dir'`) has no type; genro-storage's lists say `protocol`.
    kept = {name: options for name, options in items
            if options.get("type", options.get("protocol")) in available | {None}}
    profile = tmp_path / "mounts.yaml"
    profile.write_text(yaml.safe_dump({"mounts": kept}), encoding="utf-8")
    variables = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", block))
    loaded = load_profile(profile, environ={v: "value" for v in variables})
    assert set(kept) <= set(loaded.mounts)
    assert [str(loaded.mounts[name].error) for name in kept if loaded.mounts[name].error is not None] == []


def test_api_page_example_runs() -> None:
    page = (DOCS / "api.md").read_text(encoding="utf-8")
    example = next(b for b in re.findall(r"```python\n(.*?)```", page, re.DOTALL) if "Storage(mounts=" in b)
    exec(compile(example, "docs/api.md", "exec"), {})


def test_getting_started_inline_data_example_prints_hello_world() -> None:
    assert "genrostore cat data:SGVsbG8gV29ybGQ=\nHello World" in (DOCS / "getting-started.md").read_text()
    result = subprocess.run([sys.executable, "-m", "genrostore", "cat", "data:SGVsbG8gV29ybGQ="],
                            capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout) == (0, "Hello World")
