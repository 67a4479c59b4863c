"""OneRoster 1.1 CSV rosters in: what a district's student information system exports.

A OneRoster folder (or the same files unzipped) holds ``manifest.csv`` (optional here),
``orgs.csv``, ``classes.csv``, ``users.csv`` and ``enrollments.csv``, with the 1.1 CSV
column names (``sourcedId``, ``classSourcedId``, ``userSourcedId``, ``role``, ...).
:func:`import_oneroster` turns them into classes, teachers and students:

- a class per ``classes.csv`` row: its ``classCode`` is the class code when it is a valid,
  free code, else one is made from the ``sourcedId``; the class's teacher is its primary
  teacher enrolment (else its first);
- a teacher per user with a teacher enrolment (an email is needed: it is their login);
- a student per student enrolment (a student on two classes' rosters is a student in each);
- every user's ``username`` becomes their **hub username** (behind JupyterHub the hub user
  is the identity; :meth:`questengine.classroom.Classroom.login_hub`).

Records are matched by ``sourcedId`` (kept in the database), so importing the same export
again, or a newer one, updates names, usernames and class titles instead of adding anyone
twice. Rows whose ``status`` is ``tobedeleted`` are not added; a student already imported
stays (with their work) until a teacher deletes them. Every problem in the folder is
reported at once, naming the file, the line and the column, and then nothing is written.
"""
from __future__ import annotations

import csv
import io
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from ..classroom import Classroom, StudentLogin, _clean_name, _roster_file, name_key
from . import InteropError

__all__ = ["import_oneroster", "OneRosterResult", "REQUIRED"]

#: The files read and the columns each must have (OneRoster 1.1 CSV names).
REQUIRED = {
    "orgs.csv": ("sourcedId", "name", "type"),
    "classes.csv": ("sourcedId", "title", "schoolSourcedId"),
    "users.csv": ("sourcedId", "role", "username", "givenName", "familyName"),
    "enrollments.csv": ("sourcedId", "classSourcedId", "userSourcedId", "role"),
}
TEACHER_ROLES = {"teacher", "administrator", "aide", "proctor"}
CODE_RE = re.compile(r"[A-Z0-9][A-Z0-9-]{2,19}")


@dataclass
class OneRosterResult:
    """What an import did, by kind: created, updated; and the new students' logins."""

    classes: dict[str, int] = field(default_factory=lambda: {"created": 0, "updated": 0})
    teachers: dict[str, int] = field(default_factory=lambda: {"created": 0, "updated": 0})
    students: dict[str, int] = field(default_factory=lambda: {"created": 0, "updated": 0})
    skipped: int = 0  # rows marked tobedeleted (or disabled users)
    logins: list[StudentLogin] = field(default_factory=list)

    def summary(self) -> str:
        parts = [f"{kind}: {d['created']} new, {d['updated']} updated"
                 for kind, d in (("classes", self.classes), ("teachers", self.teachers),
                                 ("students", self.students))]
        return "; ".join(parts) + (f"; {self.skipped} left out (tobedeleted or disabled)"
                                   if self.skipped else "")


@dataclass
class _Row:
    file: str
    line: int
    values: dict[str, str]

    def get(self, column: str) -> str:
        return (self.values.get(column) or "").strip()

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"

    @property
    def active(self) -> bool:
        return self.get("status").lower() != "tobedeleted"


def _read(folder: Path, name: str, problems: list[str]) -> list[_Row]:
    path = folder / name
    if not path.is_file():
        problems.append(f"{path}: missing (a OneRoster 1.1 export has {', '.join(REQUIRED)})")
        return []
    try:
        text = _roster_file(path)
    except Exception as err:
        problems.append(str(err))
        return []
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = [h.strip() for h in reader.fieldnames or []]
    except csv.Error as err:
        problems.append(f"{path}:1: not readable as CSV: {err}")
        return []
    reader.fieldnames = header
    missing = [c for c in REQUIRED[name] if c not in header]
    if missing:
        problems.append(f"{path}:1: missing column{'s' if len(missing) > 1 else ''} "
                        f"{', '.join(missing)} (found: {', '.join(header) or 'no header'})")
        return []
    rows = []
    try:
        for values in reader:
            if any((v or "").strip() for v in values.values() if isinstance(v, str)):
                rows.append(_Row(name, reader.line_num, values))
    except csv.Error as err:
        problems.append(f"{path}:{reader.line_num + 1}: not readable as CSV: {err}")
    return rows


