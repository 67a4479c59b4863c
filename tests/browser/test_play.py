"""The play page in Chromium, clicked and typed as a student would.

Voilà serves the page (fixture ``server``) over a classroom database built in a
tmp dir; the teacher acts "through the service" from the test process, on
the same SQLite file the page's kernels use.
"""
from __future__ import annotations

import time
from pathlib import Path

from playwright.sync_api import expect

from questengine.loader import load_quest
from questengine.rewards import level_for

from conftest import still
from helpers import answers, right, wrong

QUESTS = Path(__file__).resolve().parents[2] / "quests"
QUEST = "fraction-forest"
FOREST = load_quest(QUESTS / f"{QUEST}.yaml")
NODES = {n.id: n for n in FOREST.nodes}
TITLES = {n.id: n.title for n in FOREST.nodes}
GAME = next(o for o in NODES["learn"].options if o.id == "game")
# every node's XP on success plus the end's reward (the gate, the practice and the troll all passed)
FOREST_XP_AT_LEAST = sum(n.xp or 0 for n in FOREST.nodes) + NODES["forest-exit"].rewards.xp


def node_events(classroom, student_id, node):
    return [e for e in classroom.store.events(student_id, QUEST) if e.node == node]


def selected_title(player):
    return player.panel.locator(".qe-node-title")


# JavaScript run in the page: every widget model the page's widget manager knows.
MODELS_JS = """
async function qeModels() {
  const app = window.jupyterapp;
  const manager = app.widgetManager || app._widgetManager;
  const source = manager._models;
  const promises = source instanceof Map ? [...source.values()] : Object.values(source);
  return Promise.all(promises);
}
const hasClass = (m, cls) => (m.get('_dom_classes') || []).includes(cls);
"""


def page_js(player, body: str, arg=None):
    """Run ``body`` (an async function body using qeModels/hasClass) in the page."""
    return player.page.evaluate(f"async (arg) => {{ {MODELS_JS}\n{body} }}", arg)


# -------------------------------------------------------------------------------------------------


