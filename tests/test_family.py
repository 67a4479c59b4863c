"""Tests of questengine.family through the service: codes, sign-up, approval, only your own
child, shared reflections, notes both ways, export and delete with the student, the page."""
from __future__ import annotations

import re

import pytest

from questengine import i18n
from questengine.classroom import Classroom
from questengine.errors import AccessDenied, ClassroomError, LoginError, LoginThrottled
from questengine.family import FamilySession
from helpers import cheap_hasher, two_class_school


@pytest.fixture
def school(db_address):
    c, ann, bob, ids = two_class_school(db_address)
    codes = {row["name"]: row["code"] for row in ann.family_codes("CLASS-A")}
    codes.update({row["name"]: row["code"] for row in bob.family_codes("CLASS-B")})
    i18n.activate("en")
    yield c, ann, bob, ids, codes
    i18n.activate("en")


def signed_up(c, code, email="mum@home.org", name="Ada's mum", password="home-pass-1"):
    return c.sign_up_family(code, email, name, password)


def test_codes_are_readable_and_one_per_student(school):
    c, ann, _bob, ids, codes = school
    assert re.fullmatch(r"[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}", codes["Ada"])
    assert len(set(codes.values())) == 3
    # a new handout replaces the student's code: the old one stops working
    new = ann.family_codes("CLASS-A", ids["Ada"])
    assert [r["name"] for r in new] == ["Ada"]
    with pytest.raises(LoginError, match="family code is not known"):
        signed_up(c, codes["Ada"])
    assert isinstance(signed_up(c, new[0]["code"].lower().replace("-", " ")), FamilySession)


def test_sign_up_waits_for_approval_then_sees_only_that_child(school):
    c, ann, _bob, ids, codes = school
    fam = signed_up(c, codes["Ada"])
    assert fam.children() == [{"student_id": None, "name": "", "class_name": "Class A",
                               "status": "pending"}]
    assert "waiting for the teacher" in fam.summary()
    with pytest.raises(AccessDenied):
        fam.child(ids["Ada"])
    [link] = ann.family_links("CLASS-A")
    assert (link["status"], link["family_email"], link["student_name"]) == (
        "pending", "mum@home.org", "Ada")
    ann.approve_family(link["family_id"], ids["Ada"])
    view = fam.child(ids["Ada"])
    assert view.name == "Ada" and view.class_name == "Class A"
    assert [q.title for q in view.quests] == ["Tiny fractions"]
    steps = {s.node: s for s in view.quests[0].steps}
    assert steps["intro"].state == "available" and view.quests[0].next_steps == ["Into the forest"]
    assert steps["learn"].why == "Opens after: Into the forest."
    assert view.quests[0].competencies == [{"name": "Equivalent fractions", "description": ""}]
    # never another student, whatever id the page passes
    for other in (ids["Alan"], ids["Bea"], "1", None, True, 10**9):
        with pytest.raises(AccessDenied):
            fam.child(other)
        with pytest.raises(AccessDenied):
            fam.reply(other, "hello")


def test_a_second_family_sees_only_theirs_and_one_family_can_follow_two(school):
    c, ann, bob, ids, codes = school
    mum = signed_up(c, codes["Ada"])
    dad = signed_up(c, codes["Bea"], "dad@home.org", "Bea's dad")
    for t, code, sid in ((ann, "CLASS-A", ids["Ada"]), (bob, "CLASS-B", ids["Bea"])):
        for link in t.family_links(code):
            t.approve_family(link["family_id"], sid)
    assert [ch["name"] for ch in mum.children()] == ["Ada"]
    assert [ch["name"] for ch in dad.children()] == ["Bea"]
    with pytest.raises(AccessDenied):
        dad.child(ids["Ada"])
    # a teacher cannot approve a link to another teacher's student
    with pytest.raises(AccessDenied):
        bob.approve_family(mum.family_id, ids["Ada"])
    assert mum.add_code(codes["Alan"]) == "pending"
    # signing up again with the same email and password adds the child to the same account
    again = signed_up(c, codes["Alan"])
    assert again.family_id == mum.family_id
    with pytest.raises(LoginError, match="already exists"):
        signed_up(c, codes["Alan"], password="not-the-password")
    ann.approve_family(mum.family_id, ids["Alan"])
    assert sorted(ch["name"] for ch in mum.children()) == ["Ada", "Alan"]
    ann.unlink_family(mum.family_id, ids["Alan"])
    with pytest.raises(AccessDenied):
        mum.child(ids["Alan"])
    assert [ch["name"] for ch in mum.children()] == ["Ada"]


