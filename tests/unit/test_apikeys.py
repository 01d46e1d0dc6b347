"""API key expiry: whole hours inside AppSync's 1..365-day window, at both ends (fixed clocks)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lambdas.apikeys import CALL_MARGIN, MAX_DAYS, MIN_DAYS, ApiKeyLifetimeError, api_key_expiry, rfc3339

pytestmark = pytest.mark.unit

DAY = dt.timedelta(days=1)
# 13:45:30 is mid-hour: flooring it (the old behaviour) made a 1-day key 23 h 15 min long.
NOW = dt.datetime(2024, 5, 17, 13, 45, 30, tzinfo=dt.UTC)


def test_a_one_day_key_lasts_a_full_day_even_when_appsync_receives_it_later():
    # GIVEN a 1-day key computed at NOW WHEN AppSync receives the call up to CALL_MARGIN later
    expires = api_key_expiry(MIN_DAYS, NOW)
    # THEN it is a whole hour at least a day after the call arrives
    assert expires == dt.datetime(2024, 5, 18, 15, 0, tzinfo=dt.UTC)
    assert expires - (NOW + CALL_MARGIN) >= DAY


def test_a_365_day_key_never_passes_the_upper_bound():
    # GIVEN the longest lifetime WHEN computed at NOW
    expires = api_key_expiry(MAX_DAYS, NOW)
    # THEN it is the last whole hour within 365 days of NOW (AppSync refuses anything later)
    assert expires == dt.datetime(2025, 5, 17, 13, 0, tzinfo=dt.UTC)
    assert expires <= NOW + MAX_DAYS * DAY


def test_on_the_hour_the_margin_still_applies():
    on_the_hour = dt.datetime(2024, 1, 1, 0, 0, tzinfo=dt.UTC)
    assert api_key_expiry(30, on_the_hour) == dt.datetime(2024, 1, 31, 1, 0, tzinfo=dt.UTC)


@settings(max_examples=200, deadline=None)
@given(st.datetimes(min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2040, 1, 1),
                    timezones=st.just(dt.UTC)),
       st.integers(MIN_DAYS, MAX_DAYS), st.timedeltas(min_value=dt.timedelta(0), max_value=CALL_MARGIN))
def test_every_lifetime_is_accepted_whenever_appsync_receives_it_within_the_margin(now, days, delay):
    expires = api_key_expiry(days, now)
    received = now + delay
    assert expires.minute == expires.second == expires.microsecond == 0
    assert DAY <= expires - received and expires - received <= MAX_DAYS * DAY
    assert expires - received >= min(days * DAY, (MAX_DAYS * DAY) - dt.timedelta(hours=1) - CALL_MARGIN)


@pytest.mark.parametrize("days", [0, -1, 366])
def test_lifetimes_appsync_refuses_are_refused_with_the_allowed_range(days):
    with pytest.raises(ApiKeyLifetimeError) as raised:
        api_key_expiry(days, NOW)
    assert (raised.value.days, raised.value.allowed) == (days, (MIN_DAYS, MAX_DAYS))


def test_rfc3339_is_utc_with_a_z():
    assert rfc3339(dt.datetime(2024, 5, 18, 15, tzinfo=dt.UTC)) == "2024-05-18T15:00:00Z"
