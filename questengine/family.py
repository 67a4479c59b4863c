"""Families: sign-up with a code from the teacher's handout, read-only views, notes.

A family signs up with the code printed for their child, an email and a
password of their own (hashed with argon2 like teachers'); the link stays
*pending* until the child's teacher approves it, and the teacher can unlink
it at any time. One family account can follow several children (one code
each). A :class:`FamilySession` is fixed to its family at login and every
read checks again, in the store, that the link to that child is approved:
the page passes a child's id, the session decides.

What a family sees of a child (:class:`ChildView`): the assigned quests as a
list of steps with what was done, what comes next and why a step is locked;
XP, level and badges; the child's goals; only the reflections the child chose
to share; the notes between the teacher and this family; the quests'
competencies in plain words. Nothing about other students and no ranking.

Texts the family reads come in the family's language (:mod:`questengine.i18n`).
"""
from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .classroom import _Session
from .errors import N_, AccessDenied, ClassroomError, LoginError, LoginThrottled, Message
from .i18n import _, check_language, localize, ngettext
from .rewards import level_for

if TYPE_CHECKING:  # pragma: no cover
    from .classroom import Classroom

__all__ = ["FamilySession", "ChildView", "QuestView", "StepView", "new_family_code",
           "family_code_hash", "sign_up", "login", "MAX_MESSAGE"]

MAX_MESSAGE = 2000
#: Letters and digits nobody confuses when copying from paper (no 0/O, 1/I/L).
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def new_family_code() -> str:
    """A fresh family code: 12 characters (about 59 bits) in groups of four."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _i in range(12))
    return "-".join(raw[i:i + 4] for i in range(0, 12, 4))


def _normal_code(code: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", str(code or "").upper())


def family_code_hash(code: str) -> str:
    """How a code is stored (its SHA-256): the handout is the only place it is readable."""
    return hashlib.sha256(_normal_code(code).encode()).hexdigest()


def _clean_email(email: str) -> str:
    email = str(email or "").strip().lower()
    if len(email) > 200 or not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
        raise ClassroomError(N_("“{email}” is not an email address."), email=email[:60])
    return email


def _clean_text(text: str, what: Message) -> str:
    text = str(text or "").strip() if isinstance(text, str) else ""
    if not text:
        raise ClassroomError(N_("The {what} is empty."), what=what)
    if len(text) > MAX_MESSAGE:
        raise ClassroomError(N_("The {what} is {n} characters long; the most is {most}."),
                             what=what, n=len(text), most=MAX_MESSAGE)
    return text


def _attempt(classroom: "Classroom", key: str) -> None:
    try:
        classroom._attempt(key)
    except LoginThrottled as err:
        raise LoginThrottled(N_("Too many wrong tries. Wait {seconds} seconds, then try "
                                "again."), wait=err.wait, seconds=int(err.wait)) from err


def sign_up(classroom: "Classroom", code: str, email: str, name: str, password: str,
            language: str | None = None) -> "FamilySession":
    """Create a family account with a child's code (or add the child to an existing account
    whose password this is); the link waits for the teacher's approval."""
    email = _clean_email(email)
    from .classroom import _clean_name

    try:
        name = _clean_name(name, "family name")
    except ClassroomError as err:
        raise ClassroomError(N_("Please type your name (letters, at most 60 characters).")) \
            from err
    if not isinstance(password, str) or len(password) < 8:
        raise ClassroomError(N_("A password needs at least 8 characters."))
    language = check_language(language) if language else None
    _attempt(classroom, f"family|{email}")
    student = classroom.store.student_by_family_code(family_code_hash(code))
    if student is None:
        raise LoginError(N_("That family code is not known. Check it on the letter from the "
                           "teacher (letters and digits, like ABCD-EFGH-JKMN)."))
    existing = classroom.store.family_by_email(email)
    if existing is not None:
        if not classroom._verify(existing["password_hash"], password):
            raise LoginError(N_("An account with this email already exists and the password "
                               "does not match it. Log in, then add the code."))
        family_id = existing["id"]
    else:
        family_id = classroom.store.add_family(email, name, classroom.hasher.hash(password),
                                               language, classroom.stamp())
    classroom.store.request_family_link(family_id, student["id"], classroom.stamp())
    classroom.store.clear_login_failures(f"family|{email}")
    return FamilySession(classroom, classroom.store.family(family_id),
                         classroom._start_session("family", family_id))


