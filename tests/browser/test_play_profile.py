"""The play page's "My profile" tab in Chromium: mastery, choices and reflections shown, goals
added and ticked, interests saved, each read back through the service.

A student of its own in the session's class (conftest.py), so the other play tests keep theirs.
"""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from conftest import settle
from questengine.simulate import answer_for

QUEST = "fraction-forest"
NAME, PIN = "Fay Profile", "3141"
REFLECTION = "Folding the map showed me halves."


@pytest.fixture(scope="module")
def fay(classroom_info):
    """Fay chose the video, passed the checkpoint and wrote a reflection."""
    c = classroom_info.classroom()
    login = c.add_student(classroom_info.class_code, NAME, PIN)
    s = c.login_student(login.class_code, NAME, PIN)
    s.complete(QUEST, "trailhead")
    s.reflect(QUEST, "trailhead", REFLECTION)
    s.complete(QUEST, "fold-map")
    s.choose(QUEST, "learn", "video")
    s.complete(QUEST, "learn")
    gate = c.graph(QUEST).nodes["checkpoint"]["node"]
    s.answer(QUEST, "checkpoint", {q.id: answer_for(q, True) for q in gate.questions})
    c.store.close()
    return login


def test_the_profile_shows_what_the_student_did_and_keeps_goals_and_interests(
        player, classroom_info, fay):
    p = player
    p.open()
    p.login_as(fay)
    p.page.get_by_role("tab", name="My profile").click()
    profile = p.page.locator(".qe-profile")
    expect(profile.locator(".qe-mastery-table")).to_be_visible()

    classroom = classroom_info.classroom()
    student = classroom.login_student(fay.class_code, NAME, PIN)
    names = {c.id: c.name for c in classroom.graph(QUEST).graph["quest"].competencies}
    shown = student.profile()
    assert shown.mastery, "the checkpoint gave no mastery to show"
    for competency, value in shown.mastery.items():
        row = profile.locator(".qe-mastery-table tr").filter(has_text=names.get(competency, competency))
        expect(row).to_contain_text(f"{round(100 * value)}%")
    expect(profile).to_contain_text("Videos: you chose this once and finished it once.")
    expect(profile).to_contain_text(REFLECTION)
    p.axe("play: the profile")

    # a goal: typed, added, then ticked
    goal = "Finish the forest by Friday"
    box = profile.locator(".qe-new-goal input")
    box.fill(goal)
    box.press("Tab")
    settle(p.page)
    profile.locator("button.qe-add-goal").click()
    check = profile.get_by_role("checkbox", name=goal)
    expect(check).to_have_count(1)
    expect(check).not_to_be_checked()
    assert [(g["text"], g["done"]) for g in student.profile().goals] == [(goal, False)]
    check.check()
    settle(p.page)
    assert [(g["text"], g["done"]) for g in student.profile().goals] == [(goal, True)]

    # interests, comma-separated
    interests = profile.locator("input[placeholder^='dinosaurs']")
    interests.fill("owls,  maps , ")
    interests.press("Tab")
    settle(p.page)
    profile.get_by_role("button", name="Save").click()
    expect(p.page.locator(".qe-flash")).to_contain_text("Saved.")
    p.axe("play: the profile with a goal and interests saved")
    assert student.profile().interests == ["owls", "maps"]

    # all of it is still there after a reload and a new login
    p.reload_and_login(fay)
    p.page.get_by_role("tab", name="My profile").click()
    expect(profile.get_by_role("checkbox", name=goal)).to_be_checked()
    expect(profile.locator("input[placeholder^='dinosaurs']")).to_have_value("owls, maps")
    p.assert_clean()
