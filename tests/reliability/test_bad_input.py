"""Hostile input never produces a traceback or a hang: the path parser, the profile loader and the
base64 decoder answer anything with a value or a project error carrying its exit code."""

from __future__ import annotations

import base64
import os
import signal
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genrostore import Storage
from genrostore.backends.base64 import decode, encode
from genrostore.core import errors
from genrostore.core.errors import ConfigError, GenrostoreError, UsageError
from genrostore.core.paths import join, normalize, parse_address
from genrostore.core.profile import load_profile
from tests.reliability.conftest import Cli, write_profile

FUZZ = settings(max_examples=150, deadline=2000, suppress_health_check=[HealthCheck.too_slow])

# Characters that matter to a path parser, mixed with anything unicode.
PATH_ALPHABET = st.one_of(
    st.sampled_from(list("/\\.:%2e~*?[]-_ \t\n\x00")),
    st.sampled_from(["..", "%2e%2e", "../", "..\\", "//", "s3:", "mem:", "data:", "file://", "http://"]),
    st.characters(),
)
path_text = st.lists(PATH_ALPHABET, max_size=30).map("".join)


# -- the path parser ------------------------------------------------------------------------------
@FUZZ
@given(path_text)
def test_normalize_returns_a_jailed_path_or_a_usage_error(text: str) -> None:
    try:
        result = normalize(text)
    except UsageError:
        return
    segments = result.split("/")
    assert ".." not in segments and "." not in segments
    assert not result.startswith("/") and (result == "" or "" not in segments)


@FUZZ
@given(st.lists(path_text, min_size=1, max_size=4))
def test_joining_names_never_climbs_above_the_base(names: list[str]) -> None:
    try:
        result = join("base/dir", *names)
    except UsageError:
        return
    assert ".." not in result.split("/")


@FUZZ
@given(path_text)
def test_every_address_resolves_to_a_jailed_node_or_a_project_error(text: str) -> None:
    storage = Storage(mounts=[{"name": "m", "type": "memory"}])
    try:
        parse_address(text)
        node = storage.node(text)
    except GenrostoreError as exc:
        assert exc.exit_code in (errors.USAGE, errors.CONFIG, errors.NOT_PERMITTED)
        return
    if node.mount.spec.type not in ("base64", "stdio"):
        assert ".." not in node.path.split("/") and not node.path.startswith("/")


@FUZZ
@given(path_text)
def test_a_mount_path_stays_inside_a_local_mount(text: str) -> None:
    root = Path(tempfile.gettempdir()) / "genrostore-jail-fuzz" / "root"
    storage = Storage(mounts=[{"name": "j", "type": "local", "path": str(root)}])
    try:
        node = storage.node(f"j:{text}")
        full = node.mount.backend.local_path(node.path)  # type: ignore[attr-defined]
    except GenrostoreError:
        return
    assert full is not None
    assert os.path.normpath(full) == str(root) or os.path.normpath(full).startswith(str(root) + os.sep)


# -- the profile loader ---------------------------------------------------------------------------
@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Turn a hang into a failure: SIGALRM interrupts the Python code running in this thread."""
    def expire(signum: int, frame: object) -> None:
        raise AssertionError(f"still running after {seconds} s: a hang")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _load(text: str | bytes, seconds: float = 5) -> None:
    """Load a profile from text: it must either load or raise ConfigError (exit 7), quickly."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "mounts.yaml"
        path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass"))
        path.chmod(0o600)
        with deadline(seconds):
            try:
                load_profile(path, environ={"HOME": directory})
            except ConfigError:
                pass


yaml_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=50),
                         st.integers(min_value=10**30, max_value=10**40), st.binary(max_size=20))
yaml_values = st.recursive(yaml_scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                                  st.dictionaries(st.text(max_size=10), inner, max_size=4)),
                           max_leaves=12)
option_names = st.sampled_from(["type", "path", "readonly", "bucket", "host", "port", "password", "url",
                                "base_url", "timeout", "prefix", "name", "protocol", "file", "mode"])
backend_types = st.sampled_from(["local", "memory", "base64", "s3", "sftp", "zip", "tar", "git", "github",
                                 "gcs", "azure", "nosuch", ""])


