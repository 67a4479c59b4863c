"""The classroom service: the one door the pages use.

``Classroom`` sets things up (teachers, classes, students, quests) and logs
people in. A :class:`StudentSession` acts for one student only; a
:class:`TeacherSession` sees only its teacher's classes. Every action goes
through the engine (``act``), inside one ``BEGIN IMMEDIATE`` transaction that
reads the student's events, checks the action, appends the new events and
updates the materialized progress. Nothing here takes a student id from a
student's side, and a refused action writes nothing.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import os
import math
import re
import secrets
import tempfile
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import networkx as nx
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from . import center
from .accommodations import Accommodations, adapt_graph, parse_accommodations
from .engine import Action, Progress, act, explain, extend, replay, seconds_left
from .errors import (
    N_, AccessDenied, ClassroomError, LoginError, LoginThrottled, Message, ProgressError,
    QuestFileError, QuestValidationError, SessionExpired,
)
from .files import DEFAULT_LIMIT, FileStore, FileStoreError
from .graph import quest_graph
from .loader import dumps_quest, load_quest, loads_quest
from .model import Quest
from .plugins import installed_registry, registry_of
from .rewards import level_for
from .store import Grant, StoreBusy, StoreInterface, open_store

__all__ = ["Classroom", "StudentSession", "TeacherSession", "StudentLogin", "QuestCard",
           "Profile", "QueueItem"]

log = logging.getLogger("questengine.classroom")

MAX_NAME = 60
MAX_SHORT_TEXT = 500
CLASS_WORDS = ("OWL", "FOX", "ELK", "BEE", "YAK", "EMU", "KOI", "RAM", "JAY", "ANT", "BAT", "COD")


@dataclass(frozen=True)
class StudentLogin:
    """What a teacher hands a student: class code, name and PIN."""

    class_code: str
    name: str
    pin: str
    student_id: int


@dataclass(frozen=True)
class QuestCard:
    """An assigned quest as the student's quest list shows it."""

    quest_id: str
    title: str
    version: int
    done: int
    total: int
    xp: int
    complete: bool

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 0.0


@dataclass
class Profile:
    """The learner profile: mastery, modality picks, interests, goals, reflections, rewards."""

    name: str
    class_code: str
    xp: int
    level: int
    badges: list[str]
    mastery: dict[str, float]
    picks: list[dict]
    interests: list[str]
    goals: list[dict]
    reflections: list[dict] = field(default_factory=list)


@dataclass(frozen=True)
class QueueItem:
    """One piece of submitted work waiting for review, with its earlier rounds."""

    submission_id: int
    student_id: int
    student_name: str
    class_code: str
    quest_id: str
    node: str
    node_title: str
    round: int
    content: str
    at: str
    earlier: list[dict]


def name_key(name: str) -> str:
    """How names are compared: Unicode-normalized, case-folded, single spaces."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", name)).strip().casefold()


def student_login_key(class_code: str, name: str) -> str:
    """The key a student's failed logins are counted under."""
    return f"student|{class_code.strip().upper()}|{name_key(name)}"


def _clean_name(name: Any, what: str = "name") -> str:
    if not isinstance(name, str):
        raise ClassroomError(f"a {what} must be text, got {type(name).__name__}")
    cleaned = re.sub(r"\s+", " ", unicodedata.normalize("NFKC", name)).strip()
    if not cleaned:
        raise ClassroomError(f"the {what} is empty")
    if len(cleaned) > MAX_NAME:
        raise ClassroomError(f"the {what} {cleaned[:20]!r}... is {len(cleaned)} characters; "
                             f"the most is {MAX_NAME}")
    if any(unicodedata.category(c) == "Cc" for c in cleaned):
        raise ClassroomError(f"the {what} {cleaned!r} contains control characters")
    hidden = _hidden_characters(cleaned)
    if hidden:
        raise ClassroomError(f"the {what} {cleaned!r} contains invisible or direction-changing "
                             f"characters ({', '.join(f'U+{ord(c):04X}' for c in hidden)}) that "
                             "would make it look like another name; type it with letters only")
    if not any(unicodedata.category(c)[0] in "LN" for c in cleaned):
        raise ClassroomError(f"the {what} {cleaned!r} has no letters or digits")
    if re.search(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]{5}",
                 cleaned):
        raise ClassroomError(f"the {what} {cleaned!r} stacks more than four accents on a letter")
    return cleaned


#: Characters that show nothing yet make names differ (or reorder what is shown).
_BLANK_LOOKING = {"\u115f", "\u1160", "\u3164", "\uffa0", "\u2800", "\u180e", "\u17b4",
                  "\u17b5"}


def _hidden_characters(text: str) -> list[str]:
    """Format, private-use and unassigned characters, and blank-looking letters.

    Zero-width joiners (U+200C, U+200D) are kept where a script or an emoji needs them:
    between two visible characters.
    """
    found = []
    for i, c in enumerate(text):
        kind = unicodedata.category(c)
        if c in ("\u200c", "\u200d"):
            before, after = text[i - 1:i], text[i + 1:i + 2]
            if before and after and not before.isspace() and not after.isspace() \
                    and unicodedata.category(before) != "Cf" \
                    and unicodedata.category(after) != "Cf":
                continue
        if kind in ("Cf", "Co", "Cn", "Cs") or c in _BLANK_LOOKING:
            found.append(c)
    return list(dict.fromkeys(found))


MAX_ROSTER_BYTES = 5_000_000
MAX_REFLECTIONS_A_MINUTE = 10


def _roster_file(path: Path) -> str:
    """A roster file's text: UTF-8 (with or without BOM) or UTF-16 with its BOM."""
    try:
        if path.stat().st_size > MAX_ROSTER_BYTES:
            raise ClassroomError(f"{path}: the roster is larger than "
                                 f"{MAX_ROSTER_BYTES // 1_000_000} MB")
        raw = path.read_bytes()
    except OSError as err:
        raise ClassroomError(f"{path}: cannot read the roster: {err.strerror}") from err
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    else:
        encoding = "utf-8-sig"
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as err:
        line = raw[:err.start].count(b"\n") + 1
        raise ClassroomError(
            f"{path}: line {line}: the roster is not UTF-8 text (byte {err.start} cannot be "
            "read); save it as “CSV UTF-8” (in Excel: File, Save As, CSV UTF-8)") from err


def _roster_path(source: Any) -> Path | None:
    """The file a roster source names, or None when it is the CSV text itself."""
    if isinstance(source, Path):
        return source
    if isinstance(source, str) and "\n" not in source and "," not in source and len(source) < 1024:
        try:
            return Path(source) if Path(source).is_file() else None
        except OSError:
            return None
    return None


def _roster_text(source: str | Path) -> str:
    """A roster's text: read from a file path, or the CSV text itself."""
    path = _roster_path(source)
    if path is not None:
        return _roster_file(path)
    if not isinstance(source, str):
        raise ClassroomError(f"a roster is CSV text or a file path, got {type(source).__name__}")
    return source


def _safe_name(name: str) -> str:
    """A file name as shown and exported: no folders, no control characters, 120 characters."""
    base = str(name).replace("\\", "/").rsplit("/", 1)[-1]
    clean = "".join(c if c.isprintable() and c not in '<>:"|?*' else "_" for c in base).strip()
    return (clean or "file")[:120]


def _csv_rows(reader: csv.DictReader):
    """The rows of a CSV reader, with CSV errors (a field over 128 kB...) as ClassroomError."""
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            raise ClassroomError(f"roster line {reader.line_num + 1}: not readable as CSV: "
                                 f"{err}") from err
        yield row


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def quest_digest(quest: Quest) -> str:
    """A hash of a quest's content, ignoring its version number."""
    data = quest.to_data()
    data.pop("version", None)
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


