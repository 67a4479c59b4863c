"""Export a class's events as xAPI (Experience API 1.0.3) statements, one JSON object a line.

Each event becomes one statement (an end reached also adds one for the quest):

========  ==================================================  =========================
event     verb                                                object
========  ==================================================  =========================
open      ADL ``attempted``                                   the node
choose    ADL ``preferred`` (the modality picked)             the option (parent: node)
submit    ADL ``answered`` (quiz answers) or Activity          the node
          Streams ``submit`` (work for review)
grade     ADL ``scored``                                      the node
complete  ADL ``passed``/``failed`` (quiz, gate, failed        the node
          work), ``experienced`` (story), ``completed``
review    ADL ``commented``, by the teacher                   a StatementRef to the
                                                              student's submission
reflect   ADL ``commented``, by the student                   the node
override  ADL ``waived`` (approve) or questengine verbs        the node
          (``unlocked``, ``reset``, ``awarded``)
========  ==================================================  =========================

A graded set of answers also gives one ADL ``answered`` statement per question,
whose object is the question as a ``cmi.interaction`` activity (interaction type
``choice``, ``fill-in`` or ``numeric``, its ``correctResponsesPattern`` and
choices) and whose result holds the student's response and whether it was
right, so that a learning record store can analyse each item. Choices and
numbers are always sent; a typed answer (fill-in) is personal text.

Students appear only as opaque accounts (``students.opaque_id`` under a
configurable school home page), never by name; teachers as an account derived
from their id. A statement's id is a UUIDv5 of the database's identity (a
random UUID kept in the database), the event's row id and a digest of the
statement's content: exporting twice gives the same ids, so a learning record
store drops the duplicates, while a statement whose content differs (with
``include_text``, under another home page) gets another id, as xAPI requires
(an LRS refuses a different statement under a known id).
Submitted work, feedback and reflections are personal text: they are left out
unless ``include_text=True``.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote, urlsplit

from ..loader import loads_quest
from . import InteropError, class_row, store_of

__all__ = ["DEFAULT_HOMEPAGE", "XAPI_VERSION", "ADL", "NAMESPACE", "INTERACTION",
           "database_identity", "statements", "export_xapi", "statement_id",
           "interaction_definition"]

DEFAULT_HOMEPAGE = "https://questengine.invalid"
XAPI_VERSION = "1.0.3"
ADL = "http://adlnet.gov/expapi/verbs/"
ADL_ACTIVITY = "http://adlnet.gov/expapi/activities/"
#: The namespace of every statement id (a UUIDv5 of a fixed URL).
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://questengine.invalid/xapi/statements")

_ADL_VERBS = ("attempted", "preferred", "answered", "scored", "passed", "failed", "completed",
              "experienced", "commented")
_OTHER_VERBS = {
    "submitted": "http://activitystrea.ms/schema/1.0/submit",
    "waived": "https://w3id.org/xapi/adl/verbs/waived",
}
_OWN_VERBS = ("unlocked", "reset", "awarded")
INTERACTION = ADL_ACTIVITY + "cmi.interaction"
_INTERACTION_TYPES = {"choice": "choice", "multi": "choice", "text": "fill-in", "number": "numeric"}
_ACTIVITY_TYPES = {
    "quest": "course", "story": "lesson", "task": "performance", "choice": "module",
    "quiz": "assessment", "gate": "assessment", "end": "lesson", "option": "performance",
}


def statement_id(identity: str, statement: dict, *parts: Any) -> str:
    """The id of a statement: a UUIDv5 of the database, the event and the statement's content.

    >>> a = statement_id("db", {"verb": {"id": "x"}}, "events", 1)
    >>> a == statement_id("db", {"verb": {"id": "x"}, "id": "ignored"}, "events", 1)
    True
    >>> a == statement_id("db", {"verb": {"id": "y"}}, "events", 1)
    False
    """
    content = {k: v for k, v in statement.items() if k != "id"}
    digest = hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False,
                                       separators=(",", ":")).encode()).hexdigest()
    return str(uuid.uuid5(NAMESPACE, "/".join([identity, *map(str, parts), digest])))


def _number(value: float) -> str:
    return format(float(value), ".15g")


def _choice_ids(options: list[str]) -> list[str]:
    """Ids for answer options: their text made an identifier (no spaces), unique."""
    ids, used = [], set()
    for i, text in enumerate(options, start=1):
        base = re.sub(r"[^A-Za-z0-9._~-]+", "-", text).strip("-")[:40] or f"option-{i}"
        out, n = base, 2
        while out in used:
            out, n = f"{base}-{n}", n + 1
        used.add(out)
        ids.append(out)
    return ids


def interaction_definition(question: Any, language: str = "en-US") -> dict:
    """A quiz question as an xAPI ``cmi.interaction`` activity definition.

    >>> from questengine.model import ChoiceQuestion
    >>> d = interaction_definition(ChoiceQuestion(id="q1", type="choice", prompt="1/2 = ?",
    ...                                           options=["2/4", "2/3"], answer="2/4"))
    >>> d["interactionType"], d["correctResponsesPattern"], [c["id"] for c in d["choices"]]
    ('choice', ['2-4'], ['2-4', '2-3'])
    """
    qtype = question.type
    definition: dict[str, Any] = {
        "name": {language: (question.prompt[:120] or question.id)},
        "description": {language: question.prompt or question.id},
        "type": INTERACTION,
        "interactionType": _INTERACTION_TYPES[qtype],
    }
    if qtype in ("choice", "multi"):
        ids = _choice_ids(question.options)
        of = dict(zip(question.options, ids))
        answers = [question.answer] if qtype == "choice" else question.answer
        definition["correctResponsesPattern"] = ["[,]".join(of[a] for a in answers)]
        definition["choices"] = [{"id": i, "description": {language: text}}
                                 for i, text in zip(ids, question.options)]
    elif qtype == "number":
        low, high = question.answer - question.tolerance, question.answer + question.tolerance
        definition["correctResponsesPattern"] = [
            f"{_number(low)}[:]{_number(high)}" if question.tolerance else _number(question.answer)]
    else:
        definition["correctResponsesPattern"] = [f"{{case_matters=false}}{a}"
                                                 for a in question.accept]
    return definition


def _response(question: Any, answer: Any) -> str | None:
    """A student's answer in the xAPI response format of the question's interaction type."""
    if answer is None:
        return None
    if question.type in ("choice", "multi"):
        of = dict(zip(question.options, _choice_ids(question.options)))
        picked = [answer] if question.type == "choice" or isinstance(answer, str) else list(
            answer or [])
        return "[,]".join(of.get(str(a), re.sub(r"\s+", "-", str(a))) for a in picked)
    if question.type == "number":
        try:
            return _number(float(answer))
        except (TypeError, ValueError):
            return str(answer)
    return str(answer)


def database_identity(store: Any) -> str:
    """The random UUID that names this database (made by the store's schema migration 4)."""
    return store.conn.execute("select uuid from questengine_identity where id = 1").fetchone()[0]


def _check_iri(value: str, what: str) -> str:
    parts = urlsplit(value or "")
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in value):
        raise InteropError(f"the {what} must be a web address such as https://school.example, "
                           f"got {value!r}")
    return value.rstrip("/")


