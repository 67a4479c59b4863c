"""The interop commands (import-twee, export-xapi, bundle, import-bundle, roster export, export-grid).

Module-level click commands; :mod:`questengine.cli` adds them to the
``questengine`` group (and ``roster export`` to its ``roster`` group).

Like the rest of the CLI: exit 0 on success; exit 1 with one line per problem
(``FILE:LINE: message``, or ``error: message``) on stderr; exit 2 on usage errors.
Warnings are printed as ``FILE:LINE: warning: message`` and do not change the exit code.
"""
from __future__ import annotations

import sys
from pathlib import Path

import click

from ..cliopts import db_option as _db_option
from ..cliopts import friendly as _friendly
from ..cliopts import open_classroom
from ..errors import Problem, QuestEngineError
from ..plugins import installed_registry

__all__ = ["import_twee_cmd", "import_quiz_cmd", "export_xapi_cmd", "bundle_cmd",
           "import_bundle_cmd", "roster_export_cmd", "export_grid_cmd",
           "roster_import_oneroster_cmd"]


def _warn(problems: list[Problem]) -> None:
    for p in problems:
        where = f"{p.file}:{p.line}: " if p.file and p.line else (f"{p.file}: " if p.file else "")
        click.echo(f"{where}warning: {p.message}", err=True)


def _refuse_overwrite(output: str, force: bool) -> None:
    if output != "-" and Path(output).exists() and not force:
        raise QuestEngineError(f"{output} already exists; choose another name or pass --force "
                               "to replace it")


def _csv_out(text: str, output: str, bom: bool) -> None:
    from .rosters import write_csv

    if output == "-":
        click.echo(text, nl=False)
    else:
        write_csv(text, output, bom=bom)
        click.echo(f"wrote {output} ({max(text.count(chr(10)) - 1, 0)} student rows)", err=True)


@click.command("import-twee")
@click.argument("twee_file", type=click.Path(exists=True))
@click.option("-o", "--output", default="-", show_default=True,
              help="Quest file to write (YAML); '-' prints it.")
@click.option("--id", "quest_id", default=None,
              help="Quest id (default: made from the story's title).")
@click.option("--loops", type=click.Choice(["retry", "drop", "refuse"]), default="retry",
              show_default=True,
              help="What a link back to an earlier passage becomes: a gate's retry path where "
                   "the story asks a question and has a 'try again' passage (else left out), "
                   "always left out, or an error.")
@click.option("--drop-back-links", is_flag=True, help="The same as --loops drop.")
@click.option("--choices", type=click.Choice(["suggest", "quiz"]), default="suggest",
              show_default=True,
              help="Passages that ask a question and link to 'right' and 'wrong' passages: "
                   "name them in the report, or make them quiz nodes.")
