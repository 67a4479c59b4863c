"""The ``questengine`` command: a thin layer over the library.

Exit codes: 0 success, 1 a problem with the input (one line per problem,
``FILE:LINE: message``), 2 a usage error (click's own).
"""
from __future__ import annotations

import os
import random
import sys
from pathlib import Path

import click

from .cliopts import db_option as _db_option
from .cliopts import friendly as _friendly
from .cliopts import open_classroom
from .errors import QuestEngineError, QuestFileError, QuestValidationError
from .graph import quest_graph, validate
from .loader import load_quest
from .plugins import installed_registry
from .rewards import level_progress
from .simulate import play
from .store import is_postgres

QUEST_SUFFIXES = (".yaml", ".yml", ".json")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="questengine")
def main() -> None:
    """questengine: quest maps for personalized learning."""


def _quest_files(paths: tuple[str, ...]) -> list[Path]:
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix.lower() in QUEST_SUFFIXES)
            if not found:
                raise click.UsageError(f"{raw}: no quest files (.yaml, .yml, .json) in this folder")
            files += found
        else:
            files.append(path)
    return files


@main.command("validate")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
def validate_cmd(paths: tuple[str, ...]) -> None:
    """Check quest files (or folders of them); print FILE:LINE: problem lines."""
    bad = 0
    registry = installed_registry()  # questengine's kinds and the installed plugins' kinds
    files = _quest_files(paths)
    for path in files:
        try:
            problems = validate(load_quest(path, registry), registry)
        except QuestFileError as err:
            problems = err.problems
        for problem in problems:
            click.echo(str(problem))
        if problems:
            bad += 1
        else:
            click.echo(f"{path}: ok", err=True)
    if bad:
        click.echo(f"{bad} of {len(files)} file(s) have problems", err=True)
        sys.exit(1)


@main.command("simulate")
@click.argument("quest", type=click.Path())
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed of the play-through.")
@click.option("--skill", type=click.FloatRange(0, 1), default=0.6, show_default=True,
              help="Chance of answering each question right.")
def simulate_cmd(quest: str, seed: int, skill: float) -> None:
    """Play a quest with random choices and answers, printing every step."""
    G = _load_graph(quest)
    _print_playthrough(G, seed, skill)


def _load_graph(path: str, registry=None):
    registry = registry if registry is not None else installed_registry()
    try:
        return quest_graph(load_quest(path, registry), registry)
    except (QuestFileError, QuestValidationError) as err:
        for problem in err.problems:
            click.echo(str(problem), err=True)
        sys.exit(1)


def _print_playthrough(G, seed: int, skill: float) -> None:
    quest = G.graph["quest"]
    run = play(G, random.Random(seed), skill=skill)
    click.echo(f"{quest.title} (v{quest.version}), seed {seed}")
    for step in run.steps:
        click.echo(f"{step.number:3}. {step.node:<14} {step.what}")
        for node, (old, new) in step.changes.items():
            click.echo(f"       {node:<14} {old} -> {new}")
    p = run.progress
    level, into, span = level_progress(p.xp)
    click.echo(f"path: {' > '.join(run.path)}")
    click.echo(f"XP {p.xp}, level {level} ({into}/{span} to the next)")
    click.echo(f"badges: {', '.join(p.badges) or 'none'}")
    if p.complete:
        click.echo(f"end reached: {p.ends[-1]} ({G.nodes[p.ends[-1]]['node'].title})")
    else:
        click.echo("no end reached: the student is waiting for the teacher")


@main.command("demo")
@click.option("--no-serve", is_flag=True, help="Only build the demo database and print the logins.")
@click.option("--db", "db_path", default="run/demo.db", show_default=True, metavar="ADDRESS",
              help="Demo database: a SQLite file (replaced), or postgresql://user@host/dbname "
                   "(an empty database).")
