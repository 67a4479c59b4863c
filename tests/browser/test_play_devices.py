"""The play page on a phone, a tablet and a laptop, in Chromium, as a class would use it.

Each test runs at the three sizes (390x844, 768x1024, 1366x768) with touch on the
two small ones. Students are added through the service for each test, so the
tests do not depend on each other. Screenshots go to tmp_path, and the last one
of each test and size is copied to /work/shots-play/ (QE_SHOTS_COPY overrides)
for a person to look at.
"""
from __future__ import annotations

import os
import shutil
from itertools import count
from pathlib import Path

import pytest
from playwright.sync_api import expect

from questengine.loader import load_quest

from conftest import WAIT_MS, WATCH_SCRIPT, Player
from helpers import answers, right, wrong

QUESTS = Path(__file__).resolve().parents[2] / "quests"
QUEST = "fraction-forest"
FOREST = load_quest(QUESTS / f"{QUEST}.yaml")
NODES = {n.id: n for n in FOREST.nodes}
TITLES = {n.id: n.title for n in FOREST.nodes}
SIZES = {"phone": (390, 844), "tablet": (768, 1024), "laptop": (1366, 768)}
COPY_TO = Path(os.environ.get("QE_SHOTS_COPY", "/work/shots-play"))
_numbers = count(1)


class Device(Player):
    """A Player at one screen size that can also pick steps from the list view."""

    size: str = "laptop"

    def shot(self, name: str, at: str | None = None, keep: bool = False,
             axe: bool = True) -> Path:
        """A picture of this state, and axe-core's check of it at this screen size."""
        path = super().shot(f"{self.size}-{name}", at)
        if keep:
            COPY_TO.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, COPY_TO / path.name)
        if axe:
            self.axe(f"play on a {self.size}: {name}")
        return path

    def wait_state(self, node_id: str, state: str) -> None:
        """Wait for a step's state on the map (drawn even while the list view is shown)."""
        self.page.wait_for_selector(f".qe-node[data-id='{node_id}'][data-state='{state}']",
                                    state="attached", timeout=WAIT_MS)

    def select_in_list(self, node_id: str, title: str) -> None:
        """Pick a step in the list view (instead of the map) and wait for its panel."""
        self.page.locator(".qe-view-switch .qe-view-list").click()
        button = self.page.locator(f".qe-step-list .qe-step-button[data-id='{node_id}']")
        button.click()
        self._wait_title(title)

    def select_on_map(self, node_id: str, title: str) -> None:
        self.page.locator(".qe-view-switch .qe-view-map").click()
        node = self.node(node_id)
        if self.page.evaluate("matchMedia('(pointer: coarse)').matches"):
            node.tap()
        else:
            node.click()
        self._wait_title(title)

    def _wait_title(self, title: str) -> None:
        self.page.wait_for_function(
            "t => { const h = document.querySelector('.qe-panel .qe-node-title');"
            " return h && h.textContent === t; }", arg=title, timeout=WAIT_MS)

    def overflow(self) -> list[str]:
        """Elements sticking out of the screen sideways, and whether the page scrolls sideways."""
        return self.page.evaluate("""() => {
          const out = [];
          const vw = document.documentElement.clientWidth;
          const root = document.scrollingElement || document.documentElement;
          if (root.scrollWidth > vw + 1) out.push(`the page is ${root.scrollWidth}px wide on a ${vw}px screen`);
          for (const e of document.querySelectorAll('.qe-page *')) {
            const r = e.getBoundingClientRect();
            if (!r.width || getComputedStyle(e).visibility === 'hidden') continue;
            if (e.closest('.qe-map-frame, .qe-grid-scroll, .qe-tip')) continue;  // these scroll or pan
            let p = e.parentElement, clipped = false;
            while (p) { const s = getComputedStyle(p);
              if (p !== document.body && /(auto|scroll|hidden)/.test(s.overflowX) && p.getBoundingClientRect().right <= vw + 1) { clipped = true; break; }
              p = p.parentElement; }
            if (!clipped && (r.right > vw + 1 || r.left < -1))
              out.push(`${e.tagName.toLowerCase()}.${[...e.classList].join('.')} "${(e.textContent||'').trim().slice(0,30)}" spans ${Math.round(r.left)}..${Math.round(r.right)}`);
          }
          return out.slice(0, 8);
        }""")


