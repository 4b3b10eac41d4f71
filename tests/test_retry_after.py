"""Retry-After hints: every source, both header forms, and never an exception."""

from __future__ import annotations

import email.message
import itertools
import math
import time
import urllib.error
from datetime import timedelta
from typing import Any

import pytest
from freezegun import freeze_time

from resiliency._retry_after import retry_after_from

NOW = "2015-10-21 07:27:00"  # UTC, what freeze_time reads a naive string as
IN_60S = "Wed, 21 Oct 2015 07:28:00 GMT"


class Hinted(Exception):
    """An error carrying whatever attributes a test gives it."""

    def __init__(self, **attributes: Any) -> None:
        super().__init__("hinted")
        for name, value in attributes.items():
            setattr(self, name, value)


class Response:
    def __init__(self, headers: object) -> None:
        self.headers = headers


def from_response(headers: object) -> float | None:
    return retry_after_from(Hinted(response=Response(headers)))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (5, 5.0),
        (1.5, 1.5),
        (0, 0.0),
        (timedelta(minutes=2), 120.0),
        (timedelta(milliseconds=250), 0.25),
        ("30", 30.0),
        (" 2.5 ", 2.5),
        (b"12", 12.0),
        (-3, 0.0),
        ("-3", 0.0),
        (timedelta(seconds=-1), 0.0),
    ],
)
def test_retry_after_attribute(value: object, expected: float) -> None:
    result = retry_after_from(Hinted(retry_after=value))
    assert result == expected
    assert type(result) is float


@pytest.mark.parametrize("value", [None, True, math.nan, math.inf, -math.inf, "soon", "", "nan", "inf",
                                   "1e999", 10**400, object(), [5]])
def test_unusable_retry_after_attribute_gives_none(value: object) -> None:
    assert retry_after_from(Hinted(retry_after=value)) is None


def test_no_hint_at_all_gives_none() -> None:
    assert retry_after_from(ValueError("plain")) is None
    assert retry_after_from(Hinted(response=None, headers=None)) is None


@pytest.mark.parametrize("name", ["Retry-After", "retry-after", "RETRY-AFTER", "rEtRy-AfTeR"])
def test_response_headers_dict_in_any_case(name: str) -> None:
    assert from_response({"Content-Type": "text/plain", name: "120"}) == 120.0


def test_exc_headers_dict() -> None:
    assert retry_after_from(Hinted(headers={"retry-after": "9"})) == 9.0


def test_list_of_pairs_str_and_bytes() -> None:
    assert from_response([("X-Other", "1"), ("Retry-After", "4")]) == 4.0
    assert from_response([(b"x-other", b"1"), (b"retry-after", b"6")]) == 6.0
    assert from_response([("malformed",), ("Retry-After", "3", "extra"), ("retry-after", "8")]) == 8.0


def test_first_retry_after_header_wins() -> None:
    assert from_response([("Retry-After", "2"), ("Retry-After", "50")]) == 2.0


def test_httpx_status_error() -> None:
    httpx = pytest.importorskip("httpx")
    request = httpx.Request("GET", "https://api.example/x")
    response = httpx.Response(429, headers={"RETRY-AFTER": "7"}, request=request)
    error = httpx.HTTPStatusError("429", request=request, response=response)
    assert retry_after_from(error) == 7.0
    assert from_response(httpx.Headers([("retry-after", "1.5")])) == 1.5


def test_email_message_headers_as_urllib_http_error_carries_them() -> None:
    headers = email.message.Message()
    headers["Retry-After"] = "11"
    error = urllib.error.HTTPError("https://api.example/x", 503, "busy", headers, None)
    assert retry_after_from(error) == 11.0


def test_attribute_beats_response_headers_which_beat_exc_headers() -> None:
    response, headers = Response({"Retry-After": "2"}), {"Retry-After": "3"}
    assert retry_after_from(Hinted(response=response, headers=headers)) == 2.0
    assert retry_after_from(Hinted(retry_after=1, response=response, headers=headers)) == 1.0
    assert retry_after_from(Hinted(response=Response({}), headers={"Retry-After": "3"})) == 3.0


def test_unusable_source_falls_through_to_the_next() -> None:
    error = Hinted(retry_after=None, response=Response({"Retry-After": "later"}), headers={"Retry-After": "5"})
    assert retry_after_from(error) == 5.0


@freeze_time(NOW)
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (IN_60S, 60.0),
        ("Wed, 21 Oct 2015 09:28:30 +0200", 90.0),  # 07:28:30 UTC
        ("Wed, 21 Oct 2015 07:29:00 -0000", 120.0),  # no zone named: UTC
        ("Wed, 21 Oct 2015 07:26:00 GMT", 0.0),  # in the past
        ("Tue, 01 Jan 1980 00:00:00 GMT", 0.0),
    ],
)
def test_http_date_header_is_seconds_from_now(value: str, expected: float) -> None:
    assert from_response({"Retry-After": value}) == expected
    assert retry_after_from(Hinted(retry_after=value)) == expected


def test_unzoned_http_date_is_utc_whatever_the_local_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    # Real clock on purpose: freezegun's datetime reads naive datetimes as UTC itself.
    monkeypatch.setenv("TZ", "XYZ+05")  # POSIX zone five hours behind UTC, no tzdata needed
    time.tzset()
    try:
        before = time.time()
        result = from_response({"Retry-After": "Fri, 01 Jan 2100 00:00:00 -0000"})
        after = time.time()
    finally:
        monkeypatch.undo()
        time.tzset()
    assert result is not None
    assert 4102444800.0 - after <= result <= 4102444800.0 - before


def test_http_date_is_read_against_the_clock_at_call_time() -> None:
    error = Hinted(headers={"Retry-After": IN_60S})
    with freeze_time(NOW) as frozen:
        assert retry_after_from(error) == 60.0
        frozen.tick(45)
        assert retry_after_from(error) == 15.0
        frozen.tick(3600)
        assert retry_after_from(error) == 0.0


@pytest.mark.parametrize(
    "value", ["", "soon", "Wed, 32 Oct 2015 07:28:00 GMT", "Someday, 21 Oct", "NaN", "-inf", "12 seconds"]
)
def test_garbage_header_gives_none(value: str) -> None:
    assert from_response({"Retry-After": value}) is None


@pytest.mark.parametrize("headers", [42, "Retry-After: 5", b"Retry-After: 5", {"Retry-After": None}, [None, 3]])
def test_headers_that_are_not_mappings_give_none(headers: object) -> None:
    assert from_response(headers) is None


class Hostile(Exception):
    @property
    def retry_after(self) -> float:
        raise RuntimeError("boom")

    @property
    def response(self) -> object:
        raise AttributeError("no response")

    @property
    def headers(self) -> object:
        raise KeyError("boom")


def test_properties_that_raise_give_none() -> None:
    assert retry_after_from(Hostile()) is None


def test_a_raising_source_does_not_hide_a_later_one() -> None:
    class PartlyHostile(Hostile):
        headers = {"Retry-After": "4"}

    assert retry_after_from(PartlyHostile()) == 4.0


def test_headers_whose_items_raise_or_never_end_give_none() -> None:
    class BadItems:
        def items(self) -> object:
            raise TypeError("nope")

    class EndlessItems:
        def items(self) -> object:
            return itertools.repeat(("X-Filler", "1"))

    assert from_response(BadItems()) is None
    assert from_response(EndlessItems()) is None  # bounded scan, returns
    assert from_response(itertools.count()) is None