@click.option("--quests", "folder", type=click.Path(file_okay=False), default=None,
              help="Folder of quests (default: the sample quests).")
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--port", type=int, default=8866, show_default=True)
@_friendly
def demo_cmd(no_serve: bool, db_path: str, folder: str | None, seed: int, port: int) -> None:
    """Validate the sample quests, build a demo classroom and print its logins."""
    from .demo import build_demo
    from .simulate import SimulationError

    root = Path(folder) if folder else _sample_quests()
    registry = installed_registry()
    for path in _quest_files((str(root),)):
        G = _load_graph(str(path), registry)
        try:
            run = play(G, random.Random(seed))
        except SimulationError as err:
            raise SimulationError(f"{path}: the demo's simulated students cannot play this "
                                  f"quest: {err}") from err
        click.echo(f"{path}: valid; a simulated student took {len(run.steps)} steps: "
                   f"{' > '.join(run.path)}")
    click.echo(f"building the demo classroom in {db_path} ...")
    info = build_demo(db_path, root, seed=seed)
    click.echo(f"class {info.class_code}: {len(info.students)} students, quests: "
               f"{', '.join(info.quests)}")
    click.echo(f"teacher login: {info.teacher_email} / {info.teacher_password}")
    click.echo("student logins (class code, name, PIN):")
    for login in info.students:
        click.echo(f"  {login.class_code}  {login.name:<16} {login.pin}")
    if not no_serve:
        _serve(db_path if is_postgres(db_path) else Path(db_path), port, f"student: class {info.class_code}, name "
               f"{info.students[0].name}, PIN {info.students[0].pin}",
               f"{info.teacher_email} / {info.teacher_password}")


def _serve(db: Path, port: int, hint: str = "", teacher: str = "") -> None:
    from .server import VoilaServer

    import signal

    server = VoilaServer(db, port=port)
    # a SIGTERM (a service manager stopping us) stops Voilà too, through the finally below
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server.start(log=None if os.environ.get("QUESTENGINE_QUIET") else sys.stderr)
    click.echo(f"play page:        {server.url('play')}" + (f"   ({hint})" if hint else ""))
    click.echo(f"progress center:  {server.url('progress')}" +
               (f"   (teacher: {teacher})" if teacher else ""))
    click.echo(f"quest editor:     {server.url('author')}")
    click.echo(f"family page:      {server.url('family')}   (a family signs up with the code "
               "from the teacher's handout)")
    click.echo("stop with Ctrl+C")
    try:
        server.process.wait()
    except KeyboardInterrupt:
        click.echo("stopping ...")
    finally:
        server.stop()


@main.command("serve")
@_db_option
@click.option("--port", type=int, default=8866, show_default=True)
def serve_cmd(db_path: str, port: int) -> None:
    """Serve the pages with Voilà on 127.0.0.1 over the classroom database."""
    if not is_postgres(db_path) and not Path(db_path).is_file():
        raise click.UsageError(f"{db_path} does not exist; run `questengine init-db` or "
                               "`questengine demo` first")
    _serve(db_path if is_postgres(db_path) else Path(db_path), port)


def _sample_quests() -> Path:
    here = Path(__file__).resolve().parent
    # in a wheel they ship inside the package; in a checkout they sit beside it
    for candidate in (here / "_quests", here.parent / "quests", Path.cwd() / "quests"):
        if candidate.is_dir():
            return candidate
    raise click.UsageError("no sample quests found; pass --quests FOLDER")


# --- classroom administration ---------------------------------------------------

def _classroom(db_path: str):
    return open_classroom(db_path)


@main.command("init-db")
@_db_option
@_friendly
def init_db_cmd(db_path: str) -> None:
    """Create (or migrate) the classroom database."""
    classroom = _classroom(db_path)
    click.echo(f"{db_path}: schema version {classroom.store.schema_version}")


@main.command("migrate")
@click.option("--from", "source", required=True, metavar="ADDRESS",
              help="The classroom to copy: a SQLite file (or postgresql://...).")
@click.option("--to", "target", required=True, metavar="ADDRESS",
              help="An empty database: postgresql://user@host/dbname (or a new SQLite file).")