@click.option("--force", is_flag=True, help="Replace the output file if it exists.")
@_friendly
def import_twee_cmd(twee_file: str, output: str, quest_id: str | None, loops: str,
                    drop_back_links: bool, choices: str, force: bool) -> None:
    """Import a Twine story as a quest: passages become nodes, links edges.

    TWEE_FILE is a Twee file (Twee 3, or Twee 1/2 with StoryIncludes), a folder
    of Twee files, or a story published from Twine 2 or Twine 1 (.html).
    Passages with no link onward become 'end' nodes. Tags set kinds: 'task',
    'review' (a task the teacher reviews), 'end', and 'quiz' or 'gate' when the
    passage's metadata holds "questions". Positions are kept for the map.
    Harlowe, SugarCube, Chapbook and Snowman links are all found. What the
    import kept, merged and dropped is printed, with why.
    """
    from .twee import load_twee, quest_yaml

    _refuse_overwrite(output, force)
    if quest_id is not None:
        import re
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}", quest_id):
            raise click.BadParameter("use letters, digits, '-', '_' or '.'", param_hint="--id")
    result = load_twee(twee_file, quest_id=quest_id,
                       loops="drop" if drop_back_links else loops, choices=choices)
    _warn(result.warnings)
    for line in result.report():
        click.echo(line, err=True)
    text = quest_yaml(result, Path(twee_file).name)
    if output == "-":
        click.echo(text, nl=False)
    else:
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(output).with_name(f".{Path(output).name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(output)
        q = result.quest
        click.echo(f"{output}: quest {q.id!r} with {len(q.nodes)} nodes and {len(q.edges)} "
                   f"edges ({sum(n.kind == 'end' for n in q.nodes)} end(s))", err=True)

@click.command("import-quiz")
@click.argument("quiz_file", type=click.Path(exists=True))
@click.option("--into", "quest_file", required=True, type=click.Path(dir_okay=False, exists=True),
              help="Quest file (YAML or JSON) to write the questions into.")
@click.option("--node", "node_id", required=True, help="Id of the quiz or gate node to fill.")
@click.option("--replace", is_flag=True, help="Replace the node's questions instead of "
                                              "adding after them.")
@_friendly
def import_quiz_cmd(quiz_file: str, quest_file: str, node_id: str, replace: bool) -> None:
    """Import quiz questions from Moodle GIFT or IMS QTI 2.1 into a quiz or gate node.

    QUIZ_FILE is a GIFT file, a QTI 2.1 item (.xml), or a QTI content package
    (.zip or folder). Choice, multiple-answer, numerical and short-answer items
    are imported; the others (matching, essays...) are named in a warning. The
    quest file keeps its comments and key order.
    """
    from .quizfiles import add_questions, read_quiz

    quiz = read_quiz(quiz_file)
    _warn(quiz.warnings)
    _quest, added = add_questions(quest_file, node_id, quiz, replace=replace)
    left = f" ({len(quiz.skipped)} left out, see the warnings)" if quiz.skipped else ""
    how = "now holds" if replace else "gained"
    click.echo(f"{quest_file}: node {node_id!r} {how} {len(added)} {quiz.format} "
               f"question(s){left}: {', '.join(added)}", err=True)

@click.command("export-xapi")
@click.option("--class", "class_code", required=True, help="Class code.")
@click.option("-o", "--output", default="-", show_default=True,
              help="JSON Lines file (one statement a line); '-' prints them.")
@click.option("--homepage", default="https://questengine.invalid", show_default=True,
              help="Your school's web address; student accounts are named under it.")
@click.option("--base", default=None,
              help="Address that quest, node and verb IRIs are made under (default: --homepage).")
@click.option("--include-text", is_flag=True,
              help="Also export submitted work, answers, feedback and reflections "
                   "(personal text; left out by default).")
@click.option("--lrs", "lrs_url", default=None,
              help="Send the statements to this learning record store (its xAPI address, "
                   "e.g. https://lrs.example/xAPI/) instead of printing them; the "
                   "credentials (user:password) come from $QUESTENGINE_LRS_AUTH.")
@click.option("--batch-size", default=100, show_default=True, type=click.IntRange(1, 10_000),
              help="Statements per request to the record store.")
@_db_option
@_friendly
def export_xapi_cmd(class_code: str, output: str, homepage: str, base: str | None,
                    include_text: bool, lrs_url: str | None, batch_size: int,
                    db_path: str) -> None:
    """Export every event of a class as xAPI statements (students as opaque accounts).

    Statement ids stay the same from one export to the next (and change when a
    statement's content does), so a learning record store keeps each once:
    sending a class again with --lrs stores only what is new.
    """
    from .xapi import export_xapi, statements

    classroom = open_classroom(db_path, must_exist=True)
    options = dict(homepage=homepage, base=base, include_text=include_text)
    if lrs_url:
        import os

        from .lrs import AUTH_ENV, send_statements

        report = send_statements(statements(classroom, class_code, **options), lrs_url,
                                 auth=os.environ.get(AUTH_ENV) or None,
                                 batch_size=batch_size)
        click.echo(f"{lrs_url}: {report}", err=True)
        if report.conflicts:
            raise QuestEngineError(
                f"{len(report.conflicts)} statement(s) were refused: the record store holds "
                "different statements under their ids (another database exported with "
                "the same identity?)")
        if output == "-":
            return
    if output == "-":
        export_xapi(classroom, class_code, sys.stdout, **options)
    else:
        count = export_xapi(classroom, class_code, output, **options)
        click.echo(f"wrote {count} statements to {output}", err=True)

@click.command("bundle")
@click.argument("quest_file", type=click.Path(dir_okay=False))
@click.option("-o", "--output", default=None,
              help="Bundle to write (default: QUEST.quest.zip in the current folder).")
@click.option("--allow-missing", is_flag=True,
              help="Bundle even if some assets the quest refers to are missing.")
@click.option("--force", is_flag=True, help="Replace the output file if it exists.")
@_friendly
def bundle_cmd(quest_file: str, output: str | None, allow_missing: bool, force: bool) -> None:
    """Pack a quest and its assets (files under assets/ it refers to) into one zip."""
    from .bundle import build_bundle

    output = output or f"{Path(quest_file).name.split('.')[0]}.quest.zip"
    _refuse_overwrite(output, force)
    manifest = build_bundle(quest_file, output, allow_missing=allow_missing,
                            registry=installed_registry())
    for ref in manifest.get("missing", []):
        click.echo(f"{quest_file}: warning: asset {ref} is missing; not in the bundle",
                   err=True)
    assets = len(manifest["files"]) - 1
    click.echo(f"{output}: quest {manifest['quest']['id']!r} with {assets} asset(s)", err=True)

@click.command("import-bundle")
@click.argument("bundle_file", type=click.Path(dir_okay=False))
@click.option("--quests", "quests_dir", type=click.Path(file_okay=False), default="quests",
              show_default=True, help="Folder for the quest file and its assets/.")
@click.option("--assign", "class_code", default=None, help="Also assign it to this class.")
@click.option("--teacher", "teacher_email", default=None,
              help="Email of the teacher who owns the quest (default: the --assign "
                   "class's teacher).")
@click.option("--replace", is_flag=True,
              help="Publish over a different quest with the same id (as a new version) "
                   "and overwrite different files.")
@_db_option
@_friendly
def import_bundle_cmd(bundle_file: str, quests_dir: str, class_code: str | None,
                      teacher_email: str | None, replace: bool, db_path: str) -> None:
    """Check a quest bundle and publish it in this classroom, with its assets."""
    from . import InteropError
    from .bundle import import_bundle, read_bundle

    classroom = open_classroom(db_path)
    owner = classroom.teacher_id(teacher_email) if teacher_email else (
        classroom.class_teacher(class_code) if class_code else None)
    if owner is None:  # a new version of a published quest stays with its owner
        published = classroom.published(read_bundle(bundle_file, classroom.registry).quest.id)
        owner = published["published_by"] if published else None
    if owner is None:
        raise InteropError(f"{bundle_file}: say which teacher owns this new quest: "
                           "--teacher EMAIL, or --assign CLASS (its teacher owns it)")
    result = import_bundle(classroom, bundle_file, quests_dir, replace=replace, by=owner)
    if class_code:
        classroom.assign(result.quest_id, class_code)
    state = "published as" if result.new_version else "already published as"
    click.echo(f"{result.quest_id} {state} version {result.version}; "
               f"{len(result.written)} file(s) written, {len(result.unchanged)} unchanged"
               + (f"; assigned to {class_code.upper()}" if class_code else ""))

@click.command("export")
@click.option("--class", "class_code", required=True, help="Class code.")
@click.option("-o", "--output", default="-", show_default=True, help="CSV file; '-' prints it.")
@click.option("--anonymous", is_flag=True, help="Leave the names out (opaque ids only).")
@click.option("--no-bom", is_flag=True, help="Write UTF-8 without a byte-order mark.")
@_db_option
@_friendly
def roster_export_cmd(class_code: str, output: str, anonymous: bool, no_bom: bool,
                      db_path: str) -> None:
    """Export a class roster as CSV: name, opaque_id, class_code.

    PINs are not exported: only their hashes are stored. Importing this file
    into another class (`questengine roster import`) gives the students new PINs.
    """
    from .rosters import roster_csv

    _csv_out(roster_csv(open_classroom(db_path, must_exist=True), class_code, anonymous=anonymous),
             output, not no_bom)

@click.command("export-grid")
@click.option("--class", "class_code", required=True, help="Class code.")
@click.option("--quest", "quest_id", required=True, help="Id of a quest assigned to the class.")
@click.option("-o", "--output", default="-", show_default=True, help="CSV file; '-' prints it.")
@click.option("--anonymous", is_flag=True, help="Leave the names out (opaque ids only).")
@click.option("--no-bom", is_flag=True, help="Write UTF-8 without a byte-order mark.")
@_db_option
@_friendly
def export_grid_cmd(class_code: str, quest_id: str, output: str, anonymous: bool,
                    no_bom: bool, db_path: str) -> None:
    """Export the progress grid as CSV: one row per student, one column per node (its state)."""
    from .rosters import grid_csv

    _csv_out(grid_csv(open_classroom(db_path, must_exist=True), class_code, quest_id,
                      anonymous=anonymous), output, not no_bom)


@click.command("import-oneroster")
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
@click.option("--logins", "logins_file", type=click.Path(dir_okay=False), default=None,
              help="Write the new students' class codes and PINs to this CSV file (default: "
                   "print them). Behind JupyterHub nobody needs them: the hub user is the login.")
@_db_option
@_friendly
def roster_import_oneroster_cmd(folder: str, logins_file: str | None, db_path: str) -> None:
    """Create or update classes, teachers and students from a OneRoster 1.1 CSV FOLDER.

    Records are matched by sourcedId, so importing again updates instead of duplicating;
    each user's username becomes their hub username.
    """
    from .oneroster import import_oneroster

    result = import_oneroster(open_classroom(db_path), Path(folder))
    lines = ["class_code,name,pin"] + [f"{x.class_code},{x.name},{x.pin}" for x in result.logins]
    if logins_file:
        Path(logins_file).write_text("\n".join(lines) + "\n", encoding="utf-8")
    elif result.logins:
        click.echo("\n".join(lines))
    click.echo(result.summary(), err=True)