class Classroom:
    """Set-up and logins over a store.

    ``clock`` returns the current time (tests pass a fake one); ``hasher`` is
    argon2's PasswordHasher (tests may pass cheaper parameters); ``registry``
    is the plugin registry whose node kinds quests may use (by default one built
    here, once, by :func:`questengine.plugins.installed_registry`); every quest
    and graph this classroom reads is read with it.
    """

    def __init__(self, store: StoreInterface | str | Path = ":memory:", *,
                 clock: Callable[[], datetime] | None = None,
                 hasher: PasswordHasher | None = None,
                 session_hours: float = 8.0, max_failures: int = 5,
                 window_minutes: float = 15.0, max_wait_seconds: float = 60.0,
                 reflections_a_minute: int | None = MAX_REFLECTIONS_A_MINUTE, registry=None):
        self.registry = registry if registry is not None else installed_registry()
        # a database address: a SQLite file path or postgresql://user@host/dbname
        self.store = store if not isinstance(store, (str, Path)) else open_store(store)
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.hasher = hasher or PasswordHasher()
        self.session_length = timedelta(hours=session_hours)
        self.max_failures = max_failures
        self.window = timedelta(minutes=window_minutes)
        self.max_wait = max_wait_seconds
        self.reflections_a_minute = reflections_a_minute  # None: no limit (load tests)
        self._graphs: dict[tuple[str, int], nx.DiGraph] = {}
        self._local_graphs: dict[tuple[str, int, str], nx.DiGraph] = {}  # per language
        self._cache: dict[tuple[int, str], _Cached] = {}
        self._adapted: dict[tuple[int, Accommodations], nx.DiGraph] = {}
        self._parsed: dict[tuple | None, Accommodations] = {}  # stored settings -> parsed
        self._dummy_hash = self.hasher.hash("not-a-real-pin")

    def stamp(self) -> str:
        return self.clock().isoformat(timespec="microseconds")

    # set-up ----------------------------------------------------------------------------------

    def add_teacher(self, email: str, name: str, password: str) -> int:
        email = (email or "").strip().lower()
        if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
            raise ClassroomError(f"{email!r} is not an email address")
        name = _clean_name(name, "teacher's name")
        if not isinstance(password, str) or len(password) < 8:
            raise ClassroomError(N_("a teacher password needs at least 8 characters"))
        if self.store.teacher_by_email(email):
            raise ClassroomError(f"a teacher with email {email} already exists")
        return self.store.add_teacher(email, name, self.hasher.hash(password), self.stamp())

    def create_class(self, teacher_email: str, name: str, code: str | None = None) -> str:
        teacher = self.store.teacher_by_email((teacher_email or "").strip().lower())
        if teacher is None:
            raise ClassroomError(f"no teacher has the email {teacher_email!r}; add the teacher first")
        name = _clean_name(name, "class name")
        if code is None:
            code = self._new_class_code()
        code = code.strip().upper()
        if not re.fullmatch(r"[A-Z0-9][A-Z0-9-]{2,19}", code):
            raise ClassroomError(N_("class code {code!r} must be 3-20 letters, digits or '-'"),
                                 code=code)
        if self.store.get_class(code):
            raise ClassroomError(N_("class code {code} is taken; choose another"), code=code)
        self.store.add_class(code, name, teacher["id"], self.stamp())
        return code

    def _new_class_code(self) -> str:
        while True:
            code = f"{secrets.choice(CLASS_WORDS)}-{secrets.randbelow(10000):04d}"
            if not self.store.get_class(code):
                return code

    def add_student(self, class_code: str, name: str, pin: str | None = None) -> StudentLogin:
        return self.add_students(class_code, [(name, pin)])[0]

    def add_students(self, class_code: str, people: list[tuple[str, str | None]],
                     where: list[str] | None = None) -> list[StudentLogin]:
        """Add students (name, optional PIN) all at once: one bad row and none is added.

        ``where`` names each entry in messages (a roster's line numbers).
        """
        code = self._class(class_code)["code"]
        where = where or [f"entry {i}" for i in range(1, len(people) + 1)]
        seen: dict[str, str] = {}
        rows = []
        for place, (raw_name, pin) in zip(where, people):
            try:
                name = _clean_name(raw_name, "student name")
                pin = self._check_pin(pin) if pin else f"{secrets.randbelow(10000):04d}"
            except ClassroomError as err:
                raise ClassroomError(f"{place}: {err}") from err
            key = name_key(name)
            if key in seen:
                raise ClassroomError(f"{name!r} appears twice ({seen[key]} and {place}); "
                                     "names in a class must differ (add an initial)")
            seen[key] = place
            if self.store.student_by_name(code, key):
                raise ClassroomError(f"{place}: class {code} already has a student named {name!r}")
            rows.append((name, key, pin, self.hasher.hash(pin)))
        logins = []
        with self.store.write():
            for name, key, pin, pin_hash in rows:
                sid = self.store.add_student(code, name, key, pin_hash, secrets.token_hex(8),
                                             self.stamp())
                logins.append(StudentLogin(code, name, pin, sid))
        return logins

    @staticmethod
    def _check_pin(pin: Any) -> str:
        pin = str(pin).strip()
        if not re.fullmatch(r"\d{4,8}", pin):
            raise ClassroomError(N_("a PIN is 4 to 8 digits"))
        return pin

    def _import_roster(self, class_code: str, source: str | Path) -> list[StudentLogin]:
        text = _roster_text(source).lstrip("\ufeff")
        reader = csv.DictReader(io.StringIO(text))
        try:
            fieldnames = reader.fieldnames
        except csv.Error as err:
            raise ClassroomError(f"roster line 1: not readable as CSV: {err}") from err
        columns = [c.strip().lower() for c in fieldnames or []]
        reader.fieldnames = columns
        if "name" not in columns and not {"first_name", "last_name"} <= set(columns):
            raise ClassroomError(f"the roster needs a 'name' column (or 'first_name' and "
                                 f"'last_name'); found: {', '.join(columns) or 'no header'}")
        people, lines = [], []
        for row in _csv_rows(reader):
            line = reader.line_num
            if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
                continue  # a blank line
            name = row.get("name") or " ".join(
                filter(None, [row.get("first_name"), row.get("last_name")]))
            if not (name or "").strip():
                raise ClassroomError(f"roster line {line}: the name is empty")
            people.append((name, (row.get("pin") or "").strip() or None))
            lines.append(line)
        if not people:
            raise ClassroomError("the roster has a header but no students")
        try:
            return self.add_students(class_code, people, where=[f"line {n}" for n in lines])
        except ClassroomError as err:
            raise ClassroomError(f"roster: {err}") from err

    def import_roster(self, class_code: str, source: str | Path) -> list[StudentLogin]:
        """Add the students of a CSV roster (columns: name, optional pin; or first_name, last_name).

        ``source`` is a file path or the CSV text; errors name the file and line.
        """
        try:
            return self._import_roster(class_code, source)
        except ClassroomError as err:
            path = _roster_path(source)
            if path is None or str(err).startswith(str(path)):
                raise
            raise ClassroomError(f"{path}: {err}") from err

    def publish(self, quest: Quest | str | Path, by: int) -> int:
        """Store a quest for its owning teacher ``by`` (a new version when it changed).

        Returns the version students get. The first teacher to publish a quest id owns it;
        a publish of the same id by another teacher is refused.
        """
        if not isinstance(by, int) or isinstance(by, bool) or self.store.teacher(by) is None:
            raise ClassroomError("a quest is published by its owning teacher: give the id of an "
                                 f"existing teacher, got {by!r}")
        if not isinstance(quest, Quest):
            quest = load_quest(quest, self.registry)
        elif registry_of(quest) not in (None, self.registry):  # read with another registry:
            # its plugin kinds must be this classroom's (QuestFileError names what is not)
            quest = loads_quest(dumps_quest(quest), quest._source.filename if quest._source
                                else quest.id, self.registry)
        quest_graph(quest, self.registry)  # raises QuestValidationError listing every problem
        latest = self.store.quest_row(quest.id)
        if latest is not None and latest["published_by"] != by:
            raise AccessDenied(f"the quest id {quest.id!r} belongs to another teacher; give your "
                               "quest its own id (or ask them to share theirs)")
        version = self.store.put_quest(quest.id, quest.title, dumps_quest(quest),
                                       quest_digest(quest), self.stamp(), by)
        self._publish_assets(quest, version)
        return version

    def published(self, quest_id: str) -> dict | None:
        """The latest published version of a quest: id, version, title, hash, published, by."""
        row = self.store.quest_row(quest_id)
        return None if row is None else {k: v for k, v in row.items() if k != "source"}

    def assign(self, quest_id: str, class_code: str, by: int | None = None) -> None:
        code = self._class(class_code)["code"]
        if self.store.quest_row(quest_id) is None:
            raise ClassroomError(f"no quest {quest_id!r} is published; publish it first")
        self.store.assign(code, quest_id, self.stamp(), by)

    def teacher_id(self, email: str) -> int:
        """The id of the teacher with this email."""
        row = self.store.teacher_by_email((email or "").strip().lower())
        if row is None:
            raise ClassroomError(f"no teacher has the email {email!r} "
                                 "(`questengine teacher add` adds one)")
        return row["id"]

    def class_teacher(self, class_code: str) -> int:
        """The id of the teacher a class belongs to."""
        return self._class(class_code)["teacher_id"]

    def _class(self, class_code: str) -> dict:
        row = self.store.get_class((class_code or "").strip().upper())
        if row is None:
            raise ClassroomError(f"no class has the code {class_code!r}")
        return row

    def teacher_session(self, class_code: str) -> "TeacherSession":
        """A session of the class's teacher, for commands run by whoever holds the database.

        The command line (exports, imports) has no teacher login: holding the
        database file or address is the permission. The session is an
        ordinary one (it expires and can be logged out).
        """
        klass = self._class(class_code)
        teacher = self.store.teacher(klass["teacher_id"])
        return TeacherSession(self, teacher, self._start_session("teacher", teacher["id"]))

    def find_student(self, class_code: str, name: str) -> dict:
        """A student row by class code and name (for administration, not for logins)."""
        code = self._class(class_code)["code"]
        row = self.store.student_by_name(code, name_key(str(name or "")))
        if row is None:
            raise ClassroomError(f"class {code} has no student named {name!r}")
        return row

    def export_student(self, student_id: int) -> dict:
        """Everything stored about a student, as JSON-ready data (for a family's request)."""
        if self.store.student(student_id) is None:
            raise ClassroomError(f"there is no student {student_id!r}")
        return self.store.export_student(student_id)

    def delete_student(self, student_id: int) -> dict[str, int]:
        """Delete every row about a student; returns rows deleted per table."""
        row = self.store.student(student_id)
        if row is None:
            raise ClassroomError(f"there is no student {student_id!r}")
        for key in [k for k in self._cache if k[0] == student_id]:
            del self._cache[key]
        hashes = self.store.student_file_hashes(student_id)
        counts = self.store.delete_student(student_id,
                                           f"student|{row['class_code']}|{row['name_key']}")
        counts["files"] = self._forget_files(hashes)
        return counts

    # files: quests' assets and students' uploads (bytes in the file store, rows in the store) ----

    @property
    def files(self) -> FileStore:
        """The content-addressed file store: QUESTENGINE_FILES, else a folder beside the database."""
        if getattr(self, "_files", None) is None:
            folder = os.environ.get("QUESTENGINE_FILES")
            path = getattr(self.store, "path", ":memory:")
            if folder:
                self._files = FileStore(folder)
            elif path and path != ":memory:":
                self._files = FileStore.beside(path)
            else:
                self._files = FileStore(tempfile.mkdtemp(prefix="qe-files-"))
        return self._files

    @files.setter
    def files(self, store: FileStore) -> None:
        self._files = store

    def _publish_assets(self, quest: Quest, version: int) -> None:
        """Copy the quest's listed assets (beside its file) into the file store."""
        source = getattr(getattr(quest, "_source", None), "filename", None)
        if not quest.assets or not source or not Path(source).is_file():
            return
        folder = Path(source).resolve().parent
        for path in {p for a in quest.assets for p in (a.path, a.captions) if p}:
            local = (folder / path).resolve()
            if folder not in local.parents or not local.is_file():
                log.warning("quest %s: the asset %s is not beside the quest file", quest.id, path)
                continue
            with open(local, "rb") as f:
                sha, size, mime = self.files.put(f)
            self.store.put_quest_asset(quest.id, version, path, mime, size, sha)

    def _forget_files(self, hashes: list[str]) -> int:
        """Delete the stored files no row names any more; returns how many."""
        gone = 0
        for sha in hashes:
            if not self.store.file_in_use(sha):
                gone += self.files.delete(sha)
        return gone

    def upload_limit(self, class_code: str) -> int:
        """The largest file a student of this class may hand in, in bytes (default 50 MB)."""
        return self.store.upload_limit(class_code) or DEFAULT_LIMIT

    def export_student_files(self, student_id: int, folder: str | Path) -> list[Path]:
        """Copy every file the student handed in to ``folder`` (beside the exported data)."""
        if self.store.student(student_id) is None:
            raise ClassroomError(f"there is no student {student_id!r}")
        rows = self.store.export_student(student_id).get("submission_files", [])
        out = []
        for r in rows:
            name = f"{r['quest_id']}-{r['node']}-round{r['round']}-{r['id']}-{_safe_name(r['name'])}"
            out.append(self.files.copy_out(r["sha256"], Path(folder) / name))
        return out

    def graph(self, quest_id: str, version: int | None = None) -> nx.DiGraph:
        """The validated graph of a published quest (latest version by default)."""
        if version is None:  # one small read per action: the quest's source only when new
            version = self.store.latest_version(quest_id)
        if (quest_id, version) in self._graphs:
            return self._graphs[(quest_id, version)]
        row = self.store.quest_row(quest_id, version) if version is not None else None
        if row is None:
            raise ClassroomError(f"no quest {quest_id!r} is published")
        key = (row["id"], row["version"])
        if key not in self._graphs:
            try:
                quest = loads_quest(row["source"], f"{quest_id} v{row['version']}", self.registry)
                quest = quest.model_copy(update={"version": row["version"]})
                self._graphs[key] = quest_graph(quest, self.registry)
            except (QuestFileError, QuestValidationError) as err:
                # it was valid when published: something on this server changed (a plugin
                # it uses is missing or broken); the details go to the log, not to a student
                log.error("published quest %s v%s cannot be opened: %s", quest_id,
                          row["version"], err)
                raise ClassroomError(f"The quest “{row.get('title') or quest_id}” cannot be "
                                     "opened right now; your teacher has been told.") from err
        return self._graphs[key]

    def localized_graph(self, quest_id: str, language: str | None) -> nx.DiGraph:
        """The quest's graph with its texts in ``language`` where its author translated them
        (the same nodes, edges and answers: only what is shown differs)."""
        from .i18n import localize

        G = self.graph(quest_id)
        quest = G.graph["quest"]
        if not language or language not in quest.translations:
            return G
        key = (quest_id, quest.version, language)
        cached = self._local_graphs.get(key)
        if cached is None or cached.graph.get("source_graph") is not G:
            cached = G.copy()
            cached.graph.pop("_map_layouts", None)  # titles differ: the map wraps its own
            local = localize(quest, language)
            for node in local.nodes:
                cached.nodes[node.id]["node"] = node
            cached.graph.update(quest=local, source_graph=G, language=language)
            self._local_graphs[key] = cached
        return cached

    # logins ------------------------------------------------------------------------------------

    def _wait_after(self, failures: int) -> float:
        """Seconds between attempts after ``failures`` wrong ones: free at first, then doubling.

        Slowing down instead of locking out means a classmate who types someone's name
        with wrong PINs can delay them by at most ``max_wait`` seconds, never lock them out.
        """
        if failures < self.max_failures:
            return 0.0
        return min(self.max_wait, 2.0 ** (failures - self.max_failures + 1))

    def _attempt(self, key: str) -> int:
        """Reserve one login attempt (counted as a failure until it succeeds), or refuse."""
        now = self.clock().timestamp()
        attempt, wait = self.store.reserve_login_attempt(
            key, now, now - self.window.total_seconds(), self._wait_after)
        if attempt is None:
            seconds = max(1, math.ceil(wait))
            raise LoginThrottled(N_("Too many wrong tries. Wait {seconds} second, then try "
                                    "again, or ask your teacher for help.") if seconds == 1 else
                                 N_("Too many wrong tries. Wait {seconds} seconds, then try "
                                    "again, or ask your teacher for help."), wait=seconds,
                                 seconds=seconds)
        return attempt

    def _verify(self, stored_hash: str, secret: str) -> bool:
        try:
            return self.hasher.verify(stored_hash, secret)
        except (VerificationError, InvalidHashError):
            return False

    def login_student(self, class_code: str, name: str, pin: str) -> "StudentSession":
        code = str(class_code or "").strip().upper()
        klass = self.store.get_class(code)
        if klass is None:
            raise LoginError(N_("There is no class with the code “{code}”. Check the code your "
                                "teacher gave you."), code=class_code)
        key = student_login_key(code, str(name or ""))
        self._attempt(key)
        student = self.store.student_by_name(code, name_key(str(name or "")))
        ok = self._verify(student["pin_hash"] if student else self._dummy_hash, str(pin or ""))
        if not (student and ok):
            raise LoginError(N_("That name and PIN do not match in class {code}. Check them, or "
                                "ask your teacher."), code=code)
        self.store.clear_login_failures(key)
        return StudentSession(self, student, self._start_session("student", student["id"]))

    def login_teacher(self, email: str, password: str) -> "TeacherSession":
        email = str(email or "").strip().lower()
        key = f"teacher|{email}"
        self._attempt(key)
        teacher = self.store.teacher_by_email(email)
        ok = self._verify(teacher["password_hash"] if teacher else self._dummy_hash,
                          str(password or ""))
        if not (teacher and ok):
            raise LoginError(N_("That email and password do not match."))
        self.store.clear_login_failures(key)
        return TeacherSession(self, teacher, self._start_session("teacher", teacher["id"]))

    # behind JupyterHub: the hub user is the identity ------------------------------------------

    def login_hub(self, hub_username: str, role: str | None = None,
                  class_code: str | None = None) -> "StudentSession | TeacherSession":
        """The session of the person a JupyterHub user is on the roster as.

        ``hub_username`` must come from the server side (the hub's authentication, as
        ``JUPYTERHUB_USER`` in the user's server), never from the page. ``role`` narrows
        the match to ``"teacher"`` or ``"student"`` (an LMS launch's role); ``class_code``
        picks one class when the student is on several rosters (an LMS course). A hub user
        with no roster entry gets a :class:`LoginError` sentence, never anyone else's page.
        """
        name = str(hub_username or "").strip()
        if role not in (None, "teacher", "student"):
            raise ClassroomError(f"a hub login's role is 'teacher' or 'student', got {role!r}")
        if not name:
            raise LoginError(N_("This page did not get your hub account. Log in to the hub "
                                "again."))
        if role in (None, "teacher"):
            teacher = self.store.teacher_by_hub(name)
            if teacher is not None:
                return TeacherSession(self, teacher, self._start_session("teacher", teacher["id"]))
        rows = self.store.students_by_hub(name) if role in (None, "student") else []
        if class_code:
            code = str(class_code).strip().upper()
            rows = [r for r in rows if r["class_code"] == code]
        if len(rows) == 1:
            student = rows[0]
            return StudentSession(self, student, self._start_session("student", student["id"]))
        if len(rows) > 1:
            codes = ", ".join(r["class_code"] for r in rows)
            raise LoginError(N_("Your hub account “{name}” is on the roster of several classes "
                                "({codes}). Open the quest from your class's course page."),
                             name=name, codes=codes)
        who = {"teacher": N_("teacher"), "student": N_("student")}.get(role or "",
                                                                       N_("teacher or student"))
        raise LoginError(N_("Your hub account “{name}” is not on any class roster as a {who}. "
                            "Ask your teacher (or the school's administrator) to add your hub "
                            "username to the roster."), name=name, who=Message(who))

    def set_hub_username(self, kind: str, user_id: int, hub_username: str | None) -> None:
        """Map a teacher or student to a JupyterHub username (``None`` removes the mapping)."""
        name = (hub_username or "").strip() or None
        if kind == "teacher":
            row = self.store.teacher(user_id)
            if row is None:
                raise ClassroomError(f"there is no teacher {user_id!r}")
            other = self.store.teacher_by_hub(name) if name else None
            if other is not None and other["id"] != user_id:
                raise ClassroomError(f"the hub username {name!r} already belongs to teacher "
                                     f"{other['email']}")
            self.store.set_teacher_identity(user_id, email=row["email"], name=row["name"],
                                            hub_username=name, source_id=row.get("source_id"))
        elif kind == "student":
            row = self.store.student(user_id)
            if row is None:
                raise ClassroomError(f"there is no student {user_id!r}")
            if name and any(r["class_code"] == row["class_code"] and r["id"] != user_id
                            for r in self.store.students_by_hub(name)):
                raise ClassroomError(f"class {row['class_code']} already has a student with "
                                     f"the hub username {name!r}")
            self.store.set_student_identity(user_id, name=row["name"], name_key=row["name_key"],
                                            hub_username=name, source_id=row.get("source_id"))
        else:
            raise ClassroomError(f"kind must be 'teacher' or 'student', got {kind!r}")

    def map_hub_user(self, hub_username: str | None, *, teacher_email: str | None = None,
                     class_code: str | None = None, student_name: str | None = None) -> dict:
        """Map a teacher (by email) or a student (by class code and name) to a JupyterHub
        username, by hand (OneRoster imports do it for whole districts); ``None`` or ""
        removes the mapping. Returns who was mapped."""
        if bool(teacher_email) == bool(class_code or student_name):
            raise ClassroomError("name a teacher (--teacher EMAIL) or a student (--class CODE "
                                 "--student NAME), not both")
        if teacher_email:
            row = self.store.teacher_by_email(teacher_email.strip().lower())
            if row is None:
                raise ClassroomError(f"there is no teacher with the email {teacher_email!r}")
            self.set_hub_username("teacher", row["id"], hub_username)
            return {"kind": "teacher", "id": row["id"], "name": row["name"],
                    "hub_username": (hub_username or "").strip() or None}
        code = str(class_code or "").strip().upper()
        if not code or not student_name:
            raise ClassroomError("a student is named by both --class CODE and --student NAME")
        if self.store.get_class(code) is None:
            raise ClassroomError(f"there is no class with the code {code!r}")
        row = self.store.student_by_name(code, name_key(student_name))
        if row is None:
            names = ", ".join(r["name"] for r in self.store.students_in(code)) or "none yet"
            raise ClassroomError(f"class {code} has no student named {student_name!r}; its "
                                 f"students: {names}")
        self.set_hub_username("student", row["id"], hub_username)
        return {"kind": "student", "id": row["id"], "name": row["name"],
                "hub_username": (hub_username or "").strip() or None}

    def sign_up_family(self, code: str, email: str, name: str, password: str,
                       language: str | None = None):
        """A family's sign-up with a code from the teacher's handout (see questengine.family)."""
        from .family import sign_up

        return sign_up(self, code, email, name, password, language)

    def login_family(self, email: str, password: str):
        from .family import login

        return login(self, email, password)

    def _start_session(self, kind: str, user_id: int) -> str:
        token = secrets.token_urlsafe(32)
        now = self.clock()
        self.store.add_session(_token_hash(token), kind, user_id, now.isoformat(),
                               (now + self.session_length).isoformat())
        return token

    def resume(self, token: str) -> "StudentSession | TeacherSession":
        """The session a token belongs to, if it has not ended."""
        row = self._session_row(token)
        if row["kind"] == "student":
            return StudentSession(self, self.store.student(row["user_id"]), token)
        if row["kind"] == "family":
            from .family import FamilySession

            return FamilySession(self, self.store.family(row["user_id"]), token)
        return TeacherSession(self, self.store.teacher(row["user_id"]), token)

    def _session_row(self, token: str, quest: tuple[str, str] | None = None) -> dict:
        """The session's row; with ``quest`` = (class code, quest id) also whether that quest
        is assigned and its latest version (one read per student action)."""
        token_hash = _token_hash(str(token or ""))
        row = (self.store.session(token_hash) if quest is None
               else self.store.session_for_quest(token_hash, *quest))
        if row is None or datetime.fromisoformat(row["expires"]) <= self.clock():
            raise SessionExpired(N_("Your session has ended. Please log in again."))
        return row

    # playing (for sessions) -------------------------------------------------------------------

    def _current(self, student_id: int, quest_id: str, catch_up: bool = True,
                 version: int | None = None,
                 accommodations: Accommodations | None = None) -> "_Cached":
        """The student's progress in a quest, caught up with events other processes wrote.

        ``catch_up=False`` skips the read of newer events when this process has the
        student's progress cached (an action confirms it under the write lock anyway);
        ``version`` is the quest's latest version and ``accommodations`` the student's
        when the caller has just read them (with the session).
        """
        G = self.student_graph(student_id, quest_id, version, accommodations=accommodations)
        key = (student_id, quest_id)
        cached = self._cache.get(key)
        if cached is None or cached.progress.graph is not G:
            last, events = self.store.events_since(student_id, quest_id, 0)
            cached = self._cache[key] = _Cached(last, replay(G, events), fresh=True)
            status = self.store.quest_status(student_id, quest_id)
            if status is not None and status["version"] != cached.progress.version:
                self.store.bank_xp(student_id, quest_id, cached.progress.version,
                                   cached.progress.xp)
        elif catch_up:
            last, events = self.store.events_since(student_id, quest_id, cached.last_id)
            if events:  # a new object: progress handed out before never changes
                cached.progress = extend(cached.progress.copy(), events)
                cached.last_id = last
        return cached

    def _play(self, student_id: int, quest_id: str, action: Action, role: str,
              actor: str, version: int | None = None,
              accommodations: Accommodations | None = None,
              grant: Grant | None = None) -> Progress:
        """Check an action with the engine and record it, or raise and write nothing.

        The check runs on the cached progress outside the write lock; inside
        ``BEGIN IMMEDIATE`` the store confirms no other process added events
        for this student meanwhile (else we catch up and check again), then
        appends the events and the changed progress rows.

        With a ``grant`` (the session was not read for this action) the write also confirms
        the grant; any answer that no write confirmed (a refusal, nothing to do, a write
        refused) raises :class:`_Unconfirmed` instead, for the caller to check the session.
        """
        key = (student_id, quest_id)
        for attempt in range(50):
            # the first try checks the action on the cached progress without reading the log
            # again: the write lock below confirms nobody wrote meanwhile (one read fewer per
            # action); a refusal is only final once checked on the caught-up progress
            cached = self._current(student_id, quest_id, catch_up=attempt > 0,
                                   version=version if attempt == 0 else None,
                                   accommodations=accommodations)
            G = cached.progress.graph
            try:
                new = act(G, cached.progress, action, role=role, actor=actor, at=self.stamp())
            except ProgressError:
                if grant is not None:
                    raise _Unconfirmed from None
                if attempt == 0 and not cached.fresh:
                    continue
                raise
            if not new:
                if grant is not None:
                    raise _Unconfirmed
                return cached.progress
            after = extend(cached.progress.copy(), new)  # worked out before the write lock
            previous = None if cached.fresh else cached.progress
            now = self.clock()
            recent = cached.active_at is not None and now - cached.active_at < timedelta(minutes=1)
            try:  # one transaction: appended only if the log still ends where we read it
                ids = self.store.record(student_id, quest_id, cached.last_id, new, after,
                                        now.isoformat(timespec="microseconds"), previous,
                                        by_student=role == "student", activity_recent=recent,
                                        grant=grant)
            except BaseException:
                self._cache.pop(key, None)  # not sure what the database holds now: reload
                raise
            if ids is None:
                if grant is not None:
                    raise _Unconfirmed  # the grant changed, or another tab acted first
                continue  # another tab or the teacher acted first: check again
            cached.progress, cached.last_id, cached.fresh = after, ids[-1], False
            if role == "student" and not recent:
                cached.active_at = now  # the student's activity was just written
            return after
        raise StoreBusy("this student's progress kept changing while saving; try again")

    # accommodations -------------------------------------------------------------------------

    def accommodations(self, student_id: int) -> Accommodations:
        """The supports a teacher set for this student (none by default)."""
        return self._accommodations(self.store.accommodations([student_id]).get(student_id))

    def _accommodations(self, settings: dict | None) -> Accommodations:
        """Stored settings parsed (each distinct set of settings once per process)."""
        key = tuple(sorted(settings.items())) if settings else None
        acc = self._parsed.get(key)
        if acc is None:
            if len(self._parsed) > 256:
                self._parsed.clear()
            acc = self._parsed[key] = parse_accommodations(settings)
        return acc

    def student_graph(self, student_id: int, quest_id: str, version: int | None = None,
                      language: str | None = None,
                      accommodations: Accommodations | None = None) -> nx.DiGraph:
        """The quest graph this student plays: the published one, adapted to their
        accommodations (more tries at gates, fewer options, simpler text, more time).
        Every action of the student and every view of their progress uses it; with a
        ``language``, its texts in that language where the author translated them (for
        showing: the same nodes, edges and answers)."""
        G = (self.localized_graph(quest_id, language) if language
             else self.graph(quest_id, version))
        acc = accommodations if accommodations is not None else self.accommodations(student_id)
        if not acc.any():
            return G
        key = (id(G), acc)
        adapted = self._adapted.get(key)
        if adapted is None or adapted.graph.get("adapted_from") is not G:
            adapted = self._adapted[key] = adapt_graph(G, acc)
            adapted.graph["adapted_from"] = G
        return adapted

    def _progress(self, student_id: int, quest_id: str) -> Progress:
        """The student's current progress (shared with the cache: treat it as read-only)."""
        return self._current(student_id, quest_id).progress


