"""Spoofed names, floods of reflections, and the tutorial notebook served to anyone."""
import urllib.error
import urllib.request

import pytest

from helpers import T1, FakeClock, cheap_hasher
from questengine.classroom import Classroom
from questengine.errors import ClassroomError, ProgressError
from questengine.loader import loads_quest
from questengine.server import VoilaServer, free_port

SPOOFS = ["Ada\u202e", "\u202eadA", "A\u200bda", "Ada\u2066x\u2069", "\u3164", "Ada\ufeff",
          "\u200d", "A\u00adda", "Ad\u061ca"]


@pytest.fixture
def small():
    clock = FakeClock()
    c = Classroom(":memory:", clock=clock, hasher=cheap_hasher())
    owner = c.add_teacher("t@school.org", "Tess", "correct horse")
    code = c.create_class("t@school.org", "Class", "OWL-0001")
    c.publish(loads_quest(T1), by=owner)
    c.assign("t1", code, by=owner)
    c.add_student(code, "Ada", "2468")
    return c, code, clock


@pytest.mark.parametrize("name", SPOOFS, ids=[f"U+{ord(max(n)):04X}" for n in SPOOFS])
def test_names_with_invisible_or_bidi_characters_are_refused(small, name):
    c, code, clock = small
    before = [s["name"] for s in c.store.students_in(code)]
    with pytest.raises(ClassroomError, match="invisible|letters"):
        c.add_student(code, name, "1111")
    with pytest.raises(ClassroomError, match="invisible|letters"):
        c.import_roster(code, f"name,pin\n{name},1111\n")
    assert [s["name"] for s in c.store.students_in(code)] == before


@pytest.mark.parametrize("name", ["José Núñez", "مهدی\u200cزاده", "Zoë", "李小龍", "Ngũgĩ"])
def test_real_names_in_many_scripts_are_kept(small, name):
    c, code, clock = small
    assert c.add_student(code, name, "1111").name == name


def test_a_flood_of_reflections_is_refused_after_ten_a_minute(small):
    c, code, clock = small
    s = c.login_student(code, "Ada", "2468")
    s.open("t1", "intro")
    s.complete("t1", "intro")
    for i in range(10):
        s.reflect("t1", "intro", f"thought {i}")
    events = len(c.store.events(s._sid, "t1"))
    for i in range(490):  # the attack: 500 in one go
        with pytest.raises(ProgressError, match="in a minute"):
            s.reflect("t1", "intro", f"spam {i}")
    assert len(c.store.events(s._sid, "t1")) == events  # nothing more was written
    clock.advance(minutes=1, seconds=1)
    s.reflect("t1", "intro", "a calm thought")  # a minute later it works again


def test_the_server_serves_the_pages_but_not_the_tutorial(tmp_path):
    db = tmp_path / "c.db"
    Classroom(db, hasher=cheap_hasher()).store.close()
    server = VoilaServer(db=db, port=free_port(), run_dir=tmp_path / "run")
    server.start(log=open(tmp_path / "voila.log", "wb"))
    try:
        server.wait_ready(timeout=120)
        assert sorted(p.name for p in (tmp_path / "run" / "pages").iterdir()) == [
            "author.ipynb", "family.ipynb", "play.ipynb", "progress.ipynb"]
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(f"http://127.0.0.1:{server.port}/voila/render/extend.ipynb",
                                   timeout=60)
        assert info.value.code == 404
        with urllib.request.urlopen(server.url("play"), timeout=120) as page:
            assert page.status == 200
    finally:
        server.stop()
