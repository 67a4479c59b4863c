"""A teacher's own language in Chromium: picked in the progress center, kept in the store,
and used at the next login even when the browser prefers English.

The teacher, class and student are made through the service on the database the page's
kernels use (their own, so the other center tests see nothing of them).
"""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from conftest import WAIT_MS, WATCH_SCRIPT, cheap_hasher, close_contexts
from questengine.classroom import Classroom
from test_center_page import Tab, teacher_login

TEACHER = ("idioma@test.school", "Sra. Luna", "idioma-pass-1")
CODE = "LANG-6C"


@pytest.fixture(scope="module")
def language_class(classroom_info):
    c = Classroom(classroom_info.db, hasher=cheap_hasher())
    c.add_teacher(*TEACHER)
    c.create_class(TEACHER[0], "Grade 6C", CODE)
    c.assign("fraction-forest", CODE)
    c.add_students(CODE, [("Nora Idioma", "2580")])  # has not started: a struggling card
    c.store.close()
    return CODE


@pytest.fixture
def english_tab(browser, server, language_class, request):
    contexts = []

    def open_tab() -> Tab:
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-US")
        context.set_default_timeout(WAIT_MS)
        context.add_init_script(WATCH_SCRIPT)
        contexts.append(context)
        page = context.new_page()
        tab = Tab(page)
        page.on("request", lambda r: tab.requests.append(r.url))
        page.goto(server.url("progress"), timeout=3 * WAIT_MS)  # a kernel starts: slow under load
        page.wait_for_selector(".qe-login .qe-email input", timeout=3 * WAIT_MS)
        return tab

    yield open_tab
    close_contexts(request, contexts, "center")


def test_a_teacher_picks_spanish_and_finds_it_at_the_next_login(english_tab):
    tab = english_tab()
    page = tab.page
    assert page.evaluate("navigator.languages")[0] == "en-US"
    teacher_login(tab, TEACHER[0], TEACHER[2])
    expect(page.get_by_role("tab", name="Class map")).to_be_visible()
    page.locator(".qe-top .qe-language select").select_option(label="Español")
    expect(page.get_by_role("tab", name="Mapa de la clase")).to_be_visible()
    expect(page.locator(".qe-logout")).to_have_text("Salir")
    page.get_by_role("tab", name="Con dificultades").click()
    expect(page.locator(".qe-center")).to_contain_text("aún no ha empezado ninguna misión")
    page.locator(".qe-logout").click()
    # the next person at this tab gets the browser's English login form
    expect(page.locator(".qe-login-button")).to_have_text("Log in")
    tab.assert_clean()

    again = english_tab()  # a new tab, still an English browser
    teacher_login(again, TEACHER[0], TEACHER[2])
    page = again.page
    expect(page.get_by_role("tab", name="Mapa de la clase")).to_be_visible()
    expect(page.locator(".qe-top .qe-language select option:checked")).to_have_text("Español")
    assert page.evaluate("document.documentElement.lang") == "es"
    page.get_by_role("tab", name="Con dificultades").click()
    expect(page.locator(".qe-center")).to_contain_text("aún no ha empezado ninguna misión")
    text = again.text()
    assert "Class map" not in text and "has not started any quest yet" not in text
    again.assert_clean()
