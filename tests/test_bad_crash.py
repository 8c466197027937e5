"""Quick crash test: a writer killed with SIGKILL mid-writes loses no committed record (bench/crash_test.py)."""
from bench import crash_test


def test_kill_9_mid_writes_keeps_every_committed_record(tmp_path):
    summary = crash_test.run(rounds=1, seconds=2.0, db=str(tmp_path / "progress.sqlite3"))
    r = summary["results"][0]
    assert r["committed_reported"] > 0, "the child committed nothing before it was killed"
    assert r["integrity"] == "ok"
    assert r["missing"] == 0, r["missing_examples"]
    assert r["killed_by"] == 9
