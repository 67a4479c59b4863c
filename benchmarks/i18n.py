"""Languages benchmark: what gettext catalogs and quest translations cost a page.

Side by side, median of N interleaved repeats, printed (never asserted):
* compiling the Spanish catalog from its .po file in memory (what the first Spanish page
  of a kernel pays, questengine.i18n.translations) vs reading the .po file's bytes;
* ``_()`` in Spanish vs in English (a NullTranslations) vs a plain string, per call;
* a family's child page (FamilyPage.start through the service, fraction-forest assigned)
  built in Spanish vs in English;
* ``localize()`` of a quest with Spanish translations vs ``model_copy()`` of it.

Run: ``.venv/bin/python benchmarks/i18n.py [--repeats 15]``
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))


def timed(fn, n: int = 1) -> float:
    start = time.perf_counter()
    for _i in range(n):
        fn()
    return (time.perf_counter() - start) / n


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    from argon2 import PasswordHasher

    from questengine import i18n, loads_quest
    from questengine.classroom import Classroom
    from questengine.loader import load_quest
    from questengine.ui.family import FamilyPage
    from test_i18n import T1_ES

    po = i18n.LOCALE_DIR / "es" / "LC_MESSAGES" / "questengine.po"
    rows: dict[str, list[float]] = {k: [] for k in (
        "compile es catalog", "read .po bytes", "_() es", "_() en", "plain str",
        "child page es", "child page en", "localize quest", "model_copy quest")}
    c = Classroom(":memory:", hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    owner = c.add_teacher("t@school.org", "Teacher", "password-1")
    c.create_class("t@school.org", "Class", "CLASS-1")
    c.publish(load_quest(ROOT / "quests" / "fraction-forest.yaml"), by=owner)
    c.assign("fraction-forest", "CLASS-1")
    kid = c.add_student("CLASS-1", "Ada", "1234")
    teacher = c.teacher_session("CLASS-1")
    [code] = teacher.family_codes("CLASS-1")
    fam = c.sign_up_family(code["code"], "f@home.org", "Family", "family-pass")
    teacher.approve_family(fam.family_id, kid.student_id)
    quest = loads_quest(T1_ES)

    def page(language):
        i18n.activate(language)
        FamilyPage(c).start(fam)

    for _r in range(args.repeats):
        i18n.translations.cache_clear()
        rows["compile es catalog"].append(timed(lambda: i18n.translations("es")))
        rows["read .po bytes"].append(timed(po.read_bytes))
        i18n.activate("es")
        rows["_() es"].append(timed(lambda: i18n._("Notes with the teacher"), 10_000))
        i18n.activate("en")
        rows["_() en"].append(timed(lambda: i18n._("Notes with the teacher"), 10_000))
        rows["plain str"].append(timed(lambda: str("Notes with the teacher"), 10_000))
        rows["child page es"].append(timed(lambda: page("es")))
        rows["child page en"].append(timed(lambda: page("en")))
        rows["localize quest"].append(timed(lambda: i18n.localize(quest, "es"), 100))
        rows["model_copy quest"].append(timed(lambda: quest.model_copy(), 100))
    i18n.activate("en")
    med = {k: statistics.median(v) for k, v in rows.items()}
    print(f"median of {args.repeats} repeats")
    for a, b in (("compile es catalog", "read .po bytes"), ("_() es", "plain str"),
                 ("_() en", "plain str"), ("child page es", "child page en"),
                 ("localize quest", "model_copy quest")):
        print(f"{a:>20}: {med[a] * 1e6:10.1f} µs   {b:>18}: {med[b] * 1e6:10.1f} µs   "
              f"ratio {med[a] / med[b]:6.2f}x")


if __name__ == "__main__":
    main()
