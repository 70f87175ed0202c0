"""Retry policy (docs/protocols.md §7): what is retried, how long to wait, when to give up."""

import email.utils
import math
import random

import httpx
import pytest

from playground.providers import ProviderError, RetryPolicy, parse_retry_after, retryable_status


def error(status=500, retryable=True, retry_after_s=None, kind="http"):
    return ProviderError("boom", status=status, retryable=retryable, retry_after_s=retry_after_s, kind=kind)


class TestRetryAfter:
    def test_it_prefers_milliseconds(self):
        assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25

    def test_it_reads_seconds_and_floats(self):
        assert parse_retry_after({"retry-after": "2"}) == 2.0
        assert parse_retry_after({"retry-after": "1.5"}) == 1.5

    def test_it_reads_an_http_date(self):
        now = 1_700_000_000.0
        date = email.utils.formatdate(now + 30, usegmt=True)
        assert parse_retry_after({"retry-after": date}, now=now) == pytest.approx(30, abs=1)

    def test_a_past_date_or_negative_value_means_no_wait(self):
        assert parse_retry_after({"retry-after": "-3"}) == 0.0
        assert parse_retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0

    def test_garbage_and_absence_give_none(self):
        assert parse_retry_after({"retry-after": "soon"}) is None
        assert parse_retry_after({}) is None
        assert parse_retry_after(None) is None

    def test_header_names_are_case_insensitive(self):
        assert parse_retry_after({"Retry-After": "3"}) == 3.0
        assert parse_retry_after(httpx.Headers({"Retry-After-Ms": "100"})) == 0.1

    def test_an_overflowing_value_is_infinite(self):
        assert parse_retry_after({"retry-after": "1e999"}) == math.inf


class TestRetryableStatus:
    @pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 504, 529])
    def test_it_retries_transient_statuses(self, status):
        assert retryable_status(status)

    @pytest.mark.parametrize("status", [400, 401, 402, 403, 404, 413, 422])
    def test_it_does_not_retry_client_errors(self, status):
        assert not retryable_status(status)

    def test_x_should_retry_wins(self):
        assert retryable_status(400, {"x-should-retry": "true"})
        assert not retryable_status(503, {"x-should-retry": "false"})


class TestBackoff:
    def test_it_is_full_jitter_under_an_exponential_ceiling_capped_at_8_s(self):
        policy = RetryPolicy()
        rng = random.Random(4)
        for n, ceiling in [(0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (10, 8.0)]:
            draws = [policy.backoff(n, rng) for _ in range(200)]
            assert all(0 <= d <= ceiling for d in draws)
            assert max(draws) > ceiling * 0.8 and min(draws) < ceiling * 0.2  # spread over the whole range


class TestDecide:
    def test_it_does_not_retry_what_is_not_retryable(self):
        assert not RetryPolicy().decide(error(400, retryable=False), 0).retry

    def test_it_stops_at_max_retries(self):
        policy = RetryPolicy(max_retries=2)
        assert policy.decide(error(), 1).retry
        decision = policy.decide(error(), 2)
        assert not decision.retry and "3 attempts" in decision.reason

    def test_it_waits_what_the_server_asks(self):
        assert RetryPolicy().decide(error(429, retry_after_s=1.25), 0).delay_s == 1.25

    def test_it_does_not_wait_longer_than_its_cap(self):
        decision = RetryPolicy(max_retry_after_s=60).decide(error(429, retry_after_s=120), 0)
        assert not decision.retry
        assert "120 s" in decision.reason and "60 s" in decision.reason

    def test_a_zero_retry_after_falls_back_to_backoff(self):
        decision = RetryPolicy(base_delay_s=0.5).decide(error(429, retry_after_s=0), 0, random.Random(1))
        assert decision.retry and 0 <= decision.delay_s <= 0.5

    def test_timeouts_can_be_left_unretried(self):
        timeout = error(None, kind="timeout")
        assert RetryPolicy().decide(timeout, 0).retry
        assert not RetryPolicy(retry_timeouts=False).decide(timeout, 0).retry

    def test_negative_settings_are_refused(self):
        with pytest.raises(ValueError):
            RetryPolicy(max_retries=-1)