@FUZZ
@given(st.text(max_size=300))
def test_any_text_as_a_profile_loads_or_exits_7(text: str) -> None:
    _load(text)


@FUZZ
@given(st.binary(max_size=200))
def test_any_bytes_as_a_profile_load_or_exit_7(data: bytes) -> None:
    _load(data)


@FUZZ
@given(st.dictionaries(st.text(max_size=12), st.dictionaries(option_names, yaml_values, max_size=5), max_size=3),
       backend_types)
def test_wrong_types_and_huge_values_in_mounts_load_or_exit_7(mounts: dict[str, Any], kind: str) -> None:
    for options in mounts.values():
        options.setdefault("type", kind)
    _load(yaml.safe_dump({"mounts": mounts}, allow_unicode=True))


@FUZZ
@given(yaml_values)
def test_any_yaml_document_loads_or_exits_7(document: Any) -> None:
    _load(yaml.safe_dump(document, allow_unicode=True))


def _alias_bomb(indent: str, levels: int = 9, width: int = 10, mapping: bool = True) -> str:
    """The "billion laughs": each level refers to the previous one `width` times (10**9 leaves)."""
    lines = ["l0: &l0 {x: lol}" if mapping else "l0: &l0 [lol]"]
    for level in range(1, levels + 1):
        refs = ", ".join(f"k{i}: *l{level - 1}" if mapping else f"*l{level - 1}" for i in range(width))
        lines.append(f"l{level}: &l{level} {{{refs}}}" if mapping else f"l{level}: &l{level} [{refs}]")
    return "".join(f"{indent}{line}\n" for line in lines)




@pytest.mark.parametrize("mapping", [True, False], ids=["mappings", "lists"])
def test_a_yaml_alias_bomb_beside_the_mounts_exits_7_quickly(mapping: bool) -> None:
    _load("anchors:\n" + _alias_bomb("  ", mapping=mapping) + "mounts: {}\n")


def test_a_yaml_alias_bomb_of_lists_inside_a_mount_exits_7_quickly() -> None:
    _load("mounts:\n  w:\n    type: local\n    path: /tmp\n    bomb:\n" + _alias_bomb("      ", mapping=False))


def test_a_yaml_alias_bomb_of_mappings_inside_a_mount_exits_7_quickly() -> None:
    _load("mounts:\n  w:\n    type: local\n    path: /tmp\n    bomb:\n" + _alias_bomb("      ", mapping=True))


def test_deeply_nested_yaml_exits_7() -> None:
    _load("mounts: " + "[" * 50_000 + "]" * 50_000 + "\n")


def test_a_huge_profile_exits_7() -> None:
    _load("# " + "x" * (2 * 1024 * 1024) + "\n")


# -- the base64 decoder ------------------------------------------------------------------------------
B64_ALPHABET = st.sampled_from(list("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_= \n\t,;:"))


@FUZZ
@given(st.one_of(st.text(max_size=200), st.lists(B64_ALPHABET, max_size=200).map("".join),
                 st.text(max_size=80).map(lambda t: "data:text/plain;base64," + t)))
def test_base64_decoding_returns_bytes_or_a_usage_error(text: str) -> None:
    try:
        assert isinstance(decode(text), bytes)
    except UsageError as exc:
        assert exc.exit_code == errors.USAGE


@FUZZ
@given(st.binary(max_size=300))
def test_base64_round_trips_in_both_alphabets(data: bytes) -> None:
    assert decode(encode(data)) == data
    assert decode(base64.urlsafe_b64encode(data).decode().rstrip("=")) == data


# -- the same through the command line -----------------------------------------------------------------
@pytest.mark.parametrize("address,code", [
    ("data:!!not base64!!", errors.USAGE),
    ("data:QQ", errors.OK),
    ("data:Q", errors.USAGE),
    ("mem:../../etc/passwd", errors.USAGE),
    ("home:%2e%2e/%2e%2e/etc/passwd", errors.FILE_NOT_FOUND),
    ("nosuchmount:x", errors.USAGE),
    ("weird-scheme://host/x", errors.USAGE),
    ("home:" + "a/" * 3000 + "x", errors.ERROR),
    ("home:" + "x" * 300, errors.ERROR),
    ("home:\u202e\ufeff\u65e5.txt", errors.FILE_NOT_FOUND),
], ids=["bad-alphabet", "short", "truncated", "dotdot", "encoded-dotdot", "unknown-mount", "unknown-scheme",
        "too-long-path", "too-long-name", "unicode"])
