"""Every decoration target x sync and async: behaviour, metadata, signature, fused stacks."""

from __future__ import annotations

import functools
import inspect
import pickle
import traceback
from collections import Counter
from collections.abc import Callable
from typing import Any

import anyio
import pytest

from resiliency import fallback, remaining, retry, timeout
from resiliency.testing import FakeClock, describe

CALLS: Counter[str] = Counter()
ORIGINALS: dict[str, Callable[..., Any]] = {}
SIGNATURE = "(x: 'int', *, y: 'int' = 1) -> 'int'"


@pytest.fixture(autouse=True)
def _reset_calls() -> None:
    CALLS.clear()


def keep(fn: Any) -> Any:
    """Remember the undecorated function, by qualified name, and return it as it is."""
    ORIGINALS[fn.__qualname__] = fn
    return fn


def flaky(name: str, value: int) -> int:
    """Fail the first call made under ``name``, then answer ``value``."""
    CALLS[name] += 1
    if CALLS[name] == 1:
        raise ConnectionError(name)
    return value


async def aflaky(name: str, value: int) -> int:
    await anyio.sleep(0)
    return flaky(name, value)


def once() -> Callable[[Any], Any]:
    """The decorator under test: one retry, no delay."""
    return retry(max_attempts=2, backoff="none")


# -- the targets, sync ------------------------------------------------------------------


@once()
@keep
def function(x: int, *, y: int = 1) -> int:
    """Function doc."""
    return flaky("function", x + y)


@once()
@keep
async def afunction(x: int, *, y: int = 1) -> int:
    """Async function doc."""
    return await aflaky("afunction", x + y)


class Service:
    """A class with every kind of method, sync and async."""

    factor = 10

    @once()
    @keep
    def method(self, x: int, *, y: int = 1) -> int:
        """Method doc."""
        return flaky("method", (x + y) * self.factor)

    @once()
    @keep
    async def amethod(self, x: int, *, y: int = 1) -> int:
        """Async method doc."""
        return await aflaky("amethod", (x + y) * self.factor)

    @once()
    @classmethod
    @keep
    def cmethod(cls, x: int, *, y: int = 1) -> int:
        """Classmethod doc."""
        return flaky("cmethod", (x + y) * cls.factor)

    @once()
    @classmethod
    @keep
    async def acmethod(cls, x: int, *, y: int = 1) -> int:
        """Async classmethod doc."""
        return await aflaky("acmethod", (x + y) * cls.factor)

    @once()
    @staticmethod
    @keep
    def smethod(x: int, *, y: int = 1) -> int:
        """Staticmethod doc."""
        return flaky("smethod", x + y)

    @once()
    @staticmethod
    @keep
    async def asmethod(x: int, *, y: int = 1) -> int:
        """Async staticmethod doc."""
        return await aflaky("asmethod", x + y)


class SubService(Service):
    factor = 100


def make_nested(is_async: bool) -> Any:
    if is_async:

        @once()
        @keep
        async def anested(x: int, *, y: int = 1) -> int:
            """Async nested doc."""
            return await aflaky("anested", x + y)

        return anested

    @once()
    @keep
    def nested(x: int, *, y: int = 1) -> int:
        """Nested doc."""
        return flaky("nested", x + y)

    return nested


class Callable_:
    """A callable object's doc."""

    def __call__(self, x: int, *, y: int = 1) -> int:
        return flaky("callable", x + y)


class AsyncCallable:
    """An async callable object's doc."""

    async def __call__(self, x: int, *, y: int = 1) -> int:
        return await aflaky("acallable", x + y)


@fallback(value=-1)
@once()
@timeout(5.0, mode="cooperative")
@keep
def stacked(x: int, *, y: int = 1) -> int:
    """Stacked doc."""
    assert remaining() is not None
    return flaky("stacked", x + y)


@fallback(value=-1)
@once()
@timeout(5.0)
@keep
async def astacked(x: int, *, y: int = 1) -> int:
    """Async stacked doc."""
    assert remaining() is not None
    return await aflaky("astacked", x + y)


