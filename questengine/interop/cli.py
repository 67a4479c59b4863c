"""The interop commands (import-twee, export-xapi, bundle, import-bundle, roster export, export-grid).

Like the rest of the CLI: exit 0 on success; exit 1 with one line per problem
(``FILE:LINE: message``, or ``error: message``) on stderr; exit 2 on usage errors.
Warnings are printed as ``FILE:LINE: warning: message`` and do not change the exit code.
"""
from __future__ import annotations

import sys
from pathlib import Path

import click

from ..errors import Problem, QuestEngineError


def _friendly(fn):
    """The main CLI's error wrapper: one line per problem, exit code 1."""
    from ..cli import _friendly as friendly

    return friendly(fn)


def _db_option(fn):
    return click.option("--db", "db_path", type=click.Path(dir_okay=False),
                        envvar="QUESTENGINE_DB", default="run/classroom.db", show_default=True,
                        help="Classroom database file (or set QUESTENGINE_DB).")(fn)


def _existing_classroom(db_path: str):
    from ..classroom import Classroom

    if not Path(db_path).is_file():
        raise click.UsageError(f"{db_path} does not exist; pass --db with your classroom "
                               "database (or set QUESTENGINE_DB)")
    return Classroom(db_path)


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


def register(main: click.Group) -> None:
    """Add the interop commands to the ``questengine`` command group."""

    @main.command("import-twee")
    @click.argument("twee_file", type=click.Path(dir_okay=False))
    @click.option("-o", "--output", default="-", show_default=True,
                  help="Quest file to write (YAML); '-' prints it.")
    @click.option("--id", "quest_id", default=None,
                  help="Quest id (default: made from the story's title).")
    @click.option("--drop-back-links", is_flag=True,
                  help="Leave out links that make the story loop (each is reported) instead "
                       "of stopping.")
    @click.option("--force", is_flag=True, help="Replace the output file if it exists.")
    @_friendly
    def import_twee_cmd(twee_file: str, output: str, quest_id: str | None,
                        drop_back_links: bool, force: bool) -> None:
        """Import a Twine story (Twee 3) as a quest: passages become nodes, links edges.

        Passages with no link onward become 'end' nodes. Tags set kinds: 'task',
        'review' (a task the teacher reviews), 'end', and 'quiz' or 'gate' when the
        passage's metadata holds "questions". Positions ({"position":"x,y"}) are
        kept for the map. Harlowe, SugarCube, Chapbook and Snowman links are all found.
        """
        from .twee import load_twee, quest_yaml

        _refuse_overwrite(output, force)
        if quest_id is not None:
            import re
            if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}", quest_id):
                raise click.BadParameter("use letters, digits, '-', '_' or '.'", param_hint="--id")
        result = load_twee(twee_file, quest_id=quest_id, drop_back_links=drop_back_links)
        _warn(result.warnings)
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

    @main.command("export-xapi")
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
    @_db_option
    @_friendly
    def export_xapi_cmd(class_code: str, output: str, homepage: str, base: str | None,
                        include_text: bool, db_path: str) -> None:
        """Export every event of a class as xAPI statements (students as opaque accounts).

        Statement ids stay the same from one export to the next, so a learning
        record store can drop the ones it already has.
        """
        from .xapi import export_xapi

        classroom = _existing_classroom(db_path)
        options = dict(homepage=homepage, base=base, include_text=include_text)
        if output == "-":
            export_xapi(classroom, class_code, sys.stdout, **options)
        else:
            count = export_xapi(classroom, class_code, output, **options)
            click.echo(f"wrote {count} statements to {output}", err=True)

    @main.command("bundle")
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
        manifest = build_bundle(quest_file, output, allow_missing=allow_missing)
        for ref in manifest.get("missing", []):
            click.echo(f"{quest_file}: warning: asset {ref} is missing; not in the bundle",
                       err=True)
        assets = len(manifest["files"]) - 1
        click.echo(f"{output}: quest {manifest['quest']['id']!r} with {assets} asset(s)", err=True)

    @main.command("import-bundle")
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
        from ..classroom import Classroom
        from . import InteropError
        from .bundle import import_bundle, read_bundle

        Path(db_path).parent.mkdir(parents=True, exist_ok=True)
        classroom = Classroom(db_path)
        owner = classroom.teacher_id(teacher_email) if teacher_email else (
            classroom.class_teacher(class_code) if class_code else None)
        if owner is None:  # a new version of a published quest stays with its owner
            published = classroom.store.quest_row(read_bundle(bundle_file).quest.id)
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

    roster = main.commands.get("roster")
    if not isinstance(roster, click.Group):
        @main.group("roster")
        def roster() -> None:
            """Class rosters."""

    @roster.command("export")
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

        _csv_out(roster_csv(_existing_classroom(db_path), class_code, anonymous=anonymous),
                 output, not no_bom)

    @main.command("export-grid")
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

        _csv_out(grid_csv(_existing_classroom(db_path), class_code, quest_id,
                          anonymous=anonymous), output, not no_bom)
