"""The sign-in throttle on its own, on a clock the test moves: the sliding window, the lock, the
doubling back-off and its cap, clearing on success, attempts in flight, and the bounded table."""

from __future__ import annotations

import pytest

from gateway.web.throttle import LoginThrottle, ip_key, mask_username, user_key, whole_seconds


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def fail(throttle: LoginThrottle, *keys: str) -> list[float]:
    """One failed attempt; the seconds of the locks it started."""
    assert throttle.begin(keys) is None
    return [lock.seconds for lock in throttle.end(keys, ok=False)]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def throttle(clock: Clock) -> LoginThrottle:
    return LoginThrottle(max_failures=3, window=100.0, lockout=10.0, lockout_max=35.0, clock=clock)


def test_locks_after_max_failures_within_the_window(throttle: LoginThrottle, clock: Clock) -> None:
    assert fail(throttle, "k") == []
    assert fail(throttle, "k") == []
    assert fail(throttle, "k") == [10.0]
    assert throttle.begin(["k"]) == pytest.approx(10.0)
    clock.now += 4
    assert throttle.begin(["k"]) == pytest.approx(6.0)
    assert throttle.retry_after(["other", "k"]) == pytest.approx(6.0)
    assert throttle.retry_after(["other"]) is None


def test_failures_older_than_the_window_do_not_count(throttle: LoginThrottle, clock: Clock) -> None:
    fail(throttle, "k")
    clock.now += 60
    fail(throttle, "k")
    clock.now += 41  # the first failure is now 101 s old
    assert fail(throttle, "k") == []
    assert fail(throttle, "k") == [10.0]  # the second, third and fourth are within 100 s


def test_each_further_failure_doubles_the_lock_up_to_the_cap(throttle: LoginThrottle, clock: Clock) -> None:
    locks = []
    for _ in range(3):
        locks += fail(throttle, "k")
    for _ in range(4):
        left = throttle.begin(["k"])
        assert left is not None
        clock.now += left  # wait the lock out, then fail once more
        locks += fail(throttle, "k")
    assert locks == [10.0, 20.0, 35.0, 35.0, 35.0]


def test_a_quiet_window_after_a_lock_starts_the_doubling_over(throttle: LoginThrottle, clock: Clock) -> None:
    for _ in range(3):
        fail(throttle, "k")
    clock.now += 10 + 100  # the lock ran out, then a whole window without failures
    assert fail(throttle, "k") == []
    assert fail(throttle, "k") == []
    assert fail(throttle, "k") == [10.0]


def test_refused_attempts_do_not_count(throttle: LoginThrottle, clock: Clock) -> None:
    for _ in range(3):
        fail(throttle, "k")
    for _ in range(50):
        assert throttle.begin(["k"]) is not None
    clock.now += 10
    assert fail(throttle, "k") == [20.0]


def test_success_clears_every_key(throttle: LoginThrottle, clock: Clock) -> None:
    fail(throttle, "ip", "alice")
    fail(throttle, "ip", "alice")
    assert throttle.begin(["ip", "alice"]) is None
    assert throttle.end(["ip", "alice"], ok=True) == []
    assert len(throttle) == 0
    assert fail(throttle, "ip", "alice") == []
    assert fail(throttle, "ip", "alice") == []  # counting starts again from nothing


def test_one_locked_key_refuses_the_attempt_and_counts_nothing(throttle: LoginThrottle) -> None:
    for name in ("alice", "bob", "carol"):
        fail(throttle, "ip", name)
    assert throttle.begin(["ip", "dave"]) is not None
    assert throttle.begin(["other-ip", "alice"]) is None  # alice herself has only one failure
    assert "dave" not in throttle._entries


def test_attempts_in_flight_take_the_allowance(throttle: LoginThrottle) -> None:
    assert [throttle.begin(["k"]) for _ in range(5)] == [None, None, None, 1.0, 1.0]
    started = [throttle.end(["k"], ok=False) for _ in range(3)]
    assert [len(s) for s in started] == [0, 0, 1]
    assert throttle.begin(["k"]) == pytest.approx(10.0)


def test_after_a_lock_one_attempt_at_a_time(throttle: LoginThrottle, clock: Clock) -> None:
    for _ in range(3):
        fail(throttle, "k")
    clock.now += 10
    assert throttle.begin(["k"]) is None
    assert throttle.begin(["k"]) == 1.0


def test_the_table_stays_bounded_and_keeps_locks(clock: Clock) -> None:
    throttle = LoginThrottle(max_failures=2, window=100.0, lockout=50.0, max_entries=100, clock=clock)
    fail(throttle, "victim")
    fail(throttle, "victim")
    for i in range(1000):
        assert throttle.begin([f"name{i}"]) is None
        throttle.end([f"name{i}"], ok=True)  # a success leaves nothing behind
        fail(throttle, f"flood{i}")  # one failure each: counted, not locked
        assert len(throttle) <= 100
    assert throttle.begin(["victim"]) is not None  # the lock outlived the flood
    clock.now += 50 + 100
    fail(throttle, "fresh")  # the first new entry after a window sweeps the quiet ones out
    assert len(throttle) == 1


def test_keys_and_masks() -> None:
    assert ip_key("192.0.2.7") == "ip:192.0.2.7"
    assert ip_key("::ffff:192.0.2.7") == "ip:192.0.2.7"
    assert ip_key("2001:db8:1:2:3:4:5:6") == ip_key("2001:db8:1:2:ffff::1") == "ip:2001:db8:1:2::/64"
    assert ip_key(None) == "ip:unknown"
    assert user_key(" Admin ") == user_key("admin") == "user:admin"
    assert len(user_key("x" * 10_000)) == len("user:") + 128
    assert mask_username("admin") == "a***(5)"
    assert mask_username("taro.yamada@example.co.jp") == "ta***@example.co.jp"
    assert mask_username("") == "''"
    assert whole_seconds(0.2) == 1 and whole_seconds(59.01) == 60