@pytest.fixture(params=list(SIZES))
def device(request, browser, server, tmp_path):
    size = request.param
    width, height = SIZES[size]
    touch = size != "laptop"
    context = browser.new_context(viewport={"width": width, "height": height},
                                  has_touch=touch, is_mobile=touch,
                                  device_scale_factor=2 if touch else 1)
    context.set_default_timeout(WAIT_MS)
    context.add_init_script(WATCH_SCRIPT)
    page = context.new_page()
    d = Device(page, server.url("play"), tmp_path)
    d.size = size
    page.on("request", lambda r: d.requests.append(r.url))
    page.on("websocket", lambda ws: d.sockets.append(ws.url))
    yield d
    if getattr(request.node, "qe_failed", False):
        try:
            d.shot("FAILED", keep=True, axe=False)
            print("\n--- page text at failure ---\n" + d.text()[-3000:])
        except Exception as err:
            print(f"(no screenshot: {err})")
    context.close()


@pytest.fixture
def student(classroom_info, request):
    """A new student of the test class: (classroom service, login)."""
    classroom = classroom_info.classroom()
    name = f"Kim {request.node.name.split('[')[0][-12:]} {next(_numbers)}"
    login = classroom.add_student(classroom_info.class_code, name, "3579")
    return classroom, login


def node_events(classroom, login, node):
    return [e for e in classroom.store.events(login.student_id, QUEST) if e.node == node]


# -------------------------------------------------------------------------------------------------


def test_layout_fits_the_screen_and_the_list_view_works(device, student):
    d = device
    classroom, kid = student
    d.open()
    assert not d.overflow(), d.overflow()
    d.shot("01-login")
    d.login_as(kid)
    # the header (with Log out) is on the screen, nothing sticks out sideways
    logout = d.page.locator(".qe-logout")
    expect(logout).to_be_visible()
    box = logout.bounding_box()
    assert box["x"] + box["width"] <= SIZES[d.size][0] + 1, box
    problems = d.overflow()
    assert not problems, problems
    # the map is drawn large enough to tap, and every title is whole
    frame = d.page.locator(".qe-map-frame").bounding_box()
    assert frame["width"] >= SIZES[d.size][0] * 0.5, frame
    assert frame["height"] >= 240, frame
    for n in FOREST.nodes:
        text = d.node(n.id).locator(".qe-title").text_content()
        assert text == n.title, (text, n.title)
    first = d.node("trailhead").bounding_box()
    assert first["width"] >= 60, f"a step is drawn {first['width']:.0f}px wide: too small to tap"
    # on a narrow screen the panel is below the map, on a laptop beside it
    panel = d.page.locator(".qe-panel").bounding_box()
    if d.size == "laptop":
        assert panel["x"] >= frame["x"] + frame["width"] - 1
    else:
        assert panel["y"] >= frame["y"] + frame["height"] - 1
    d.shot("02-map", at=".qe-page", keep=True)

    # the list view: every step in order, with its state and why it is locked
    d.page.locator(".qe-view-switch .qe-view-list").click()
    items = d.page.locator(".qe-step-list .qe-step-button")
    expect(items).to_have_count(len(FOREST.nodes))
    expect(d.page.locator(".qe-map-frame")).to_be_hidden()
    locked = d.page.locator(".qe-step-list .qe-step-button[data-id='checkpoint']")
    expect(locked).to_contain_text(TITLES["checkpoint"])
    expect(locked).to_contain_text("Locked")
    expect(locked).to_contain_text("it opens after")
    assert not d.overflow(), d.overflow()
    d.shot("03-list", at=".qe-step-list", keep=True)
    d.select_in_list("checkpoint", TITLES["checkpoint"])
    expect(d.panel.locator(".qe-explain")).to_contain_text("is locked")
    assert node_events(classroom, kid, "checkpoint") == []
    d.assert_clean()


