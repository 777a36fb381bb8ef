"""Every capability some backend declares in `features` is exercised by a conformance test.

Adding `Features(foo=True)` to a backend without a test marked `@exercises("foo")` fails here.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil

import tests.conformance
from genrostore.core import relative, stdio
from genrostore.core.backend import Backend, Features
from genrostore.core.registry import BACKEND_MODULES, backend_class, spec_for
from tests.cases._base import EXERCISED


def _backend_classes() -> dict[str, type[Backend]]:
    classes = {name: backend_class(spec_for(name)) for name in BACKEND_MODULES}
    classes.update(stdio=backend_class(stdio.SPEC), relative=backend_class(relative.SPEC))
    return classes


def _declared() -> dict[str, list[str]]:
    """capability -> the backends declaring it (a field True on their class)."""
    found: dict[str, list[str]] = {}
    for name, cls in _backend_classes().items():
        for field in dataclasses.fields(Features):
            if getattr(cls.features, field.name) is True:
                found.setdefault(field.name, []).append(name)
    return found


def _load_conformance_tests() -> None:
    for module in pkgutil.iter_modules(tests.conformance.__path__):
        if module.name.startswith("test_"):
            importlib.import_module(f"tests.conformance.{module.name}")


def test_every_declared_capability_has_a_conformance_test() -> None:
    _load_conformance_tests()
    missing = {cap: backends for cap, backends in _declared().items() if not EXERCISED.get(cap)}
    assert not missing, f"capabilities declared with no conformance test (@exercises): {missing}"


def test_every_registered_test_exists() -> None:
    _load_conformance_tests()
    for capability, names in EXERCISED.items():
        for name in names:
            module, _, function = name.partition("::")
            assert callable(getattr(importlib.import_module(module), function, None)), (capability, name)


def test_the_declaration_is_frozen() -> None:
    import pytest

    with pytest.raises(dataclasses.FrozenInstanceError):
        Features().server_copy = True  # type: ignore[misc]
