"""The play page in Spanish, in Chromium: a student whose saved language is Spanish (the
browser prefers English) plays a quest that carries Spanish translations of its texts.

The quest, a class of its own and the student are made through the service on the
database the page's kernels use.
"""
from __future__ import annotations

from playwright.sync_api import expect

from conftest import TEACHER, WAIT_MS
from questengine import loads_quest
from test_i18n import T1_ES

ENGLISH_WORDS = ("Log out", "My quests", "My profile", "Check my mastery", "Done ✓", "Done ➜",
                 "How do you want to do this", "Into the forest", "Tiny fractions", "List of steps",
                 "in progress", "locked", "is locked", "opens after")


def test_the_play_page_in_spanish_with_a_translated_quest(classroom_info, player):
    c = classroom_info.classroom()
    t = c.login_teacher(TEACHER[0], TEACHER[2])
    code = t.create_class("Clase de español", "ESP-4B")
    t.publish(loads_quest(T1_ES))
    t.assign("t1", code)
    login = t.add_student(code, "Lucía Pérez", "2468")
    student = c.login_student(code, login.name, login.pin)
    student.set_language("es")

    p = player
    p.open()
    p.login(login.name, login.pin, code)  # the login form is in the browser's language
    page = p.page
    expect(page.locator(".qe-logout")).to_have_text("Salir")
    expect(page.locator(".qe-quest-list")).to_contain_text("Fracciones pequeñas")
    assert page.evaluate("document.documentElement.lang") == "es"
    expect(page.locator(".qe-view-list")).to_have_text("☰ Lista de pasos")
    # why a step is locked, in Spanish with the Spanish titles (the map's label for it)
    assert "se abre después de terminar «Hacia el bosque»" in p.node("learn").get_attribute(
        "aria-label")
    p.select("intro", "Hacia el bosque")
    expect(p.panel).to_contain_text("Hola")
    p.do()
    p.wait_state("learn", "available")
    p.select("learn", "Aprende")
    expect(p.panel).to_contain_text("¿Cómo quieres hacerlo?")
    p.panel.locator(".qe-option-video").click()
    p.panel.locator("button.qe-do").wait_for(timeout=WAIT_MS)
    p.do()
    p.wait_state("check", "available")
    p.select("check", "Control")
    quest = loads_quest(T1_ES)
    expect(p.panel).to_contain_text("¿Cuál es igual a 1/2?")
    # the Spanish option stands for the original answer "2/4"
    gate = quest.node("check")
    spanish = gate.model_copy(update={"questions": [
        gate.questions[0].model_copy(update={"options": ["2/4 (dos cuartos)", "2/3"],
                                             "answer": "2/4 (dos cuartos)"}),
        gate.questions[1]]})
    p.answer(spanish.questions[0], "2/4 (dos cuartos)")
    p.answer(spanish.questions[1], 0.5)
    p.do("Comprobar mi dominio")
    p.wait_state("check", "success")
    expect(p.panel).to_contain_text("¡Aprobaste!")
    text = p.text()
    leftovers = [w for w in ENGLISH_WORDS if w in text]
    assert leftovers == [], leftovers
    p.assert_clean()