def test_login_is_rate_limited_and_the_session_is_checked(school):
    c, ann, _bob, ids, codes = school
    fam = signed_up(c, codes["Ada"])
    fam.logout()
    with pytest.raises(Exception, match="session has ended"):
        fam.children()
    assert c.login_family("MUM@home.org ", "home-pass-1").family_id == fam.family_id
    assert isinstance(c.resume(c.login_family("mum@home.org", "home-pass-1").token),
                      FamilySession)
    for _i in range(5):
        with pytest.raises(LoginError, match="do not match"):
            c.login_family("mum@home.org", "wrong-pass")
    with pytest.raises(LoginThrottled):
        c.login_family("mum@home.org", "home-pass-1")
    with pytest.raises(ClassroomError, match="8 characters"):
        signed_up(c, codes["Alan"], "x@y.org", "X", "short")


def test_only_shared_reflections_reach_the_family(school):
    c, ann, _bob, ids, codes = school
    fam = signed_up(c, codes["Ada"])
    ann.approve_family(fam.family_id, ids["Ada"])
    ada = c.login_student("CLASS-A", "Ada", "1234")
    ada.complete("t1", "intro")
    ada.reflect("t1", "intro", "I liked the forest")
    ada.reflect("t1", "intro", "a private thought")
    assert fam.child(ids["Ada"]).reflections == []  # off by default
    rows = {r["text"]: r for r in ada.reflections()}
    assert {r["shared"] for r in rows.values()} == {0}
    ada.share_reflection(rows["I liked the forest"]["id"])
    assert [r["text"] for r in fam.child(ids["Ada"]).reflections] == ["I liked the forest"]
    # another student cannot share Ada's reflection
    alan = c.login_student("CLASS-A", "Alan", "1234")
    with pytest.raises(ClassroomError):
        alan.share_reflection(rows["a private thought"]["id"])
    ada.share_reflection(rows["I liked the forest"]["id"], False)
    assert fam.child(ids["Ada"]).reflections == []


def test_notes_go_both_ways_and_leave_with_the_student(school):
    c, ann, bob, ids, codes = school
    mum = signed_up(c, codes["Ada"])
    grandpa = signed_up(c, codes["Alan"], "gp@home.org", "Grandpa")
    pending = signed_up(c, codes["Ada"], "aunt@home.org", "Aunt")
    for link in ann.family_links("CLASS-A"):
        if link["family_name"] != "Aunt":
            ann.approve_family(link["family_id"], link["student_id"])
    assert ann.message_family(ids["Ada"], "Ada did great today") == 1  # not the pending aunt
    assert ann.message_class_families("CLASS-A", "Trip on Friday") == 2
    assert [m["text"] for m in mum.messages(ids["Ada"])] == ["Ada did great today",
                                                             "Trip on Friday"]
    assert [m["text"] for m in grandpa.messages(ids["Alan"])] == ["Trip on Friday"]
    mum.reply(ids["Ada"], "Thank you!")
    notes = ann.family_messages(ids["Ada"])
    assert [(m["sender"], m["text"]) for m in notes][-1] == ("family", "Thank you!")
    assert notes[-1]["family_name"] == "Ada's mum"
    with pytest.raises(AccessDenied):
        pending.messages(ids["Ada"])
    with pytest.raises(ClassroomError, match="empty"):
        mum.reply(ids["Ada"], "   ")
    exported = ann.export_student(ids["Ada"])
    assert [m["text"] for m in exported["family_messages"]][-1] == "Thank you!"
    assert {row["status"] for row in exported["family_links"]} == {"approved", "pending"}
    counts = ann.delete_student(ids["Ada"])
    assert counts["family_messages"] == 3 and counts["family_links"] == 2
    assert counts["family_codes"] == 1
    assert mum.children() == []
    assert [m["text"] for m in grandpa.messages(ids["Alan"])] == ["Trip on Friday"]