class _Unconfirmed(Exception):
    """A student's action checked on a :class:`Grant` got no write to confirm it: check the
    session and play it again the full way."""


@dataclass(frozen=True)
class _Granted:
    """What the last session read of a student's session said about one quest."""

    grant: Grant
    accommodations: Accommodations
    expires: datetime


@dataclass
class _Cached:
    """A student's progress in one quest as this process last saw it."""

    last_id: int
    progress: Progress
    fresh: bool = True  # built from the log here: its rows are written in full once
    active_at: datetime | None = None  # when this process last wrote the student's activity


class _Session:
    kind = ""

    def __init__(self, classroom: Classroom, row: dict | None, token: str):
        if row is None:
            raise SessionExpired(N_("This account no longer exists. Please log in again."))
        self._classroom = classroom
        self._row = row
        self.token = token
        self._granted: dict[str, _Granted] = {}  # per quest (students' sessions)

    def _check(self, quest: tuple[str, str] | None = None) -> dict:
        row = self._classroom._session_row(self.token, quest)
        if row["kind"] != self.kind or row["user_id"] != self._row["id"]:
            raise AccessDenied(N_("this session belongs to someone else"))
        return row

    def logout(self) -> None:
        self._granted.clear()
        self._classroom.store.end_session(_token_hash(self.token))