class _Builder:
    """Builds statements for one class, keeping the state that links them."""

    def __init__(self, store: Any, class_code: str, homepage: str, base: str, language: str,
                 include_text: bool):
        self.store = store
        self.class_code = class_code
        self.homepage = homepage
        self.base = base
        self.lang = language
        self.include_text = include_text
        self.identity = database_identity(store)
        self.quests: dict[tuple[str, int], Any] = {}
        self.last_submit: dict[tuple[int, str, str], str] = {}
        self.last_answers: dict[tuple[int, str, str], dict] = {}
        self.last_grade: dict[tuple[int, str, str], dict] = {}
        self.done_quests: set[tuple[int, str]] = set()

    # identifiers -------------------------------------------------------------------------

    def sid(self, *parts: Any) -> str:
        return str(uuid.uuid5(NAMESPACE, "/".join([self.identity, *map(str, parts)])))

    def verb(self, name: str) -> dict:
        if name in _ADL_VERBS:
            iri = ADL + name
        elif name in _OTHER_VERBS:
            iri = _OTHER_VERBS[name]
        else:
            iri = f"{self.base}/xapi/verbs/{name}"
        return {"id": iri, "display": {"en-US": name}}

    def ext(self, name: str) -> str:
        return f"{self.base}/xapi/extensions/{name}"

    def student(self, opaque_id: str) -> dict:
        return {"objectType": "Agent",
                "account": {"homePage": self.homepage, "name": opaque_id}}

    def teacher(self, actor: str) -> dict:
        who = actor.split(":", 1)[1] if actor.startswith("teacher:") else actor or "unknown"
        return {"objectType": "Agent",
                "account": {"homePage": self.homepage,
                            "name": "teacher-" + self.sid("teacher", who)}}

    # activities ----------------------------------------------------------------------------

    def quest(self, quest_id: str, version: int):
        key = (quest_id, version)
        if key not in self.quests:
            row = self.store.quest_row(quest_id, version) or self.store.quest_row(quest_id)
            self.quests[key] = loads_quest(row["source"], f"{quest_id} v{version}") if row else None
        return self.quests[key]

    def quest_iri(self, quest_id: str) -> str:
        return f"{self.base}/quests/{quote(quest_id, safe='')}"

    def node_iri(self, quest_id: str, node: str) -> str:
        return f"{self.quest_iri(quest_id)}/nodes/{quote(node, safe='')}"

    def activity(self, iri: str, name: str, kind: str) -> dict:
        return {"objectType": "Activity", "id": iri,
                "definition": {"name": {self.lang: name or "untitled"},
                               "type": ADL_ACTIVITY + _ACTIVITY_TYPES.get(kind, "lesson")}}

    def quest_activity(self, quest_id: str, version: int) -> dict:
        quest = self.quest(quest_id, version)
        return self.activity(self.quest_iri(quest_id), quest.title if quest else quest_id, "quest")

    def node_model(self, quest_id: str, version: int, node: str):
        quest = self.quest(quest_id, version)
        if quest is None:
            return None
        return next((n for n in quest.nodes if n.id == node), None)

    def node_activity(self, quest_id: str, version: int, node: str) -> dict:
        model = self.node_model(quest_id, version, node)
        return self.activity(self.node_iri(quest_id, node), model.title if model else node,
                             model.kind if model else "story")

    # statements ----------------------------------------------------------------------------

    def statements(self, row: dict) -> list[dict]:
        data = json.loads(row["data"] or "{}")
        sid, quest_id, version, node = row["student_id"], row["quest_id"], row["version"], row["node"]
        key = (sid, quest_id, node)
        kind = getattr(self.node_model(quest_id, version, node), "kind", "story")
        learner = self.student(row["opaque_id"])
        obj = self.node_activity(quest_id, version, node)
        parents: dict[str, list] = {"parent": [self.quest_activity(quest_id, version)]}
        result: dict[str, Any] = {}
        extensions: dict[str, Any] = {self.ext("event"): row["type"]}
        actor = learner
        instructor = None
        if row["role"] == "teacher":
            instructor = self.teacher(row["actor"])
        etype = row["type"]
        extra: list[dict] = []

        if etype == "open":
            verb = "attempted"
        elif etype == "choose":
            verb = "preferred"
            option_id = str(data.get("option"))
            option = next((o for o in getattr(self.node_model(quest_id, version, node), "options",
                                               []) if o.id == option_id), None)
            obj = self.activity(f"{self.node_iri(quest_id, node)}/options/{quote(option_id, safe='')}",
                                option.label if option else option_id, "option")
            if option is not None:
                obj["definition"]["extensions"] = {self.ext("modality"): option.modality}
            parents = {"parent": [self.node_activity(quest_id, version, node)],
                       "grouping": [self.quest_activity(quest_id, version)]}
        elif etype == "submit":
            if "answers" in data:
                self.last_answers[key] = data["answers"] or {}
                verb = "answered"
                if self.include_text:
                    result["response"] = json.dumps(data["answers"], ensure_ascii=False,
                                                    sort_keys=True)
            else:
                verb = "submitted"
                if self.include_text and data.get("content"):
                    result["response"] = str(data["content"])
            result["completion"] = False
        elif etype == "grade":
            verb = "scored"
            self.last_grade[key] = data
            result.update(_score(data))
            if data.get("mastery"):
                result["extensions"] = {self.ext("mastery"): data["mastery"]}
            extra += self.interactions(row, data, learner, version)
        elif etype == "complete":
            outcome = data.get("outcome", "success")
            success = outcome == "success"
            if not success:
                verb = "failed"
            elif kind in ("quiz", "gate"):
                verb = "passed"
            elif kind == "story":
                verb = "experienced"
            else:
                verb = "completed"
            result.update({"success": success, "completion": True})
            graded = self.last_grade.pop(key, None)
            if graded:
                result.update(_score(graded))
            if kind == "end" and (sid, quest_id) not in self.done_quests:
                self.done_quests.add((sid, quest_id))
                extra.append(self.wrap(
                    ("events", row["id"], "quest"), learner, "completed",
                    self.quest_activity(quest_id, version),
                    {"success": True, "completion": True}, None, {}, row, version,
                    {self.ext("event"): "quest-complete"}, activity_object=True))
        elif etype == "review":
            verb = "commented"
            actor = self.teacher(row["actor"])
            instructor = None
            decision = data.get("decision")
            if decision in ("approve", "fail"):
                result["success"] = decision == "approve"
            if self.include_text and data.get("feedback"):
                result["response"] = str(data["feedback"])
            extensions[self.ext("decision")] = decision
            extensions[self.ext("learner")] = row["opaque_id"]
            submitted = self.last_submit.get(key)
            if submitted is not None:
                parents = {"parent": [obj], "grouping": [self.quest_activity(quest_id, version)]}
                obj = {"objectType": "StatementRef", "id": submitted}
        elif etype == "reflect":
            verb = "commented"
            if self.include_text and data.get("text"):
                result["response"] = str(data["text"])
        elif etype == "override":
            op = data.get("op")
            verb = {"approve": "waived", "unlock": "unlocked", "reset": "reset",
                    "award": "awarded"}.get(op, "reset")
            extensions[self.ext("override")] = op
            if op == "approve":
                result.update({"success": True, "completion": True})
            if op == "award":
                result["extensions"] = {self.ext("xp"): int(data.get("xp") or 0)}
                if data.get("badge"):
                    result["extensions"][self.ext("badge")] = str(data["badge"])
            if self.include_text and data.get("reason"):
                result["response"] = str(data["reason"])
        else:  # an event type this exporter does not know: still exported, plainly
            verb = "experienced"
        statement = self.wrap(("events", row["id"]), actor, verb, obj, result, instructor,
                              parents, row, version, extensions,
                              activity_object=obj.get("objectType") == "Activity")
        if etype == "submit":
            self.last_submit[key] = statement["id"]
        return [statement, *extra]

    def question_model(self, quest_id: str, version: int, node: str, question_id: str):
        model = self.node_model(quest_id, version, node)
        pools = [getattr(model, "questions", None) or []]
        pools += [o.questions for o in getattr(model, "options", None) or []]
        return next((q for pool in pools for q in pool if q.id == question_id), None)

    def interactions(self, row: dict, data: dict, learner: dict, version: int) -> list[dict]:
        """One ``answered`` statement per graded question, its object a cmi.interaction."""
        quest_id, node = row["quest_id"], row["node"]
        answers = self.last_answers.get((row["student_id"], quest_id, node), {})
        out = []
        for qid, ok in (data.get("results") or {}).items():
            question = self.question_model(quest_id, version, node, str(qid))
            if question is None:
                continue
            obj = {"objectType": "Activity",
                   "id": f"{self.node_iri(quest_id, node)}/questions/{quote(str(qid), safe='')}",
                   "definition": interaction_definition(question, self.lang)}
            result: dict[str, Any] = {"success": bool(ok)}
            response = _response(question, answers.get(qid))
            if response is not None and (question.type != "text" or self.include_text):
                result["response"] = response
            parents = {"parent": [self.node_activity(quest_id, version, node)],
                       "grouping": [self.quest_activity(quest_id, version)]}
            out.append(self.wrap(("events", row["id"], "questions", qid), learner, "answered",
                                 obj, result, None, parents, row, version,
                                 {self.ext("event"): "question"}, activity_object=True))
        return out

    def wrap(self, id_parts: tuple, actor: dict, verb: str, obj: dict, result: dict,
             instructor: dict | None, parents: dict, row: dict, version: int,
             extensions: dict, *, activity_object: bool) -> dict:
        extensions = {**extensions, self.ext("quest-version"): version,
                      self.ext("class"): self.class_code}
        context: dict[str, Any] = {
            "registration": self.sid("registration", row["student_id"], row["quest_id"]),
            "extensions": extensions,
        }
        if instructor is not None:
            context["instructor"] = instructor
        if parents:
            context["contextActivities"] = parents
        if activity_object:  # only allowed when the object is an activity
            context["revision"] = str(version)
            context["platform"] = "questengine"
        statement: dict[str, Any] = {"id": None, "actor": actor, "verb": self.verb(verb),
                                     "object": obj}
        if result:
            statement["result"] = result
        statement["context"] = context
        stamp = _timestamp(row["at"])
        if stamp:
            statement["timestamp"] = stamp
        statement["version"] = XAPI_VERSION
        statement["id"] = statement_id(self.identity, statement, *id_parts)
        return statement