@_friendly
def migrate_cmd(source: str, target: str) -> None:
    """Copy a whole classroom into another database, then verify it (counts and a replay).

    Ids, logins, quests and every event are kept; the target must be empty.
    Students' sessions go along, so nobody has to log in again.
    """
    from .store import open_store
    from .store.copy import copy_classroom

    if not is_postgres(source) and not Path(source).is_file():
        raise click.UsageError(f"{source} does not exist; pass --from with your classroom "
                               "database")
    src = open_classroom(source).store
    dst = open_classroom(target).store
    try:
        report = copy_classroom(src, dst)
    finally:
        src.close()
        dst.close()
    shown = getattr(dst, "shown", target)
    click.echo(f"copied to {shown}: " + ", ".join(f"{t} {n}" for t, n in report.rows.items()
                                                   if n))
    if not report.ok:
        for problem in report.problems:
            click.echo(f"error: {problem}", err=True)
        sys.exit(1)
    click.echo(f"verified: the same rows in all {len(report.rows)} tables; "
               f"{report.replayed} event logs replayed alike")


@main.group("teacher")
def teacher_group() -> None:
    """Manage teachers."""


@teacher_group.command("add")
@click.argument("email")
@click.option("--name", required=True, help="The teacher's name as students see it.")
@click.password_option("--password", envvar="QUESTENGINE_PASSWORD",
                       help="At least 8 characters (or set QUESTENGINE_PASSWORD).")
@_db_option
@_friendly
def teacher_add_cmd(email: str, name: str, password: str, db_path: str) -> None:
    """Add a teacher who logs in with EMAIL and a password."""
    _classroom(db_path).add_teacher(email, name, password)
    click.echo(f"teacher {email.strip().lower()} added")


@main.group("class")
def class_group() -> None:
    """Manage classes."""


@class_group.command("create")
@click.argument("name")
@click.option("--teacher", "teacher_email", required=True, help="Email of the class's teacher.")
@click.option("--code", default=None, help="Class code students type (default: generated).")
@_db_option
@_friendly
def class_create_cmd(name: str, teacher_email: str, code: str | None, db_path: str) -> None:
    """Create a class; prints its code."""
    code = _classroom(db_path).create_class(teacher_email, name, code)
    click.echo(code)


@main.group("roster")
def roster_group() -> None:
    """Class rosters."""


@roster_group.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--class", "class_code", required=True, help="Class code.")
@_db_option
@_friendly
def roster_import_cmd(csv_file: str, class_code: str, db_path: str) -> None:
    """Add the students of a CSV roster (column 'name', optional 'pin'); prints their logins."""
    logins = _classroom(db_path).import_roster(class_code, Path(csv_file))
    click.echo("class_code,name,pin")
    for login in logins:
        click.echo(f"{login.class_code},{login.name},{login.pin}")


@roster_group.command("hub-username")
@click.argument("hub_username")
@click.option("--teacher", "teacher_email", metavar="EMAIL", help="The teacher to map.")
@click.option("--class", "class_code", metavar="CODE", help="The student's class code.")
@click.option("--student", "student_name", metavar="NAME", help="The student's name.")
@_db_option
@_friendly
def roster_hub_username_cmd(hub_username: str, teacher_email: str | None,
                            class_code: str | None, student_name: str | None,
                            db_path: str) -> None:
    """Map a teacher or a student to their JupyterHub username ("" removes it)."""
    who = _classroom(db_path).map_hub_user(hub_username, teacher_email=teacher_email,
                                           class_code=class_code, student_name=student_name)
    if who["hub_username"]:
        click.echo(f"{who['kind']} {who['name']} is hub user {who['hub_username']}")
    else:
        click.echo(f"{who['kind']} {who['name']} has no hub user now")


@main.command("assign")
@click.argument("quest")
@click.argument("class_code")
@_db_option
@_friendly
def assign_cmd(quest: str, class_code: str, db_path: str) -> None:
    """Publish QUEST (a quest file, or the id of a published quest) and assign it to CLASS_CODE."""
    classroom = _classroom(db_path)
    owner = classroom.class_teacher(class_code)  # the class's teacher owns what is assigned to it
    if Path(quest).is_file():
        loaded = load_quest(quest, classroom.registry)
        version = classroom.publish(loaded, by=owner)
        quest_id = loaded.id
    else:
        quest_id, version = quest, None
    classroom.assign(quest_id, class_code)
    click.echo(f"{quest_id}{f' v{version}' if version else ''} assigned to {class_code.upper()}")


@main.group("student")
def student_group() -> None:
    """A student's data: export it whole, or delete it whole."""