def test_student_plays_fraction_forest_to_the_end(player, classroom_info):
    p = player
    ada = classroom_info.students["ada"]
    classroom = classroom_info.classroom()
    problems: list[str] = []

    p.open()
    expect(p.page.locator(".qe-login")).to_contain_text("Start your quest")
    p.shot("01-login")
    p.axe("play: login")
    p.login_as(ada)
    expect(p.page.locator(".qe-header .qe-hello")).to_contain_text(ada.name)
    p.axe("play: map and a story")
    assert len(p.states()) == len(NODES)

    # the story: read it, press Done, write the reflection it asks for
    expect(selected_title(p)).to_have_text(TITLES["trailhead"])
    expect(p.panel.locator(".qe-story")).to_contain_text("Ranger Rosa")
    p.do("Done")
    p.wait_state("trailhead", "success")
    p.fill(".qe-panel .qe-reflect textarea", "I think 1/2 and 2/4 are the same amount.")
    p.panel.locator("button.qe-save-reflection").click()
    expect(p.panel.locator(".qe-reflection")).to_contain_text("the same amount")
    p.axe("play: a story done, with its reflection")

    # a self-completed task
    p.wait_state("fold-map", "available")
    p.select("fold-map", TITLES["fold-map"])
    p.wait_state("fold-map", "in_progress")
    p.axe("play: a task")
    p.do("Done")
    p.wait_state("fold-map", "success")

    # the modality choice: pick the game (a quiz option) and win it
    p.select("learn", TITLES["learn"])
    expect(p.panel.locator(".qe-option")).to_have_count(len(NODES["learn"].options))
    p.axe("play: a modality choice")
    p.panel.locator(".qe-option-game").click()
    expect(p.panel.locator(f".qe-answer-{GAME.questions[0].id}")).to_be_visible()
    expect(p.panel.locator(".qe-chosen")).to_contain_text(GAME.label)
    p.axe("play: a quiz form")
    p.answer_all(GAME.questions, answers(GAME.questions, right))
    p.do("Check my answers")
    p.wait_state("learn", "success")
    expect(p.panel).to_contain_text("You chose")

    # the gate: fail it on purpose
    gate = NODES["checkpoint"]
    p.select("checkpoint", gate.title)
    expect(p.panel.locator(f".qe-answer-{gate.questions[0].id}")).to_be_visible()
    p.answer_all(gate.questions, answers(gate.questions, wrong))
    p.do("Check my mastery")
    p.wait_state("checkpoint", "fail")
    expect(p.panel.locator(".qe-verdict-fail")).to_contain_text("Not yet")
    expect(p.panel.locator(".qe-result-wrong")).to_have_count(len(gate.questions))
    expect(p.panel.locator(".qe-explain")).to_contain_text(TITLES["practice-trail"])
    p.shot("03-gate-failed-feedback", at=".qe-panel .qe-verdict")
    p.axe("play: a gate not passed, with feedback")
    states = p.states()
    assert states["ranger-camp"] == "available"
    assert states["river-fork"] in ("locked", "closed")

    # remediation: Ranger Camp, then the practice trail
    p.select("ranger-camp", TITLES["ranger-camp"])
    p.do("Done")
    p.wait_state("ranger-camp", "success")
    practice = NODES["practice-trail"]
    p.select("practice-trail", practice.title)
    p.answer_all(practice.questions, answers(practice.questions, right))
    p.do("Check my answers")

    # the gate opens again (the remediation round is closed: its nodes start afresh if the
    # student fails again): retry and pass
    p.wait_state("checkpoint", "available")
    p.select("checkpoint", gate.title)
    expect(p.panel.locator(".qe-explain")).to_contain_text("open again")
    expect(p.panel.locator(".qe-attempt")).to_contain_text("Attempt 2 of")
    p.axe("play: a gate open again")
    p.answer_all(gate.questions, answers(gate.questions, right))
    p.do("Check my mastery")
    p.wait_state("checkpoint", "success")
    expect(p.panel.locator(".qe-verdict-success")).to_contain_text("mastery")

    # the review task: send text to the teacher
    p.select("signpost", TITLES["signpost"])
    p.fill(".qe-panel .qe-submission textarea",
           "Two equal rectangles: 2 of 3 parts shaded and 4 of 6 parts shaded. The sixths are "
           "twice as many parts but each part is half the size, so the amounts are the same.")
    p.do("Send to my teacher")
    p.wait_state("signpost", "pending_review")
    expect(p.panel.locator(".qe-waiting")).to_contain_text("Sent!")
    p.axe("play: work sent for review")

    # the success path: the story, then the Bridge Troll quiz
    p.select("river-fork", TITLES["river-fork"])
    p.do("Done")
    p.wait_state("river-fork", "success")
    troll = NODES["bridge-troll"]
    p.select("bridge-troll", troll.title)
    p.answer_all(troll.questions, answers(troll.questions, right))
    p.do("Check my answers")
    p.wait_state("bridge-troll", "success")
    expect(p.panel.locator(".qe-score")).to_contain_text("Score: 100%")
    expect(p.panel.locator(".qe-result-ok")).to_have_count(len(troll.questions))
    p.shot("04-quiz-feedback", at=".qe-panel")
    p.axe("play: quiz results")

    # the exit waits for the teacher
    p.select("forest-exit", TITLES["forest-exit"])
    expect(p.panel.locator(".qe-explain")).to_contain_text("is locked")
    expect(p.panel.locator(".qe-explain")).to_contain_text(TITLES["signpost"])
    expect(p.panel.locator("button.qe-do")).to_have_count(0)

    # the teacher approves the sign through the service
    teacher = classroom.login_teacher(classroom_info.teacher_email, classroom_info.teacher_password)
    item = next(i for i in teacher.review_queue()
                if i.student_id == ada.student_id and i.node == "signpost")
    assert "rectangles" in item.content
    teacher.review(item.submission_id, "approve", "A clear sign, well explained!")

    # the open page hears of it within a few seconds, without a reload
    p.wait_state("signpost", "success")
    p.select("signpost", TITLES["signpost"])
    expect(p.panel.locator(".qe-feedback")).to_contain_text("A clear sign, well explained!")
    p.axe("play: the teacher's feedback came back")

    # the end
    p.select("forest-exit", TITLES["forest-exit"])
    p.do("Finish the quest")
    p.wait_state("forest-exit", "success")
    try:  # checked softly so the rest of the end (header, reload) is still checked
        expect(p.page.locator(".qe-celebrate")).to_contain_text("Forest Ranger")
    except AssertionError:
        problems.append("no .qe-celebrate banner naming the new badge after finishing the quest")
    profile = classroom.login_student(ada.class_code, ada.name, ada.pin).profile()
    assert "forest-ranger" in profile.badges
    header = p.page.locator(".qe-header")
    expect(header.locator(".qe-badge")).to_contain_text(["Forest Ranger"])
    expect(header.locator(".qe-xp-label")).to_have_text(f"{profile.xp} XP")
    expect(header.locator(".qe-level")).to_have_text(f"Level {level_for(profile.xp)}")
    assert profile.xp >= FOREST_XP_AT_LEAST
    expect(p.panel.locator(".qe-done")).to_contain_text("You finished this quest")
    expect(p.page.locator(".qe-quest-row").first).to_contain_text("complete")
    still(p.page)  # the celebration's pop-in animation has finished: the picture shows it whole
    p.shot("05-end-badge", at=".qe-page")
    p.axe("play: the quest finished, with a celebration")

    # stop and come back: everything is where it was
    before = p.states()
    assert before["forest-exit"] == "success"
    p.reload_and_login(ada)
    p.wait_state("forest-exit", "success")
    assert p.states() == before
    expect(header.locator(".qe-badge")).to_contain_text(["Forest Ranger"])
    expect(header.locator(".qe-xp-label")).to_have_text(f"{profile.xp} XP")
    p.assert_clean()
    assert not problems, problems