def login(classroom: "Classroom", email: str, password: str) -> "FamilySession":
    email = str(email or "").strip().lower()
    _attempt(classroom, f"family|{email}")
    family = classroom.store.family_by_email(email)
    ok = classroom._verify(family["password_hash"] if family else classroom._dummy_hash,
                           str(password or ""))
    if not (family and ok):
        raise LoginError(N_("That email and password do not match."))
    classroom.store.clear_login_failures(f"family|{email}")
    return FamilySession(classroom, family, classroom._start_session("family", family["id"]))


@dataclass(frozen=True)
class StepView:
    """One step of a quest as the family sees it."""

    node: str
    title: str
    state: str
    why: str = ""  # for a locked or closed step: what it waits for


@dataclass(frozen=True)
class QuestView:
    title: str
    done: int
    total: int
    complete: bool
    steps: list[StepView]
    next_steps: list[str]
    competencies: list[dict]  # {name, description}


@dataclass(frozen=True)
class ChildView:
    """Everything a family may see of one child."""

    student_id: int
    name: str
    class_name: str
    xp: int
    level: int
    badges: list[str]
    quests: list[QuestView]
    goals: list[dict]
    reflections: list[dict]  # only the shared ones: {quest, step, text, at}
    messages: list[dict] = field(default_factory=list)  # {sender, author, text, at}


def _why(G, progress, n: str, titles: dict[str, str]) -> str:
    np = progress.nodes[n]
    if np.state == "locked":
        waiting = [titles[u] for u in G.pred[n]
                   if progress.nodes[u].state not in ("success", "fail")]
        if waiting:
            return _("Opens after: {steps}.").format(steps=", ".join(waiting))
        return _("Opens when an earlier step turns out the right way.")
    if np.state == "closed":
        return _("Not needed: your child took another path.")
    return ""


class FamilySession(_Session):
    """What one family may do: read their approved children's pages, write to the teacher.

    A session like a student's or a teacher's (:class:`questengine.classroom._Session`):
    checked against the store at every call, ended by :meth:`logout`."""

    kind = "family"

    @property
    def name(self) -> str:
        return self._row["name"]

    @property
    def family_id(self) -> int:
        return self._row["id"]

    @property
    def language(self) -> str | None:
        row = self._classroom.store.family(self.family_id)
        return row["language"] if row else None

    def set_language(self, language: str) -> str:
        self._check()
        code = check_language(language)
        self._classroom.store.set_family_language(self.family_id, code)
        return code

    def children(self) -> list[dict]:
        """The family's children: ``student_id``, ``name``, ``class_name``, ``status``
        (``approved``; a ``pending`` one shows no name until the teacher approves)."""
        self._check()
        out = []
        for row in self._classroom.store.family_children(self.family_id):
            approved = row["status"] == "approved"
            out.append({"student_id": row["student_id"] if approved else None,
                        "name": row["name"] if approved else "",
                        "class_name": row["class_name"], "status": row["status"]})
        return out

    def add_code(self, code: str) -> str:
        """Ask to follow another child with their code; returns the link's status."""
        self._check()
        _attempt(self._classroom, f"family-code|{self.family_id}")
        student = self._classroom.store.student_by_family_code(family_code_hash(code))
        if student is None:
            raise LoginError(N_("That family code is not known. Check it on the letter from the "
                               "teacher (letters and digits, like ABCD-EFGH-JKMN)."))
        self._classroom.store.clear_login_failures(f"family-code|{self.family_id}")
        return self._classroom.store.request_family_link(self.family_id, student["id"],
                                                         self._classroom.stamp())

    def _child(self, student_id) -> dict:
        """The child's row, if the teacher approved this family's link to them (else refused)."""
        self._check()
        if not isinstance(student_id, int) or isinstance(student_id, bool):
            raise AccessDenied(N_("This page is not about one of your children."))
        link = self._classroom.store.family_link(self.family_id, student_id)
        if link is None or link["status"] != "approved":
            raise AccessDenied(N_("This page is not about one of your children."))
        row = self._classroom.store.student(student_id)
        if row is None:
            raise AccessDenied(N_("This page is not about one of your children."))
        return row

    def child(self, student_id: int) -> ChildView:
        """One approved child's page, in the family's language."""
        row = self._child(student_id)
        c = self._classroom
        store = c.store
        language = self.language
        quests, xp = [], 0
        for a in store.assignments(row["class_code"]):
            try:
                G = c.graph(a["quest_id"])
            except ClassroomError:
                continue
            progress = c._progress(student_id, a["quest_id"])
            status = store.quest_status(student_id, a["quest_id"])
            xp += max(progress.xp, status["xp"] if status else 0)
            quest = localize(G.graph["quest"], language)
            titles = {n.id: n.title for n in quest.nodes}
            order = [n for n in (G.graph.get("order") or G) if n in progress.nodes]
            steps = [StepView(n, titles.get(n, n), progress.nodes[n].state,
                              _why(G, progress, n, titles)) for n in order]
            done = sum(1 for s in steps if s.state in ("success", "fail"))
            total = sum(1 for s in steps if s.state != "closed")
            quests.append(QuestView(
                quest.title, done, done if progress.complete else total, progress.complete,
                steps, [s.title for s in steps if s.state in ("available", "in_progress",
                                                                "returned")],
                [{"name": comp.name, "description": comp.description or ""}
                 for comp in quest.competencies]))
        saved = store.profile(student_id)
        reflections = [{"quest": r["quest_id"], "step": r["node"], "text": r["text"],
                        "at": r["at"]}
                       for r in store.student_reflections(student_id, shared_only=True)]
        return ChildView(student_id, row["name"], (store.get_class(row["class_code"]) or {}).get(
            "name", ""), xp, level_for(xp), [b["badge"] for b in store.badges_of(student_id)],
            quests, saved["goals"], reflections, self.messages(student_id))

    def messages(self, student_id: int) -> list[dict]:
        """The notes between the teacher and this family about one child, oldest first."""
        self._child(student_id)
        return [{"sender": m["sender"], "author": m["author"], "text": m["text"], "at": m["at"]}
                for m in self._classroom.store.family_messages(student_id, self.family_id)]

    def reply(self, student_id: int, text: str) -> dict:
        """Write to the child's teacher."""
        self._child(student_id)
        text = _clean_text(text, Message(N_("message")))
        at = self._classroom.stamp()
        self._classroom.store.add_family_messages(
            [(student_id, self.family_id, "family", self.name, text, at)])
        return {"sender": "family", "author": self.name, "text": text, "at": at}

    def summary(self) -> str:
        """A one-line greeting with the count of requests the teacher has not approved yet."""
        pending = sum(1 for c in self.children() if c["status"] == "pending")
        if not pending:
            return ""
        return ngettext("{n} request is waiting for the teacher's approval.",
                        "{n} requests are waiting for the teacher's approval.",
                        pending).format(n=pending)