def _check_manifest(folder: Path, problems: list[str]) -> None:
    path = folder / "manifest.csv"
    if not path.is_file():
        return
    entries = {}
    for line in csv.reader(io.StringIO(_roster_file(path).lstrip("\ufeff"))):
        if len(line) >= 2:
            entries[line[0].strip()] = line[1].strip()
    version = entries.get("oneroster.version")
    if version and version != "1.1":
        problems.append(f"{path}: oneroster.version is {version}; this import reads OneRoster "
                        "1.1 CSV")
    for name in REQUIRED:
        mode = entries.get(f"file.{name[:-4]}")
        if mode == "absent":
            problems.append(f"{path}: file.{name[:-4]} is 'absent'; the import needs it")


def _unique(rows: list[_Row], problems: list[str]) -> dict[str, _Row]:
    seen: dict[str, _Row] = {}
    for row in rows:
        sid = row.get("sourcedId")
        if not sid:
            problems.append(f"{row.where}: sourcedId is empty")
        elif sid in seen:
            problems.append(f"{row.where}: sourcedId {sid!r} appears twice (also line "
                            f"{seen[sid].line})")
        else:
            seen[sid] = row
    return seen


def _person_name(row: _Row, problems: list[str]) -> str | None:
    raw = " ".join(filter(None, [row.get("givenName"), row.get("familyName")]))
    try:
        return _clean_name(raw, "name")
    except Exception as err:
        problems.append(f"{row.where}: givenName/familyName: {err}")
        return None


