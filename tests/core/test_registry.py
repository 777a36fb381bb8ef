"""Importing client libraries: a missing one is exit 7, an optional one can be kept out."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from genrostore.core.errors import MissingExtra
from genrostore.core.registry import require


def test_a_missing_client_library_names_the_extra_to_install() -> None:
    with pytest.raises(MissingExtra) as caught:
        require("genrostore_no_such_client", "imaginary")
    assert "pip install 'genrostore[imaginary]'" in (caught.value.hint or "")


def test_an_optional_module_is_hidden_from_the_library_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "gs_fake_optional.py").write_text("VALUE = 1\n")
    (tmp_path / "gs_fake_client.py").write_text(
        "try:\n    import gs_fake_optional\nexcept ImportError:\n    gs_fake_optional = None\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("gs_fake_client", "gs_fake_optional"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    client = require("gs_fake_client", "fake", without=("gs_fake_optional",))
    assert client.gs_fake_optional is None  # type: ignore[attr-defined]
    assert "gs_fake_optional" not in sys.modules
    import gs_fake_optional  # type: ignore[import-not-found]  # a later import works as usual

    assert gs_fake_optional.VALUE == 1


def test_an_s3_client_does_not_import_httpx() -> None:
    """aiobotocore would import httpx (~60 ms) for an optional session s3fs never uses."""
    pytest.importorskip("httpx")
    program = (
        "import sys\nfrom genrostore import Storage\n"
        "storage = Storage(mounts=[{'name': 'a', 'type': 's3', 'bucket': 'b', 'endpoint_url': 'http://127.0.0.1:9',"
        " 'access_key': 'k', 'secret_key': 's'}])\n"
        "storage.mount('a').backend.fs\nassert 's3fs' in sys.modules\nprint('httpx' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