def test_wrong_pin_and_locked_node(player, classroom_info):
    p = player
    bo = classroom_info.students["bo"]
    classroom = classroom_info.classroom()

    p.open()
    p.login(bo.name, "0000", bo.class_code, expect_map=False)
    error = p.page.locator(".qe-login .qe-error")
    expect(error).to_contain_text("do not match")
    expect(p.page.locator(".qe-node")).to_have_count(0)
    p.assert_no_traceback()
    p.login(bo.name, bo.pin, "NO-SUCH-CLASS", expect_map=False)
    expect(error).to_contain_text("no class with the code")
    p.assert_no_traceback()
    p.axe("play: a login error")

    p.login_as(bo)
    gate = NODES["checkpoint"]
    assert p.states()["checkpoint"] == "locked"
    p.select("checkpoint", gate.title)
    explain = p.panel.locator(".qe-explain")
    expect(explain).to_contain_text("is locked")
    expect(explain).to_contain_text(TITLES["learn"])  # what it waits for
    expect(p.panel.locator(".qe-pill-locked")).to_have_text("Locked")
    expect(p.panel.locator("button")).to_have_count(0)
    expect(p.panel.locator("input, textarea")).to_have_count(0)
    # the map's tooltip says the same on hover
    p.node("forest-exit").hover()
    expect(p.page.locator(".qe-tip")).to_contain_text("is locked")
    p.axe("play: a locked step's tooltip")
    p.page.mouse.move(5, 5)
    p.shot("02-map-panel-locked", at=".qe-page")
    p.axe("play: a locked step")
    assert node_events(classroom, bo.student_id, "checkpoint") == []
    p.assert_clean()