class StudentSession(_Session):
    """Everything one student may do. The student is fixed at login."""

    kind = "student"

    @property
    def name(self) -> str:
        return self._row["name"]

    @property
    def class_code(self) -> str:
        return self._row["class_code"]

    @property
    def _sid(self) -> int:
        return self._row["id"]

    def _assigned(self, quest_id: str) -> int | None:
        """Check the session and the assignment; the quest's latest version (one read)."""
        return self._assigned_row(quest_id)["latest_version"]

    def _assigned_row(self, quest_id: str) -> dict:
        """The session row, checked, with the quest's latest version and the student's
        accommodations (one read per action)."""
        row = self._check((self.class_code, quest_id))
        if not row["assigned"]:
            raise AccessDenied(N_("the quest {quest!r} is not assigned to your class"),
                               quest=quest_id)
        return row

    def quests(self) -> list[QuestCard]:
        """The quests assigned to the student's class, with progress."""
        self._check()
        cards = []
        language = self.language
        for a in self._classroom.store.assignments(self.class_code):
            try:
                G = self._classroom.localized_graph(a["quest_id"], language)
                title = G.graph["quest"].title if language else a["title"]
            except ClassroomError:  # e.g. its plugin is missing: listed, but it cannot open
                cards.append(QuestCard(a["quest_id"], a["title"], a["version"], 0, 0, 0, False))
                continue
            progress = self._classroom._progress(self._sid, a["quest_id"])
            done = sum(1 for np in progress.nodes.values() if np.state in ("success", "fail"))
            # closed nodes are paths the student did not need: they do not count
            total = sum(1 for np in progress.nodes.values() if np.state != "closed")
            status = self._classroom.store.quest_status(self._sid, a["quest_id"])
            if progress.complete:
                total = done
            cards.append(QuestCard(a["quest_id"], title, a["version"], done, total,
                                   status["xp"] if status else progress.xp,
                                   bool(status and status["complete"]) or progress.complete))
        return cards

    def graph(self, quest_id: str) -> nx.DiGraph:
        """The quest as this student plays it: adapted to their accommodations, its texts in
        the student's language where the quest has them."""
        self._assigned(quest_id)
        return self._classroom.student_graph(self._sid, quest_id, language=self.language)

    def accommodations(self) -> Accommodations:
        """The supports your teacher set for you (read aloud, larger text...)."""
        self._check()
        return self._classroom.accommodations(self._sid)

    def progress(self, quest_id: str) -> Progress:
        self._assigned(quest_id)
        return self._classroom._progress(self._sid, quest_id)

    def explain(self, quest_id: str, node: str) -> str:
        return explain(self.progress(quest_id), node)

    def _do(self, quest_id: str, action: Action) -> Progress:
        """Play one action. The session is checked every time: by a read (then the grant it
        gives is kept), or, while an earlier read's grant has not expired, by the write itself
        (the store appends only if the session, the assignment, the quest's version and the
        accommodations are still those read); anything the write did not confirm is checked
        again with a read."""
        c, actor = self._classroom, f"student:{self._sid}"
        granted = self._granted.get(quest_id)
        if granted is not None and granted.expires > c.clock():
            try:
                return c._play(self._sid, quest_id, action, "student", actor,
                               granted.grant.version, granted.accommodations, granted.grant)
            except _Unconfirmed:
                pass
        self._granted.pop(quest_id, None)
        row = self._assigned_row(quest_id)
        accommodations = c._accommodations(row["accommodations"])
        self._granted[quest_id] = _Granted(
            Grant(_token_hash(self.token), self.class_code, row["latest_version"] or 0,
                  row["settings"]), accommodations, datetime.fromisoformat(row["expires"]))
        return c._play(self._sid, quest_id, action, "student", actor, row["latest_version"],
                       accommodations)

    def open(self, quest_id: str, node: str) -> Progress:
        """Open a step (for a timed challenge: start its clock, stamped with the service's)."""
        return self._do(quest_id, Action("open", node))

    def time_left(self, quest_id: str, node: str) -> float | None:
        """Seconds left on a started timed challenge, by the service's clock.

        ``None`` when the step is not timed or not started. The limit is the student's own
        (longer with the "more time" support). The page only shows it, counting down: the
        engine decides when the answer arrives whether it came in time.
        """
        progress = self.progress(quest_id)
        if node not in progress.nodes:
            raise ProgressError(f"there is no step {node!r} in this quest", node)
        return seconds_left(progress.graph, progress, node, self._classroom.stamp())

    def choose(self, quest_id: str, node: str, option: str) -> Progress:
        return self._do(quest_id, Action("choose", node, option=option))

    def answer(self, quest_id: str, node: str, answers: dict) -> Progress:
        from .i18n import original_answers

        language = self.language
        if language and isinstance(answers, dict):  # options picked in the student's language
            self._assigned(quest_id)
            quest = self._classroom.graph(quest_id).graph["quest"]
            answers = original_answers(
                quest, self._classroom.localized_graph(quest_id, language).graph["quest"],
                node, answers)
        return self._do(quest_id, Action("answer", node, answers=answers))

    def submit(self, quest_id: str, node: str, content: str) -> Progress:
        return self._do(quest_id, Action("submit", node, content=content))

    def complete(self, quest_id: str, node: str) -> Progress:
        return self._do(quest_id, Action("complete", node))

    def reflect(self, quest_id: str, node: str, text: str) -> Progress:
        c = self._classroom
        if c.reflections_a_minute is not None and c.store.reflections_since(
                self._sid, (c.clock() - timedelta(minutes=1)).isoformat(timespec="microseconds")
        ) >= c.reflections_a_minute:
            raise ProgressError(N_("You have written a lot of reflections just now. Take a "
                                   "breath and try again in a minute."))
        return self._do(quest_id, Action("reflect", node, text=text))

    # the learner profile

    @property
    def language(self) -> str | None:
        """The interface language the student chose (None: the browser's preference)."""
        row = self._classroom.store.student(self._sid)
        return row.get("language") if row else None

    def set_language(self, language: str) -> str:
        from .i18n import check_language

        self._check()
        code = check_language(language)
        self._classroom.store.set_student_language(self._sid, code)
        return code

    def reflections(self) -> list[dict]:
        """The student's reflections, newest first: id, quest_id, node, text, at, shared."""
        self._check()
        return self._classroom.store.student_reflections(self._sid)

    def share_reflection(self, reflection_id: int, shared: bool = True) -> None:
        """Show one reflection to the family (or hide it again). Reflections start unshared."""
        self._check()
        if not self._classroom.store.share_reflection(self._sid, reflection_id, bool(shared)):
            raise ClassroomError(N_("you have no reflection {id!r}"), id=reflection_id)

    # messages with the teacher (issue 16)

    def messages(self) -> list[dict]:
        """The student's thread with their teacher, oldest first: ``id``, ``sender``
        (``teacher`` or ``student``), ``author``, ``text`` (markdown; pages render it
        sanitized), ``at`` (UTC ISO) and ``read_at`` (when the other side read it, or None)."""
        self._check()
        return [_message(m) for m in self._classroom.store.student_messages([self._sid])]

    def unread_messages(self) -> list[dict]:
        """The teacher's messages the student has not marked as read yet."""
        return [m for m in self.messages() if m["sender"] == "teacher" and not m["read_at"]]

    def mark_messages_read(self, upto: int | None = None) -> int:
        """Mark the teacher's messages as read (up to message id ``upto``); how many were new."""
        self._check()
        if upto is None:
            upto = max((m["id"] for m in self.messages()), default=0)
        return self._classroom.store.mark_student_messages_read(
            self._sid, "teacher", int(upto), self._classroom.stamp())

    def reply(self, text: str) -> dict:
        """Write back to the teacher (sanitized when shown, like every text)."""
        from .family import _clean_text
        from .i18n import _

        self._check()
        text = _clean_text(text, _("message"))
        at = self._classroom.stamp()
        teacher = self._classroom.class_teacher(self.class_code)
        mid = self._classroom.store.add_student_message(self._sid, teacher, "student", self.name,
                                                        text, at)
        return {"id": mid, "sender": "student", "author": self.name, "text": text, "at": at,
                "read_at": None}

    def asset(self, quest_id: str, path: str) -> tuple[bytes, str, str | None]:
        """A file the quest ships (its ``assets:``), for this student: (bytes, type, captions path).

        Only for a quest assigned to the student's class and a path the quest lists.
        """
        self._check()
        self._assigned(quest_id)
        G = self._classroom.graph(quest_id)
        quest = G.graph["quest"]
        listed = {a.path: a for a in quest.assets}
        captions = {a.captions for a in quest.assets if a.captions}
        if path not in listed and path not in captions:
            raise ClassroomError(N_("this quest has no such material"))
        row = self._classroom.store.quest_asset(quest_id, quest.version, path)
        if row is None or not self._classroom.files.exists(row["sha256"]):
            raise ClassroomError(N_("this material is not on the server: ask your teacher for "
                                    "it"))
        asset = listed.get(path)
        return (self._classroom.files.read(row["sha256"]), row["mime"],
                asset.captions if asset is not None else None)

    def upload_limit(self) -> int:
        """The largest file this student may hand in, in bytes."""
        self._check()
        return self._classroom.upload_limit(self.class_code)

    def submit_files(self, quest_id: str, node: str, content: str,
                     files: list[tuple[str, bytes]]) -> Progress:
        """Hand in work with files (photos, recordings, videos, PDFs), checked by their bytes.

        Every file is checked (type from its first bytes, size under the class's limit) and
        stored before the submission is recorded; if one is refused, nothing is recorded.
        """
        self._check()
        self._assigned(quest_id)
        limit = self.upload_limit()
        stored = []
        for name, data in files:
            try:
                sha, size, mime = self._classroom.files.put(data, limit=limit)
            except FileStoreError as err:
                self._classroom._forget_files([f["sha256"] for f in stored])
                raise FileStoreError(f"“{name}”: {err}") from err
            stored.append({"name": _safe_name(name), "sha256": sha, "size": size, "mime": mime})
        text = content.strip() or ("(" + ", ".join(f["name"] for f in stored) + ")")
        try:
            progress = self.submit(quest_id, node, text)
        except BaseException:
            self._classroom._forget_files([f["sha256"] for f in stored])
            raise
        sub = self._classroom.store.latest_submission(self._sid, quest_id, node)
        self._classroom.store.add_submission_files(sub, stored, self._classroom.stamp())
        return progress

    def my_files(self, quest_id: str, node: str) -> list[dict]:
        """The files this student handed in for a step, per submission (newest last)."""
        self._assigned(quest_id)
        store = self._classroom.store
        subs = [r for r in store.export_student(self._sid).get("submissions", [])
                if r["quest_id"] == quest_id and r["node"] == node]
        return store.submission_files([r["id"] for r in subs])

    def profile(self) -> Profile:
        self._check()
        store = self._classroom.store
        xp, mastery, picks, reflections = 0, {}, [], []
        for a in store.assignments(self.class_code):
            progress = self._classroom._progress(self._sid, a["quest_id"])
            status = store.quest_status(self._sid, a["quest_id"])
            xp += max(progress.xp, status["xp"] if status else 0)
            mastery.update(progress.mastery)
            picks += [{"quest": a["quest_id"], "node": p.node, "option": p.option,
                       "modality": p.modality, "outcome": p.outcome} for p in progress.picks]
            reflections += [{"quest": a["quest_id"], "node": n, "text": np.reflection}
                            for n, np in progress.nodes.items() if np.reflection]
        saved = store.profile(self._sid)
        return Profile(self.name, self.class_code, xp, level_for(xp),
                       [b["badge"] for b in store.badges_of(self._sid)], mastery, picks,
                       saved["interests"], saved["goals"], reflections)

    def set_interests(self, interests: list[str]) -> list[str]:
        self._check()
        if not isinstance(interests, (list, tuple)):
            raise ClassroomError(N_("interests are a list of short texts"))
        if len(interests) > 20:
            raise ClassroomError(N_("at most 20 interests"))
        cleaned = [_clean_name(i, "interest") for i in interests]
        saved = self._classroom.store.profile(self._sid)
        self._classroom.store.save_profile(self._sid, cleaned, saved["goals"],
                                           self._classroom.stamp())
        return cleaned

    def add_goal(self, text: str) -> dict:
        self._check()
        text = (text or "").strip() if isinstance(text, str) else ""
        if not text:
            raise ClassroomError(N_("a goal needs some words"))
        if len(text) > MAX_SHORT_TEXT:
            raise ClassroomError(N_("a goal is at most {most} characters"), most=MAX_SHORT_TEXT)
        store = self._classroom.store
        with store.write():
            saved = store.profile(self._sid)
            if len(saved["goals"]) >= 50:
                raise ClassroomError(N_("at most 50 goals; mark some done or remove them"))
            goal = {"id": secrets.token_hex(4), "text": text, "done": False,
                    "created": self._classroom.stamp()}
            store.save_profile(self._sid, saved["interests"], saved["goals"] + [goal],
                               self._classroom.stamp())
        return goal

    def set_goal_done(self, goal_id: str, done: bool = True) -> None:
        self._edit_goals(goal_id, lambda g: {**g, "done": bool(done)})

    def remove_goal(self, goal_id: str) -> None:
        self._edit_goals(goal_id, lambda g: None)

    def _edit_goals(self, goal_id: str, change: Callable[[dict], dict | None]) -> None:
        self._check()
        store = self._classroom.store
        with store.write():
            saved = store.profile(self._sid)
            if not any(g["id"] == goal_id for g in saved["goals"]):
                raise ClassroomError(N_("you have no goal {id!r}"), id=goal_id)
            goals = [g if g["id"] != goal_id else change(g) for g in saved["goals"]]
            store.save_profile(self._sid, saved["interests"], [g for g in goals if g],
                               self._classroom.stamp())