def import_oneroster(classroom: Classroom, folder: str | Path) -> OneRosterResult:
    """Create or update the classes, teachers and students of a OneRoster 1.1 CSV folder."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InteropError(f"{folder}: not a folder; give the folder holding the OneRoster "
                           "files (orgs.csv, classes.csv, users.csv, enrollments.csv)")
    problems: list[str] = []
    _check_manifest(folder, problems)
    tables = {name: _read(folder, name, problems) for name in REQUIRED}
    if problems:
        raise InteropError("OneRoster import refused:\n" + "\n".join(problems))
    orgs = _unique(tables["orgs.csv"], problems)
    classes = _unique(tables["classes.csv"], problems)
    users = _unique(tables["users.csv"], problems)
    enrollments = list(_unique(tables["enrollments.csv"], problems).values())
    result = OneRosterResult()
    store = classroom.store

    # who teaches and who is enrolled where
    teachers_of: dict[str, list[tuple[bool, str]]] = {}
    students_of: dict[str, list[str]] = {}
    for e in enrollments:
        cls, user, role = e.get("classSourcedId"), e.get("userSourcedId"), e.get("role").lower()
        if cls not in classes:
            problems.append(f"{e.where}: classSourcedId {cls!r} is not in classes.csv")
            continue
        if user not in users:
            problems.append(f"{e.where}: userSourcedId {user!r} is not in users.csv")
            continue
        if not e.active or not users[user].active or \
                users[user].get("enabledUser").lower() == "false":
            result.skipped += 1
            continue
        if role in TEACHER_ROLES:
            teachers_of.setdefault(cls, []).append((e.get("primary").lower() == "true", user))
        elif role == "student":
            students_of.setdefault(cls, []).append(user)
        else:
            problems.append(f"{e.where}: role {e.get('role')!r} is not one of student, "
                            f"{', '.join(sorted(TEACHER_ROLES))}")
    for row in classes.values():
        school = row.get("schoolSourcedId")
        if school and school not in orgs:
            problems.append(f"{row.where}: schoolSourcedId {school!r} is not in orgs.csv")

    # teachers: by sourcedId, else an existing teacher with the same email
    teacher_plan: dict[str, dict] = {}
    for user in sorted({u for ts in teachers_of.values() for _p, u in ts}):
        row = users[user]
        name = _person_name(row, problems)
        email = row.get("email").lower()
        if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
            problems.append(f"{row.where}: teacher {user!r} needs an email (their login), got "
                            f"{row.get('email')!r}")
            continue
        existing = store.teacher_by_source(user) or store.teacher_by_email(email)
        if existing is not None and existing.get("source_id") not in (None, user):
            problems.append(f"{row.where}: the email {email} belongs to another teacher "
                            f"(sourcedId {existing['source_id']!r})")
            continue
        hub = row.get("username") or None
        other = store.teacher_by_hub(hub) if hub else None
        if other is not None and (existing is None or other["id"] != existing["id"]):
            problems.append(f"{row.where}: username {hub!r} is already another teacher's hub "
                            "username")
        teacher_plan[user] = {"row": existing, "email": email, "name": name, "hub": hub}

    # classes: keep the code a class already has; else classCode, else one from the sourcedId
    class_plan: dict[str, dict] = {}
    taken: set[str] = set()
    for sid, row in classes.items():
        if not row.active:
            result.skipped += 1
            continue
        try:
            title = _clean_name(row.get("title"), "class title")
        except Exception as err:
            problems.append(f"{row.where}: title: {err}")
            continue
        ts = sorted(teachers_of.get(sid, []), key=lambda t: not t[0])
        if not ts:
            problems.append(f"{row.where}: class {sid!r} ({title}) has no teacher enrolment in "
                            "enrollments.csv; every class needs its teacher")
            continue
        existing = store.class_by_source(sid)
        if existing is not None:
            code = existing["code"]
        else:
            code = _free_code(store, [row.get("classCode"), sid], taken)
        taken.add(code)
        class_plan[sid] = {"row": existing, "code": code, "title": title, "teacher": ts[0][1]}

    # students: one per (user, class)
    student_plan: list[dict] = []
    for cls, members in students_of.items():
        if cls not in class_plan:
            continue
        code = class_plan[cls]["code"]
        keys: dict[str, str] = {}
        for user in members:
            row = users[user]
            name = _person_name(row, problems)
            if name is None:
                continue
            key = name_key(name)
            if key in keys and keys[key] != user:
                problems.append(f"{row.where}: two students of class {code} are named {name!r} "
                                f"({keys[key]!r} and {user!r}); names in a class must differ "
                                "(give one a middle initial in the student information system)")
                continue
            keys[key] = user
            existing = store.student_by_source(user, code) if class_plan[cls]["row"] else None
            same_name = store.student_by_name(code, key) if class_plan[cls]["row"] else None
            if same_name is not None and (existing is None or same_name["id"] != existing["id"]):
                if same_name.get("source_id") in (None, ""):
                    existing = same_name  # a student added by hand before: adopt them
                else:
                    problems.append(f"{row.where}: class {code} already has another student "
                                    f"named {name!r}")
                    continue
            student_plan.append({"row": existing, "code": code, "name": name, "key": key,
                                 "hub": row.get("username") or None, "source": user})
    if problems:
        raise InteropError("OneRoster import refused:\n" + "\n".join(problems))

    with store.write():
        teacher_ids = {}
        for user, plan in teacher_plan.items():
            if plan["row"] is None:
                tid = store.add_teacher(plan["email"], plan["name"],
                                        classroom.hasher.hash(secrets.token_urlsafe(24)),
                                        classroom.stamp())
                result.teachers["created"] += 1
            else:
                tid = plan["row"]["id"]
                result.teachers["updated"] += 1
            store.set_teacher_identity(tid, email=plan["email"], name=plan["name"],
                                       hub_username=plan["hub"], source_id=user)
            teacher_ids[user] = tid
        for sid, plan in class_plan.items():
            tid = teacher_ids[plan["teacher"]]
            if plan["row"] is None:
                store.add_class(plan["code"], plan["title"], tid, classroom.stamp())
                result.classes["created"] += 1
            else:
                result.classes["updated"] += 1
            store.set_class_identity(plan["code"], name=plan["title"], teacher_id=tid,
                                     source_id=sid)
        for plan in student_plan:
            if plan["row"] is None:
                pin = f"{secrets.randbelow(10000):04d}"
                sid = store.add_student(plan["code"], plan["name"], plan["key"],
                                        classroom.hasher.hash(pin), secrets.token_hex(8),
                                        classroom.stamp())
                result.logins.append(StudentLogin(plan["code"], plan["name"], pin, sid))
                result.students["created"] += 1
            else:
                sid = plan["row"]["id"]
                result.students["updated"] += 1
            store.set_student_identity(sid, name=plan["name"], name_key=plan["key"],
                                       hub_username=plan["hub"], source_id=plan["source"])
    return result


def _free_code(store, candidates: list[str], taken: set[str]) -> str:
    """The first candidate that is a valid class code and free, else one made from them."""
    for raw in candidates:
        code = re.sub(r"[^A-Z0-9-]+", "-", (raw or "").strip().upper()).strip("-")[:20]
        if CODE_RE.fullmatch(code) and code not in taken and store.get_class(code) is None:
            return code
    base = re.sub(r"[^A-Z0-9]+", "", (candidates[-1] or "CLASS").upper())[:14] or "CLASS"
    base = base if len(base) >= 3 else (base + "CLS")[:3]
    while True:
        code = f"{base}-{secrets.randbelow(10000):04d}"
        if code not in taken and store.get_class(code) is None:
            return code