# name -> (sync target, async target, expected value for x=1, y=2, original qualname)
TARGETS: dict[str, tuple[Callable[[], Any], Callable[[], Any], int, str | None]] = {
    "function": (lambda: function, lambda: afunction, 3, ""),
    "method on instance": (lambda: Service().method, lambda: Service().amethod, 30, "Service."),
    "method on subclass instance": (lambda: SubService().method, lambda: SubService().amethod, 300, "Service."),
    "classmethod on class": (lambda: Service.cmethod, lambda: Service.acmethod, 30, "Service."),
    "classmethod on instance": (lambda: Service().cmethod, lambda: Service().acmethod, 30, "Service."),
    "classmethod on subclass": (lambda: SubService.cmethod, lambda: SubService.acmethod, 300, "Service."),
    "staticmethod on class": (lambda: Service.smethod, lambda: Service.asmethod, 3, "Service."),
    "staticmethod on instance": (lambda: Service().smethod, lambda: Service().asmethod, 3, "Service."),
    "nested function": (lambda: make_nested(False), lambda: make_nested(True), 3, "make_nested.<locals>."),
    "callable object": (lambda: once()(Callable_()), lambda: once()(AsyncCallable()), 3, None),
    "stacked decorators": (lambda: stacked, lambda: astacked, 3, ""),
}
BASE_NAMES = {
    "function": "function",
    "method on instance": "method",
    "method on subclass instance": "method",
    "classmethod on class": "cmethod",
    "classmethod on instance": "cmethod",
    "classmethod on subclass": "cmethod",
    "staticmethod on class": "smethod",
    "staticmethod on instance": "smethod",
    "nested function": "nested",
    "callable object": "callable",
    "stacked decorators": "stacked",
}


@pytest.fixture(params=["sync", "async"])
def is_async(request: pytest.FixtureRequest) -> bool:
    return bool(request.param == "async")


def target_of(name: str, is_async: bool) -> tuple[Any, int, str, str | None]:
    sync_target, async_target, expected, prefix = TARGETS[name]
    base = BASE_NAMES[name]
    fn_name = ("a" + base) if is_async else base
    if name == "callable object":
        fn_name = "acallable" if is_async else "callable"
    target = async_target() if is_async else sync_target()
    qualname = None if prefix is None else prefix + fn_name
    return target, expected, fn_name, qualname


def run(target: Any, *args: Any, **kwargs: Any) -> Any:
    if inspect.iscoroutinefunction(target):
        return anyio.run(functools.partial(target, *args, **kwargs))
    return target(*args, **kwargs)


@pytest.mark.parametrize("name", list(TARGETS))
def test_behaviour(name: str, is_async: bool) -> None:
    target, expected, call_name, _ = target_of(name, is_async)
    assert run(target, 1, y=2) == expected
    assert CALLS[call_name] == 2  # failed once, retried once


@pytest.mark.parametrize("name", list(TARGETS))
def test_metadata_is_kept(name: str, is_async: bool) -> None:
    target, _, fn_name, qualname = target_of(name, is_async)
    assert inspect.iscoroutinefunction(target) is is_async
    if qualname is None:  # a callable object: no name of its own, its class's doc
        original = target.__wrapped__
        assert isinstance(original, AsyncCallable if is_async else Callable_)
        assert target.__doc__ == type(original).__doc__
        assert str(inspect.signature(target)) == SIGNATURE
        return
    original = ORIGINALS[qualname]
    assert target.__name__ == fn_name
    assert target.__qualname__ == qualname
    assert target.__doc__ == original.__doc__
    assert target.__doc__ is not None
    unwrapped = inspect.unwrap(target)
    assert getattr(unwrapped, "__func__", unwrapped) is original
    assert str(inspect.signature(target)) == SIGNATURE


@pytest.mark.parametrize("name", [n for n in TARGETS if n not in ("callable object", "stacked decorators")])
def test_describe_finds_the_strategy_through_every_access(name: str, is_async: bool) -> None:
    target, *_ = target_of(name, is_async)
    assert [s.kind for s in describe(target)] == ["retry"]


def test_module_level_decorated_functions_pickle_by_reference() -> None:
    for fn in (function, afunction, stacked, astacked):
        assert pickle.loads(pickle.dumps(fn)) is fn