def _message(row: dict) -> dict:
    return {k: row[k] for k in ("id", "sender", "author", "text", "at", "read_at")}


def _attempts(G: nx.DiGraph, p: Progress) -> dict[str, list[dict]]:
    """Every answered attempt of each step, oldest first: the question text, the answer,
    and whether it was right (graded again here, as the engine graded it)."""
    from .grading import grade_question

    out: dict[str, list[dict]] = {}
    for n, np in p.nodes.items():
        questions = list(getattr(G.nodes[n]["node"], "questions", None) or []) if n in G else []
        rounds = [h for h in np.history if h.get("answers")]
        if np.answers:
            rounds.append({"round": np.round, "outcome": np.outcome, "score": np.score,
                           "answers": np.answers, "time_up": np.time_up})
        for h in rounds:
            items = []
            for q in questions:
                given = h["answers"].get(q.id)
                try:
                    right = given is not None and grade_question(q, given)
                except (TypeError, ValueError):
                    right = False
                items.append({"question": q.prompt, "answer": given, "right": right})
            if not questions:  # a plugin kind: its answer as given
                items = [{"question": k, "answer": v, "right": None}
                         for k, v in h["answers"].items()]
            out.setdefault(n, []).append({"round": h["round"], "outcome": h.get("outcome"),
                                          "score": h.get("score"), "answers": items,
                                          "time_up": bool(h.get("time_up"))})
    return out


