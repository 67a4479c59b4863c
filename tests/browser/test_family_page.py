"""The family page in Chromium: sign-up with a code, the teacher's approval, only your own
child (whatever the browser forges), shared reflections only, notes both ways, the page in
Spanish from the browser's preference, and axe-core finding nothing on it.

Teacher and student actions happen through the service on the same database file.
"""
from __future__ import annotations

import secrets

import pytest
from playwright.sync_api import expect

from axe import assert_no_axe_violations
from conftest import CLASS_CODE, TEACHER, WAIT_MS, Player, close_contexts, new_player, settle

FOREST = "fraction-forest"


@pytest.fixture
def teacher(classroom_info):
    c = classroom_info.classroom()
    return c, c.login_teacher(TEACHER[0], TEACHER[2])


def kid(teacher_session, name: str) -> tuple[int, str, str]:
    """A new student of the test class (unique name) and a family code for them."""
    login = teacher_session.add_student(CLASS_CODE, f"{name} {secrets.token_hex(2)}")
    [row] = teacher_session.family_codes(CLASS_CODE, login.student_id)
    return login.student_id, row["code"], login.name


@pytest.fixture
def tab(browser, server, shots_dir, request):
    contexts = []

    def open_tab(locale: str = "en-US") -> Player:
        context, p = new_player(browser, server.url("family"), shots_dir, locale=locale)
        contexts.append(context)
        page = p.page
        page.goto(p.url, timeout=3 * WAIT_MS)  # a kernel starts: slow on a loaded machine
        page.wait_for_selector(".qe-family-login input[name=email]", timeout=3 * WAIT_MS)
        return p

    yield open_tab
    close_contexts(request, contexts, "family page")


def fill_form(p: Player, form: str, **values: str) -> None:
    for name, value in values.items():
        p.page.locator(f"{form} input[name={name}]").fill(value)
    p.page.locator(f"{form} button[type=submit]").click()


def log_in(p: Player, email: str, password: str) -> None:
    fill_form(p, ".qe-family-login", email=email, password=password)
    p.page.wait_for_selector(".qe-family-hello", timeout=WAIT_MS)


def family_id(teacher_session, email: str) -> int:
    return next(link["family_id"] for link in teacher_session.family_links(CLASS_CODE)
                if link["family_email"] == email)


def test_a_family_signs_up_waits_and_then_sees_only_their_own_child(teacher, tab):
    c, t = teacher
    one, code_one, name_one = kid(t, "Fern Kid")
    two, code_two, name_two = kid(t, "Gus Kid")
    three, code_three, name_three = kid(t, "Hal Kid")
    mum = tab()
    fill_form(mum, ".qe-family-signup", code=code_one, name="Fern's mum",
              email="fern.mum@home.test", password="fern-pass-1")
    expect(mum.page.locator(".qe-waiting")).to_contain_text("not approved your request yet")
    assert name_one not in mum.text()  # nothing about the child before the teacher approves
    t.approve_family(family_id(t, "fern.mum@home.test"), one)
    # one account, two children: the second code goes in from the page
    fill_form(mum, ".qe-family-add", code=code_three)
    expect(mum.page.locator(".qe-flash-info")).to_contain_text("The teacher will approve")
    t.approve_family(family_id(t, "fern.mum@home.test"), three)
    mum.page.reload()
    mum.page.wait_for_selector(".qe-family-login input[name=email]", timeout=WAIT_MS)
    log_in(mum, "fern.mum@home.test", "fern-pass-1")
    expect(mum.page.locator(".qe-child-name")).to_have_text(name_one)
    expect(mum.page.locator(".qe-family-child").first).to_contain_text("The Fraction Forest")
    mum.page.locator(".qe-child-picker select").select_option(label=name_three)
    expect(mum.page.locator(".qe-child-name")).to_have_text(name_three)

    # a second family with another code sees only theirs
    dad = tab()
    fill_form(dad, ".qe-family-signup", code=code_two, name="Gus's dad",
              email="gus.dad@home.test", password="gus-pass-12")
    dad.page.wait_for_selector(".qe-waiting", timeout=WAIT_MS)
    t.approve_family(family_id(t, "gus.dad@home.test"), two)
    dad.page.locator(".qe-logout").click()
    dad.page.wait_for_selector(".qe-family-login input[name=email]", timeout=WAIT_MS)
    log_in(dad, "gus.dad@home.test", "gus-pass-12")
    expect(dad.page.locator(".qe-child-name")).to_have_text(name_two)
    for other in (name_one, name_three):
        assert other not in dad.text()
    assert dad.page.locator(".qe-child-picker").count() == 0

    # the browser forges every widget state it can: the picker's index and labels, forms
    # submitting values that name another student; nothing about Gus reaches Fern's mum
    forged = mum.page.evaluate("""async ([other]) => {
      const app = window.jupyterapp;
      const manager = app.widgetManager || app._widgetManager;
      const all = manager._models instanceof Map ? [...manager._models.values()]
                                                 : Object.values(manager._models);
      let n = 0;
      for (const promise of all) {
        let m; try { m = await promise; } catch (e) { continue; }
        const name = m.get('_model_name');
        try {
          if (name === 'DropdownModel') {
            m.set('_options_labels', ['Gus']); m.set('index', 5); m.save_changes(); n++;
            m.set('index', 0); m.save_changes(); n++;
          }
          if (name === 'AnyModel') {
            m.send({type: 'submit', values: {message: '', student_id: other, code: ''}}); n++;
            m.send({type: 'languages', languages: [{student_id: other}]}); n++;
          }
        } catch (e) {}
      }
      return n;
    }""", [two])
    assert forged >= 4
    settle(mum.page)
    mum.page.wait_for_timeout(1500)
    text = mum.text()
    assert name_two not in text and "Gus's dad" not in text
    assert t.family_messages(two) == []
    mum.assert_no_traceback()
    mum.assert_local_requests()