def test_methods_bind_like_functions() -> None:
    service = Service()
    assert service.method.__self__ is service
    assert Service.method(service, 1, y=2) == 30  # through the class, self passed by hand
    assert str(inspect.signature(Service.method)) == "(self, x: 'int', *, y: 'int' = 1) -> 'int'"
    assert Service.method.__wrapped__ is ORIGINALS["Service.method"]
    assert Service.smethod.__wrapped__ is ORIGINALS["Service.smethod"]


def test_classmethod_descriptor_in_the_class_dict_wraps_the_classmethod() -> None:
    wrapper = Service.__dict__["cmethod"]
    assert isinstance(wrapper.__wrapped__, classmethod)
    assert wrapper.__wrapped__.__func__ is ORIGINALS["Service.cmethod"]


# -- fused stacks -----------------------------------------------------------------------------


def test_a_stack_of_three_is_one_wrapper() -> None:
    assert [s.kind for s in describe(stacked)] == ["fallback", "retry", "timeout"]
    assert stacked.__wrapped__ is ORIGINALS["stacked"]
    assert describe(stacked.__wrapped__) == []
    assert [s.kind for s in describe(astacked)] == ["fallback", "retry", "timeout"]
    assert astacked.__wrapped__ is ORIGINALS["astacked"]


def test_a_stack_costs_one_wrapper_frame() -> None:
    error = KeyError("x")

    def original() -> None:
        raise error

    fn = retry(max_attempts=1)(timeout(5.0, mode="cooperative")(fallback(value=0, on=ValueError)(original)))
    with pytest.raises(KeyError) as excinfo:
        fn()
    frames = [frame.name for frame in traceback.extract_tb(excinfo.value.__traceback__)]
    assert frames.count("wrapper") == 1
    assert frames[-1] == "original"


def test_each_decoration_gives_a_new_pipeline_and_leaves_the_old_one_intact() -> None:
    def original() -> int:
        return 1

    inner = timeout(5.0, mode="cooperative")(original)
    outer = retry(max_attempts=2)(inner)
    assert [s.kind for s in describe(inner)] == ["timeout"]
    assert [s.kind for s in describe(outer)] == ["retry", "timeout"]
    assert outer is not inner
    assert inner() == outer() == 1


def test_stacks_on_classmethods_and_staticmethods_fuse() -> None:
    clock = FakeClock()

    class Repo:
        tries = 0

        @fallback(value="fallback")
        @retry(max_attempts=3, backoff="constant", base_delay=1.0, clock=clock)
        @classmethod
        def load(cls, key: str) -> str:
            """Load doc."""
            cls.tries += 1
            raise ConnectionError(key)

        @retry(max_attempts=2, backoff="none")
        @timeout(5.0, mode="cooperative")
        @staticmethod
        def peek() -> float | None:
            return remaining()

    assert Repo.load("k") == "fallback"
    assert Repo.tries == 3
    assert clock.sleeps == [1.0, 1.0]
    assert [s.kind for s in describe(Repo.load)] == ["fallback", "retry"]
    assert [s.kind for s in describe(Repo().load)] == ["fallback", "retry"]
    assert Repo.load.__doc__ == "Load doc."
    assert str(inspect.signature(Repo.load)) == "(key: 'str') -> 'str'"
    assert [s.kind for s in describe(Repo.peek)] == ["retry", "timeout"]
    left = Repo.peek()
    assert left is not None
    assert 4.9 < left <= 5.0


@pytest.mark.parametrize("is_async_fn", [False, True], ids=["sync", "async"])
def test_users_own_wraps_decorator_in_a_stack_is_not_skipped(is_async_fn: bool) -> None:
    log: list[str] = []

    def traced(fn: Any) -> Any:
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def atraced(*args: Any, **kwargs: Any) -> Any:
                log.append("traced")
                return await fn(*args, **kwargs)

            return atraced

        @functools.wraps(fn)
        def straced(*args: Any, **kwargs: Any) -> Any:
            log.append("traced")
            return fn(*args, **kwargs)

        return straced

    def original() -> float | None:
        CALLS["original"] += 1
        if CALLS["original"] < 3:
            raise ConnectionError
        return remaining()

    async def aoriginal() -> float | None:
        return original()

    inner = timeout(5.0, mode="cooperative")(original) if not is_async_fn else timeout(5.0)(aoriginal)
    middle = traced(inner)
    fn = retry(max_attempts=3, backoff="none")(middle)
    result = run(fn)
    assert log == ["traced"] * 3  # the user's decorator runs on every attempt
    assert result is not None  # and the timeout under it still sets its deadline
    assert fn.__wrapped__ is middle
    assert [s.kind for s in describe(fn)] == ["retry"]
    assert [s.kind for s in describe(inner)] == ["timeout"]