def test_the_family_page_in_python(school):
    from questengine.ui.family import FamilyPage

    c, ann, _bob, ids, codes = school
    page = FamilyPage(c)
    page.signup_form.submit(code=codes["Ada"], name="Ada's mum", email="mum@home.org",
                            password="home-pass-1")
    assert page.session is not None
    assert "not approved your request yet" in _texts(page.widget)
    ann.approve_family(page.session.family_id, ids["Ada"])
    page.logout()
    assert page.session is None
    page.login_form.submit(email="mum@home.org", password="home-pass-1")
    assert "Tiny fractions" in _texts(page.widget) and "Ada" in _texts(page.widget)
    page.reply_form.submit(message="Hello teacher")
    assert [m["text"] for m in ann.family_messages(ids["Ada"])] == ["Hello teacher"]
    page.set_language("es")
    assert page.session.language == "es"
    assert "Notas con el docente" in _texts(page.widget)
    page.logout()
    page.login_form.submit(email="mum@home.org", password="home-pass-1")
    assert "Notas con el docente" in _texts(page.widget)  # the saved choice comes back


def test_the_browser_language_is_the_default_and_a_choice_wins(school):
    from questengine.ui.family import FamilyPage

    c, *_rest = school
    page = FamilyPage(c)
    page.probe._msg(None, {"type": "languages", "languages": ["es-MX", "en"]}, [])
    assert i18n.active() == "es" and page.probe.language == "es"
    assert "Entrar" in _texts(page.widget)
    page.set_language("en")
    page.probe._msg(None, {"type": "languages", "languages": ["es"]}, [])
    assert i18n.active() == "en"
    page.probe._msg(None, {"type": "languages", "languages": [{"forged": 1}, 7]}, [])
    assert i18n.active() == "en"


def _texts(widget) -> str:
    """Every text a widget tree shows (HTML values, form titles, labels), joined."""
    out = []
    stack = [widget]
    while stack:
        x = stack.pop()
        for attr in ("value", "title", "button", "description"):
            v = getattr(x, attr, None)
            if isinstance(v, str):
                out.append(v)
        for f in getattr(x, "fields", None) or []:
            if isinstance(f, dict):
                out.append(str(f.get("label", "")))
        stack.extend(getattr(x, "children", ()) or ())
    return "\n".join(out)


