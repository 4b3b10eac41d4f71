"""The public surface: ``__all__`` is exactly what the package defines, documented and re-homed."""

from __future__ import annotations
import __future__

import importlib
import inspect
import types

import pytest

import resiliency
import resiliency.testing
from resiliency import ResiliencyError

PUBLIC_MODULES = [
    "resiliency",
    "resiliency.testing",
    "resiliency.stores",
    "resiliency.stores.memory",
    "resiliency.stores.redis",
]


def public_names(module: types.ModuleType) -> set[str]:
    """The names a module defines without an underscore, minus submodules.

    A ``from __future__ import`` leaves a feature object behind (``annotations``); it
    is a compiler directive, not an API, so it does not count.
    """
    return {
        name
        for name in dir(module)
        if not name.startswith("_")
        and not inspect.ismodule(getattr(module, name))
        and not isinstance(getattr(module, name), __future__._Feature)
    }


@pytest.fixture(params=PUBLIC_MODULES)
def module(request: pytest.FixtureRequest) -> types.ModuleType:
    return importlib.import_module(request.param)


def test_all_is_exactly_the_public_names(module: types.ModuleType) -> None:
    assert sorted(module.__all__) == sorted(public_names(module))
    assert len(module.__all__) == len(set(module.__all__))


def test_all_is_sorted(module: types.ModuleType) -> None:
    assert module.__all__ == sorted(module.__all__)


def test_every_name_in_all_exists(module: types.ModuleType) -> None:
    for name in module.__all__:
        assert hasattr(module, name), name


def test_every_public_class_and_function_has_a_docstring(module: types.ModuleType) -> None:
    undocumented = [
        name
        for name in module.__all__
        if (inspect.isclass(obj := getattr(module, name)) or inspect.isfunction(obj)) and not inspect.getdoc(obj)
    ]
    assert undocumented == []


def test_public_objects_have_a_docstring(module: types.ModuleType) -> None:
    # instances such as ``resiliency.registry`` are documented by their class
    undocumented = [name for name in module.__all__ if not inspect.getdoc(getattr(module, name))]
    assert undocumented == []


@pytest.mark.parametrize(
    "module_name",
    ["resiliency", "resiliency.testing"],
)
def test_classes_and_functions_name_the_public_module(module_name: str) -> None:
    module = importlib.import_module(module_name)
    misplaced = {
        name: obj.__module__
        for name in module.__all__
        if (inspect.isclass(obj := getattr(module, name)) or inspect.isfunction(obj))
        and obj.__module__ != module.__name__
    }
    assert misplaced == {}


def test_error_codes_are_distinct() -> None:
    errors = [
        obj
        for module_name in PUBLIC_MODULES
        for name in importlib.import_module(module_name).__all__
        if inspect.isclass(obj := getattr(importlib.import_module(module_name), name))
        and issubclass(obj, ResiliencyError)
    ]
    assert ResiliencyError in errors
    codes = {cls: cls.code for cls in errors}
    assert all(isinstance(code, str) and code.isupper() for code in codes.values())
    assert len(set(codes.values())) == len(codes), codes
    for cls in errors:
        assert "code" in vars(cls), f"{cls.__name__} inherits its code"


def test_version() -> None:
    assert isinstance(resiliency.__version__, str)
    assert resiliency.__version__.count(".") >= 2


def test_registry_is_the_default_registry_instance() -> None:
    assert isinstance(resiliency.registry, resiliency.Registry)


def test_star_import_gives_exactly_all() -> None:
    namespace: dict[str, object] = {}
    exec("from resiliency import *", namespace)
    namespace.pop("__builtins__")
    assert set(namespace) == set(resiliency.__all__)


def test_import_pulls_in_no_extra() -> None:
    import subprocess
    import sys

    code = (
        "import sys, resiliency, resiliency.testing; "
        "bad = [m for m in ('redis', 'opentelemetry', 'prometheus_client', 'httpx', 'rich', 'freezegun', "
        "'starlette', 'resiliency.contrib', 'dns') "
        "if m in sys.modules]; print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=30)
    assert out.stdout.strip() == "[]"
