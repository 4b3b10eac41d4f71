"""Never run: ``mypy --strict tests/typing/pass_failover.py`` must report no error.

``@failover_group`` keeps the decorated signature (arguments, return type, sync or
async) on functions and service methods, alone and under a stacked strategy; the
group's API and ``@provider`` type-check as documented.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, assert_type

from resiliency import (
    FailoverGroup,
    FailoverGroupView,
    GroupStats,
    Hooks,
    Outcome,
    PolicyConfig,
    ProviderContext,
    Registry,
    RetryPolicy,
    failover_group,
    provider,
    provider_from_callable,
    retry,
    timeout,
)

registry = Registry()
storage = FailoverGroup(
    "storage",
    policy=PolicyConfig(default=RetryPolicy(max_attempts=2), per_op={"upload": RetryPolicy(max_attempts=3)}),
    hooks=Hooks(on_provider_success=lambda ctx, result: None),
    registry=registry,
)


class S3Storage:
    @provider("s3", op="upload", group=storage, priority=0)
    @retry(max_attempts=3)
    async def upload(self, key: str, data: bytes) -> str:
        return key

    @provider("s3", op="download", group=storage)
    def download(self, key: str) -> bytes:
        return b""


# @provider returns the method unchanged: it still has its own signature.
provider_upload: Callable[[str, bytes], Coroutine[Any, Any, str]] = S3Storage().upload
assert_type(S3Storage().download("k"), bytes)

storage.register(S3Storage(), provider_from_callable("local", lambda key: b"", op="download"))


class FileService:
    @failover_group("storage", op="upload", registry=registry)
    async def upload(self, key: str, data: bytes) -> str:
        raise NotImplementedError

    @timeout(10)
    @failover_group("storage", op="upload", mode="any", registry=registry)
    async def upload_fast(self, key: str, data: bytes, *, retries: int = 0) -> str:
        raise NotImplementedError

    @failover_group(storage, op="download", mode="all")
    def download_all(self, key: str) -> list[Outcome]:
        raise NotImplementedError


service = FileService()
service_upload: Callable[[str, bytes], Coroutine[Any, Any, str]] = service.upload
assert_type(service.download_all("k"), list[Outcome])


async def entry_points() -> None:
    assert_type(await service.upload("k", b""), str)
    assert_type(await service.upload_fast("k", b"", retries=1), str)


@failover_group("storage", op="download", registry=registry)
def download(key: str) -> bytes:
    raise NotImplementedError


download_ref: Callable[[str], bytes] = download
assert_type(download("k"), bytes)


async def group_api() -> None:
    value: Any = await storage.execute("upload", "k", b"")
    first: Any = await storage.execute_any("upload", "k", b"")
    outcomes = await storage.execute_all("upload", "k", b"")
    assert_type(outcomes, list[Outcome])
    assert_type(storage.execute_all_sync("download", "k"), list[Outcome])
    view = storage.with_options(providers=["s3"], hedge_delay=0.05, timeout=2.0)
    assert_type(view, FailoverGroupView)
    assert_type(storage.stats(), GroupStats)
    assert_type(storage.providers, list[str])
    del value, first


def on_fail(ctx: ProviderContext, error: BaseException) -> None:
    assert_type(ctx.attempt, int)
    assert_type(ctx.provider, str | None)