def test_the_handout_command_prints_a_page_per_student_with_codes_that_work(tmp_path):
    from click.testing import CliRunner

    from questengine.cli import main

    db = tmp_path / "c.db"
    c = Classroom(db, hasher=cheap_hasher())
    c.add_teacher("ann@school.org", "Ms. Ann", "password-ann")
    c.create_class("ann@school.org", "Class A", "CLASS-A")
    c.add_students("CLASS-A", [("Ada", "1234"), ("Alan <b>", "1234")])
    out = tmp_path / "codes.html"
    result = CliRunner().invoke(main, ["family", "codes", "--class", "class-a", "--db", str(db),
                                       "--lang", "es", "--url", "http://school/family",
                                       "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "2 family codes for class CLASS-A" in result.output
    page = out.read_text(encoding="utf-8")
    assert page.count("<section class='handout'>") == 2 and "<html lang='es'>" in page
    assert "Para la familia de Ada" in page and "Alan &lt;b&gt;" in page
    assert "http://school/family" in page and "page-break-after" in page
    codes = re.findall(r"<p class='code'>([A-Z0-9-]+)</p>", page)
    assert len(codes) == 2
    fam = Classroom(db, hasher=cheap_hasher()).sign_up_family(codes[0], "m@h.org", "Mum",
                                                               "home-pass-1")
    assert fam.children()[0]["status"] == "pending"
    bad = CliRunner().invoke(main, ["family", "codes", "--class", "NOPE", "--db", str(db)])
    assert bad.exit_code == 1 and "no class has the code 'NOPE'" in bad.output


def test_the_untranslated_command_lists_a_quest_files_missing_texts(tmp_path):
    import csv
    import io

    from click.testing import CliRunner

    from questengine.cli import main
    from test_i18n import T1_ES

    path = tmp_path / "t1.yaml"
    path.write_text(T1_ES, encoding="utf-8")
    result = CliRunner().invoke(main, ["untranslated", str(path), "--lang", "es"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert {"key": "nodes.end.title", "original": "Out", "translation": ""} in rows
    assert all(r["key"] != "nodes.intro.title" for r in rows)


def test_the_centers_families_panel_approves_unlinks_and_writes(school):
    from questengine.ui.family_panel import FamilyPanel

    c, ann, _bob, ids, codes = school
    fam = signed_up(c, codes["Ada"])
    flashes = []
    panel = FamilyPanel(ann, lambda text, kind: flashes.append((kind, text)))
    panel.show("CLASS-A")
    assert "waiting for you" in _texts(panel.widget)
    approve = [b for b in _buttons(panel.widget) if b.description == "Approve"]
    approve[0].click()
    assert flashes[-1] == ("info", "Ada's mum now sees Ada's page.")
    assert fam.child(ids["Ada"]).name == "Ada"
    panel.to.value = ids["Ada"]
    panel.note.value = "See you on Friday"
    [b for b in _buttons(panel.widget) if b.description == "Send the note"][0].click()
    assert [m["text"] for m in fam.messages(ids["Ada"])] == ["See you on Friday"]
    assert "See you on Friday" in panel.thread.value
    [b for b in _buttons(panel.widget) if b.description == "Print family codes"][0].click()
    assert "download='family-codes-CLASS-A.html'" in panel.handout.value
    [b for b in _buttons(panel.widget) if b.description == "Unlink"][0].click()
    with pytest.raises(AccessDenied):
        fam.child(ids["Ada"])


def _buttons(widget):
    stack, out = [widget], []
    while stack:
        x = stack.pop()
        if hasattr(x, "click") and hasattr(x, "description"):
            out.append(x)
        stack.extend(getattr(x, "children", ()) or ())
    return out


def test_a_familys_refusals_are_english_for_logs_and_spanish_on_their_page(school):
    c, _ann, _bob, ids, codes = school
    fam = signed_up(c, codes["Ada"])
    es = lambda text: i18n.gettext_in("es", text)  # noqa: E731
    with pytest.raises(AccessDenied) as info:
        fam.child(ids["Bea"])  # not one of theirs
    assert str(info.value) == "This page is not about one of your children."
    assert info.value.translated(es) == "Esta página no es de uno de sus hijos."
    with pytest.raises(ClassroomError) as info:
        c.sign_up_family(codes["Alan"], "nope", "X", "home-pass-1")
    assert str(info.value) == "“nope” is not an email address."
    assert info.value.translated(es) == es("“{email}” is not an email address.").format(
        email="nope") != str(info.value)
    fam.logout()  # the shared session base: ended for every later call
    with pytest.raises(Exception) as info:
        fam.children()
    assert info.value.translated(es) == "Tu sesión terminó. Vuelve a entrar, por favor."
