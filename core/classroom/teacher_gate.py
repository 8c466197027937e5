"""The passcode in front of the Teacher page, and the brake on guessing it.

The Teacher page is the one view across learners, so it is closed unless the server was started with
FTLAB_TEACHER_CODE. A wrong try is refused with nothing shown, and each one makes the next try wait
longer: per browser (1 s, 2 s, 4 s ... up to 5 minutes), per network address after ADDRESS_FREE
wrong tries in a row from it (up to a minute; a guesser can drop its cookie, not its address), and
server-wide after OVERALL_FREE. The server-wide wait holds only browsers and addresses that have
failed themselves: so the teacher's right passcode is never refused for other people's wrong ones,
while a guesser is still held to about one try a minute per address it controls.
A try during a wait is refused without being checked; the script thread never sleeps. Codes are
compared as SHA-256 digests with hmac.compare_digest: constant time, whatever the lengths.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from dataclasses import dataclass

from core import settings

ENV = "FTLAB_TEACHER_CODE"
ENABLE_COMMAND = f"{ENV}='pick-a-passcode' ./ftlab app"
MIN_GOOD_LENGTH = 10  # shorter passcodes get a warning on the page: easier to guess or to overhear
FIRST_WAIT_S = 1.0
MAX_WAIT_S = 300.0
OVERALL_FREE = 10  # wrong tries in a row, server-wide, before the server-wide wait starts
MAX_OVERALL_WAIT_S = 60.0
# A class behind one NAT shares an address: a few learners' typos must not hold the teacher long.
ADDRESS_FREE = 10  # wrong tries in a row from one address before its wait starts
MAX_ADDRESS_WAIT_S = 60.0
LOCAL = "local"  # the address key of browsers on the server's own machine (Streamlit gives None)
_FORGET_AFTER_S = 3600.0  # a browser's wrong tries are forgotten an hour after its last one
_MAX_TRACKED = 10_000  # browsers (and addresses) remembered at once; older entries are dropped first


def configured_code() -> str:
    """The passcode this server was started with, or "" when the Teacher page is closed."""
    return settings.current().teacher_code


def digest(code: str) -> str:
    """What a session keeps once unlocked: a digest, never the passcode (and it stops matching when
    the server is restarted with another one)."""
    return hashlib.sha256(b"ftlab-teacher|" + code.encode()).hexdigest()


def codes_match(expected: str, attempt: str) -> bool:
    return hmac.compare_digest(digest(expected), digest((attempt or "").strip()))


def _doubling(n: int, cap: float) -> float:
    """FIRST_WAIT_S after the n-th wrong try in a row, doubling each time, at most `cap`."""
    return min(cap, FIRST_WAIT_S * 2 ** min(n - 1, 30)) if n > 0 else 0.0


@dataclass(frozen=True)
class Verdict:
    ok: bool
    wait_s: float  # how long until the next try is looked at (0 when it may come now)
    message: str  # for the page: what happened and what to do ("" when ok)


class PasscodeGate:
    """Checks passcode tries and slows down wrong ones; one per server, shared by all sessions."""

    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self._browsers: dict[str, tuple[int, float]] = {}  # browser key -> (wrong in a row, until)
        self._addresses: dict[str, tuple[int, float]] = {}  # network address -> (wrong in a row, until)
        self._overall = (0, 0.0)  # (wrong in a row on this server, until)

    def wait_for(self, browser: str, address: str | None = None) -> float:
        """Seconds this browser, at this address, must wait before its next try is checked."""
        with self._lock:
            return self._wait(browser, address or LOCAL, self._clock())

    def _wait(self, browser: str, address: str, now: float) -> float:
        mine = self._browsers.get(browser, (0, 0.0))
        here = self._addresses.get(address, (0, 0.0))
        until = max(mine[1], here[1])
        if mine[0] or here[0]:  # the server-wide wait holds only those that have failed themselves
            until = max(until, self._overall[1])
        return max(0.0, until - now)

    def attempt(self, expected: str, tried: str, browser: str, address: str | None = None) -> Verdict:
        """Check `tried` for `browser` at `address`, unless it must wait; count and delay a wrong try."""
        address = address or LOCAL
        with self._lock:
            now = self._clock()
            wait = self._wait(browser, address, now)
            if wait > 0:
                return Verdict(
                    False,
                    wait,
                    f"Too many wrong passcodes. Wait {_seconds(wait)} before the next "
                    "try; each wrong try makes the wait longer.",
                )
            if codes_match(expected, tried):
                self._browsers.pop(browser, None)
                self._addresses.pop(address, None)
                self._overall = (0, 0.0)
                return Verdict(True, 0.0, "")
            return self._count_wrong(browser, address, now)

    def _count_wrong(self, browser: str, address: str, now: float) -> Verdict:
        mine = self._browsers.get(browser, (0, 0.0))[0] + 1
        here = self._addresses.get(address, (0, 0.0))[0] + 1
        overall = self._overall[0] + 1
        for table in (self._browsers, self._addresses):
            _forget_old(table, now)
        self._browsers[browser] = (mine, now + _doubling(mine, MAX_WAIT_S))
        self._addresses[address] = (here, now + _doubling(here - ADDRESS_FREE, MAX_ADDRESS_WAIT_S))
        self._overall = (overall, now + _doubling(overall - OVERALL_FREE, MAX_OVERALL_WAIT_S))
        wait = self._wait(browser, address, now)
        return Verdict(
            False,
            wait,
            f"That passcode is wrong. Check it (it is the value of {ENV} on the "
            f"server) and try again in {_seconds(wait)}.",
        )


def _forget_old(table: dict[str, tuple[int, float]], now: float) -> None:
    """Keep a table of wrong tries under _MAX_TRACKED entries, dropping the stalest first."""
    if len(table) < _MAX_TRACKED:
        return
    for key, (_, until) in list(table.items()):
        if now - until > _FORGET_AFTER_S or len(table) >= _MAX_TRACKED:
            del table[key]


def _seconds(wait: float) -> str:
    s = max(1, round(wait))
    return f"{s} s" if s < 120 else f"{round(s / 60)} minutes"


_SHARED = PasscodeGate()


def shared_gate() -> PasscodeGate:
    """The server's gate (module state: one per process, like the job manager)."""
    return _SHARED