def test_shared_reflections_appear_unshared_never_and_notes_go_both_ways(teacher, tab):
    c, t = teacher
    sid, code, name = kid(t, "Ivy Kid")
    fam = c.sign_up_family(code, "ivy.family@home.test", "Ivy's family", "ivy-pass-12")
    t.approve_family(fam.family_id, sid)
    student = c.login_student(CLASS_CODE, name, t.reset_pin(sid))
    student.complete(FOREST, "trailhead")
    student.reflect(FOREST, "trailhead", "I think 1/2 and 2/4 are the same SHARED-IDEA")
    student.reflect(FOREST, "trailhead", "a SECRET-THOUGHT for me only")
    shared = next(r for r in student.reflections() if "SHARED-IDEA" in r["text"])
    student.share_reflection(shared["id"])
    t.message_family(sid, "Ivy worked hard on fractions today")

    p = tab()
    log_in(p, "ivy.family@home.test", "ivy-pass-12")
    expect(p.page.locator(".qe-shared-reflections")).to_contain_text("SHARED-IDEA")
    assert "SECRET-THOUGHT" not in p.text()
    expect(p.page.locator(".qe-family-notes")).to_contain_text("Ivy worked hard on fractions")
    fill_form(p, ".qe-family-reply", message="Thank you, we practise at home")
    expect(p.page.locator(".qe-family-notes")).to_contain_text("we practise at home")
    assert [m["text"] for m in t.family_messages(sid) if m["sender"] == "family"] == [
        "Thank you, we practise at home"]
    # the student hides it again: the next visit no longer shows it
    student.share_reflection(shared["id"], False)
    p.page.reload()
    p.page.wait_for_selector(".qe-family-login input[name=email]", timeout=WAIT_MS)
    log_in(p, "ivy.family@home.test", "ivy-pass-12")
    expect(p.page.locator(".qe-family-child").first).to_contain_text("Nothing shared yet")
    assert "SHARED-IDEA" not in p.text() and "SECRET-THOUGHT" not in p.text()
    p.assert_no_traceback()


ENGLISH_WORDS = ("Log in", "Sign up", "Family code", "Password", "Notes with the teacher",
                 "Badges", "Goals your child set", "What is personalized learning",
                 "Log out", "Write to the teacher", "ready to start", "locked")


def test_the_whole_family_page_in_spanish_and_axe_finds_nothing(teacher, tab):
    c, t = teacher
    sid, code, name = kid(t, "Juan Kid")
    p = tab(locale="es-ES")  # the browser prefers Spanish
    expect(p.page.locator(".qe-family-title")).to_have_text("Página de la familia")
    expect(p.page.locator(".qe-family-login button[type=submit]")).to_have_text("Entrar")
    assert p.page.evaluate("document.documentElement.lang") == "es"
    assert_no_axe_violations(p.page, "family: log in (Spanish)")
    fill_form(p, ".qe-family-signup", code=code, name="Familia de Juan",
              email="juan.familia@home.test", password="juan-pass-1")
    expect(p.page.locator(".qe-waiting")).to_contain_text("todavía no ha aprobado")
    t.approve_family(family_id(t, "juan.familia@home.test"), sid)
    t.message_family(sid, "Hola familia")
    p.page.locator(".qe-logout").click()
    p.page.wait_for_selector(".qe-family-login input[name=email]", timeout=WAIT_MS)
    log_in(p, "juan.familia@home.test", "juan-pass-1")
    expect(p.page.locator(".qe-child-name")).to_have_text(name)
    expect(p.page.locator(".qe-family-child").first).to_contain_text("Insignias")
    text = p.text()
    for words in ("Notas con el docente", "Metas que se propuso", "listo para empezar",
                  "¿Qué es el aprendizaje personalizado?", "Escribir al docente", "Salir"):
        assert words in text, words
    leftovers = [w for w in ENGLISH_WORDS if w in text]
    assert leftovers == [], leftovers
    assert_no_axe_violations(p.page, "family: a child's page (Spanish)")
    # the family's choice is saved: English now, and English next time
    p.page.locator(".qe-language select").select_option(label="English")
    expect(p.page.locator(".qe-family-title")).to_have_text("Family page")
    assert_no_axe_violations(p.page, "family: a child's page (English)")
    assert c.login_family("juan.familia@home.test", "juan-pass-1").language == "en"
    p.assert_no_traceback()
    p.assert_local_requests()
