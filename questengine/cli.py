"""The ``questengine`` command: a thin layer over the library.

Exit codes: 0 success, 1 a problem with the input (one line per problem,
``FILE:LINE: message``), 2 a usage error (click's own).
"""
from __future__ import annotations

import random
import sys
from pathlib import Path

import click

from .errors import QuestEngineError, QuestFileError, QuestValidationError
from .graph import quest_graph, validate
from .loader import load_quest
from .rewards import level_progress
from .simulate import play

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
    files = _quest_files(paths)
    for path in files:
        try:
            problems = validate(load_quest(path))
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


def _load_graph(path: str):
    try:
        return quest_graph(load_quest(path))
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
@click.option("--quests", "folder", type=click.Path(file_okay=False), default=None,
              help="Folder of quests (default: the sample quests).")
@click.option("--seed", type=int, default=1, show_default=True)
def demo_cmd(folder: str | None, seed: int) -> None:
    """Validate the sample quests and show a simulated play-through of each."""
    root = Path(folder) if folder else _sample_quests()
    files = _quest_files((str(root),))
    for path in files:
        click.echo(f"== {path}")
        G = _load_graph(str(path))
        click.echo("valid: yes")
        _print_playthrough(G, seed, 0.6)
        click.echo()


def _sample_quests() -> Path:
    here = Path(__file__).resolve().parent
    for candidate in (here / "quests", here.parent / "quests", Path.cwd() / "quests"):
        if candidate.is_dir():
            return candidate
    raise click.UsageError("no sample quests found; pass --quests FOLDER")


def run() -> None:  # pragma: no cover - entry for `python -m questengine`
    try:
        main()
    except QuestEngineError as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(1)