def test_map_refits_when_the_window_changes_shape(device, student):
    d = device
    _classroom, kid = student
    d.open()
    d.login_as(kid)
    width, height = SIZES[d.size]

    def fitted():
        """Every node inside the frame."""
        return d.page.evaluate("""() => {
          const f = document.querySelector('.qe-map-frame').getBoundingClientRect();
          return [...document.querySelectorAll('.qe-node .qe-box')].every(n => {
            const r = n.getBoundingClientRect();
            return r.left >= f.left - 1 && r.right <= f.right + 1 && r.top >= f.top - 1 && r.bottom <= f.bottom + 1;
          });
        }""")

    d.page.wait_for_function("() => document.querySelector('.qe-map[data-rendered]')")
    d.page.wait_for_timeout(400)
    assert fitted(), "the map does not fit its frame after login"
    d.page.set_viewport_size({"width": height, "height": width})  # turn the device
    d.page.wait_for_timeout(800)
    assert fitted(), "the map does not fit its frame after turning"
    assert not d.overflow(), d.overflow()
    d.shot("04-turned", at=".qe-page", keep=True)
    d.page.set_viewport_size({"width": width, "height": height})
    d.page.wait_for_timeout(800)
    assert fitted(), "the map does not fit its frame after turning back"
    d.assert_clean()


def test_fraction_forest_played_from_the_map_and_the_list(device, student):
    """The whole quest, each step picked alternately on the map and in the list view."""
    d = device
    classroom, kid = student
    picks = iter(range(100))

    def pick(node_id):
        if next(picks) % 2:
            d.select_in_list(node_id, TITLES[node_id])
        else:
            d.select_on_map(node_id, TITLES[node_id])

    d.open()
    d.login_as(kid)
    expect(d.panel.locator(".qe-node-title")).to_have_text(TITLES["trailhead"])
    d.do("Done")
    d.wait_state("trailhead", "success")

    pick("fold-map")
    d.do("Done")
    d.wait_state("fold-map", "success")

    pick("learn")
    game = next(o for o in NODES["learn"].options if o.id == "game")
    d.panel.locator(".qe-option-game").click()
    expect(d.panel.locator(f".qe-answer-{game.questions[0].id}")).to_be_visible()
    d.answer_all(game.questions, answers(game.questions, right))
    d.do("Check my answers")
    d.wait_state("learn", "success")
    expect(d.panel).to_contain_text("You chose")

    # the gate, failed: which answers were wrong, each with its explanation, and the way on
    gate = NODES["checkpoint"]
    pick("checkpoint")
    d.do("Check my mastery")  # nothing answered yet: the page says what is missing
    expect(d.page.locator(".qe-flash-error")).to_contain_text("no answer yet")
    expect(d.page.locator(".qe-flash-error")).not_to_contain_text("g1")
    d.answer_all(gate.questions, answers(gate.questions, wrong))
    d.do("Check my mastery")
    d.wait_state("checkpoint", "fail")
    verdict = d.panel.locator(".qe-verdict-fail")
    expect(verdict).to_contain_text("Not yet! You got 0 of 5 right, and you need 4 to pass.")
    expect(d.panel.locator(".qe-result-wrong")).to_have_count(len(gate.questions))
    expect(d.panel.locator(".qe-result-wrong .qe-why")).to_have_count(
        sum(1 for q in gate.questions if q.explanation))
    expect(d.panel.locator(".qe-result-wrong").first).to_contain_text(gate.questions[0].explanation)
    text = d.panel.inner_text()
    assert "Mastery" not in text and "needed" not in text, text
    d.shot("05-gate-not-yet", at=".qe-panel .qe-verdict", keep=True)
    go = d.panel.locator("button.qe-go")
    expect(go).to_have_text(f"Go to “{TITLES['ranger-camp']}” ➜")
    go.click()
    d._wait_title(TITLES["ranger-camp"])
    d.do("Done")
    d.wait_state("ranger-camp", "success")

    practice = NODES["practice-trail"]
    pick("practice-trail")
    d.answer_all(practice.questions, answers(practice.questions, right))
    d.do("Check my answers")
    d.wait_state("checkpoint", "available")  # open again; the page shows it
    d._wait_title(gate.title)
    d.answer_all(gate.questions, answers(gate.questions, right))
    d.do("Check my mastery")
    d.wait_state("checkpoint", "success")
    expect(d.panel.locator(".qe-verdict-success")).to_contain_text(f"You passed! +{gate.xp} XP")

    # the sign: an empty send says what is missing; then the teacher returns it
    pick("signpost")
    d.do("Send to my teacher")
    expect(d.page.locator(".qe-flash-error")).to_contain_text("The box is empty")
    d.fill(".qe-panel .qe-submission textarea", "Two rectangles, 2 of 3 and 4 of 6 shaded.")
    d.do("Send to my teacher")
    d.wait_state("signpost", "pending_review")
    teacher = classroom.login_teacher(*_teacher(classroom, d))
    item = next(i for i in teacher.review_queue()
                if i.student_id == kid.student_id and i.node == "signpost")
    teacher.review(item.submission_id, "return", "Please label both fractions on your sign.")
    # news without a reload: the banner, the map and the panel
    expect(d.page.locator(".qe-flash-info")).to_contain_text(
        f"Your teacher sent “{TITLES['signpost']}” back", timeout=WAIT_MS)
    d.wait_state("signpost", "returned")
    expect(d.panel.locator(".qe-feedback")).to_contain_text("label both fractions")
    note = d.panel.locator(".qe-feedback").bounding_box()
    box = d.panel.locator(".qe-submission").bounding_box()
    assert note["y"] + note["height"] <= box["y"] + 1, "the teacher's note is not above the box"
    d.shot("06-returned-news", at=".qe-panel", keep=True)
    d.fill(".qe-panel .qe-submission textarea", "2/3 = 4/6: both labelled, same shaded size.")
    d.do("Send my new version")
    d.wait_state("signpost", "pending_review")
    item = next(i for i in teacher.review_queue()
                if i.student_id == kid.student_id and i.node == "signpost")
    teacher.review(item.submission_id, "approve", "Now it is clear!")
    expect(d.page.locator(".qe-flash-info")).to_contain_text("approved", timeout=WAIT_MS)
    d.wait_state("signpost", "success")

    pick("river-fork")
    d.do("Done")
    d.wait_state("river-fork", "success")
    troll = NODES["bridge-troll"]
    pick("bridge-troll")
    d.answer_all(troll.questions, answers(troll.questions, right))
    d.do("Check my answers")
    d.wait_state("bridge-troll", "success")
    expect(d.panel.locator(".qe-verdict-success")).to_contain_text(f"You passed! +{troll.xp} XP")
    pick("forest-exit")
    d.do("Finish the quest")
    d.wait_state("forest-exit", "success")
    expect(d.panel.locator(".qe-done")).to_contain_text("You finished this quest")
    assert not d.overflow(), d.overflow()
    d.page.wait_for_timeout(700)
    d.shot("07-end", at=".qe-page", keep=True)
    d.assert_clean()


