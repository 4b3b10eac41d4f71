"""FailoverGroup: registration, sequential order, narrowing, bad input, the entry point."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from resiliency import (
    AllProvidersFailedError,
    FailoverGroup,
    NoProviderError,
    Outcome,
    PolicyConfig,
    ProviderAttemptError,
    Registry,
    ResiliencyTimeoutError,
    RetryPolicy,
    failover_group,
    provider,
    provider_from_callable,
    retry,
    timeout,
)
from resiliency._deadline import push_deadline, reset_deadline
from resiliency.testing import FakeClock, describe

ONCE = PolicyConfig(default=RetryPolicy(max_attempts=1))


def make_group(registry: Registry, name: str = "storage", **kw: Any) -> FailoverGroup:
    kw.setdefault("policy", ONCE)
    return FailoverGroup(name, registry=registry, **kw)


class Recorder:
    """A provider class factory: each instance logs its calls into a shared list."""

    @staticmethod
    def make(group: FailoverGroup, name: str, log: list[str], *, fail: bool = False, priority: int = 0) -> Any:
        class Storage:
            @provider(name, op="upload", group=group, priority=priority)
            async def upload(self, key: str) -> str:
                log.append(name)
                if fail:
                    raise ConnectionError(f"{name} down")
                return f"{name}:{key}"

            @provider(name, op="upload_sync", group=group, priority=priority)
            def upload_sync(self, key: str) -> str:
                log.append(name)
                if fail:
                    raise ConnectionError(f"{name} down")
                return f"{name}:{key}"

        return Storage()


# -- sequential order ----------------------------------------------------------------


@pytest.mark.anyio
async def test_sequential_runs_by_priority_then_registration_order(registry: Registry) -> None:
    group = make_group(registry)
    log: list[str] = []
    group.register(
        Recorder.make(group, "a", log, fail=True, priority=1),
        Recorder.make(group, "b", log, fail=True, priority=0),
        Recorder.make(group, "c", log, fail=True, priority=0),
    )
    assert group.providers == ["b", "c", "a"]
    with pytest.raises(AllProvidersFailedError) as info:
        await group.execute("upload", "k")
    assert log == ["b", "c", "a"]
    assert [(a.provider, a.op, a.attempt) for a in info.value.attempts] == [
        ("b", "upload", 1),
        ("c", "upload", 1),
        ("a", "upload", 1),
    ]
    assert all(isinstance(a, ProviderAttemptError) for a in info.value.attempts)
    assert info.value.op == "upload"
    assert info.value.code == "ALL_PROVIDERS_FAILED"


@pytest.mark.anyio
async def test_first_success_wins_and_later_providers_never_run(registry: Registry) -> None:
    group = make_group(registry)
    log: list[str] = []
    group.register(
        Recorder.make(group, "a", log, fail=True),
        Recorder.make(group, "b", log),
        Recorder.make(group, "c", log),
    )
    assert await group.execute("upload", "k") == "b:k"
    assert log == ["a", "b"]


def test_execute_sync_sequential(registry: Registry) -> None:
    group = make_group(registry)
    log: list[str] = []
    group.register(Recorder.make(group, "a", log, fail=True), Recorder.make(group, "b", log))
    assert group.execute_sync("upload_sync", "k") == "b:k"
    assert log == ["a", "b"]


@pytest.mark.anyio
async def test_except_star_matches_provider_errors(registry: Registry) -> None:
    group = make_group(registry)
    log: list[str] = []
    group.register(Recorder.make(group, "a", log, fail=True), Recorder.make(group, "b", log, fail=True))
    caught: list[BaseExceptionGroup[BaseException]] = []
    try:
        await group.execute("upload", "k")
    except* ConnectionError as eg:
        caught.append(eg)
    (split,) = caught
    assert isinstance(split, AllProvidersFailedError)  # derive() keeps the type, op and attempts
    assert [a.provider for a in split.attempts] == ["a", "b"]
    assert [str(e) for e in split.exceptions] == ["a down", "b down"]


@pytest.mark.anyio
async def test_a_provider_method_still_works_when_called_directly(registry: Registry) -> None:
    group = make_group(registry)
    log: list[str] = []
    storage = Recorder.make(group, "a", log)
    assert await storage.upload("k") == "a:k"
    assert storage.upload_sync("k") == "a:k"


@pytest.mark.anyio
async def test_sync_providers_run_in_a_thread_under_async_execute(registry: Registry) -> None:
    group = make_group(registry)
    log: list[str] = []
    group.register(Recorder.make(group, "a", log, fail=True), Recorder.make(group, "b", log))
    assert await group.execute("upload_sync", "k") == "b:k"
    assert [o.ok for o in await group.execute_all("upload_sync", "k")] == [False, True]


def test_sync_modes_refuse_async_providers(registry: Registry) -> None:
    group = make_group(registry)
    group.register(Recorder.make(group, "a", []))
    with pytest.raises(TypeError, match=r"sync providers only; a implement\(s\) 'upload'"):
        group.execute_sync("upload", "k")


# -- plain functions, provider_from_callable, several ops ------------------------------


@pytest.mark.anyio
async def test_plain_functions_register_at_once_by_group_object_or_name(registry: Registry) -> None:
    group = make_group(registry)

    @provider("local", op="upload", group=group)
    async def local_upload(key: str) -> str:
        return f"local:{key}"

    @provider("local", group="storage", registry=registry)
    async def download(key: str) -> str:
        return f"local-down:{key}"

    assert group.providers == ["local"]
    assert await group.execute("upload", "k") == "local:k"
    assert await group.execute("download", "k") == "local-down:k"  # op defaults to the name
    assert await local_upload("x") == "local:x"


def test_a_nested_function_is_not_a_method(registry: Registry) -> None:
    group = make_group(registry)

    def factory() -> Any:
        @provider("nested", op="op", group=group)
        def nested() -> str:
            return "n"

        return nested

    factory()
    assert group.execute_sync("op") == "n"


def test_group_name_lookup_fails_clearly(registry: Registry) -> None:
    with pytest.raises(KeyError, match="no group named 'nope'"):

        @provider("x", group="nope", registry=registry)
        def op() -> None: ...


@pytest.mark.anyio
async def test_provider_from_callable_sync_and_async(registry: Registry) -> None:
    group = make_group(registry)

    async def fetch(key: str) -> str:
        return f"fetched:{key}"

    def fetch_sync(key: str) -> str:
        raise ConnectionError("no")

    async_provider = provider_from_callable("http", fetch)
    group.register(async_provider, provider_from_callable("cache", fetch_sync, op="sync"))
    assert async_provider.op == "default"
    assert await async_provider("k") == "fetched:k"
    assert await group.execute("default", "k") == "fetched:k"
    with pytest.raises(AllProvidersFailedError):
        group.execute_sync("sync", "k")


@pytest.mark.anyio
async def test_one_function_serves_several_ops_and_groups(registry: Registry) -> None:
    first = make_group(registry, "first")
    second = make_group(registry, "second")

    class Both:
        @provider("p", op="read", group=first)
        @provider("p", op="get", group=second)
        @provider("p", op="fetch", group=second)
        async def read(self, key: str) -> str:
            return key * 2

    first.register(Both())
    second.register(Both())
    assert await first.execute("read", "a") == "aa"
    assert await second.execute("get", "b") == "bb"
    assert await second.execute("fetch", "c") == "cc"


@pytest.mark.anyio
async def test_a_method_without_group_joins_the_group_it_is_registered_into(registry: Registry) -> None:
    group = make_group(registry)

    class Anywhere:
        @provider("any")
        async def upload(self, key: str) -> str:
            return key

    group.register(Anywhere())
    assert await group.execute("upload", "k") == "k"


@pytest.mark.anyio
async def test_inherited_provider_methods_are_found(registry: Registry) -> None:
    group = make_group(registry)

    class Base:
        @provider("base", op="upload", group=group)
        async def upload(self, key: str) -> str:
            return "base"

    class Child(Base):
        pass

    group.register(Child())
    assert await group.execute("upload", "k") == "base"


# -- bad input -------------------------------------------------------------------------


def test_register_an_object_without_provider_methods_is_a_type_error(registry: Registry) -> None:
    group = make_group(registry)

    class Plain:
        def upload(self) -> None: ...

    with pytest.raises(TypeError, match=r"cannot register .*Plain: it has no @provider methods"):
        group.register(Plain())
    with pytest.raises(TypeError, match="at least one provider"):
        group.register()


def test_register_a_class_instead_of_an_instance_is_a_type_error(registry: Registry) -> None:
    group = make_group(registry)
    storage = Recorder.make(group, "a", [])
    with pytest.raises(TypeError, match=r"not the class Storage: pass an instance, Storage\(...\)"):
        group.register(type(storage))


def test_a_function_marked_without_group_is_registered_explicitly(registry: Registry) -> None:
    group = make_group(registry)

    @provider("fn")
    def lookup(key: str) -> str:
        return key.upper()

    assert group.providers == []
    group.register(lookup)
    assert group.execute_sync("lookup", "k") == "K"


def test_register_an_object_of_another_group_is_a_value_error(registry: Registry) -> None:
    group = make_group(registry)
    other = make_group(registry, "other")
    storage = Recorder.make(other, "a", [])
    with pytest.raises(ValueError, match=r"its providers belong to \['other'\]"):
        group.register(storage)


def test_duplicate_provider_names_are_a_value_error(registry: Registry) -> None:
    group = make_group(registry)
    group.register(Recorder.make(group, "s3", []))
    with pytest.raises(ValueError, match="provider name 's3' is already used in group 'storage'"):
        group.register(Recorder.make(group, "s3", []))
    assert group.providers == ["s3"]

    @provider("fn", op="x", group=group)
    def one() -> None: ...

    with pytest.raises(ValueError, match="provider 'fn' already implements op 'x'"):

        @provider("fn", op="x", group=group)
        def two() -> None: ...


def test_registering_is_all_or_nothing(registry: Registry) -> None:
    group = make_group(registry)

    class Half:
        @provider("h", op="a", group=group)
        def a(self) -> None: ...

        @provider("taken", op="b", group=group)
        def b(self) -> None: ...

    group.register(Recorder.make(group, "taken", []))
    with pytest.raises(ValueError, match="already used"):
        group.register(Half())
    assert group.providers == ["taken"]


def test_no_provider_error_names_the_op_and_the_group_ops(registry: Registry) -> None:
    group = make_group(registry)
    group.register(Recorder.make(group, "a", []))
    with pytest.raises(NoProviderError, match=r"no provider for op 'uplod' \(its ops: upload, upload_sync\)"):
        group.execute_sync("uplod")
    empty = make_group(registry, "empty")
    with pytest.raises(NoProviderError, match="none registered"):
        empty.execute_sync("upload")


def test_provider_argument_errors() -> None:
    with pytest.raises(TypeError, match="name must be a non-empty str"):
        provider("")
    with pytest.raises(TypeError, match="priority must be an int"):
        provider("x", priority=True)
    with pytest.raises(TypeError, match="policy must be a RetryPolicy"):
        provider("x", policy=3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="group must be a FailoverGroup"):
        provider("x", group=3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="generator"):

        @provider("x")
        def gen() -> Any:
            yield 1

    with pytest.raises(TypeError, match="function or an instance method"):

        class C:
            @provider("x")
            @staticmethod
            def s() -> None: ...


def test_group_argument_errors(registry: Registry) -> None:
    with pytest.raises(TypeError, match="name must be a non-empty str"):
        FailoverGroup("", registry=registry)
    with pytest.raises(TypeError, match="policy must be a PolicyConfig"):
        FailoverGroup("g", policy=RetryPolicy(), registry=registry)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="hooks must be a Hooks"):
        FailoverGroup("g", hooks=object(), registry=registry)  # type: ignore[arg-type]


def test_group_is_recorded_in_the_registry(registry: Registry) -> None:
    group = make_group(registry)
    assert registry.group("storage") is group
    assert group.registry is registry
    with pytest.raises(ValueError, match="group 'storage' is already declared"):
        make_group(registry)
    assert "storage" in repr(group)


# -- with_options ------------------------------------------------------------------------


@pytest.mark.anyio
async def test_with_options_narrows_and_keeps_state(registry: Registry) -> None:
    group = make_group(registry)
    log: list[str] = []
    group.register(Recorder.make(group, "a", log), Recorder.make(group, "b", log), Recorder.make(group, "c", log))
    only_c = group.with_options(providers=["c", "b"])
    assert only_c.providers == ["b", "c"]  # the group's order is kept
    assert await only_c.execute("upload", "k") == "b:k"
    assert group.stats().get("b", "upload").successes == 1  # shared stats
    assert only_c.name == "storage"
    assert only_c.with_options(hedge_delay=0.1).providers == ["b", "c"]


def test_with_options_errors(registry: Registry) -> None:
    group = make_group(registry)
    group.register(Recorder.make(group, "a", []), Recorder.make(group, "b", []))
    with pytest.raises(ValueError, match=r"unknown provider\(s\) 'x', 'y' for group 'storage' \(known: a, b\)"):
        group.with_options(providers=["a", "x", "y"])
    with pytest.raises(TypeError, match="providers must be a list"):
        group.with_options(providers="a")
    with pytest.raises(TypeError, match="providers must be a list"):
        group.with_options(providers=[1])  # type: ignore[list-item]
    with pytest.raises(ValueError, match=r"hedge_delay must be >= 0 seconds \(got -1\)"):
        group.with_options(hedge_delay=-1)
    with pytest.raises(ValueError, match="timeout must be > 0 seconds"):
        group.with_options(timeout=0)


def test_a_known_provider_lacking_the_op_is_skipped(registry: Registry) -> None:
    group = make_group(registry)
    log: list[str] = []
    group.register(Recorder.make(group, "a", log))

    @provider("only_other", op="other", group=group)
    def other() -> str:
        return "other"

    view = group.with_options(providers=["only_other", "a"])
    assert view.execute_sync("upload_sync", "k") == "a:k"
    with pytest.raises(NoProviderError, match=r"after narrowing to \['only_other'\] \(providers of 'upload_sync': a\)"):
        group.with_options(providers=["only_other"]).execute_sync("upload_sync", "k")


@pytest.mark.anyio
async def test_plans_are_rebuilt_after_register(registry: Registry) -> None:
    group = make_group(registry)
    log: list[str] = []
    group.register(Recorder.make(group, "b", log, fail=True, priority=1))
    with pytest.raises(AllProvidersFailedError):
        await group.execute("upload", "k")
    group.register(Recorder.make(group, "a", log, priority=0))
    assert await group.execute("upload", "k") == "a:k"


# -- deadline ------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_no_provider_starts_after_the_callers_deadline(registry: Registry) -> None:
    clock = FakeClock()
    group = make_group(registry, clock=clock)
    started: list[str] = []

    class Slow:
        @provider("slow", op="op", group=group)
        async def op(self) -> None:
            started.append("slow")
            clock.advance(2.0)
            raise ConnectionError("slow")

    class Next:
        @provider("next", op="op", group=group)
        async def op(self) -> None:
            started.append("next")

    group.register(Slow(), Next())
    token = push_deadline(1.0, clock, clock.monotonic())
    try:
        with pytest.raises(AllProvidersFailedError) as info:
            await group.execute("op")
    finally:
        reset_deadline(token)
    assert started == ["slow"]
    assert any("before next could start" in note for note in info.value.__notes__)


def test_no_sync_provider_starts_after_the_callers_deadline(registry: Registry) -> None:
    clock = FakeClock()
    group = make_group(registry, clock=clock)
    started: list[str] = []

    @provider("slow", op="op", group=group)
    def slow() -> None:
        started.append("slow")
        clock.advance(2.0)
        raise ConnectionError("slow")

    @provider("next", op="op", group=group)
    def after() -> None:
        started.append("next")

    token = push_deadline(1.0, clock, clock.monotonic())
    try:
        with pytest.raises(AllProvidersFailedError):
            group.execute_sync("op")
        assert all(not o.ok for o in group.execute_all_sync("op"))
    finally:
        reset_deadline(token)
    assert started == ["slow"]


@pytest.mark.anyio
async def test_with_options_timeout_bounds_the_whole_group_call(registry: Registry) -> None:
    clock = FakeClock()
    group = make_group(registry, clock=clock)
    finished: list[str] = []

    class Hang:
        @provider("hang", op="op", group=group)
        async def op(self) -> None:
            await clock.asleep(10.0)
            finished.append("hang")

    group.register(Hang())
    with pytest.raises(ResiliencyTimeoutError):
        await group.with_options(timeout=1.0).execute("op")
    assert finished == []


def test_with_options_timeout_sync(registry: Registry) -> None:
    group = make_group(registry)

    @provider("quick", op="op", group=group)
    def quick() -> str:
        return "ok"

    assert group.with_options(timeout=5.0).execute_sync("op") == "ok"


# -- @failover_group -----------------------------------------------------------------------


@pytest.mark.anyio
async def test_failover_group_on_a_service_method(registry: Registry) -> None:
    group = make_group(registry)
    log: list[str] = []
    group.register(Recorder.make(group, "a", log, fail=True), Recorder.make(group, "b", log))
    ran: list[bool] = []

    class FileService:
        @failover_group("storage", op="upload", registry=registry)
        async def upload(self, key: str) -> str:
            """Upload a file."""
            ran.append(True)
            return "body"

        @failover_group("storage", op="upload", mode="any", registry=registry)
        async def upload_any(self, key: str) -> str:
            raise AssertionError("never runs")

        @failover_group("storage", op="upload", mode="all", registry=registry)
        async def upload_all(self, key: str) -> list[Outcome]:
            raise AssertionError("never runs")

    service = FileService()
    assert await service.upload("k") == "b:k"
    assert await service.upload_any(key="k") == "b:k"
    assert [o.provider for o in await service.upload_all("k")] == ["a", "b"]
    assert ran == []
    assert FileService.upload.__name__ == "upload"
    assert FileService.upload.__doc__ == "Upload a file."
    assert str(inspect.signature(FileService.upload)) == "(self, key: 'str') -> 'str'"
    assert inspect.iscoroutinefunction(FileService.upload)


def test_failover_group_on_a_sync_function(registry: Registry) -> None:
    group = make_group(registry)
    group.register(Recorder.make(group, "a", []))

    @failover_group(group, op="upload_sync")
    def upload_sync(key: str) -> str:
        raise AssertionError("never runs")

    @failover_group("storage", op="upload_sync", registry=registry, mode="all")
    def upload_all(key: str) -> list[Outcome]:
        raise AssertionError("never runs")

    @failover_group("storage", registry=registry)
    def upload(key: str) -> str:  # op defaults to the name: an async provider's op
        raise AssertionError("never runs")

    assert upload_sync("k") == "a:k"
    assert not inspect.iscoroutinefunction(upload_sync)
    assert [(o.provider, o.ok, o.value) for o in upload_all("k")] == [("a", True, "a:k")]
    with pytest.raises(TypeError, match="sync providers only"):
        upload("k")


@pytest.mark.anyio
async def test_strategies_above_the_entry_point_wrap_the_whole_group_call(registry: Registry) -> None:
    clock = FakeClock()
    group = make_group(registry, clock=clock)
    calls: list[str] = []

    class Hang:
        @provider("hang", op="fetch", group=group)
        async def fetch(self) -> None:
            calls.append("hang")
            await clock.asleep(10.0)

    group.register(Hang())

    @timeout(1.0, clock=clock)
    @failover_group("storage", registry=registry)
    async def fetch() -> None: ...

    assert [s.kind for s in describe(fetch)] == ["timeout"]
    with pytest.raises(ResiliencyTimeoutError):
        await fetch()
    assert calls == ["hang"]

    attempts: list[int] = []

    @retry(max_attempts=2, backoff="none", on_retry=lambda event: attempts.append(event.attempt))
    @failover_group("storage", op="fetch_fail", registry=registry)
    def fetch_fail() -> None: ...

    @provider("bad", op="fetch_fail", group=group)
    def bad() -> None:
        raise ConnectionError("bad")

    with pytest.raises(AllProvidersFailedError):
        fetch_fail()
    assert attempts == [1]


@pytest.mark.anyio
async def test_the_group_is_looked_up_at_call_time(registry: Registry) -> None:
    @failover_group("later", op="op", registry=registry)
    async def op() -> str: ...

    with pytest.raises(KeyError, match="no group named 'later'"):
        await op()
    group = make_group(registry, "later")

    @provider("p", op="op", group=group)
    async def impl() -> str:
        return "ok"

    assert await op() == "ok"


def test_failover_group_bad_input() -> None:
    with pytest.raises(ValueError, match=r"mode must be one of 'sequential', 'any', 'all' \(got 'race'\)"):
        failover_group("g", mode="race")
    with pytest.raises(TypeError, match="name must be a group's name"):
        failover_group(3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="op must be a non-empty str"):
        failover_group("g", op="")
    with pytest.raises(TypeError, match="generator"):

        @failover_group("g")
        def gen() -> Any:
            yield 1

    with pytest.raises(TypeError, match="function or an instance method"):
        failover_group("g")(staticmethod(lambda: None))


# -- issue 9: nothing left to run is AllProvidersFailedError (item 2) -----------------------


class S3Like:
    """One provider class whose instances can join a group under several names."""

    def __init__(self, region: str, log: list[str]) -> None:
        self.region = region
        self.log = log

    @provider("s3", op="upload")
    def upload(self, key: str) -> str:
        self.log.append(self.region)
        if self.region == "down":
            raise ConnectionError(f"{self.region} down")
        return f"{self.region}:{key}"


def gcs_without_presign(group: FailoverGroup, log: list[str]) -> None:
    @provider("gcs", op="upload", group=group)
    def upload(key: str) -> str:
        log.append("gcs")
        return f"gcs:{key}"

    @provider("s3", op="presign", group=group)
    def presign(key: str) -> str:
        log.append("s3")
        return f"s3:{key}"


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["execute", "execute_any", "execute_all"])
async def test_narrowed_to_providers_lacking_the_op_is_all_providers_failed(registry: Registry, mode: str) -> None:
    clock = FakeClock()
    group = make_group(registry, clock=clock)
    log: list[str] = []
    gcs_without_presign(group, log)
    view = group.with_options(providers=["gcs"])
    with pytest.raises(AllProvidersFailedError) as info:
        await getattr(view, mode)("presign", "k")
    error = info.value
    assert isinstance(error, NoProviderError)
    assert isinstance(error, LookupError)
    assert error.attempts == []
    assert error.op == "presign"
    assert error.code == "NO_PROVIDER"
    assert "no provider for op 'presign' is left in group 'storage' after narrowing to ['gcs']" in str(error)
    assert "(providers of 'presign': s3)" in str(error)
    assert log == []  # no provider ran
    assert clock.monotonic() == 0.0  # and no time passed: it failed at once


@pytest.mark.parametrize("mode", ["execute_sync", "execute_any_sync", "execute_all_sync"])
def test_sync_unknown_op_is_all_providers_failed(registry: Registry, mode: str) -> None:
    group = make_group(registry)
    gcs_without_presign(group, [])
    with pytest.raises(AllProvidersFailedError, match=r"group 'storage' has no provider for op 'nope'") as info:
        getattr(group, mode)("nope")
    assert info.value.attempts == []
    with pytest.raises(LookupError):  # still a LookupError, as before
        getattr(group, mode)("nope")


def test_no_provider_error_pickles_with_its_reason(registry: Registry) -> None:
    import copy
    import pickle

    group = make_group(registry)
    gcs_without_presign(group, [])
    with pytest.raises(NoProviderError) as info:
        group.execute_sync("nope")
    for twin in (pickle.loads(pickle.dumps(info.value)), copy.deepcopy(info.value)):
        assert type(twin) is NoProviderError
        assert (str(twin), twin.op, twin.attempts) == (str(info.value), "nope", [])


# -- issue 9: a failed register changes nothing (item 6) ------------------------------------


def test_register_with_a_duplicate_name_registers_nothing(registry: Registry) -> None:
    group = make_group(registry)
    log: list[str] = []
    with pytest.raises(ValueError, match="provider name 's3' is already used in group 'storage'"):
        group.register(S3Like("eu", log), S3Like("us", log))
    assert group.providers == []
    with pytest.raises(NoProviderError):
        group.execute_sync("upload", "k")


def test_register_refusing_a_later_object_keeps_the_earlier_out(registry: Registry) -> None:
    group = make_group(registry)
    with pytest.raises(TypeError, match="has no @provider methods"):
        group.register(S3Like("eu", []), object())
    with pytest.raises(TypeError, match="not the class"):
        group.register(S3Like("eu", []), S3Like)
    assert group.providers == []
    group.register(S3Like("eu", []))  # nothing was half-registered: the name is free
    assert group.providers == ["s3"]


# -- issue 9: one provider class, two instances (item 7) ------------------------------------


def test_register_names_each_instance_of_one_class(registry: Registry) -> None:
    group = make_group(
        registry,
        policy=PolicyConfig(per_provider={"s3-eu": RetryPolicy(max_attempts=2)}),
        clock=FakeClock(),
    )
    log: list[str] = []
    group.register(S3Like("down", log), name="s3-eu")
    group.register(S3Like("us", log), name="s3-us")
    assert group.providers == ["s3-eu", "s3-us"]
    assert group.execute_sync("upload", "k") == "us:k"
    assert log == ["down", "down", "us"]  # per_provider policies use the registered name
    assert [(s.provider, s.failures, s.successes) for s in group.stats().entries] == [
        ("s3-eu", 2, 0),
        ("s3-us", 0, 1),
    ]


def test_provider_name_attribute_names_the_instance(registry: Registry) -> None:
    class Regional(S3Like):
        def __init__(self, region: str, log: list[str]) -> None:
            super().__init__(region, log)
            self.provider_name = f"s3-{region}"

    group = make_group(registry)
    log: list[str] = []
    group.register(Regional("down", log), Regional("eu", log))
    assert group.providers == ["s3-down", "s3-eu"]
    with pytest.raises(AllProvidersFailedError) as info:
        group.with_options(providers=["s3-down"]).execute_sync("upload", "k")
    assert [a.provider for a in info.value.attempts] == ["s3-down"]
    other = make_group(registry, "other")
    other.register(Regional("eu", log), name="eu-main")  # name= wins over provider_name
    assert other.providers == ["eu-main"]


def test_register_name_errors(registry: Registry) -> None:
    group = make_group(registry)
    with pytest.raises(TypeError, match="names one provider object"):
        group.register(S3Like("eu", []), S3Like("us", []), name="s3")
    with pytest.raises(TypeError, match="name must be a non-empty str"):
        group.register(S3Like("eu", []), name="")

    class BadName(S3Like):
        provider_name = 3

    with pytest.raises(TypeError, match=r"BadName.provider_name must be a non-empty str or None \(got 3\)"):
        group.register(BadName("eu", []))

    class TwoNames:
        @provider("a", op="x")
        def x(self) -> None: ...

        @provider("b", op="y")
        def y(self) -> None: ...

    with pytest.raises(ValueError, match=r"several provider names \['a', 'b'\]"):
        group.register(TwoNames(), name="both")
    assert group.providers == []


# -- issue 9: each sub-exception says where it came from (item 12) --------------------------


def test_each_sub_exception_has_a_note_naming_provider_op_and_attempt(registry: Registry) -> None:
    twice = PolicyConfig(per_provider={"a": RetryPolicy(max_attempts=2)})
    group = make_group(registry, policy=twice, clock=FakeClock())
    log: list[str] = []
    group.register(Recorder.make(group, "a", log, fail=True), Recorder.make(group, "b", log, fail=True))
    with pytest.raises(AllProvidersFailedError) as info:
        group.execute_sync("upload_sync", "k")
    notes = [getattr(e, "__notes__", None) for e in info.value.exceptions]
    assert notes == [
        ["failover group 'storage': provider 'a', op 'upload_sync', attempt 1"],
        ["failover group 'storage': provider 'a', op 'upload_sync', attempt 2"],
        ["failover group 'storage': provider 'b', op 'upload_sync', attempt 1"],
    ]
    import traceback

    text = "".join(traceback.format_exception(info.value))
    assert "provider 'b', op 'upload_sync', attempt 1" in text
