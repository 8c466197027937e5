"""The Teacher page's passcode gate (core/classroom/teacher_gate.py): right and wrong codes, growing waits per
browser and for the whole server, and tries during a wait refused unchecked. A fake clock makes the
waits exact."""
import pytest

from core.classroom import teacher_gate as tg

CODE = "correct horse battery"


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def gate(clock):
    return tg.PasscodeGate(clock=clock)


def test_right_code_opens_and_a_wrong_one_says_what_to_do(gate):
    assert gate.attempt(CODE, f"  {CODE} ", "b1").ok  # pasted with spaces
    wrong = gate.attempt(CODE, "correct horse", "b1")
    assert not wrong.ok and wrong.wait_s == 1.0
    assert tg.ENV in wrong.message and "1 s" in wrong.message


def test_wrong_tries_double_the_wait_of_that_browser(gate, clock):
    waits = []
    for _ in range(5):
        waits.append(gate.attempt(CODE, "guess", "b1").wait_s)
        clock.now += waits[-1]
    assert waits == [1, 2, 4, 8, 16]
    assert gate.wait_for("b2") == 0  # another browser is not held up (below the server-wide limit)


def test_a_try_during_the_wait_is_refused_unchecked_even_when_right(gate, clock):
    gate.attempt(CODE, "guess", "b1")
    gate.attempt(CODE, "guess", "b1")  # during the 1 s wait: not counted
    clock.now += 0.5
    early = gate.attempt(CODE, CODE, "b1")
    assert not early.ok and "Too many wrong passcodes" in early.message and early.wait_s == pytest.approx(0.5)
    clock.now += 0.5
    assert gate.attempt(CODE, CODE, "b1").ok
    assert gate.attempt(CODE, "typo", "b1").wait_s == 1.0  # a success starts the count again


def test_the_per_browser_wait_stops_growing_at_its_cap(gate, clock):
    for _ in range(20):
        verdict = gate.attempt(CODE, "guess", "b1")
        clock.now += verdict.wait_s
    assert verdict.wait_s == tg.MAX_WAIT_S


def test_a_right_passcode_from_a_fresh_browser_is_never_refused_for_others_wrong_ones(gate, clock):
    """17 learners' browsers (each its own address, as on a class Wi-Fi) type wrong passcodes: the
    teacher's browser, which has not failed itself, is let in at once."""
    for i in range(17):
        gate.attempt(CODE, "guess", f"learner-{i}", address=f"10.0.0.{i}")
        clock.now += 0.1
    assert gate.wait_for("the-teacher", address="10.0.0.200") == 0
    assert gate.attempt(CODE, CODE, "the-teacher", address="10.0.0.200").ok


def test_the_server_wide_wait_still_holds_browsers_and_addresses_that_failed(gate, clock):
    """A guesser that failed, from a browser or an address that failed, waits the server-wide wait."""
    for i in range(tg.OVERALL_FREE + 3):  # the server-wide wait is 4 s after the last
        gate.attempt(CODE, "guess", f"fresh-{i}", address=f"10.0.1.{i}")
    clock.now += 1.0  # each browser's own 1 s has passed
    assert gate.wait_for("fresh-0", address="10.0.9.9") > 0  # a browser that failed
    assert gate.wait_for("brand-new", address="10.0.1.0") > 0  # a new cookie, an address that failed
    refused = gate.attempt(CODE, CODE, "fresh-0", address="10.0.1.0")
    assert not refused.ok and "Too many wrong passcodes" in refused.message


def test_dropping_the_cookie_does_not_escape_the_wait_of_the_address(gate, clock):
    """One machine that drops its cookie before each guess: after ADDRESS_FREE guesses its address
    waits, doubling up to MAX_ADDRESS_WAIT_S, whatever the browser id."""
    for i in range(tg.ADDRESS_FREE):
        assert gate.attempt(CODE, "guess", f"dropped-{i}", address="10.0.2.1").wait_s == 1.0
    for i in range(12):
        clock.now += gate.wait_for(f"dropped-x{i}", address="10.0.2.1")
        last = gate.attempt(CODE, "guess", f"dropped-x{i}", address="10.0.2.1")
    assert last.wait_s == gate.wait_for("another-new", address="10.0.2.1") == tg.MAX_ADDRESS_WAIT_S


def test_codes_are_compared_as_digests():
    assert tg.codes_match("abc", "abc") and not tg.codes_match("abc", "abcd") and not tg.codes_match("abc", "")
    assert tg.digest("abc") != tg.digest("abd") and "abc" not in tg.digest("abc")


def test_the_passcode_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv(tg.ENV, raising=False)
    assert tg.configured_code() == ""
    monkeypatch.setenv(tg.ENV, "  spaced  ")
    assert tg.configured_code() == "spaced"
    assert tg.ENV in tg.ENABLE_COMMAND and "./ftlab app" in tg.ENABLE_COMMAND