def _score(data: dict) -> dict:
    out: dict[str, Any] = {}
    score = data.get("score")
    if isinstance(score, (int, float)) and not isinstance(score, bool):
        scaled = min(1.0, max(0.0, float(score)))
        entry: dict[str, Any] = {"scaled": round(scaled, 6)}
        results = data.get("results") or {}
        if results:
            entry.update({"raw": sum(1 for ok in results.values() if ok), "min": 0,
                          "max": len(results)})
        out["score"] = entry
    return out


def _timestamp(value: str | None) -> str | None:
    if not value:
        return None
    try:
        stamp = datetime.fromisoformat(value)
    except ValueError:
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=timezone.utc)
    return stamp.isoformat()


def statements(source: Any, class_code: str, *, homepage: str = DEFAULT_HOMEPAGE,
               base: str | None = None, language: str = "en-US",
               include_text: bool = False) -> Iterator[dict]:
    """Every event of a class's students as xAPI statements, in the order they happened.

    ``source`` is a Classroom, a Store or a database path; ``homepage`` is the
    school's web address that student accounts live under; ``base`` the
    address quests, nodes, verbs and extensions are named under (default:
    the home page).
    """
    store = store_of(source)
    klass = class_row(store, class_code)
    homepage = _check_iri(homepage, "school home page")
    base = _check_iri(base or homepage, "base address")
    builder = _Builder(store, klass["code"], homepage, base, language, include_text)
    cursor = store.conn.execute(
        "select e.id, e.student_id, e.quest_id, e.version, e.node, e.type, e.role, e.actor, "
        "e.at, e.data, s.opaque_id from events e join enrolments en on en.student_id = "
        "e.student_id and en.class_code = ? join students s on s.id = e.student_id "
        "order by e.id", (klass["code"],))
    columns = [d[0] for d in cursor.description]
    for values in cursor.fetchall():
        yield from builder.statements(dict(zip(columns, values)))


def export_xapi(source: Any, class_code: str, output: str | Path | IO[str], **options: Any) -> int:
    """Write the class's statements as JSON Lines to a path (atomically) or a text stream.

    Returns the number of statements written.
    """
    rows = statements(source, class_code, **options)
    if not isinstance(output, (str, Path)):
        count = 0
        for st in rows:
            output.write(json.dumps(st, ensure_ascii=False, separators=(",", ":")) + "\n")
            count += 1
        return count
    path = Path(output)
    tmp = path.with_name(f".{path.name}.tmp")
    count = 0
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
            for st in rows:
                fh.write(json.dumps(st, ensure_ascii=False, separators=(",", ":")) + "\n")
                count += 1
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return count