def test_forged_widget_state_changes_nothing(player, classroom_info):
    """Traits set from the browser (selected, value, options, disabled, clicks) grant nothing."""
    p = player
    cy = classroom_info.students["cy"]
    classroom = classroom_info.classroom()
    # get Cy to the gate through the service, as if she had played the first steps earlier
    student = classroom.login_student(cy.class_code, cy.name, cy.pin)
    student.complete(QUEST, "trailhead")
    student.complete(QUEST, "fold-map")
    student.choose(QUEST, "learn", "video")
    student.complete(QUEST, "learn")

    p.open()
    p.login_as(cy)
    assert p.states()["bridge-troll"] == "locked"

    # 1. the map's `selected` forged to a locked node: an explanation, no button, no event
    found = page_js(p, """
      const models = await qeModels();
      const map = models.find(m => Array.isArray(m.get('nodes')) && 'selected' in m.attributes);
      if (!map) return false;
      map.set('selected', arg); map.save_changes(); return true;""", "bridge-troll")
    assert found, "the map's widget model was not found in the page's widget manager"
    expect(selected_title(p)).to_have_text(TITLES["bridge-troll"])
    expect(p.panel.locator(".qe-explain")).to_contain_text("is locked")
    expect(p.panel.locator("button.qe-do")).to_have_count(0)
    assert node_events(classroom, cy.student_id, "bridge-troll") == []

    # 2. answers outside the offered options
    gate = NODES["checkpoint"]
    q = {x.id: x for x in gate.questions}
    p.select("checkpoint", gate.title)
    expect(p.panel.locator(".qe-answer-g1")).to_be_visible()
    written = len(node_events(classroom, cy.student_id, "checkpoint"))  # the open event
    # every answer right but the first, which only gets a forged value/index that its
    # RadioButtons does not offer (`value` is not synced; index 99 is out of range)
    p.answer_all(gate.questions[1:], answers(gate.questions[1:], right))
    forged = page_js(p, """
      const radios = (await qeModels()).filter(m => hasClass(m, 'qe-answer-g1'));
      for (const m of radios) { m.set('value', 'FORGED'); m.set('index', 99); m.save_changes(); }
      return radios.length;""")
    assert forged >= 1
    p.do("Check my mastery")
    flash = p.page.locator(".qe-flash-error")
    expect(flash).to_contain_text("answer every question")
    p.assert_no_traceback()
    assert len(node_events(classroom, cy.student_id, "checkpoint")) == written
    assert p.states()["checkpoint"] == "in_progress"
    # (a refused submission redraws an empty form: answer again) then a checkbox relabelled
    # to an answer nobody offered
    p.answer_all(gate.questions, answers(gate.questions, right))
    forged = page_js(p, """
      const groups = (await qeModels()).filter(m => hasClass(m, 'qe-answer-g3'));
      const group = groups[groups.length - 1];
      const box = group.get('children').find(c => c.get('description') === arg);
      box.set('description', 'FORGED'); box.set('value', true); box.save_changes();
      return group.get('children').map(c => c.get('description'));""", wrong(q["g3"])[0])
    assert "FORGED" in forged
    expect(p.panel.locator(".qe-answer-g3")).to_contain_text("FORGED")
    p.do("Check my mastery")
    expect(flash).to_contain_text("FORGED")
    expect(flash).to_contain_text("not among the choices")
    p.assert_no_traceback()
    assert len(node_events(classroom, cy.student_id, "checkpoint")) == written
    assert p.states()["checkpoint"] == "in_progress"

    # 3. fail the gate for real, then replay the earlier form's widgets (kept from before the
    #    panel was redrawn, as a forger would) with the right answers: the redraw closed them,
    #    and the gate stays shut until the practice path is done
    p.select("signpost", TITLES["signpost"])
    p.select("checkpoint", gate.title)
    p.answer_all(gate.questions, answers(gate.questions, wrong))
    kept = page_js(p, """
      window.__qeGateForm = (await qeModels()).filter(m =>
        (m.get('_dom_classes') || []).some(c => c.startsWith('qe-answer-'))
        || m.get('description') === 'Check my mastery');
      return window.__qeGateForm.length;""")
    assert kept >= len(gate.questions) + 1
    p.do("Check my mastery")
    p.wait_state("checkpoint", "fail")
    expect(p.panel.locator(".qe-answer-g1")).to_have_count(0)
    written = len(node_events(classroom, cy.student_id, "checkpoint"))
    # the form's answer fields are closed; its button may live on as one of the new
    # panel's buttons (reused: the new label and action), never as "Check my mastery".
    # The page shows the new panel before it has handled every close the kernel sent after
    # it (a busy machine lets one see that): wait for the closes, with a generous limit.
    deadline = time.monotonic() + 60
    while True:
        left = page_js(p, """
          const ids = new Set((await qeModels()).map(m => m.model_id));
          return window.__qeGateForm.filter(m => ids.has(m.model_id))
            .map(m => m.get('description') || m.get('_model_name'));""")
        if all(label.startswith("Go to") for label in left) or time.monotonic() > deadline:
            break
        p.page.wait_for_timeout(250)
    assert all(label.startswith("Go to") for label in left), left
    clicked = page_js(p, """
      const models = window.__qeGateForm;
      const right = arg;
      for (const m of models) {
        const cls = m.get('_dom_classes') || [];
        for (const [qid, value] of Object.entries(right)) {
          if (!cls.includes('qe-answer-' + qid)) continue;
          try {  // a closed model may refuse to send at all
            if (Array.isArray(value)) {
              for (const c of m.get('children')) {
                c.set('value', value.includes(c.get('description'))); c.save_changes();
              }
            } else if ('index' in m.attributes) {
              m.set('index', m.get('_options_labels').indexOf(value)); m.save_changes();
            } else {
              m.set('value', value); m.save_changes();
            }
          } catch (e) {}
        }
      }
      // the form's own button (now closed, or reused as one of the new panel's buttons)
      const buttons = models.filter(m => m.get('_model_name') === 'ButtonModel');
      for (const b of buttons) {
        try { b.set('disabled', false); b.save_changes(); b.send({event: 'click'}); }
        catch (e) {}  // a closed model may refuse to send at all
      }
      return buttons.length;""", answers(gate.questions, right))
    assert clicked >= 1, "the kept form had its button"
    p.settle()  # every forged click has been handled before counting
    assert len(node_events(classroom, cy.student_id, "checkpoint")) == written
    assert p.states()["checkpoint"] == "fail"
    assert student.progress(QUEST).nodes["checkpoint"].state == "fail"
    assert node_events(classroom, cy.student_id, "river-fork") == []
    p.assert_clean()


