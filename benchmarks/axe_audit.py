"""Count axe-core violations per rule over the pages' states (run by hand, never a test).

    .venv/bin/python benchmarks/axe_audit.py [--shots DIR]

Builds a classroom in a tmp dir (a teacher, a class, a student, the sample quests), serves the
pages with Voilà on 127.0.0.1, walks the play page (login, map, each kind of step panel, the
list of steps, the profile), the progress center (every tab) and the editor in Debian's
Chromium, and prints, per state, how many elements fail each axe rule, then the totals.
The browser tests check the same states with ``tests/axe.py`` and fail on any violation.
"""
from __future__ import annotations

import argparse
import collections
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "browser")]

from axe import axe_violations  # noqa: E402
from conftest import (CHROMIUM, CHROMIUM_ARGS, WAIT_MS, Player, cheap_hasher,  # noqa: E402
                      settle)
from questengine.classroom import Classroom  # noqa: E402
from questengine.loader import load_quest  # noqa: E402
from questengine.server import VoilaServer, free_port  # noqa: E402

EMAIL, PASSWORD = "audit@test.school", "audit-pass-1"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shots", type=Path, default=None)
    parser.add_argument("-v", action="store_true")
    parser.add_argument("--only", default="", help="play, center or editor (default: all)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="qe-axe-"))
    shots = args.shots or tmp
    shots.mkdir(parents=True, exist_ok=True)
    db = tmp / "classroom.db"
    c = Classroom(db, hasher=cheap_hasher())
    owner = c.add_teacher(EMAIL, "Ms. Audit", PASSWORD)
    code = c.create_class(EMAIL, "Grade 4A", "AUD-4A")
    (ada, bo) = c.add_students(code, [("Ada Audit", "1111"), ("Bo Audit", "2222")])
    for quest_id in ("fraction-forest", "water-cycle"):
        c.publish(load_quest(ROOT / "quests" / f"{quest_id}.yaml"), by=owner)
        c.assign(quest_id, code)
    s = c.login_student(code, bo.name, bo.pin)  # Bo has work waiting for review
    for n in ("trailhead", "fold-map"):
        s.complete("fraction-forest", n)
    s.choose("fraction-forest", "learn", "video")
    s.complete("fraction-forest", "learn")
    s.submit("fraction-forest", "signpost", "My sign: 1/2 = 2/4")
    c.store.close()

    srv = VoilaServer(db=db, port=free_port(), run_dir=tmp / "run")
    log = open(tmp / "voila.log", "wb")
    srv.start(log=log)
    counts: dict[str, collections.Counter] = {}

    def check(page, state):
        settle(page)
        found = axe_violations(page)
        counts[state] = collections.Counter({v["id"]: len(v["nodes"]) for v in found})
        page.screenshot(path=str(shots / f"axe-{state.replace(':', '').replace(' ', '-')}.png"))
        print(f"{state:32} {sum(counts[state].values()):4}  " +
              ", ".join(f"{k}={n}" for k, n in counts[state].most_common()), flush=True)
        if "-v" in sys.argv:
            for v in found:
                for node in v["nodes"]:
                    print(f"     {v['id']}: {' '.join(map(str, node['target']))} :: "
                          f"{node['html'][:160]}")

    from playwright.sync_api import sync_playwright

    try:
        srv.wait_ready(srv.url("play"), 120)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.set_default_timeout(WAIT_MS)
            page = context.new_page()
            if args.only in ("", "play"):
                p = Player(page, srv.url("play"), shots)
                p.open()
                check(page, "play: login")
                p.login(ada.name, ada.pin, code)
                check(page, "play: map + story")
                p.do("Done")
                p.wait_state("trailhead", "success")
                check(page, "play: story done + reflection")
                p.select("fold-map", "Fold the trail map")
                check(page, "play: task")
                p.do("Done")
                p.wait_state("fold-map", "success")
                p.select("learn", "Learn the ranger's secret")
                check(page, "play: choice")
                p.panel.locator(".qe-option-game").click()
                page.wait_for_selector(".qe-panel .qe-do")
                check(page, "play: quiz form")
                p.do()
                page.wait_for_selector(".qe-flash-error")
                check(page, "play: error message")
                p.node("checkpoint").hover()
                check(page, "play: tooltip")
                page.click(".qe-view-list")
                page.wait_for_selector(".qe-step-button")
                check(page, "play: list of steps")
                page.get_by_role("tab", name="My profile").click()
                page.wait_for_selector(".qe-mastery-table")
                check(page, "play: profile")
            if args.only in ("", "center"):
                page.goto(srv.url("progress"))
                page.wait_for_selector(".qe-login .qe-email input", timeout=WAIT_MS)
                check(page, "center: login")
                page.fill(".qe-email input", EMAIL); page.press(".qe-email input", "Tab")
                page.fill(".qe-password input", PASSWORD); page.press(".qe-password input", "Tab")
                page.click(".qe-login-button")
                page.wait_for_selector(".qe-center .qe-node", timeout=WAIT_MS)
                check(page, "center: class map")
                for tab in page.get_by_role("tab").all_inner_texts()[1:]:
                    page.get_by_role("tab", name=tab).click()
                    check(page, f"center: {tab}")
            if args.only in ("", "editor"):
                page.goto(srv.url("author"))
                page.wait_for_selector(".qe-login .qe-email input", timeout=WAIT_MS)
                page.fill(".qe-email input", EMAIL); page.press(".qe-email input", "Tab")
                page.fill(".qe-password input", PASSWORD); page.press(".qe-password input", "Tab")
                page.click(".qe-login-button")
                page.wait_for_selector(".qe-editor .qe-node", timeout=WAIT_MS)
                check(page, "editor: map + inspector")
            browser.close()
    finally:
        srv.stop()
        log.close()
    total = collections.Counter()
    for c_ in counts.values():
        total.update(c_)
    print(f"\n{sum(total.values())} failing elements over {len(counts)} states:")
    for rule, n in total.most_common():
        print(f"  {rule:34} {n}")
    print(f"screenshots in {shots}")


if __name__ == "__main__":
    main()