def _teacher(classroom, d):
    from conftest import TEACHER

    return TEACHER[0], TEACHER[2]


def test_fast_typing_then_enter_logs_in(device, student):
    """Code, name and PIN typed at full speed, then Enter: the login reads what was typed."""
    d = device
    _classroom, kid = student
    d.open()
    d.page.locator(".qe-code input").focus()
    d.page.keyboard.press("Enter")  # nothing typed yet: the form says what is missing
    expect(d.page.locator(".qe-login .qe-error")).to_contain_text(
        "Please type your class code, your name and your PIN.")
    d.page.locator(".qe-code input").focus()
    d.page.keyboard.type(kid.class_code, delay=0)
    d.page.keyboard.press("Tab")
    d.page.keyboard.type(kid.name, delay=0)
    d.page.keyboard.press("Tab")
    d.page.keyboard.type(kid.pin, delay=0)
    d.page.keyboard.press("Enter")
    d.page.wait_for_selector(".qe-header .qe-hello", timeout=WAIT_MS)
    expect(d.page.locator(".qe-header .qe-hello")).to_contain_text(kid.name)
    # log out and in again just as fast (it used to fail on the second try too)
    d.page.locator(".qe-logout").click()
    d.page.wait_for_selector(".qe-login .qe-code input", timeout=WAIT_MS)
    expect(d.page.locator(".qe-login .qe-info")).to_contain_text("logged out")
    d.page.locator(".qe-code input").fill("")
    d.page.locator(".qe-name input").fill("")
    d.page.locator(".qe-code input").focus()
    for text in (kid.class_code, kid.name, kid.pin):
        d.page.keyboard.type(text, delay=0)
        d.page.keyboard.press("Tab" if text != kid.pin else "Enter")
    expect(d.page.locator(".qe-header .qe-hello")).to_contain_text(kid.name)
    d.assert_clean()


