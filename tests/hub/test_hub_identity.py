"""Behind JupyterHub the hub user is the identity: the service's hub login and the pages.

Runs on both stores. The pages are built in plain pytest (no kernel, no browser) with the
environment a hub user's server has (``QUESTENGINE_HUB``, ``JUPYTERHUB_USER``).
"""
from __future__ import annotations

import pytest

from questengine.classroom import Classroom, StudentSession, TeacherSession
from questengine.errors import ClassroomError, LoginError
from questengine.loader import loads_quest
from questengine.ui.center import CenterPage
from questengine.ui.page import hub_user
from questengine.ui.play import PlayPage

from helpers import T1, cheap_hasher


@pytest.fixture
def school(db_address):
    c = Classroom(db_address, hasher=cheap_hasher())
    owner = c.add_teacher("rivera@hub.school", "Ms. Rivera", "teacher-pass-1")
    c.set_hub_username("teacher", owner, "rivera")
    c.create_class("rivera@hub.school", "Grade 4B", "HUB-4B")
    c.create_class("rivera@hub.school", "Grade 4C", "HUB-4C")
    logins = {}
    for code, name, hub in (("HUB-4B", "Ada Lovelace", "ada"), ("HUB-4B", "Bo Diddley", "bo"),
                            ("HUB-4C", "Ada Lovelace", "ada2"), ("HUB-4C", "Cy Twombly", "cy")):
        login = c.add_student(code, name)
        c.set_hub_username("student", login.student_id, hub)
        logins[hub] = login
    c.publish(loads_quest(T1), by=owner)
    c.assign("t1", "HUB-4B")
    c.logins = logins
    yield c
    c.store.close()


def test_a_hub_user_on_the_roster_gets_their_own_session(school):
    ada = school.login_hub("ada")
    assert isinstance(ada, StudentSession)
    assert (ada.name, ada.class_code) == ("Ada Lovelace", "HUB-4B")
    teacher = school.login_hub("rivera")
    assert isinstance(teacher, TeacherSession) and teacher.name == "Ms. Rivera"


def test_an_unmapped_hub_user_gets_a_sentence_never_a_page(school):
    with pytest.raises(LoginError, match="“zed” is not on any class roster as a teacher or "
                                         "student"):
        school.login_hub("zed")
    with pytest.raises(LoginError, match="did not get your hub account"):
        school.login_hub("  ")


def test_the_lms_role_narrows_the_match(school):
    with pytest.raises(LoginError, match="not on any class roster as a student"):
        school.login_hub("rivera", role="student")
    with pytest.raises(LoginError, match="as a teacher"):
        school.login_hub("ada", role="teacher")
    with pytest.raises(ClassroomError, match="'teacher' or 'student'"):
        school.login_hub("ada", role="admin")


def test_a_hub_username_is_one_student_per_class(school):
    school.set_hub_username("student", school.logins["ada2"].student_id, "ada")
    with pytest.raises(LoginError, match=r"several classes \(HUB-4B, HUB-4C\)"):
        school.login_hub("ada")
    assert school.login_hub("ada", class_code="hub-4c").class_code == "HUB-4C"
    with pytest.raises(ClassroomError, match="class HUB-4B already has a student with the hub "
                                             "username 'ada'"):
        school.set_hub_username("student", school.logins["bo"].student_id, "ada")
    with pytest.raises(ClassroomError, match="already belongs to teacher rivera@hub.school"):
        other = school.add_teacher("okafor@hub.school", "Mr. Okafor", "teacher-pass-2")
        school.set_hub_username("teacher", other, "rivera")


@pytest.fixture
def as_hub_user(monkeypatch, school):
    def become(name: str, role: str | None = None):
        monkeypatch.setenv("QUESTENGINE_HUB", "1")
        monkeypatch.setenv("JUPYTERHUB_USER", name)
        monkeypatch.setenv("QUESTENGINE_DB", school.store.address)
        if role:
            monkeypatch.setenv("QUESTENGINE_HUB_ROLE", role)
        else:
            monkeypatch.delenv("QUESTENGINE_HUB_ROLE", raising=False)
        monkeypatch.delenv("QUESTENGINE_HUB_CLASS", raising=False)
    return become


def test_pages_read_the_hub_user_from_the_servers_environment_only(monkeypatch):
    monkeypatch.delenv("QUESTENGINE_HUB", raising=False)
    monkeypatch.setenv("JUPYTERHUB_USER", "ada")
    assert hub_user() is None  # not behind a hub: the page keeps its own login form


def test_the_play_page_opens_for_the_hub_user_without_a_login_form(as_hub_user):
    as_hub_user("ada")
    page = PlayPage.from_env()
    assert page.session is not None and page.session.name == "Ada Lovelace"
    assert "qe-login" not in _classes(page.widget)


def test_a_forged_login_on_a_hub_page_changes_nothing(as_hub_user, school):
    as_hub_user("ada")
    page = PlayPage(Classroom(school.store.address, hasher=cheap_hasher()))
    form = page.login  # the page's own form, as a browser could still address it
    assert page.sign_in_hub_user(page.classroom, "student", page.start)
    assert page.session.name == "Ada Lovelace"
    bo = school.logins["bo"]
    form.submit(bo.class_code, bo.name, bo.pin)  # Bo's right PIN, sent to the closed form
    assert page.session.name == "Ada Lovelace"
    assert "Bo Diddley" not in _text(page.widget)


def test_an_unmapped_hub_user_sees_one_sentence_on_the_play_page(as_hub_user):
    as_hub_user("zed")
    page = PlayPage.from_env()
    assert page.session is None
    text = _text(page.widget)
    assert "“zed” is not on any class roster" in text
    assert "Ada" not in text and "qe-login" not in _classes(page.widget)


def test_the_center_opens_for_a_teacher_and_refuses_a_student(as_hub_user):
    as_hub_user("rivera", "teacher")
    center = CenterPage.from_env()
    assert center.session is not None and center.session.name == "Ms. Rivera"
    as_hub_user("ada", "student")
    refused = CenterPage.from_env()
    assert refused.session is None
    assert "This page is for teachers" in _text(refused.widget)


def test_logging_out_behind_the_hub_shows_a_sentence_not_a_form(as_hub_user):
    as_hub_user("ada")
    page = PlayPage.from_env()
    page._logout()
    assert "You are logged out of this page" in _text(page.widget)
    assert "qe-login" not in _classes(page.widget)


# --- helpers ---------------------------------------------------------------------------------------


def _walk(widget):
    yield widget
    for child in getattr(widget, "children", ()) or ():
        yield from _walk(child)


def _classes(widget) -> set[str]:
    return {c for w in _walk(widget) for c in getattr(w, "_dom_classes", ())}


def _text(widget) -> str:
    return " ".join(str(getattr(w, "value", "")) for w in _walk(widget)
                    if isinstance(getattr(w, "value", None), str))
