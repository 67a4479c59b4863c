"""xAPI export: every statement is checked by an independent validator, the strict
pydantic models of Ralph, the learning record store of France Université
Numérique (``ralph.models.xapi.base.statements.BaseXapiStatement``: RFC 3987
IRIs, UUIDs, language maps, score ranges, no empty values, context rules), not
by the exporter's own code.
"""
from __future__ import annotations

import json
import re
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from argon2 import PasswordHasher
from click.testing import CliRunner
from pydantic import ValidationError
from ralph.models.xapi.base.statements import BaseXapiStatement

from questengine import loads_quest
from questengine.classroom import Classroom
from questengine.cli import main
from questengine.interop import InteropError
from questengine.interop.xapi import ADL, database_identity, export_xapi, statements
from questengine.store import Store

from helpers import T1

RIGHT = {"q1": "2/4", "q2": 0.5}
WRONG = {"q1": "2/3", "q2": 3}
NAMES = ["José Núñez", "Amara Okafor", "Li Wei"]
SECRET_TEXTS = ["my worksheet, first try", "Show one more example", "I liked the worksheet",
                "read it in class"]


class Clock:
    def __init__(self):
        self.now = datetime(2024, 9, 2, 8, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=7)
        return self.now


def build_class(db=":memory:"):
    """A class whose students between them make every kind of event."""
    c = Classroom(db, clock=Clock(),
                  hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    c.add_teacher("ada@school.example", "Ms Ada", "password-ada")
    code = c.create_class("ada@school.example", "Fractions 4B", "OWL-0001")
    t = c.login_teacher("ada@school.example", "password-ada")
    t.publish(loads_quest(T1))
    t.assign("t1", code)
    for name in NAMES:
        t.add_student(code, name, "1234")
    s1, s2, s3 = [c.login_student(code, n, "1234") for n in NAMES]
    s1.complete("t1", "intro")
    s1.choose("t1", "learn", "sheet")
    s1.submit("t1", "learn", SECRET_TEXTS[0])
    t.review(t.review_queue(code)[0].submission_id, "return", SECRET_TEXTS[1])
    s1.submit("t1", "learn", "my worksheet, second try")
    t.review(t.review_queue(code)[0].submission_id, "approve", "Great")
    s1.answer("t1", "check", WRONG)
    s1.complete("t1", "practice")
    s1.answer("t1", "check", RIGHT)
    s1.complete("t1", "end")
    s1.reflect("t1", "end", SECRET_TEXTS[2])
    s2.open("t1", "intro")
    s2.complete("t1", "intro")
    s2.choose("t1", "learn", "video")
    s2.complete("t1", "learn")
    s2.answer("t1", "check", WRONG)
    s2.complete("t1", "practice")
    s2.answer("t1", "check", {"q1": "2/4", "q2": 3})
    t.override(s2._sid, "t1", "check", "unlock", "one more try")
    t.override(s2._sid, "t1", "check", "reset", "start over")
    t.override(s2._sid, "t1", "intro", "award", xp=10, badge="helper")
    s3.open("t1", "intro")
    t.override(s3._sid, "t1", "intro", "approve", SECRET_TEXTS[3])
    s3.choose("t1", "learn", "sheet")
    s3.submit("t1", "learn", "draft")
    t.review(t.review_queue(code)[0].submission_id, "fail", "Not yet")
    return c, code


@pytest.fixture(scope="module")
def world():
    return build_class()


@pytest.fixture(scope="module")
def exported(world):
    classroom, code = world
    return list(statements(classroom, code))


def events(classroom):
    return classroom.store._rows("select e.*, s.opaque_id from events e join students s "
                                 "on s.id = e.student_id order by e.id")


EVENT = "https://questengine.invalid/xapi/extensions/event"


def by_event(sts):
    """The statements made from events (not the extra 'completed the quest' and per-question
    ones)."""
    return [s for s in sts if s["context"]["extensions"][EVENT] not in ("quest-complete",
                                                                        "question")]


# --- the independent check ------------------------------------------------------------------


def test_every_statement_is_valid_xapi(exported):
    assert exported
    for st in exported:
        BaseXapiStatement.model_validate(st)
    # and with personal text included, too
    classroom, code = build_class()
    for st in statements(classroom, code, include_text=True, homepage="https://school.example",
                         base="https://school.example/quest-engine/"):
        BaseXapiStatement.model_validate(st)


@pytest.mark.parametrize("breakage", [
    lambda s: s.pop("actor"),
    lambda s: s["verb"].update(id="attempted"),
    lambda s: s.update(id="not-a-uuid"),
    lambda s: s["object"].update(id="no scheme here"),
    lambda s: s.setdefault("result", {}).update(score={"scaled": 1.5}),
    lambda s: s["actor"]["account"].update(homePage=""),
    lambda s: s["verb"].update(display={"not a language tag!": "x"}),
])
def test_the_validator_is_strict_enough_to_catch_mistakes(exported, breakage):
    broken = json.loads(json.dumps(exported[0]))
    breakage(broken)
    with pytest.raises(ValidationError):
        BaseXapiStatement.model_validate(broken)


# --- what the statements say ----------------------------------------------------------------


def test_one_statement_per_event_plus_one_per_finished_quest(world, exported):
    classroom, _ = world
    rows = events(classroom)
    assert len(by_event(exported)) == len(rows)
    quest_done = [s for s in exported if s["object"]["id"].endswith("/quests/t1")]
    assert len(quest_done) == 1 and quest_done[0]["verb"]["id"] == ADL + "completed"


def test_statement_ids_are_unique_uuids_and_stable_across_exports(tmp_path):
    db = tmp_path / "class.db"
    classroom, code = build_class(db)
    first = [s["id"] for s in statements(classroom, code)]
    assert len(set(first)) == len(first)
    assert all(uuid.UUID(i).version == 5 for i in first)
    classroom.store.close()
    again = [s["id"] for s in statements(Store(db), code)]  # another process, same database
    assert again == first
    # another database with the very same history gets other ids
    other_classroom, _ = build_class()
    assert set(first).isdisjoint(s["id"] for s in statements(other_classroom, code))


def test_the_database_identity_is_kept(tmp_path):
    store = Store(tmp_path / "a.db")
    ident = database_identity(store)
    assert database_identity(store) == ident == database_identity(Store(tmp_path / "a.db"))
    assert str(uuid.UUID(ident)) == ident


def test_actors_are_opaque_accounts_never_names(world, exported):
    classroom, code = world
    opaque = {s["opaque_id"] for s in classroom.store.students_in(code)}
    text = json.dumps(exported, ensure_ascii=False)
    for name in NAMES + ["Ms Ada", "ada@school.example", "Fractions 4B"]:
        assert name not in text
    for st in exported:
        actor = st["actor"]
        assert set(actor) == {"objectType", "account"}
        assert actor["account"]["homePage"] == "https://questengine.invalid"
        if st["context"]["extensions"][EVENT] == "review":
            assert actor["account"]["name"].startswith("teacher-")
        else:
            assert actor["account"]["name"] in opaque


def test_verbs_follow_the_events(world, exported):
    classroom, _ = world
    verbs = [s["verb"]["id"] for s in by_event(exported)]
    kinds = [r["type"] for r in events(classroom)]
    expected = {"open": {ADL + "attempted"}, "choose": {ADL + "preferred"},
                "submit": {ADL + "answered", "http://activitystrea.ms/schema/1.0/submit"},
                "grade": {ADL + "scored"},
                "complete": {ADL + v for v in ("passed", "failed", "completed", "experienced")},
                "review": {ADL + "commented"}, "reflect": {ADL + "commented"},
                "override": {"https://w3id.org/xapi/adl/verbs/waived",
                             "https://questengine.invalid/xapi/verbs/unlocked",
                             "https://questengine.invalid/xapi/verbs/reset",
                             "https://questengine.invalid/xapi/verbs/awarded"}}
    for kind, verb in zip(kinds, verbs):
        assert verb in expected[kind], (kind, verb)
    assert set(kinds) == set(expected)  # the scenario makes every kind of event


def test_objects_and_context(world, exported):
    classroom, _ = world
    rows = events(classroom)
    for row, st in zip(rows, by_event(exported)):
        obj = st["object"]
        ctx = st["context"]
        assert ctx["extensions"]["https://questengine.invalid/xapi/extensions/quest-version"] == 1
        assert ctx["extensions"]["https://questengine.invalid/xapi/extensions/class"] == "OWL-0001"
        assert uuid.UUID(ctx["registration"])
        assert st["timestamp"] == datetime.fromisoformat(row["at"]).isoformat()
        if obj["objectType"] == "Activity":
            assert ctx["revision"] == "1"
            node_iri = f"https://questengine.invalid/quests/t1/nodes/{row['node']}"
            if row["type"] == "choose":
                assert obj["id"].startswith(node_iri + "/options/")
                assert ctx["contextActivities"]["parent"][0]["id"] == node_iri
            else:
                assert obj["id"] == node_iri
                assert ctx["contextActivities"]["parent"][0]["id"] == \
                    "https://questengine.invalid/quests/t1"
            assert obj["definition"]["name"]["en-US"]
        else:
            assert obj["objectType"] == "StatementRef" and row["type"] == "review"
            assert "revision" not in ctx and "platform" not in ctx


def test_results_carry_score_success_and_completion(exported):
    gate = [s for s in exported if s["object"]["id"].endswith("/nodes/check")
            and s["verb"]["id"] in (ADL + "passed", ADL + "failed")]
    assert [s["verb"]["id"].rsplit("/", 1)[1] for s in gate] == ["failed", "passed", "failed",
                                                                  "failed"]
    passed = gate[1]["result"]
    assert passed["success"] is True and passed["completion"] is True
    assert passed["score"] == {"scaled": 1.0, "raw": 2, "min": 0, "max": 2}
    assert gate[0]["result"]["score"]["scaled"] == 0.0 and gate[0]["result"]["success"] is False
    scored = [s for s in exported if s["verb"]["id"] == ADL + "scored"]
    assert all("score" in s["result"] for s in scored)
    story = next(s for s in exported if s["verb"]["id"] == ADL + "experienced")
    assert story["result"] == {"success": True, "completion": True}


def test_a_review_points_at_the_submission_it_answers(exported):
    ids = {s["id"]: s for s in exported}
    reviews = [s for s in exported if s["object"]["objectType"] == "StatementRef"]
    assert len(reviews) == 3
    for review in reviews:
        submitted = ids[review["object"]["id"]]
        assert submitted["verb"]["id"] == "http://activitystrea.ms/schema/1.0/submit"
        assert exported.index(submitted) < exported.index(review)
        learner = review["context"]["extensions"]["https://questengine.invalid/xapi/extensions/learner"]
        assert learner == submitted["actor"]["account"]["name"]
    decisions = [r["context"]["extensions"]["https://questengine.invalid/xapi/extensions/decision"]
                 for r in reviews]
    assert decisions == ["return", "approve", "fail"]
    assert [r.get("result", {}).get("success") for r in reviews] == [None, True, False]


def test_teacher_overrides_name_the_teacher_as_instructor(exported):
    overrides = [s for s in exported if s["context"]["extensions"][EVENT] == "override"]
    assert len(overrides) == 4
    for st in overrides:
        assert st["context"]["instructor"]["account"]["name"].startswith("teacher-")
    award = next(s for s in overrides if s["verb"]["id"].endswith("/awarded"))
    assert award["result"]["extensions"] == {
        "https://questengine.invalid/xapi/extensions/xp": 10,
        "https://questengine.invalid/xapi/extensions/badge": "helper"}


def test_personal_text_is_left_out_unless_asked(world, exported):
    classroom, code = world
    plain = json.dumps(exported, ensure_ascii=False)
    for text in SECRET_TEXTS:
        assert text not in plain
    full = json.dumps(list(statements(classroom, code, include_text=True)), ensure_ascii=False)
    for text in SECRET_TEXTS:
        assert text in full


def test_addresses_are_configurable_and_checked(world):
    classroom, code = world
    sts = list(statements(classroom, code, homepage="https://school.example/",
                          base="https://lrs.school.example/qe"))
    assert {s["actor"]["account"]["homePage"] for s in sts} == {"https://school.example"}
    assert sts[0]["object"]["id"].startswith("https://lrs.school.example/qe/quests/t1/nodes/")
    for bad in ("school.example", "ftp://school.example", "https://", "https://a b.example"):
        with pytest.raises(InteropError):
            list(statements(classroom, code, homepage=bad))
    with pytest.raises(InteropError, match="no class has the code"):
        list(statements(classroom, "NOPE-1"))


def test_other_classes_are_not_exported(world):
    classroom, code = world
    classroom.add_teacher("bo@school.example", "Mr Bo", "password-bo")
    other = classroom.create_class("bo@school.example", "Other", "FOX-0002")
    assert list(statements(classroom, other)) == []


# --- files and the command -----------------------------------------------------------------------


def test_export_writes_json_lines(world, tmp_path):
    classroom, code = world
    out = tmp_path / "class.jsonl"
    count = export_xapi(classroom, code, out)
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == count > 0
    for line in lines:
        BaseXapiStatement.model_validate(json.loads(line))


def test_cli_export_xapi(tmp_path):
    db = tmp_path / "class.db"
    build_class(db)[0].store.close()
    runner = CliRunner()
    out = tmp_path / "out.jsonl"
    result = runner.invoke(main, ["export-xapi", "--class", "owl-0001", "-o", str(out),
                                  "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert re.match(r"wrote \d+ statements to ", result.stderr)
    first = out.read_text(encoding="utf-8")
    for line in first.splitlines():
        BaseXapiStatement.model_validate(json.loads(line))
    # exported again: byte for byte the same
    assert runner.invoke(main, ["export-xapi", "--class", "OWL-0001", "-o", str(out),
                                "--db", str(db)]).exit_code == 0
    assert out.read_text(encoding="utf-8") == first
    to_stdout = runner.invoke(main, ["export-xapi", "--class", "OWL-0001", "--db", str(db)])
    assert to_stdout.stdout == first

    unknown = runner.invoke(main, ["export-xapi", "--class", "NOPE-1", "--db", str(db)])
    assert unknown.exit_code == 1 and unknown.stderr.startswith("error: no class has the code")
    assert runner.invoke(main, ["export-xapi", "--db", str(db)]).exit_code == 2
    no_db = runner.invoke(main, ["export-xapi", "--class", "OWL-0001", "--db",
                                 str(tmp_path / "missing.db")])
    assert no_db.exit_code == 2 and not (tmp_path / "missing.db").exists()
    bad_home = runner.invoke(main, ["export-xapi", "--class", "OWL-0001", "--db", str(db),
                                    "--homepage", "not a url"])
    assert bad_home.exit_code == 1 and "web address" in bad_home.stderr


# --- statement ids follow the content; per-question interactions -----------------------------


def test_statement_ids_change_when_the_content_does(world, exported):
    classroom, code = world
    plain = {s["id"]: s for s in exported}
    with_text = list(statements(classroom, code, include_text=True))
    assert len(with_text) == len(exported)
    for a, b in zip(exported, with_text):
        same = {k: v for k, v in a.items() if k != "id"} == {k: v for k, v in b.items() if k != "id"}
        assert (a["id"] == b["id"]) == same  # the same statement keeps its id, another gets one
    assert any(a["id"] != b["id"] for a, b in zip(exported, with_text))
    elsewhere = list(statements(classroom, code, homepage="https://school.example"))
    assert set(plain).isdisjoint(s["id"] for s in elsewhere)  # other accounts: other statements
    # a review still points at the id its submission has in the same export
    ids = {s["id"] for s in with_text}
    assert all(s["object"]["id"] in ids for s in with_text if s["object"]["objectType"] == "StatementRef")


def interactions(sts):
    return [s for s in sts if s["context"]["extensions"][EVENT] == "question"]


def test_every_graded_question_is_a_cmi_interaction(world, exported):
    classroom, _ = world
    grades = [r for r in events(classroom) if r["type"] == "grade"]
    items = interactions(exported)
    assert len(items) == sum(len(json.loads(r["data"])["results"]) for r in grades) == 8
    for st in items:
        BaseXapiStatement.model_validate(st)
        assert st["verb"]["id"] == ADL + "answered"
        definition = st["object"]["definition"]
        assert definition["type"] == "http://adlnet.gov/expapi/activities/cmi.interaction"
        assert st["context"]["contextActivities"]["parent"][0]["id"].endswith("/nodes/check")
    q1 = [s for s in items if s["object"]["id"].endswith("/nodes/check/questions/q1")]
    q2 = [s for s in items if s["object"]["id"].endswith("/nodes/check/questions/q2")]
    assert len(q1) == len(q2) == 4
    d1 = q1[0]["object"]["definition"]
    assert d1["interactionType"] == "choice"
    assert d1["correctResponsesPattern"] == ["2-4"]
    assert d1["choices"] == [{"id": "2-4", "description": {"en-US": "2/4"}},
                             {"id": "2-3", "description": {"en-US": "2/3"}}]
    assert d1["description"] == {"en-US": "Which equals 1/2?"}
    d2 = q2[0]["object"]["definition"]
    assert d2["interactionType"] == "numeric"
    assert d2["correctResponsesPattern"] == ["0.499[:]0.501"]
    # responses and success, in the order the students answered (s1 wrong, right; s2 ...)
    assert [(s["result"]["response"], s["result"]["success"]) for s in q1] == [
        ("2-3", False), ("2-4", True), ("2-3", False), ("2-4", True)]
    assert [(s["result"]["response"], s["result"]["success"]) for s in q2] == [
        ("3", False), ("0.5", True), ("3", False), ("3", False)]
    # the same item across students is one activity, so an LRS can group the answers
    assert len({s["object"]["id"] for s in q1}) == 1


def test_typed_answers_are_personal_text(tmp_path):
    quest = loads_quest(T1.replace(
        "- {id: q2, type: number, prompt: 1/4 + 1/4, answer: 0.5, tolerance: 0.001}",
        "- {id: q2, type: number, prompt: 1/4 + 1/4, answer: 0.5, tolerance: 0.001}\n"
        "      - {id: q3, type: text, prompt: Name one half, accept: [one half, half]}"))
    c = Classroom(":memory:", clock=Clock(),
                  hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    c.add_teacher("t@school.example", "T", "password-t")
    code = c.create_class("t@school.example", "C", "OWL-0002")
    t = c.login_teacher("t@school.example", "password-t")
    t.publish(quest)
    t.assign("t1", code)
    t.add_student(code, "Ana", "1234")
    s = c.login_student(code, "Ana", "1234")
    s.complete("t1", "intro")
    s.choose("t1", "learn", "video")
    s.complete("t1", "learn")
    s.answer("t1", "check", {"q1": "2/4", "q2": 0.5, "q3": "My secret words"})
    quiet = {st["object"]["id"].rsplit("/", 1)[1]: st for st in interactions(statements(c, code))}
    assert quiet["q3"]["object"]["definition"]["interactionType"] == "fill-in"
    assert quiet["q3"]["object"]["definition"]["correctResponsesPattern"] == [
        "{case_matters=false}one half", "{case_matters=false}half"]
    assert "response" not in quiet["q3"]["result"] and quiet["q3"]["result"]["success"] is False
    assert quiet["q1"]["result"]["response"] == "2-4"
    told = {st["object"]["id"].rsplit("/", 1)[1]: st
            for st in interactions(statements(c, code, include_text=True))}
    assert told["q3"]["result"]["response"] == "My secret words"
    assert told["q3"]["id"] != quiet["q3"]["id"] and told["q1"]["id"] == quiet["q1"]["id"]