@pytest.mark.parametrize("page_name, ready", [("progress", ".qe-center .qe-node"),
                                              ("author", ".qe-editor .qe-map[data-rendered]")])
def test_teacher_pages_fit_the_screen(device, classroom_info, page_name, ready):
    """The progress center and the editor: header and map inside the screen at every size."""
    d = device
    d.page.goto(d.url.replace("play.ipynb", f"{page_name}.ipynb") if "play.ipynb" in d.url
                else d.url.rsplit("/", 1)[0] + f"/{page_name}.ipynb")
    d.page.wait_for_selector(".qe-login .qe-email input", timeout=90_000)
    d.fill(".qe-email input", classroom_info.teacher_email)
    d.fill(".qe-password input", classroom_info.teacher_password)
    d.page.click(".qe-login-button")
    d.page.wait_for_selector(ready, timeout=90_000)
    d.page.wait_for_timeout(1500)  # the map re-laid out for the frame's shape (for the picture)
    width = SIZES[d.size][0]
    frame = d.page.locator(".qe-map-frame").first.bounding_box()
    assert frame["x"] >= -1 and frame["x"] + frame["width"] <= width + 1, frame
    for top in d.page.locator(".qe-top").all():  # the center's header (the editor has none)
        b = top.bounding_box()
        assert b["x"] + b["width"] <= width + 1, b
    for button in d.page.locator(".qe-page button:visible").all():
        b = button.bounding_box()
        if b:
            assert b["x"] + b["width"] <= width + 1, (button.inner_text(), b)
    d.shot(f"08-{page_name}", at=".qe-page", keep=True)
    problems = d.overflow()
    assert not problems, problems


