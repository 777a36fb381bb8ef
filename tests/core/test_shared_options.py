"""Options many backends share are declared once (core/options.py); defaults live only in the schema."""

from __future__ import annotations

import inspect
import re

from genrostore.core import options as shared
from genrostore.core.registry import BACKEND_MODULES, backend_class, spec_for

SHARED = {"timeout": shared.TIMEOUT, "verify_ssl": shared.VERIFY_SSL, "username": shared.USERNAME,
          "password": shared.PASSWORD}


def test_a_shared_option_has_one_definition_everywhere() -> None:
    """Same type, secrecy and default wherever it appears; `timeout` and `verify_ssl` also one help text."""
    for name in BACKEND_MODULES:
        spec = spec_for(name)
        for option in spec.options:
            common = SHARED.get(option.name)
            if common is not None:
                assert (option.type, option.secret, option.default) == (common.type, common.secret, common.default), \
                    (name, option.name)
                if option.name in ("timeout", "verify_ssl"):
                    assert option is common, (name, option.name)
            if option.name == "port":
                assert option.type is int and option.default is not None, name


def test_backends_never_restate_a_schema_default() -> None:
    """`options.get("port", 22)` would hide a default the schema does not hold (or disagrees with)."""
    for name in BACKEND_MODULES:
        spec = spec_for(name)
        source = inspect.getsource(inspect.getmodule(backend_class(spec)))  # type: ignore[arg-type]
        for option in spec.all_options:
            if option.default is not None:
                found = re.findall(r"""options\.get\(["']%s["'],""" % re.escape(option.name), source)
                assert not found, f"{name}: options.get({option.name!r}, ...) restates the schema default"
