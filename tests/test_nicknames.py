"""Look-alike nicknames: one name whatever its case, accents' encoding or width (NFKC + casefold,
the same rule on SQLite and PostgreSQL), and no name that mixes scripts (a Cyrillic "а" in "ada").
Store tests run on both backends (tests/conftest.py's progress_db)."""
import sqlite3

import pytest

from core.classroom import identity as ident
from core.classroom.identity import IdentityError
from core.classroom.progress import _MIGRATIONS, SCHEMA_VERSION, ProgressStore

CYRILLIC_A = "\u0430"


@pytest.fixture
def store(progress_db):
    store = ProgressStore(progress_db)
    yield store
    store.close()


@pytest.mark.parametrize("taken, lookalike", [
    ("Émile", "émile"),  # case beyond ASCII: SQLite's NOCASE missed it
    ("Émile", "E\u0301mile"),  # the same letter written as E + a combining accent
    ("ada", "ａｄａ"),  # full-width letters
    ("Strasse", "STRAẞE"),  # casefold: ß is ss
])
def test_a_lookalike_of_a_taken_name_is_refused(store, taken, lookalike):
    owner, other = ident.new_browser_id(), ident.new_browser_id()
    store.claim_name(owner, taken)
    with pytest.raises(IdentityError, match="taken by another browser"):
        store.claim_name(other, lookalike)
    assert store.name_of(other) is None


def test_a_name_that_mixes_scripts_is_refused_with_a_clear_message(store):
    with pytest.raises(IdentityError, match="mixes Cyrillic and Latin letters"):
        store.claim_name(ident.new_browser_id(), f"{CYRILLIC_A}da")
    store.claim_name(ident.new_browser_id(), "Дмитрий")  # one script, any script: fine
    store.claim_name(ident.new_browser_id(), "ひらがなカタカナ漢字")  # Japanese writes three together


def test_the_name_is_kept_as_typed_and_found_by_any_spelling(store):
    laptop, phone = ident.new_browser_id(), ident.new_browser_id()
    code = store.claim_name(laptop, "Émile")
    assert store.name_of(laptop) == "Émile"
    store.recover(phone, "ÉMILE", code)  # recovery finds it by a look-alike spelling too
    assert store.name_of(phone) == "Émile"


V5_TWO_EMILES = """
CREATE TABLE identities (
    name TEXT PRIMARY KEY COLLATE NOCASE, browser_hash TEXT NOT NULL UNIQUE,
    code_salt BLOB, code_hash BLOB, wrong_codes INTEGER NOT NULL DEFAULT 0,
    locked_until REAL NOT NULL DEFAULT 0, created REAL NOT NULL);
INSERT INTO identities (name, browser_hash, created) VALUES ('émile', '{late}', 2.0);
INSERT INTO identities (name, browser_hash, created) VALUES ('Émile', '{early}', 1.0);
"""


def test_two_owners_of_lookalike_names_from_before_keep_their_names(tmp_path):
    """A SQLite file from before this rule may hold "Émile" and "émile", owned by two browsers: both
    keep theirs, and no third browser can take either spelling."""
    path = str(tmp_path / "p.sqlite3")
    early, late = ident.new_browser_id(), ident.new_browser_id()
    store = ProgressStore(path)
    store.learners()  # a fresh file at this version, then put back to 5 with the two old rows
    conn = sqlite3.connect(path)
    conn.executescript("DROP TABLE identities; DROP TABLE recovery_tries; UPDATE schema_version SET version = 4;"
                       + V5_TWO_EMILES.format(early=ident.browser_hash(early), late=ident.browser_hash(late))
                       + _MIGRATIONS[5])
    conn.execute("UPDATE schema_version SET version = 5")
    conn.commit()
    conn.close()
    store = ProgressStore(path)
    assert store.name_of(early) == "Émile" and store.name_of(late) == "émile"
    with pytest.raises(IdentityError, match="taken by another browser"):
        store.claim_name(ident.new_browser_id(), "ÉMILE")
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
    conn.close()


def test_a_postgresql_database_at_schema_5_gets_name_keys(pg_server):
    import psycopg

    url = pg_server.create_database()
    owner = ident.new_browser_id()
    ProgressStore(url).claim_name(owner, "Émile")
    with psycopg.connect(url, autocommit=True) as conn:  # back to schema 5: no name keys yet
        conn.execute("DROP INDEX identities_name_key")
        conn.execute("ALTER TABLE identities DROP COLUMN name_key")
        conn.execute("UPDATE schema_version SET version = 5")
    store = ProgressStore(url)
    assert store.name_of(owner) == "Émile"
    with pytest.raises(IdentityError, match="taken by another browser"):
        store.claim_name(ident.new_browser_id(), "ÉMILE")
    store.close()