def _png(width: int = 40, height: int = 24) -> bytes:
    """A real little picture (green and white stripes), written by hand."""
    import struct
    import zlib

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    rows = b"".join(b"\x00" + b"".join(b"\x1e\x8e\x3e" if (x // 5) % 2 else b"\xff\xff\xff"
                                       for x in range(width)) for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def _to_signpost(classroom, kid):
    s = classroom.login_student(kid.class_code, kid.name, kid.pin)
    for node in ("trailhead", "fold-map"):
        s.complete(QUEST, node)
    s.choose(QUEST, "learn", "video")
    s.complete(QUEST, "learn")
    return s


def test_a_material_opens_inside_the_page(device, student):
    """The chant recording (with captions) and the worksheet PDF play inside the page."""
    d = device
    classroom, kid = student
    s = classroom.login_student(kid.class_code, kid.name, kid.pin)
    for node in ("trailhead", "fold-map"):
        s.complete(QUEST, node)
    d.open()
    d.login_as(kid)
    url = d.page.url
    d.select_on_map("learn", TITLES["learn"])
    d.panel.locator(".qe-option-song").click()
    d.panel.locator("button.qe-open-material").click()
    audio = d.panel.locator(".qe-media audio")
    expect(audio).to_be_visible()
    expect(audio.locator("track[kind='captions']")).to_have_count(1)
    d.page.wait_for_function(
        "() => { const a = document.querySelector('.qe-panel .qe-media audio');"
        " return a && a.readyState >= 1 && a.duration > 2; }", timeout=WAIT_MS)
    assert d.page.evaluate("document.querySelector('.qe-panel .qe-media audio').src"
                           ).startswith("blob:")
    assert d.page.url == url  # the tab never left the page
    d.shot("09-material", at=".qe-panel .qe-media", keep=True)
    # and a material for another quest, or a path the quest does not list: refused in words
    assert not [r for r in d.requests if "/assets/" in r], "the page asked the server for a file URL"
    d.assert_clean()


def test_files_handed_in_are_seen_by_the_teacher_exported_and_deleted(device, student, tmp_path,
                                                                     classroom_info, browser,
                                                                     server):
    d = device
    classroom, kid = student
    _to_signpost(classroom, kid)
    photo = tmp_path / "my sign.png"
    photo.write_bytes(_png())
    fake = tmp_path / "sneaky.png"  # a program named like a picture: refused by its bytes
    fake.write_bytes(b"MZ\x90\x00" + b"\x00" * 200)
    d.open()
    d.login_as(kid)
    d.select_in_list("signpost", TITLES["signpost"])
    d.panel.locator(".qe-upload input[type='file']").set_input_files(str(fake))
    expect(d.panel.locator(".qe-upload-list")).to_contain_text("sneaky.png")
    d.do("Send to my teacher")
    expect(d.page.locator(".qe-flash-error")).to_contain_text("not a photo, a recording")
    assert classroom.store.latest_submission(kid.student_id, QUEST, "signpost") is None
    d.panel.locator(".qe-upload input[type='file']").set_input_files(
        [str(photo), str(QUESTS / "assets" / QUEST / "fraction-wall-worksheet.pdf")])
    expect(d.panel.locator(".qe-upload-list")).to_contain_text("my sign.png")
    expect(d.panel.locator(".qe-upload-list")).to_contain_text("fraction-wall-worksheet.pdf")
    d.panel.locator(".qe-upload-remove").first.click()  # the refused one is still listed
    expect(d.panel.locator(".qe-upload-list li")).to_have_count(2)
    d.fill(".qe-panel .qe-submission textarea", "My sign, and the worksheet too.")
    d.do("Send to my teacher")
    d.wait_state("signpost", "pending_review")
    expect(d.panel.locator(".qe-handed-in")).to_contain_text("my sign.png")
    d.shot("10-handed-in", at=".qe-panel", keep=True)
    rows = classroom.store.export_student(kid.student_id)["submission_files"]
    assert sorted(r["name"] for r in rows) == ["fraction-wall-worksheet.pdf", "my sign.png"]
    assert {r["mime"] for r in rows} == {"image/png", "application/pdf"}
    stored = [classroom.files.path(r["sha256"]) for r in rows]
    assert all(p.is_file() for p in stored)
    assert classroom.files.read(rows[[r["name"] for r in rows].index("my sign.png")]["sha256"]) \
        == photo.read_bytes()

    # the teacher opens the review queue in the progress center and looks at the photo
    t = d.page.context.new_page()
    t.goto(server.url("progress"))
    t.wait_for_selector(".qe-login .qe-email input", timeout=90_000)
    t.locator(".qe-email input").fill(classroom_info.teacher_email)
    t.locator(".qe-password input").fill(classroom_info.teacher_password)
    t.locator(".qe-password input").press("Tab")
    t.click(".qe-login-button")
    t.get_by_role("tab", name="Review queue").click()
    card = t.locator(".qe-review-card").filter(has_text=kid.name)
    card.locator("button.qe-show-file").filter(has_text="my sign.png").click()
    img = card.locator(".qe-media img")
    expect(img).to_be_visible(timeout=WAIT_MS)
    t.wait_for_function("i => i.complete && i.naturalWidth === 40", arg=img.element_handle())
    card.locator("button.qe-show-file").filter(has_text="worksheet").click()
    expect(card.locator(".qe-media iframe")).to_have_count(1)
    card.scroll_into_view_if_needed()
    path = tmp_path / f"{d.size}-11-teacher-sees-the-photo.png"
    t.screenshot(path=str(path))
    COPY_TO.mkdir(parents=True, exist_ok=True)
    shutil.copy2(path, COPY_TO / path.name)
    t.close()

    # exported with the student's data, then deleted with the student
    teacher = classroom.login_teacher(classroom_info.teacher_email, classroom_info.teacher_password)
    exported = teacher.export_student_files(kid.student_id, tmp_path / "export")
    assert len(exported) == 2
    assert any(p.name.endswith("my sign.png") and p.read_bytes() == photo.read_bytes()
               for p in exported)
    assert any(p.name.endswith("fraction-wall-worksheet.pdf") for p in exported)
    assert teacher.export_student(kid.student_id)["submission_files"]
    counts = teacher.delete_student(kid.student_id)
    assert counts["submission_files"] == 2
    photo_file = stored[[r["name"] for r in rows].index("my sign.png")]
    assert not photo_file.exists(), "the photo is still in the file store"
    # the worksheet is also one of the quest's own files: it stays for the others
    assert classroom.store.quest_asset(QUEST, 1, f"assets/{QUEST}/fraction-wall-worksheet.pdf")
    d.assert_clean()
