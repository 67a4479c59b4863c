"""Messages between a teacher and their students (issue 16) through the service: one student
or the whole class, the student reads and marks them read (the teacher sees "read"), replies,
only your own students, sanitized on the page, exported and deleted with the student, the
migration on a database that already has the table, and the teacher's time zone."""
from __future__ import annotations

import sqlite3

import pytest

from questengine.errors import AccessDenied, ClassroomError
from questengine.store import SCHEMA_VERSION, Store
from helpers import FakeClock, two_class_school


@pytest.fixture
def school(db_address):
    clock = FakeClock()
    c, ann, bob, ids = two_class_school(db_address, clock)
    return c, clock, ann, bob, ids


def test_a_teacher_messages_a_student_who_reads_it_and_replies(school):
    c, clock, ann, _bob, ids = school
    ada = c.login_student("CLASS-A", "Ada", "1234")
    sent = ann.message_student(ids["Ada"], "  Try the **worksheet** again, Ada.  ")
    assert sent["text"] == "Try the **worksheet** again, Ada." and sent["read_at"] is None
    assert [m["text"] for m in ada.unread_messages()] == ["Try the **worksheet** again, Ada."]
    assert ada.unread_messages()[0]["author"] == "Ms. Ann"
    # the other student of the class sees nothing
    assert c.login_student("CLASS-A", "Alan", "1234").messages() == []
    clock.advance(minutes=1)
    assert ada.mark_messages_read() == 1
    assert ada.unread_messages() == [] and ada.mark_messages_read() == 0
    thread = ann.student_messages(ids["Ada"])
    assert thread[0]["read_at"] is not None  # the teacher sees it was read, and when
    reply = ada.reply("OK, I will!")
    assert reply["sender"] == "student"
    thread = ann.student_messages(ids["Ada"], mark_read=True)
    assert [(m["sender"], m["author"], m["text"]) for m in thread] == [
        ("teacher", "Ms. Ann", "Try the **worksheet** again, Ada."),
        ("student", "Ada", "OK, I will!")]
    assert ann.student_messages(ids["Ada"])[-1]["read_at"] is not None
    # a message the student has not seen yet stays unread when an older one is marked
    first = ann.message_student(ids["Ada"], "One more thing")
    ann.message_student(ids["Ada"], "And another")
    assert ada.mark_messages_read(upto=first["id"]) == 1
    assert [m["text"] for m in ada.unread_messages()] == ["And another"]


def test_the_whole_class_at_once(school):
    c, _clock, ann, _bob, ids = school
    assert ann.message_class("class-a", "Trip on Friday!") == 2
    for name in ("Ada", "Alan"):
        s = c.login_student("CLASS-A", name, "1234")
        assert [m["text"] for m in s.unread_messages()] == ["Trip on Friday!"]
    assert c.login_student("CLASS-B", "Bea", "1234").messages() == []


def test_only_your_own_students_and_real_text(school):
    _c, _clock, ann, bob, ids = school
    with pytest.raises(AccessDenied, match="not in your classes"):
        bob.message_student(ids["Ada"], "hello")
    with pytest.raises(AccessDenied):
        bob.student_messages(ids["Ada"])
    with pytest.raises(AccessDenied, match="not one of your classes"):
        bob.message_class("CLASS-A", "hello")
    with pytest.raises(ClassroomError, match="empty"):
        ann.message_student(ids["Ada"], "   ")
    with pytest.raises(ClassroomError, match="2000"):
        ann.message_student(ids["Ada"], "x" * 2001)
    assert ann.student_messages(ids["Ada"]) == []


def test_a_message_is_exported_and_deleted_with_the_student(school):
    c, _clock, ann, _bob, ids = school
    ann.message_student(ids["Ada"], "Well done")
    ann.message_student(ids["Alan"], "Keep going")
    c.login_student("CLASS-A", "Ada", "1234").reply("Thanks")
    exported = ann.export_student(ids["Ada"])
    assert [m["text"] for m in exported["student_messages"]] == ["Well done", "Thanks"]
    counts = ann.delete_student(ids["Ada"])
    assert counts["student_messages"] == 2
    assert [m["text"] for m in ann.student_messages(ids["Alan"])] == ["Keep going"]


def test_the_play_page_shows_the_message_sanitized_and_marks_it_read(school):
    from questengine.ui.play import PlayPage

    c, _clock, ann, _bob, ids = school
    ann.message_student(ids["Ada"], "Look at **this** <script>alert(1)</script> "
                                    "<img src=x onerror=alert(2)>")
    page = PlayPage(c)
    page.login.submit("CLASS-A", "Ada", "1234")
    notice = page.messages_box
    shown = "".join(getattr(child, "value", "") for child in notice.children)
    assert "<strong>this</strong>" in shown and "Ms. Ann" in shown
    assert "<script" not in shown and "<img" not in shown  # shown as text, escaped
    assert "&lt;script&gt;" in shown
    assert "message from your teacher" in page.announcer.value.lower()
    got_it = next(b for row in notice.children for b in getattr(row, "children", ())
                  if "qe-message-read" in b._dom_classes)
    got_it.click()
    assert page.session.unread_messages() == []
    assert ann.student_messages(ids["Ada"])[0]["read_at"] is not None
    assert notice.children == ()


def test_a_page_drawn_again_does_not_read_the_message_out_again(school):
    from questengine import i18n
    from questengine.ui.play import PlayPage

    c, _clock, ann, _bob, ids = school
    ann.message_student(ids["Ada"], "See me at break.")
    page = PlayPage(c)
    page.login.submit("CLASS-A", "Ada", "1234")
    assert "See me at break." in page.announcer.value
    page.announcer.value = ""
    try:
        page._choose_language("es")  # the page is drawn again, in Spanish
        shown = "".join(getattr(child, "value", "") for child in page.messages_box.children)
        assert "See me at break." in shown  # still shown until read
        assert "See me at break." not in page.announcer.value  # but not said twice
        ann.message_student(ids["Ada"], "And bring your map.")
        page.check_news()
        assert "And bring your map." in page.announcer.value  # a new one is said
    finally:
        i18n.activate("en")


def test_migration_13_skips_a_table_a_database_already_has(tmp_path):
    path = tmp_path / "old.db"
    Store(path).close()
    conn = sqlite3.connect(path)  # a database marked older than it is: the table is there
    conn.execute("pragma user_version = 11")
    conn.commit()
    conn.close()
    store = Store(path)
    assert store.schema_version == SCHEMA_VERSION
    assert "read_at" in store.table_columns("student_messages")
    store.close()


def test_the_teachers_time_zone_is_kept_on_the_session(school):
    _c, _clock, ann, _bob, _ids = school
    assert ann.time_zone is None
    assert str(ann.set_time_zone("America/Chicago")) == "America/Chicago"
    assert str(ann.time_zone) == "America/Chicago"
    for wrong in ("Mars/Olympus", "../../etc/passwd", "", None):
        with pytest.raises(ClassroomError, match="not a time zone.*America/Chicago"):
            ann.set_time_zone(wrong)
    assert str(ann.time_zone) == "America/Chicago"
