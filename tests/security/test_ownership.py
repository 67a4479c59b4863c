"""Taking over another teacher's quest, and reading the database file as another user."""
import os
import sqlite3
import stat

import pytest
from click.testing import CliRunner

from helpers import T1, cheap_hasher
from questengine.classroom import Classroom
from questengine.cli import main
from questengine.errors import AccessDenied, ClassroomError
from questengine.loader import loads_quest
from questengine.store import Store


def _school(db):
    c = Classroom(db, hasher=cheap_hasher())
    ann = c.add_teacher("ann@school.org", "Ann", "ann-password")
    bob = c.add_teacher("bob@school.org", "Bob", "bob-password")
    c.create_class("ann@school.org", "Class A", "CLASS-A")
    return c, ann, bob


def test_a_quest_assigned_from_the_command_line_is_owned_and_cannot_be_taken_over(tmp_path):
    db = tmp_path / "school.db"
    c, ann, bob = _school(db)
    quest_file = tmp_path / "t1.yaml"
    quest_file.write_text(T1, encoding="utf-8")
    result = CliRunner().invoke(main, ["assign", str(quest_file), "CLASS-A", "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert c.store.quest_row("t1")["published_by"] == ann
    before = c.store.quest_row("t1")
    takeover = loads_quest(T1.replace("Tiny fractions", "Bob's version"))
    bob_session = c.login_teacher("bob@school.org", "bob-password")
    with pytest.raises(AccessDenied, match="belongs to another teacher"):
        bob_session.publish(takeover)
    assert c.store.quest_row("t1") == before  # nothing was written
    # the owner can publish a new version
    ann_session = c.login_teacher("ann@school.org", "ann-password")
    assert ann_session.publish(takeover) == 2


def test_publishing_without_an_owner_is_refused(tmp_path):
    c, ann, bob = _school(tmp_path / "school.db")
    for by in (None, 0, 999, "ann@school.org", True):
        with pytest.raises(ClassroomError, match="owning teacher"):
            c.publish(loads_quest(T1), by=by)
    assert c.store.quest_row("t1") is None


def test_the_demo_quests_belong_to_the_demo_teacher(tmp_path):
    from questengine.demo import DEMO_TEACHER, build_demo
    from questengine.cli import _sample_quests

    info = build_demo(tmp_path / "demo.db", _sample_quests(), hasher=cheap_hasher())
    store = Store(tmp_path / "demo.db")
    owner = store.teacher_by_email(DEMO_TEACHER)["id"]
    for quest_id in info.quests:
        assert store.quest_row(quest_id)["published_by"] == owner


def test_an_old_database_gives_its_ownerless_quests_to_the_class_teacher(tmp_path):
    db = tmp_path / "old.db"
    c, ann, bob = _school(db)
    c.publish(loads_quest(T1), by=ann)
    c.assign("t1", "CLASS-A", by=ann)
    c.store.close()
    raw = sqlite3.connect(db)  # what an older questengine left: no owner, schema version 6
    raw.execute("update quests set published_by = null")
    raw.execute("pragma user_version = 6")
    raw.commit()
    raw.close()
    c = Classroom(db, hasher=cheap_hasher())
    assert c.store.quest_row("t1")["published_by"] == ann
    with pytest.raises(AccessDenied):
        c.publish(loads_quest(T1.replace("Tiny", "Taken")), by=bob)


@pytest.mark.parametrize("how", ["store", "init-db", "demo"])
def test_new_databases_are_readable_by_their_owner_only(tmp_path, how):
    db = tmp_path / "new.db"
    if how == "store":
        Store(db).close()
    elif how == "init-db":
        assert CliRunner().invoke(main, ["init-db", "--db", str(db)]).exit_code == 0
    else:
        result = CliRunner().invoke(main, ["demo", "--no-serve", "--db", str(db)])
        assert result.exit_code == 0, result.output
    mode = stat.S_IMODE(os.stat(db).st_mode)
    assert mode == 0o600, oct(mode)
    for suffix in ("-wal", "-shm"):  # SQLite gives its side files the database's mode
        side = tmp_path / f"new.db{suffix}"
        if side.exists():
            assert stat.S_IMODE(os.stat(side).st_mode) & 0o077 == 0