OPTION_LAYOUT_JS = """
() => {
  const problems = [];
  for (const group of document.querySelectorAll('.qe-panel .widget-radio-box')) {
    const labels = [...group.querySelectorAll('label')].filter(l => l.offsetParent !== null);
    const boxes = labels.map(l => l.querySelector('input').getBoundingClientRect());
    const name = (l) => JSON.stringify(l.textContent.trim().slice(0, 40));
    labels.forEach((label, i) => {
      if (label.scrollHeight > label.clientHeight + 1) {
        problems.push(`option ${name(label)}: ${label.scrollHeight}px of text in a `
                      + `${label.clientHeight}px row, so it runs over the next option`);
      }
      for (let j = i + 1; j < labels.length; j++) {
        const a = boxes[i], b = boxes[j];
        if (a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom) {
          problems.push(`the radio circle of option ${name(label)} lies under the one of `
                        + `${name(labels[j])}: clicking it picks the other answer`);
        }
      }
    });
  }
  return problems;
}
"""


def test_quiz_options_do_not_overlap(player, classroom_info):
    """Long choice options (the gate's question 4) must stay readable and clickable."""
    p = player
    di = classroom_info.students["di"]
    student = classroom_info.classroom().login_student(di.class_code, di.name, di.pin)
    for node in ("trailhead", "fold-map"):
        student.complete(QUEST, node)
    student.choose(QUEST, "learn", "video")
    student.complete(QUEST, "learn")

    p.open()
    p.login_as(di)
    gate = NODES["checkpoint"]
    p.select("checkpoint", gate.title)
    long_q = max((q for q in gate.questions if q.type == "choice"),
                 key=lambda q: max(len(o) for o in q.options))
    box = p.panel.locator(f".qe-answer-{long_q.id}")
    box.scroll_into_view_if_needed()
    problems = [f"{gate.title}: {x}" for x in p.page.evaluate(OPTION_LAYOUT_JS)]
    p.shot("06-gate-long-options", at=f".qe-panel .qe-answer-{long_q.id}")
    p.axe("play: a gate form with long options")

    # the Bridge Troll's quiz too (got there through the service, then a fresh page)
    student.answer(QUEST, "checkpoint", answers(gate.questions, right))
    student.complete(QUEST, "river-fork")
    p.reload_and_login(di)
    troll = NODES["bridge-troll"]
    p.select("bridge-troll", troll.title)
    expect(p.panel.locator(f".qe-answer-{troll.questions[0].id}")).to_be_visible()
    problems += [f"{troll.title}: {x}" for x in p.page.evaluate(OPTION_LAYOUT_JS)]
    p.assert_clean()
    assert not problems, "quiz options overlap:\n" + "\n".join(problems)


def test_answers_survive_a_refused_submission(player, classroom_info):
    """A student who forgets one question is told so and keeps the answers already given."""
    p = player
    eve = classroom_info.students["eve"]
    classroom = classroom_info.classroom()
    student = classroom.login_student(eve.class_code, eve.name, eve.pin)
    for node in ("trailhead", "fold-map"):
        student.complete(QUEST, node)
    student.choose(QUEST, "learn", "video")
    student.complete(QUEST, "learn")

    p.open()
    p.login_as(eve)
    gate = NODES["checkpoint"]
    p.select("checkpoint", gate.title)
    given = answers(gate.questions, right)
    p.answer_all(gate.questions[:-1], given)
    p.do("Check my mastery")
    expect(p.page.locator(".qe-flash-error")).to_contain_text(f"Question {len(gate.questions)} has no answer yet")
    p.settle()
    p.axe("play: a refused submission's message")
    assert p.states()["checkpoint"] == "in_progress"
    p.assert_clean()
    kept = {}
    for q in gate.questions[:-1]:
        box = p.panel.locator(f".qe-answer-{q.id}")
        if q.type == "choice":
            kept[q.id] = box.get_by_role("radio", name=given[q.id], exact=True).is_checked()
        elif q.type == "multi":
            kept[q.id] = all(box.get_by_role("checkbox", name=o, exact=True).is_checked()
                             for o in given[q.id])
        else:
            kept[q.id] = box.locator("input").input_value() == given[q.id]
    assert all(kept.values()), f"answers lost after the refused submission: {kept}"