# -- refused targets -----------------------------------------------------------------------------


def gen() -> Any:
    yield 1


async def agen() -> Any:
    yield 1


DECORATORS: dict[str, Callable[[], Callable[[Any], Any]]] = {
    "retry": lambda: retry(max_attempts=2),
    "bare retry": lambda: retry,
    "timeout": lambda: timeout(1.0),
    "bare timeout": lambda: timeout,
    "fallback": lambda: fallback(value=0),
    "bare fallback": lambda: fallback,
}


@pytest.mark.parametrize("decorator", list(DECORATORS))
@pytest.mark.parametrize("generator", [gen, agen], ids=["generator", "async generator"])
@pytest.mark.parametrize("wrap", [None, classmethod, staticmethod], ids=["function", "classmethod", "staticmethod"])
def test_generators_are_refused_at_decoration(decorator: str, generator: Any, wrap: Any) -> None:
    target = generator if wrap is None else wrap(generator)
    with pytest.raises(TypeError, match=r"cannot decorate generator function .*gen"):
        DECORATORS[decorator]()(target)


def test_a_generator_under_a_stack_is_refused_by_the_first_decorator() -> None:
    with pytest.raises(TypeError, match="generator"):
        retry(timeout(1.0)(gen))  # type: ignore[arg-type]


@pytest.mark.parametrize("decorator", ["retry", "timeout", "fallback"])
def test_non_callables_are_refused(decorator: str) -> None:
    with pytest.raises(TypeError):
        DECORATORS[decorator]()(42)


# -- bare forms over classmethod and staticmethod --------------------------------------------


def test_bare_decorators_over_classmethod_and_staticmethod() -> None:
    class Bare:
        calls = 0

        @retry
        @classmethod
        def cm(cls, x: int) -> tuple[type, int]:
            """Bare classmethod doc."""
            return cls, x

        @timeout
        @staticmethod
        def sm(x: int) -> int:
            """Bare staticmethod doc."""
            return x

        @fallback
        @classmethod
        def broken(cls) -> int:
            raise ValueError

    assert Bare.cm(1) == (Bare, 1)
    assert Bare().cm(2) == (Bare, 2)
    assert Bare.sm(3) == 3
    assert Bare.broken() is None
    assert [s.kind for s in describe(Bare.cm)] == ["retry"]
    assert [s.kind for s in describe(Bare.sm)] == ["timeout"]
    assert [s.kind for s in describe(Bare.broken)] == ["fallback"]
    assert (Bare.cm.__doc__, Bare.sm.__doc__) == ("Bare classmethod doc.", "Bare staticmethod doc.")


def test_decorating_a_bound_method_of_a_decorated_method_keeps_self() -> None:
    service = SubService()
    bound = once()(service.method)
    assert bound(1, y=2) == 300
    assert describe(bound)[0].kind == "retry"


def test_decorating_a_bound_plain_method_keeps_self() -> None:
    class Plain:
        factor = 3

        def method(self, x: int) -> int:
            return flaky("plain", x * self.factor)

    bound = once()(Plain().method)
    assert bound(2) == 6
    assert CALLS["plain"] == 2
    assert [s.kind for s in describe(bound)] == ["retry"]


def test_a_partial_of_an_async_function_is_async() -> None:
    async def add(a: int, b: int) -> int:
        return await aflaky("partial", a + b)

    partial = once()(functools.partial(add, 1))
    assert inspect.iscoroutinefunction(partial)
    assert anyio.run(partial, 2) == 3
    assert CALLS["partial"] == 2