class TeacherSession(_Session):
    """Everything one teacher may do, limited to their own classes."""

    kind = "teacher"

    @property
    def name(self) -> str:
        return self._row["name"]

    @property
    def registry(self):
        """The classroom's plugin registry (the kinds its quests may use)."""
        return self._classroom.registry

    @property
    def teacher_id(self) -> int:
        return self._row["id"]

    @property
    def language(self) -> str | None:
        """The interface language the teacher chose (None: the browser's preference)."""
        row = self._classroom.store.teacher(self.teacher_id)
        return row.get("language") if row else None

    def set_language(self, language: str) -> str:
        """Keep ``language`` (``en``, ``es``) as this teacher's interface language."""
        from .i18n import check_language

        self._check()
        code = check_language(language)
        self._classroom.store.set_teacher_language(self.teacher_id, code)
        return code

    def classes(self) -> list[dict]:
        self._check()
        return self._classroom.store.classes_of(self.teacher_id)

    #: the teacher's time zone, as the browser reports it (None until then: the server's)
    time_zone = None

    def set_time_zone(self, name: str):
        """Show times in this IANA zone (``America/Chicago``); returns its ZoneInfo.

        The page sends the browser's zone (Intl.DateTimeFormat); it only changes how
        times are shown to this teacher, so it is kept on the session, not stored."""
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        self._check()
        text = str(name or "").strip()
        try:
            if not re.fullmatch(r"[A-Za-z0-9_+\-]+(/[A-Za-z0-9_+\-]+)*", text):
                raise ValueError(text)
            zone = ZoneInfo(text)
        except (ValueError, ZoneInfoNotFoundError) as err:
            raise ClassroomError(f"{text[:60]!r} is not a time zone; use a name like "
                                 "'America/Chicago', 'Europe/Paris' or 'UTC'") from err
        self.time_zone = zone
        return zone

    def _own_class(self, class_code: str) -> str:
        code = str(class_code or "").strip().upper()
        if code not in {c["code"] for c in self.classes()}:
            raise AccessDenied(N_("class {code!r} is not one of your classes"), code=class_code)
        return code

    def _own_student(self, student_id: int) -> dict:
        self._check()
        row = self._classroom.store.student(student_id)
        if row is None or row["class_code"] not in {c["code"] for c in self.classes()}:
            raise AccessDenied(N_("student {id!r} is not in your classes"), id=student_id)
        return row

    def accommodations(self, student_id: int) -> Accommodations:
        """One of your students' supports."""
        self._own_student(student_id)
        return self._classroom.accommodations(student_id)

    def set_accommodations(self, student_id: int, **settings) -> Accommodations:
        """Turn supports on or off for one of your students; the others stay as they were.

        ``settings`` are fields of :class:`~questengine.accommodations.Accommodations`
        (``read_aloud=True``, ``extra_attempts=2``...); an unknown one is an error naming
        the choices. The student's pages use them from their next action on.
        """
        self._own_student(student_id)
        classroom = self._classroom
        current = classroom.accommodations(student_id).model_dump()
        new = parse_accommodations({**current, **settings})
        classroom.store.save_accommodations(student_id, new.model_dump(), self.teacher_id,
                                            classroom.stamp())
        for key in [k for k in classroom._cache if k[0] == student_id]:
            classroom._cache.pop(key, None)  # replayed on the adapted graph next time
        return new

    def class_accommodations(self, class_code: str) -> dict[int, Accommodations]:
        """The students of a class who have supports, by student id."""
        code = self._own_class(class_code)
        ids = [s["id"] for s in self._classroom.store.students_in(code)]
        rows = self._classroom.store.accommodations(ids)
        return {sid: parse_accommodations(rows[sid]) for sid in ids if sid in rows
                and parse_accommodations(rows[sid]).any()}

    def students(self, class_code: str) -> list[dict]:
        code = self._own_class(class_code)
        return [{"id": s["id"], "name": s["name"], "class_code": s["class_code"]}
                for s in self._classroom.store.students_in(code)]

    def create_class(self, name: str, code: str | None = None) -> str:
        self._check()
        return self._classroom.create_class(self._row["email"], name, code)

    def add_student(self, class_code: str, name: str, pin: str | None = None) -> StudentLogin:
        return self._classroom.add_student(self._own_class(class_code), name, pin)

    def import_roster(self, class_code: str, source: str | Path) -> list[StudentLogin]:
        return self._classroom.import_roster(self._own_class(class_code), source)

    def login_troubles(self, class_code: str) -> list[dict]:
        """Students of a class with recent wrong PINs: how many, and how long they must wait.

        Each item: ``student_id``, ``name``, ``failures``, ``last`` (ISO time) and ``wait``
        (seconds before the next try is accepted). Most failures first.
        """
        code = self._own_class(class_code)
        c = self._classroom
        students = {student_login_key(code, s["name"]): s for s in c.store.students_in(code)}
        now = c.clock().timestamp()
        rows = c.store.login_failures_of(list(students), now - c.window.total_seconds())
        troubles = []
        for row in rows:
            wait = max(0.0, row["last"] + c._wait_after(row["failures"]) - now)
            student = students[row["key"]]
            troubles.append({"student_id": student["id"], "name": student["name"],
                             "failures": row["failures"], "wait": math.ceil(wait),
                             "last": datetime.fromtimestamp(row["last"], timezone.utc).isoformat()})
        return sorted(troubles, key=lambda t: (-t["failures"], t["name"]))

    def clear_login_troubles(self, student_id: int) -> None:
        """Forget a student's wrong PINs, so their next try is accepted at once."""
        row = self._own_student(student_id)
        self._classroom.store.clear_login_failures(student_login_key(row["class_code"],
                                                                     row["name"]))

    def reset_pin(self, student_id: int) -> str:
        self._own_student(student_id)
        pin = f"{secrets.randbelow(10000):04d}"
        self._classroom.store.set_pin(student_id, self._classroom.hasher.hash(pin))
        return pin

    def publish(self, quest: Quest | str | Path) -> int:
        self._check()
        return self._classroom.publish(quest, by=self.teacher_id)

    def published(self, quest_id: str) -> dict | None:
        self._check()
        return self._classroom.published(quest_id)

    def assign(self, quest_id: str, class_code: str) -> None:
        self._classroom.assign(quest_id, self._own_class(class_code), by=self.teacher_id)

    def progress(self, student_id: int, quest_id: str) -> Progress:
        row = self._own_student(student_id)
        if not any(a["quest_id"] == quest_id for a in self._classroom.store.assignments(row["class_code"])):
            raise AccessDenied(f"the quest {quest_id!r} is not assigned to {row['name']}'s class")
        return self._classroom._progress(student_id, quest_id)

    def review_queue(self, class_code: str | None = None) -> list[QueueItem]:
        """Submitted work waiting for review, oldest first, with the feedback of earlier rounds."""
        codes = [self._own_class(class_code)] if class_code else [c["code"] for c in self.classes()]
        store = self._classroom.store
        items = []
        for sub in store.pending_submissions(codes):
            G = self._classroom.graph(sub["quest_id"])
            node = G.nodes[sub["node"]]["node"] if sub["node"] in G else None
            earlier = [r for r in store.reviews_of(sub["student_id"], sub["quest_id"], sub["node"])]
            items.append(QueueItem(sub["id"], sub["student_id"], sub["student_name"],
                                   sub["class_code"], sub["quest_id"], sub["node"],
                                   node.title if node else sub["node"], sub["round"],
                                   sub["content"], sub["at"], earlier))
        return items

    def review(self, submission_id: int, decision: str, feedback: str = "") -> Progress:
        """Approve, fail or return (with feedback) one submission."""
        self._check()
        sub = self._classroom.store.submission(submission_id)
        if sub is None:
            raise ClassroomError(N_("there is no submission {id!r}"), id=submission_id)
        self._own_student(sub["student_id"])
        return self._classroom._play(sub["student_id"], sub["quest_id"],
                                     Action("review", sub["node"], decision=decision,
                                            feedback=feedback),
                                     "teacher", f"teacher:{self.teacher_id}")

    def override(self, student_id: int, quest_id: str, node: str, op: str, reason: str = "",
                 xp: int = 0, badge: str | None = None) -> Progress:
        """Unlock, reset, approve or award, with the reason recorded in the event log."""
        row = self._own_student(student_id)
        if not any(a["quest_id"] == quest_id for a in self._classroom.store.assignments(row["class_code"])):
            raise AccessDenied(f"the quest {quest_id!r} is not assigned to {row['name']}'s class")
        return self._classroom._play(student_id, quest_id,
                                     Action("override", node, op=op, reason=reason, xp=xp,
                                            badge=badge),
                                     "teacher", f"teacher:{self.teacher_id}")

    def student_record(self, student_id: int) -> dict:
        """A student's full record: every quest's states, feedback, profile and badges."""
        row = self._own_student(student_id)
        store = self._classroom.store
        quests = {}
        for a in store.assignments(row["class_code"]):
            p = self._classroom._progress(student_id, a["quest_id"])
            G = self._classroom.graph(a["quest_id"])
            quests[a["quest_id"]] = {
                "titles": {n: G.nodes[n]["node"].title for n in G},
                "attempts": _attempts(G, p),
                "title": a["title"], "xp": p.xp, "level": p.level, "complete": p.complete,
                "states": p.states(), "struggling": p.struggling, "mastery": p.mastery,
                # the same, as data a page words in its reader's language
                "out_of_attempts": {n: {"attempts": p.nodes[n].attempts, "allowed":
                                        G.nodes[n]["node"].max_attempts + p.nodes[n].extra_attempts}
                                    for n in p.struggling if n in G},
                "feedback": {n: [r.__dict__ for r in np.reviews] for n, np in p.nodes.items()
                             if np.reviews},
                "answers": {n: np.answers for n, np in p.nodes.items() if np.answers},
                "reflections": {n: np.reflection for n, np in p.nodes.items() if np.reflection},
            }
        return {"student": {"id": row["id"], "name": row["name"], "class_code": row["class_code"]},
                "quests": quests, "profile": store.profile(student_id),
                "accommodations": self._classroom.accommodations(student_id).model_dump(),
                "badges": [b["badge"] for b in store.badges_of(student_id)]}

    # the progress center ---------------------------------------------------------------------

    def _class_graphs(self, class_code: str) -> dict[str, nx.DiGraph]:
        code = self._own_class(class_code)
        return {a["quest_id"]: self._classroom.graph(a["quest_id"])
                for a in self._classroom.store.assignments(code)}

    def _class_graph(self, class_code: str, quest_id: str) -> tuple[str, nx.DiGraph]:
        graphs = self._class_graphs(class_code)
        if quest_id not in graphs:
            raise AccessDenied(f"the quest {quest_id!r} is not assigned to class {class_code}")
        return class_code.strip().upper(), graphs[quest_id]

    def assigned(self, class_code: str) -> list[dict]:
        """The quests assigned to one of the teacher's classes."""
        return self._classroom.store.assignments(self._own_class(class_code))

    def graph(self, class_code: str, quest_id: str) -> nx.DiGraph:
        return self._class_graph(class_code, quest_id)[1]

    def class_overview(self, class_code: str, quest_id: str) -> list[center.NodeCounts]:
        code, G = self._class_graph(class_code, quest_id)
        store = self._classroom.store
        return center.class_overview(list(G.graph["order"] or G), store.enrolled_count(code),
                                     store.node_state_counts(code, quest_id))

    def grid(self, class_code: str, quest_id: str) -> center.Grid:
        code, G = self._class_graph(class_code, quest_id)
        store = self._classroom.store
        return center.grid(store.class_students(code), list(G.graph["order"] or G),
                           store.class_progress(code, quest_id),
                           store.class_quest_status(code, quest_id),
                           {n: G.nodes[n]["node"].title for n in G})

    def struggling(self, class_code: str,
                   rules: center.StruggleRules = center.StruggleRules(), *,
                   translate=None) -> list[center.Struggle]:
        """Students of a class who need help now, most urgent first (see center.struggling),
        the reasons in the teacher's language when ``translate`` is their gettext function."""
        graphs = self._class_graphs(class_code)
        code, quests, store = class_code.strip().upper(), list(graphs), self._classroom.store
        now = self._classroom.clock()
        current, complete = {}, []
        for q in quests:  # where each student stands now: a struggle that is over is history
            current.update(((sid, q, node), state)
                           for sid, node, state, *_ in store.class_progress(code, q))
            complete += [(sid, q) for sid, _xp, done in store.class_quest_status(code, q) if done]
        return center.struggling(
            store.class_students(code), graphs, now, rules, current=current, complete=complete,
            fails=store.failed_nodes(code, quests, rules.gate_fails),
            stuck=store.stuck_nodes(code, quests, center.stuck_before(now, rules)),
            returned=store.returned_counts(code, quests, rules.returned),
            low_mastery=store.low_mastery(code, quests, rules.mastery_below),
            last_active=store.last_activity(code), translate=translate)

    def mastery(self, class_code: str) -> center.MasteryMatrix:
        code, store = self._own_class(class_code), self._classroom.store
        return center.mastery_matrix(store.class_students(code), store.class_mastery(code))

    def groups(self, class_code: str, threshold: float = 0.8, size: int = 5) -> list[center.Group]:
        return center.small_groups(self.mastery(class_code), threshold, size)

    def modality_insights(self, class_code: str, quest_id: str) -> list[center.ModalityInsight]:
        code, G = self._class_graph(class_code, quest_id)
        store = self._classroom.store
        return center.modality_insights(G, store.class_picks(code, quest_id),
                                        store.class_progress(code, quest_id))

    def parent_report(self, student_id: int) -> str:
        """A printable HTML report for the student's family."""
        row = self._own_student(student_id)
        graphs = self._class_graphs(row["class_code"])
        store = self._classroom.store
        rows = center.ReportRows(
            row["name"], store.get_class(row["class_code"])["name"],
            {q: dict(store.student_states(student_id, q)) for q in graphs},
            {q: store.quest_status(student_id, q) for q in graphs},
            store.student_mastery(student_id),
            [b["badge"] for b in store.badges_of(student_id)],
            store.profile(student_id)["goals"], store.recent_reflections(student_id, 3))
        return center.parent_report(rows, graphs, self._classroom.clock().date().isoformat())

    # the exports' reads (questengine.interop) ------------------------------------------------

    def roster(self, class_code: str) -> list[dict]:
        """The class's students for a roster: id, name, opaque_id (never a PIN or its hash)."""
        code = self._own_class(class_code)
        return [{"id": s["id"], "name": s["name"], "opaque_id": s["opaque_id"]}
                for s in self._classroom.store.students_in(code)]

    def class_events(self, class_code: str) -> list[dict]:
        """Every event of the class's students, oldest first, with the student's opaque id."""
        return self._classroom.store.class_events(self._own_class(class_code))

    def database_identity(self) -> str:
        """The random name of this classroom's database (stable xAPI statement ids)."""
        self._check()
        return self._classroom.store.database_identity()

    def quest_version(self, class_code: str, quest_id: str, version: int) -> Quest | None:
        """A quest assigned to the class, as it was at ``version`` (else its latest), or None."""
        code = self._own_class(class_code)
        if not any(a["quest_id"] == quest_id for a in self._classroom.store.assignments(code)):
            raise AccessDenied(f"the quest {quest_id!r} is not assigned to class {code}")
        row = (self._classroom.store.quest_row(quest_id, version)
               or self._classroom.store.quest_row(quest_id))
        if row is None:
            return None
        return loads_quest(row["source"], f"{quest_id} v{row['version']}", self._classroom.registry)

    def bulk_approve(self, submission_ids: list[int], feedback: str = "") -> tuple[int, list[str]]:
        """Approve several submissions: (how many were approved, why others were not).

        Ownership is checked for all of them first: one that is not the
        teacher's and nothing is approved.
        """
        subs = []
        for sid in submission_ids:
            sub = self._classroom.store.submission(sid)
            if sub is None:
                raise ClassroomError(f"there is no submission {sid!r}")
            self._own_student(sub["student_id"])
            subs.append(sub)
        approved, problems = 0, []
        for sub in subs:
            try:
                self.review(sub["id"], "approve", feedback)
                approved += 1
            except ProgressError as err:  # e.g. reviewed meanwhile in another tab
                problems.append(f"submission {sub['id']}: {err}")
        return approved, problems

    def export_student(self, student_id: int) -> dict:
        """Everything stored about a student, as JSON-ready data (for a family's request)."""
        self._own_student(student_id)
        return self._classroom.export_student(student_id)

    def export_student_files(self, student_id: int, folder: str | Path) -> list[Path]:
        """Copy the files a student of your classes handed in to ``folder``."""
        self._own_student(student_id)
        return self._classroom.export_student_files(student_id, folder)

    def submission_files(self, submission_id: int) -> list[dict]:
        """The files handed in with one submission (name, type, size, sha256)."""
        self._check()
        sub = self._classroom.store.submission(submission_id)
        if sub is None:
            raise ClassroomError(N_("there is no submission {id!r}"), id=submission_id)
        self._own_student(sub["student_id"])
        return self._classroom.store.submission_files([submission_id])

    def file(self, student_id: int, sha256: str) -> tuple[bytes, str]:
        """The bytes and type of a file a student of your classes handed in."""
        self._own_student(student_id)
        row = self._classroom.store.student_file(student_id, sha256)
        if row is None:
            raise ClassroomError("this student handed in no such file")
        return self._classroom.files.read(sha256), row["mime"]

    def class_upload_limit(self, class_code: str) -> int:
        """The largest file students of your class may hand in, in bytes."""
        return self._classroom.upload_limit(self._own_class(class_code))

    def set_upload_limit(self, class_code: str, megabytes: float) -> int:
        """Set the largest file students of your class may hand in (in MB); returns bytes."""
        code = self._own_class(class_code)
        if not isinstance(megabytes, (int, float)) or isinstance(megabytes, bool) or not (
                0 < megabytes <= 2048):
            raise ClassroomError(f"an upload limit is between 1 and 2048 MB, got {megabytes!r}")
        limit = int(megabytes * 1024 * 1024)
        self._classroom.store.set_upload_limit(code, limit)
        return limit

    def delete_student(self, student_id: int) -> dict[str, int]:
        """Delete every row about a student; returns rows deleted per table."""
        self._own_student(student_id)
        return self._classroom.delete_student(student_id)

    # families (questengine.family) -----------------------------------------------------------

    def family_codes(self, class_code: str, student_id: int | None = None) -> list[dict]:
        """New family codes for the class's students (or one student): ``{student_id, name,
        code}``. A student's older code stops working; links already made stay."""
        from .family import family_code_hash, new_family_code

        code = self._own_class(class_code)
        students = self._classroom.store.students_in(code)
        if student_id is not None:
            self._own_student(student_id)
            students = [s for s in students if s["id"] == student_id]
        out = [{"student_id": s["id"], "name": s["name"], "code": new_family_code()}
               for s in students]
        self._classroom.store.replace_family_codes(
            [(o["student_id"], family_code_hash(o["code"])) for o in out], self._classroom.stamp())
        return out

    def family_links(self, class_code: str) -> list[dict]:
        """The families linked (or asking to be) to the class's students, pending first."""
        return self._classroom.store.class_family_links(self._own_class(class_code))

    def _own_link(self, family_id: int, student_id: int) -> dict:
        self._own_student(student_id)
        link = self._classroom.store.family_link(family_id, student_id)
        if link is None:
            raise ClassroomError(f"family {family_id!r} has not asked to follow student "
                                 f"{student_id!r}")
        return link

    def approve_family(self, family_id: int, student_id: int) -> None:
        """Let this family see the student's page."""
        self._own_link(family_id, student_id)
        self._classroom.store.set_family_link(family_id, student_id, "approved",
                                              self._classroom.stamp())

    def unlink_family(self, family_id: int, student_id: int) -> None:
        """Remove a family's link (approved or pending): they see nothing of the student now."""
        self._own_link(family_id, student_id)
        self._classroom.store.set_family_link(family_id, student_id, None,
                                              self._classroom.stamp())

    def message_family(self, student_id: int, text: str, family_id: int | None = None) -> int:
        """A note to the student's approved families (or one of them); returns how many got it."""
        from .family import _clean_text

        self._own_student(student_id)
        text = _clean_text(text, Message(N_("note")))
        links = [l for l in self._classroom.store.class_family_links(
            self._classroom.store.student(student_id)["class_code"])
            if l["student_id"] == student_id and l["status"] == "approved"
            and (family_id is None or l["family_id"] == family_id)]
        if family_id is not None and not links:
            raise ClassroomError(f"family {family_id!r} is not an approved family of student "
                                 f"{student_id!r}")
        at = self._classroom.stamp()
        self._classroom.store.add_family_messages(
            [(student_id, l["family_id"], "teacher", self.name, text, at) for l in links])
        return len(links)

    def message_class_families(self, class_code: str, text: str) -> int:
        """The same note to every approved family of the class; returns how many got it."""
        from .family import _clean_text

        code = self._own_class(class_code)
        text = _clean_text(text, Message(N_("note")))
        links = [l for l in self._classroom.store.class_family_links(code)
                 if l["status"] == "approved"]
        at = self._classroom.stamp()
        self._classroom.store.add_family_messages(
            [(l["student_id"], l["family_id"], "teacher", self.name, text, at) for l in links])
        return len(links)

    def family_messages(self, student_id: int) -> list[dict]:
        """Every note between the teacher and the student's families, oldest first."""
        self._own_student(student_id)
        return self._classroom.store.family_messages(student_id)

    # messages to students (issue 16)

    def message_student(self, student_id: int, text: str) -> dict:
        """A message to one of your students, shown on their play page until they read it."""
        from .family import _clean_text
        from .i18n import _

        self._own_student(student_id)
        text = _clean_text(text, _("message"))
        at = self._classroom.stamp()
        mid = self._classroom.store.add_student_message(student_id, self.teacher_id, "teacher",
                                                        self.name, text, at)
        return {"id": mid, "sender": "teacher", "author": self.name, "text": text, "at": at,
                "read_at": None}

    def message_class(self, class_code: str, text: str) -> int:
        """The same message to every student of one of your classes; how many got it."""
        from .family import _clean_text
        from .i18n import _

        code = self._own_class(class_code)
        text = _clean_text(text, _("message"))
        at = self._classroom.stamp()
        students = self._classroom.store.students_in(code)
        self._classroom.store.add_student_messages(
            [(s["id"], self.teacher_id, "teacher", self.name, text, at) for s in students])
        return len(students)

    def student_messages(self, student_id: int, mark_read: bool = False) -> list[dict]:
        """The thread with one student, oldest first (see StudentSession.messages);
        ``mark_read`` marks the student's replies as read by you."""
        self._own_student(student_id)
        store = self._classroom.store
        thread = [_message(m) for m in store.student_messages([student_id])]
        if mark_read and any(m["sender"] == "student" and not m["read_at"] for m in thread):
            store.mark_student_messages_read(student_id, "student",
                                             max(m["id"] for m in thread), self._classroom.stamp())
        return thread

    def untranslated(self, quest_id: str, language: str) -> list[dict]:
        """A quest's texts with no translation into ``language`` (for a translator)."""
        from .i18n import untranslated

        self._check()
        code = str(language or "").strip().lower()
        if not re.fullmatch(r"[a-z]{2,3}", code):
            raise ClassroomError(f"a language is a two- or three-letter code (es, fr, haw), "
                                 f"got {language!r}")
        row = self._classroom.store.quest_row(quest_id)
        if row is None:
            raise ClassroomError(f"no quest {quest_id!r} is published")
        mine = row["published_by"] == self.teacher_id or any(
            a["quest_id"] == quest_id for c in self.classes()
            for a in self._classroom.store.assignments(c["code"]))
        if not mine:
            raise AccessDenied(f"the quest {quest_id!r} is neither yours nor assigned to your "
                               "classes")
        return untranslated(self._classroom.graph(quest_id).graph["quest"], code)
