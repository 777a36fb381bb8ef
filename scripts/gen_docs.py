"""Generated documentation: a mkdocs hook, and the writer of the committed completion scripts.

As a hook (mkdocs.yml `hooks:`) it derives, at build time, from the one record each lives in:
the backend pages' facts and option tables (each backend's SPEC), the command reference (the
Typer app), the exit-code table (errors.EXIT_CODES) and the Python API (Storage/Node docstrings).
Hand-written pages hold markers (`<!-- gen:options -->`, ...) where generated text goes.

Run as a script it regenerates completions/:  python scripts/gen_docs.py --completions
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from genrostore.core.registry import BACKEND_MODULES, backend_class  # noqa: E402 - after the sys.path line above
from genrostore.core.schema import COMMON_OPTIONS, BackendSpec, Option  # noqa: E402 - after the sys.path line above

# Pages other issues write; they join the nav once they exist.
OPTIONAL_PAGES = ("benchmarks.md", "reliability.md")
MARKER = re.compile(r"<!-- gen:([a-z-]+)(?: ([A-Za-z_.]+))? -->")


# -- backends ----------------------------------------------------------------------------------
def available_specs() -> dict[str, BackendSpec]:
    """Every backend type whose module imports, in BACKEND_MODULES order."""
    specs: dict[str, BackendSpec] = {}
    for name, module in BACKEND_MODULES.items():
        try:
            specs[name] = importlib.import_module(module).SPEC
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
    return specs


def _cell(text: str) -> str:
    """One table cell: one line; a `|` inside a code span becomes an entity in <code>."""
    text = re.sub(r"`([^`]*\|[^`]*)`", lambda m: f"<code>{m.group(1).replace('|', '&#124;')}</code>",
                  " ".join(str(text).split()))
    return text.replace("|", "\\|")


def _default(option: Option) -> str:
    if option.default is None:
        return ""
    if isinstance(option.default, bool):
        return f"`{str(option.default).lower()}`"
    return f"`{option.default}`"


def _type_name(option: Option) -> str:
    if option.choices:
        return " \\| ".join(f"`{c}`" for c in option.choices)
    return {str: "string", int: "integer", float: "number", bool: "boolean", dict: "mapping"}.get(
        option.type, option.type.__name__)


def options_table(spec: BackendSpec) -> str:
    """The option table of one backend, straight from its SPEC (COMMON_OPTIONS included)."""
    rows = ["| Option | Type | Required | Default | Environment variable | Description |",
            "|---|---|---|---|---|---|"]
    for option in spec.all_options:
        name = f"`{option.name}`"
        if option.aliases:
            name += " (alias " + ", ".join(f"`{a}`" for a in option.aliases) + ")"
        description = option.help + (" **Secret**: shown as `***`, never logged." if option.secret else "")
        if option in COMMON_OPTIONS:
            description += " (every backend)"
        env = f"`GENROSTORE_MOUNT_<NAME>_{option.name.upper()}`"
        rows.append(f"| {name} | {_type_name(option)} | {'yes' if option.required else 'no'} | "
                    f"{_default(option)} | {env} | {_cell(description)} |")
    return "\n".join(rows)


def backend_facts(spec: BackendSpec) -> str:
    """Summary, install command, URL schemes, type aliases and notes of one backend."""
    lines = [f"*{spec.summary}*", ""]
    install = f"pip install 'genrostore[{spec.extra}]'" if spec.extra else "pip install genrostore"
    lines.append(f"- **Install:** `{install}`" + ("" if spec.extra else " (part of the core)"))
    lines.append(f"- **Profile type:** `{spec.type}`" + "".join(f", `{a}`" for a in spec.aliases))
    if spec.schemes:
        lines.append("- **URLs without a profile:** " + ", ".join(f"`{s}://...`" for s in spec.schemes))
    lines.append("- **Writes:** " + ("no, read-only by design (exit 6)" if backend_class(spec).features.read_only else "yes"))
    if spec.notes:
        # Notes are plain text: `<OPTION>` must not be read as an HTML tag.
        note = " ".join(spec.notes.split()).replace("<", "&lt;").replace(">", "&gt;")
        lines += ["", "!!! note", "    " + note]
    return "\n".join(lines)


def backend_page(spec: BackendSpec) -> str:
    """The page of a backend that has no hand-written prose yet."""
    return "\n".join([f"# {spec.type}", "", "<!-- gen:facts -->", "", "## Options", "",
                      "<!-- gen:options -->", ""])


def backends_index(specs: dict[str, BackendSpec]) -> str:
    rows = ["| Type | What it is | Extra | URLs |", "|---|---|---|---|"]
    for name, spec in specs.items():
        schemes = ", ".join(f"`{s}://`" for s in spec.schemes)
        extra = f"`[{spec.extra}]`" if spec.extra else "core"
        rows.append(f"| [{name}]({name}.md) | {_cell(spec.summary)} | {extra} | {schemes} |")
    return "\n".join(rows)


# -- commands ----------------------------------------------------------------------------------
def _click_command() -> Any:
    from typer.main import get_command

    from genrostore.cli.app import app

    return get_command(app)


def _usage(name: str, command: Any) -> str:
    words = ["genrostore", name, "[OPTIONS]"]
    for param in command.params:
        if param.param_type_name == "argument":
            word = param.name.upper() + ("..." if param.nargs == -1 else "")
            words.append(word if param.required else f"[{word}]")
    return " ".join(words)


def _options_list(command: Any, ctx: Any) -> list[str]:
    lines = []
    for param in command.params:
        record = param.get_help_record(ctx)
        if param.param_type_name == "argument":
            help_text = getattr(param, "help", "") or ""
            lines.append(f"- `{param.name.upper()}` — {_cell(help_text)}")
        elif record is not None:
            lines.append(f"- `{record[0]}` — {_cell(record[1])}")
    return lines


def _split_help(text: str) -> tuple[str, list[str]]:
    """A command docstring is its description, then `Examples: a · b · c`."""
    body, _, examples = (text or "").partition("Examples:")
    return body.strip(), [e.strip() for e in " ".join(examples.split()).split(" · ") if e.strip()]


def command_reference() -> str:
    """Global options, then every command: usage, description, options, examples."""
    from typer import _click as click

    root = _click_command()
    root_ctx = click.Context(root, info_name="genrostore")
    out = ["## Global options", "", "Given before the command: `genrostore [GLOBAL OPTIONS] COMMAND ...`.", ""]
    out += _options_list(root, root_ctx)
    for name in root.list_commands(root_ctx):
        command = root.commands[name]
        ctx = click.Context(command, info_name=name, parent=root_ctx)
        description, examples = _split_help(command.help or "")
        out += ["", f"## {name}", "", "```", _usage(name, command), "```", "", description, ""]
        out += _options_list(command, ctx)
        if examples:
            out += ["", "Examples:", "", "```sh"] + [f"$ {e}" for e in examples] + ["```"]
    return "\n".join(out)


# -- exit codes and API ------------------------------------------------------------------------
def exit_code_table() -> str:
    """errors.EXIT_CODES, with the exception classes that carry each code."""
    from genrostore.core import errors

    classes: dict[int, list[str]] = {}
    for cls in _subclasses(errors.GenrostoreError):
        classes.setdefault(cls.exit_code, []).append(cls.__name__)
    rows = ["| Code | Meaning | Python exception |", "|---|---|---|"]
    for code, meaning in errors.EXIT_CODES.items():
        names = ", ".join(f"`{n}`" for n in classes.get(code, []))
        rows.append(f"| **{code}** | {_cell(meaning)} | {names} |")
    for code, names in classes.items():
        if code not in errors.EXIT_CODES:
            doc = inspect.getdoc(getattr(errors, names[0])) or ""
            rows.append(f"| {code} | {_cell(doc)} | {', '.join(f'`{n}`' for n in names)} |")
    return "\n".join(rows)


def _subclasses(cls: type) -> list[type]:
    found = [cls]
    for sub in cls.__subclasses__():
        found += _subclasses(sub)
    return found


def api_reference(dotted: str) -> str:
    """Signature and docstring of a class and its public members, e.g. `genrostore.Storage`."""
    module_name, _, name = dotted.rpartition(".")
    cls = getattr(importlib.import_module(module_name), name)
    out = [f"### `{name}{_signature(cls.__init__, drop_self=True)}`", "", inspect.getdoc(cls) or "", ""]
    for member_name, member in cls.__dict__.items():
        if member_name.startswith("_"):
            continue
        if isinstance(member, property):
            doc = inspect.getdoc(member) or ""
            out.append(f"- `{name.lower()}.{member_name}` (property) — {_cell(doc)}")
        elif isinstance(member, classmethod):
            out.append(f"- `{name}.{member_name}{_signature(member.__func__, drop_self=True)}` — "
                       f"{_cell(inspect.getdoc(member.__func__) or '')}")
        elif inspect.isfunction(member):
            out.append(f"- `{name.lower()}.{member_name}{_signature(member, drop_self=True)}` — "
                       f"{_cell(inspect.getdoc(member) or '')}")
    return "\n".join(out)


def _signature(func: Any, *, drop_self: bool) -> str:
    signature = inspect.signature(func)
    params = list(signature.parameters.values())[1 if drop_self else 0:]
    return str(signature.replace(parameters=params, return_annotation=inspect.Signature.empty))


# -- mkdocs hook -------------------------------------------------------------------------------
def _generated(kind: str, argument: str | None, page_type: str | None, specs: dict[str, BackendSpec]) -> str:
    if kind in ("options", "facts"):
        spec = specs[argument or page_type or ""]
        return options_table(spec) if kind == "options" else backend_facts(spec)
    if kind == "backends":
        return backends_index(specs)
    if kind == "commands":
        return command_reference()
    if kind == "exit-codes":
        return exit_code_table()
    if kind == "api":
        return api_reference(argument or "")
    raise ValueError(f"unknown generated block <!-- gen:{kind} -->")


def on_config(config: Any) -> Any:
    """Expand the Backends section to the available backends; drop optional pages not yet written."""
    docs = Path(config["docs_dir"])
    specs = available_specs()
    nav = []
    for item in config["nav"]:
        value = next(iter(item.values())) if isinstance(item, dict) else item
        if value in OPTIONAL_PAGES and not (docs / value).exists():
            continue
        if value == "backends/index.md":
            item = {"Backends": [{"Overview": "backends/index.md"}]
                    + [{name: f"backends/{name}.md"} for name in specs]}
        nav.append(item)
    config["nav"] = nav
    return config


def on_files(files: Any, config: Any) -> Any:
    """Prose pages of backends not in this build are left out; backends without prose get a page."""
    from mkdocs.structure.files import File

    specs = available_specs()
    for name in BACKEND_MODULES:
        path = f"backends/{name}.md"
        existing = files.get_file_from_path(path)
        if name not in specs and existing is not None:
            files.remove(existing)
        elif name in specs and existing is None:
            files.append(File.generated(config, path, content=backend_page(specs[name])))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    specs = available_specs()
    match = re.fullmatch(r"backends/([a-z0-9]+)\.md", page.file.src_uri)
    page_type = match.group(1) if match else None
    return MARKER.sub(lambda m: _generated(m.group(1), m.group(2), page_type, specs), markdown)


# -- script ------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--completions", action="store_true", help="rewrite completions/ from the app")
    args = parser.parse_args(argv)
    if not args.completions:
        parser.error("nothing to do: the docs are generated by `mkdocs build`; pass --completions")
    from genrostore.cli.complete import write_scripts

    for path in write_scripts(ROOT / "completions"):
        print(path.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