@student_group.command("export")
@click.option("--class", "class_code", required=True)
@click.option("--name", required=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), default="-",
              help="JSON file (default: standard output).")
@_db_option
@_friendly
def student_export_cmd(class_code: str, name: str, output: str, db_path: str) -> None:
    """Export everything stored about one student as JSON."""
    import json

    classroom = _classroom(db_path)
    data = classroom.export_student(classroom.find_student(class_code, name)["id"])
    with click.open_file(output, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2, ensure_ascii=False)
        fh.write("\n")


@student_group.command("delete")
@click.option("--class", "class_code", required=True)
@click.option("--name", required=True)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@_db_option
@_friendly
def student_delete_cmd(class_code: str, name: str, yes: bool, db_path: str) -> None:
    """Delete every row about one student (cannot be undone)."""
    classroom = _classroom(db_path)
    student = classroom.find_student(class_code, name)
    if not yes:
        click.confirm(f"Delete all data of {student['name']} in {student['class_code']}?",
                      abort=True)
    counts = classroom.delete_student(student["id"])
    click.echo(f"deleted {sum(counts.values())} rows: " +
               ", ".join(f"{t} {n}" for t, n in counts.items() if n))


@main.group("family")
def family_group() -> None:
    """Families: the printable handout of family codes."""


@family_group.command("codes")
@click.option("--class", "class_code", required=True, help="Class code.")
@click.option("--name", default=None, help="Only this student (default: the whole class).")
@click.option("--lang", "language", default="en", show_default=True,
              help="Language of the handout (en, es).")
@click.option("--url", "page_url", default="", help="The family page's address, printed on it.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default="-",
              help="HTML file to print (default: standard output).")
@_db_option
@_friendly
def family_codes_cmd(class_code: str, name: str | None, language: str, page_url: str,
                     output: str, db_path: str) -> None:
    """New family codes, one printable page per student (older codes stop working)."""
    from .family import handout_html
    from .i18n import check_language

    classroom = _classroom(db_path)
    language = check_language(language)
    teacher = classroom.teacher_session(class_code)
    student = classroom.find_student(class_code, name)["id"] if name else None
    codes = teacher.family_codes(class_code, student)
    klass = next(c for c in teacher.classes() if c["code"] == class_code.strip().upper())
    with click.open_file(output, "w", encoding="utf-8") as fh:
        fh.write(handout_html(codes, klass["name"], teacher.name, page_url, language))
    if output != "-":
        click.echo(f"{output}: {len(codes)} family code{'s' if len(codes) != 1 else ''} "
                   f"for class {klass['code']}")


@main.command("untranslated")
@click.argument("quest", type=click.Path(exists=True, dir_okay=False))
@click.option("--lang", "language", required=True, help="The translation's language (es, fr...).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default="-",
              help="CSV file (default: standard output).")
@_friendly
def untranslated_cmd(quest: str, language: str, output: str) -> None:
    """The texts of a quest file with no translation into --lang, as CSV for a translator
    (key, original, translation: the key says where it goes under translations.LANG)."""
    from .csvsafe import csv_text
    from .i18n import untranslated
    from .loader import load_quest

    todo = untranslated(load_quest(quest, installed_registry()), language.strip().lower())
    rows = [(t["key"], t["text"] if isinstance(t["text"], str) else " | ".join(t["text"]), "")
            for t in todo]
    with click.open_file(output, "w", encoding="utf-8") as fh:
        fh.write(csv_text(["key", "original", "translation"], rows))


def run() -> None:  # pragma: no cover - entry for `python -m questengine`
    try:
        main()
    except QuestEngineError as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(1)



# the interop commands live beside their modules; they share this module's options
from .interop import cli as _interop  # noqa: E402

for _command in (_interop.import_twee_cmd, _interop.import_quiz_cmd, _interop.export_xapi_cmd,
                 _interop.bundle_cmd, _interop.import_bundle_cmd, _interop.export_grid_cmd):
    main.add_command(_command)
roster_group.add_command(_interop.roster_export_cmd)

# issue 17, district deployment: `questengine hub` and `roster import-oneroster`
from .hub.cli import hub_cmd as _hub_cmd  # noqa: E402

main.add_command(_hub_cmd)
roster_group.add_command(_interop.roster_import_oneroster_cmd)