def handout_html(codes: list[dict], class_name: str, teacher_name: str, page_url: str = "",
                 language: str | None = None) -> str:
    """A printable page per student: the family code and how to sign up (in ``language``)."""
    import html as _html

    from . import i18n

    before = i18n.active()
    i18n.activate(language or before)
    try:
        e = lambda text: _html.escape(str(text), quote=True)  # noqa: E731
        title = _("Your family code")
        where = (_("Open the family page: {url}").format(url=page_url) if page_url
                 else _("Open the family page your school gave you."))
        steps = [where,
                 _("Choose “Sign up”, type the code below, your name, your email and a "
                   "password of your own."),
                 _("The teacher approves your request; then you see your child's quests, "
                   "goals and the reflections they share with you, and you can write to the "
                   "teacher."),
                 _("Keep this code private: it is only for your family. You can follow "
                   "several children with one account (one code each).")]
        for_family = _("For the family of {name}")
        pages = []
        for row in codes:
            pages.append(
                "<section class='handout'>"
                f"<h1>{e(title)}</h1>"
                f"<p class='who'>{e(for_family.format(name=row['name']))}"
                f" · {e(class_name)} · {e(teacher_name)}</p>"
                f"<p class='code'>{e(row['code'])}</p>"
                "<ol>" + "".join(f"<li>{e(s)}</li>" for s in steps) + "</ol></section>")
        lang = e(i18n.active())
        return (f"<!doctype html><html lang='{lang}'><head><meta charset='utf-8'>"
                f"<title>{e(title)} · {e(class_name)}</title><style>"
                "body{font-family:system-ui,sans-serif;margin:0;color:#1f1f1f}"
                ".handout{padding:48px;page-break-after:always;break-after:page}"
                ".code{font:700 40px/1.2 ui-monospace,monospace;letter-spacing:4px;"
                "border:2px dashed #444;padding:16px;display:inline-block}"
                "li{margin:8px 0;font-size:18px}"
                "</style></head><body>" + "".join(pages) + "</body></html>")
    finally:
        i18n.activate(before)
