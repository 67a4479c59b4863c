"""Attacks on the PIN login: a parallel guessing race, and locking a classmate out."""
import multiprocessing as mp
from datetime import datetime, timezone

import pytest

from helpers import FakeClock, cheap_hasher
from questengine.classroom import Classroom
from questengine.errors import AccessDenied, LoginError, LoginThrottled

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
RIGHT_PIN = "4821"


@pytest.fixture
def school(tmp_path):
    db = tmp_path / "school.db"
    c = Classroom(db, clock=FakeClock(NOW), hasher=cheap_hasher())
    c.add_teacher("t@school.org", "Tess", "correct horse")
    c.add_teacher("other@school.org", "Otto", "other horse")
    code = c.create_class("t@school.org", "Class", "OWL-0001")
    c.add_student(code, "Ada", RIGHT_PIN)
    c.add_student(code, "Ben", "1357")
    return db, code, c


def _guess(db, code, pin, barrier, results):
    """One attacker process: a fresh kernel's Classroom trying one PIN at the same moment."""
    c = Classroom(db, clock=FakeClock(NOW), hasher=cheap_hasher())
    barrier.wait()
    try:
        c.login_student(code, "Ada", pin)
        results.put("accepted")
    except LoginThrottled:
        results.put("throttled")
    except LoginError:
        results.put("checked")


def test_32_parallel_guesses_check_no_more_pins_than_the_free_tries(school):
    db, code, c = school
    pins = [f"{n:04d}" for n in range(32)]  # all wrong: the right one would clear the count
    ctx = mp.get_context("fork")
    barrier, results = ctx.Barrier(len(pins)), ctx.Queue()
    procs = [ctx.Process(target=_guess, args=(db, code, pin, barrier, results)) for pin in pins]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert sorted(set(outcomes)) == ["checked", "throttled"]
    assert outcomes.count("checked") == c.max_failures == 5
    assert outcomes.count("throttled") == 27
    # every PIN that was checked is counted, none lost to the race
    key = f"student|{code}|ada"
    assert c.store.login_failures(key, 0) == 5
    # and the right PIN, tried now, is slowed down too
    with pytest.raises(LoginThrottled, match="Wait 2 seconds"):
        c.login_student(code, "Ada", RIGHT_PIN)


def test_a_classmate_cannot_lock_someone_out_and_the_teacher_clears_it(school):
    db, code, c = school
    clock = c.clock
    checked = 0
    while checked < 12:  # a classmate types Ada's name with wrong PINs, as fast as allowed
        try:
            c.login_student(code, "Ada", "0000")
        except LoginThrottled as err:
            assert err.wait <= 60
            clock.advance(seconds=err.wait)
        except LoginError:
            checked += 1
    # Ada waits at most a minute, never fifteen
    with pytest.raises(LoginThrottled) as info:
        c.login_student(code, "Ada", RIGHT_PIN)
    assert info.value.wait <= 60
    teacher = c.login_teacher("t@school.org", "correct horse")
    (trouble,) = teacher.login_troubles(code)
    assert trouble["name"] == "Ada" and trouble["failures"] >= 10 and 0 < trouble["wait"] <= 60
    # another teacher can neither see nor clear it
    other = c.login_teacher("other@school.org", "other horse")
    with pytest.raises(AccessDenied):
        other.login_troubles(code)
    with pytest.raises(AccessDenied):
        other.clear_login_troubles(trouble["student_id"])
    assert c.login_student(code, "Ben", "1357").name == "Ben"  # nobody else was slowed
    teacher.clear_login_troubles(trouble["student_id"])
    assert teacher.login_troubles(code) == []
    assert c.login_student(code, "Ada", RIGHT_PIN).name == "Ada"


def test_the_teacher_sees_and_clears_wrong_pins_in_the_progress_center(school):
    from questengine.ui.center import CenterPage

    db, code, c = school
    for _ in range(6):
        try:
            c.login_student(code, "Ada", "0000")
        except LoginError:
            pass
    page = CenterPage(c)
    page.login.email.value, page.login.password.value = "t@school.org", "correct horse"
    page.login.button.click()
    (row,) = [w for w in page.override_box.children if "qe-login-trouble" in w._dom_classes]
    label, button = row.children
    assert "Ada: 5 wrong PINs, waits 2 s" in label.value
    button.click()
    # the message shows beside the teacher's work (the open tab's note), not in a far banner
    assert any("Ada can log in again now." in note.value for note in page.notes.values())
    assert not [w for w in page.override_box.children if "qe-login-trouble" in w._dom_classes]
    assert c.login_student(code, "Ada", RIGHT_PIN).name == "Ada"
