"""Who is who on a class server, with no accounts and no passwords.

A nickname alone is a claim, not a key: anyone could type "ada" and read ada's answers. So each
browser carries a random id (a cookie the app sets), a nickname belongs to the browser that took it,
and a one-time recovery code moves it to another device. A browser without a nickname keeps its own
anonymous progress under a key derived from its id, never shared with another browser.

Only hashes are stored. The browser id has 144 random bits, so one SHA-256 suffices; a recovery code
is short enough to type (60 bits), so it is stretched with PBKDF2 and a salt (0.12 s per check on
this 2-core machine at 100,000 rounds) and wrong guesses lock the guessing browser for a while.

Nicknames that look alike are one name: its key (name_key) is NFKC then casefold, so "Émile" and
"émile", "ada" and full-width "ａｄａ" cannot have two owners, on SQLite as on PostgreSQL. A name
that mixes scripts (a Cyrillic "а" in "ada") is refused: it exists only to pass for another.
A name written wholly in another script ("ада") is allowed; it reads as another name.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import unicodedata

NAME_MAX = 40
_NAME_OK = re.compile(r"^[\w .\-]{1,%d}$" % NAME_MAX)
# "guest" was the old shared name: whoever took it would get every guest's answers.
RESERVED_NAMES = frozenset({"guest"})
# Anonymous progress keys contain ':', which a nickname cannot, so the two never collide.
ANON_PREFIX = "browser:"

_BROWSER_ID_OK = re.compile(r"^[A-Za-z0-9_-]{24}$")
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read aloud or copied by hand
CODE_GROUPS, CODE_GROUP_LEN = 3, 4
CODE_ROUNDS = 100_000
MAX_WRONG_CODES = 5  # wrong recovery codes in a row before the trying browser is locked
LOCK_SECONDS = 15 * 60


class IdentityError(ValueError):
    """A nickname or recovery request that cannot be granted; the message says why and what to do."""


def new_browser_id() -> str:
    """A fresh random browser id (24 URL-safe characters, 144 bits)."""
    return secrets.token_urlsafe(18)


def valid_browser_id(value) -> bool:
    return isinstance(value, str) and bool(_BROWSER_ID_OK.match(value))


def browser_hash(browser_id: str) -> str:
    """What the database keeps of a browser id: its SHA-256, so a copied file cannot impersonate."""
    return hashlib.sha256(b"ftlab-browser|" + browser_id.encode()).hexdigest()


def anonymous_key(browser_id: str) -> str:
    """The progress key of a browser that has no nickname."""
    return ANON_PREFIX + browser_hash(browser_id)[:32]


def is_anonymous(learner_key: str) -> bool:
    return learner_key.startswith(ANON_PREFIX)


def name_key(name: str) -> str:
    """What makes two nicknames the same name: NFKC, then casefold (ß is ss, É is é, ａ is a)."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())


# Scripts one language writes together: Japanese mixes kana with Han; Korean may add Hanja.
_SCRIPT_FAMILIES = {"Hiragana": "Han", "Katakana": "Han", "Hangul": "Han", "Cjk": "Han"}


def scripts(name: str) -> set[str]:
    """The scripts of the letters in `name` ("Latin", "Cyrillic", "Greek", "Han"...), by Unicode name."""
    found = set()
    for ch in name:
        if ch.isalpha():
            script = unicodedata.name(ch, "UNKNOWN").split()[0].title()
            found.add(_SCRIPT_FAMILIES.get(script, script))
    return found


def check_name(name: str) -> str:
    """The nickname, NFKC-normalised and trimmed, or IdentityError saying what is wrong with it."""
    name = unicodedata.normalize("NFKC", name or "").strip()
    if not name:
        raise IdentityError("Type a nickname first.")
    if not _NAME_OK.match(name):
        raise IdentityError(f"Use up to {NAME_MAX} letters, digits, spaces, dots, dashes or underscores.")
    if name_key(name) in RESERVED_NAMES:
        raise IdentityError(f"“{name}” is reserved. Pick another nickname.")
    mixed = sorted(scripts(name))
    if len(mixed) > 1:
        raise IdentityError(
            f"“{name}” mixes {' and '.join(mixed)} letters, so it could pass for another "
            "learner's name. Write it in one alphabet."
        )
    return name


def new_recovery_code() -> str:
    """A code such as 'K7QX-M2PA-HT9C'."""
    chars = [secrets.choice(CODE_ALPHABET) for _ in range(CODE_GROUPS * CODE_GROUP_LEN)]
    return "-".join("".join(chars[i : i + CODE_GROUP_LEN]) for i in range(0, len(chars), CODE_GROUP_LEN))


def normalize_code(code: str) -> str:
    """Upper case without spaces or dashes, so 'k7qx m2pa-ht9c' matches 'K7QX-M2PA-HT9C'."""
    return re.sub(r"[\s\-]", "", code or "").upper()


def hash_code(code: str, salt: bytes) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", normalize_code(code).encode(), salt, CODE_ROUNDS)


def salted_code_hash(code: str) -> tuple[bytes, bytes]:
    """(salt, hash) to store for a recovery code."""
    salt = secrets.token_bytes(16)
    return salt, hash_code(code, salt)


def code_matches(code: str, salt: bytes | None, digest: bytes | None) -> bool:
    if not salt or not digest:
        return False
    return hmac.compare_digest(hash_code(code, salt), digest)