def test_cli_answers_hostile_addresses_with_their_exit_code(cli: Cli, address: str, code: int) -> None:
    cli("cat", address, timeout=30).expect(code)


def test_cli_b64_decode_of_garbage_exits_2(cli: Cli) -> None:
    (cli.home / "garbage.txt").write_bytes(b"this is *not* base64 \xff\xfe")
    cli("b64", "-d", "home:garbage.txt", timeout=30).expect(errors.USAGE)


@pytest.mark.parametrize("text", [
    "mounts: [unclosed",
    "mounts:\n  w:\n    type: [local]\n",
    "mounts:\n  w:\n    type: local\n    path: /tmp\n    readonly: 'maybe'\n",
    "mounts:\n  'bad name!':\n    type: memory\n",
    "- 1\n- 2\n",
    "mounts: 42\n",
    "\ufeffmounts:\n  w: {type: local, path: ${NOPE_NOT_SET}}\n",
    "mounts:\n  w:\n    type: local\n    path: relative/dir\n",
])
def test_cli_reports_a_bad_profile_with_exit_7(cli: Cli, tmp_path: Path, text: str) -> None:
    profile = tmp_path / "bad.yaml"
    profile.write_text(text)
    profile.chmod(0o600)
    result = cli("ls", "w:", profile=profile, timeout=30).expect(errors.CONFIG)
    assert "genrostore:" in result.err


def test_cli_alias_bomb_profile_exits_7_within_seconds(cli: Cli, tmp_path: Path) -> None:
    profile = tmp_path / "bomb.yaml"
    profile.write_text("mounts:\n  w:\n    type: local\n    path: /tmp\n    bomb:\n" + _alias_bomb("      "))
    profile.chmod(0o600)
    cli("ls", "w:", profile=profile, timeout=8).expect(errors.CONFIG)


def test_cli_profile_with_wrong_option_type_names_file_and_line(cli: Cli, tmp_path: Path) -> None:
    profile = write_profile(tmp_path, {"w": {"type": "local", "path": str(tmp_path), "readonly": [1, 2]}})
    result = cli("ls", "w:", profile=profile, timeout=30).expect(errors.CONFIG)
    assert str(profile) in result.err and "readonly" in result.err


def test_a_huge_line_in_a_from_list_on_stdin_is_refused_with_little_memory_and_a_short_error(
    cli: Cli,
) -> None:
    """A 128 MiB line (a binary file or /dev/zero given as the list) is refused at the 64 KiB
    line limit: exit 2, a message quoting a short prefix only, and a small peak RSS."""
    import threading

    from tests.memory import PeakWatcher

    (cli.home / "src").mkdir()
    (cli.home / "src" / "a.txt").write_text("a")
    proc = cli.popen("cp", "--from-list", "-", "home:src", "home:out/")
    watcher = PeakWatcher(proc)

    def feed() -> None:
        assert proc.stdin is not None
        try:
            proc.stdin.write(b"a.txt\n")
            block = b"x" * (1024 * 1024)
            for _ in range(128):
                proc.stdin.write(block)
            proc.stdin.write(b"\n")
            proc.stdin.close()
        except (BrokenPipeError, OSError):
            pass  # refused early: the rest of the line was never read

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    assert proc.stderr is not None
    stderr = proc.stderr.read()
    code = watcher.wait()
    feeder.join(timeout=10)
    assert code == errors.USAGE, stderr[:500]
    assert b"line 2 is longer than 64 KiB" in stderr
    assert len(stderr) < 1024, f"{len(stderr)} bytes on stderr"
    assert watcher.peak < 100 * 1024 * 1024, f"peak RSS {watcher.peak / 2**20:.0f} MiB"
