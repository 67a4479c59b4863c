"""Loader tests: the malformed-input corpus, safe YAML, JSON, round-trip and saving.

Every error a teacher sees must read ``FILE:LINE: key.path: message``, name the
culprit and, where there is a fixed set of choices, list them. The corpus is
``tests/malformed/``; what each file must produce is in
``tests/malformed/EXPECTED.yaml``.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from questengine.errors import Problem, QuestFileError, QuestValidationError
from questengine.graph import check, validate
from questengine.loader import MAX_FILE_BYTES, dumps_quest, load_quest, loads_quest, save_quest
from questengine.model import Edge, StoryNode

CORPUS = Path(__file__).parent / "malformed"
EXPECTED = YAML(typ="safe", pure=True).load((CORPUS / "EXPECTED.yaml").read_text(encoding="utf-8"))
CORPUS_FILES = sorted(p.name for p in CORPUS.iterdir() if p.name != "EXPECTED.yaml")


def problems_of(path: Path | str) -> list[Problem]:
    """Everything wrong with a quest file: load errors, else validation problems."""
    try:
        quest = load_quest(path)
    except QuestFileError as err:
        return err.problems
    return validate(quest)


def show(problems: list[Problem]) -> str:
    return "\n".join(str(p) for p in problems) or "(no problems)"


# --- the malformed corpus ------------------------------------------------------


def test_corpus_and_expectations_match():
    assert len(CORPUS_FILES) >= 28
    assert sorted(EXPECTED) == CORPUS_FILES
    assert any(name.endswith(".json") for name in CORPUS_FILES)


@pytest.mark.parametrize("name", CORPUS_FILES)
def test_malformed_file(name):
    want = EXPECTED[name]
    path = CORPUS / name
    problems = problems_of(str(path))
    assert problems, f"{name} loaded and validated without a problem"
    assert len(problems) == want.get("count", 1), show(problems)

    matching = [p for p in problems if p.path == want["path"]]
    assert matching, f"no problem names the key path {want['path']!r}; got:\n{show(problems)}"
    problem = matching[0]
    assert problem.file == str(path)
    assert problem.line == want["line"], f"wrong line; got:\n{show(problems)}"
    for part in want["contains"]:
        assert part in problem.message, f"{part!r} missing from: {problem}"

    where = f"{path}:{want['line']}: " + (f"{want['path']}: " if want["path"] else "")
    assert str(problem) == where + problem.message


def test_validation_error_lists_every_problem_with_lines():
    path = CORPUS / "20_unreachable_requires_all.yaml"
    with pytest.raises(QuestValidationError) as info:
        check(load_quest(path))
    lines = str(info.value).splitlines()
    assert len(lines) == 2
    assert all(re.match(rf"{re.escape(str(path))}:\d+: nodes\[\d\]: ", ln) for ln in lines)


def test_too_large_file_is_refused_without_parsing(tmp_path):
    path = tmp_path / "huge.yaml"
    story = "The forest is very large. " * (10 * 1024 * 1024 // 26 + 1)
    path.write_text(
        "id: huge\ntitle: A huge quest\n"
        f"story: {story}\n"
        "nodes:\n  - {id: end, kind: end, title: The end}\n",
        encoding="utf-8",
    )
    assert path.stat().st_size > 10 * 1024 * 1024
    with pytest.raises(QuestFileError) as info:
        load_quest(path)
    [problem] = info.value.problems
    assert problem.file == str(path)
    assert str(problem).startswith(f"{path}:")
    assert "MB" in problem.message and "at most" in problem.message
    assert f"{MAX_FILE_BYTES / 1e6:.1f} MB" in problem.message

    with pytest.raises(QuestFileError, match="larger than"):
        loads_quest(path.read_text(encoding="utf-8"), "huge.yaml")


def test_non_utf8_file_names_the_line_of_the_bad_byte(tmp_path):
    # saved by an old editor in Windows-1252: "forêt" is b"for\xeat"
    path = tmp_path / "latin1.yaml"
    path.write_bytes(
        b"id: foret\n"
        b"title: La for\xeat des fractions\n"
        b"nodes:\n"
        b"  - {id: end, kind: end, title: Fin}\n"
    )
    with pytest.raises(QuestFileError) as info:
        load_quest(path)
    [problem] = info.value.problems
    assert "UTF-8" in problem.message
    assert problem.line == 2, str(problem)
    assert str(problem).startswith(f"{path}:2: ")


def test_utf8_with_bom_loads(tmp_path):
    path = tmp_path / "bom.yaml"
    path.write_bytes("\ufeffid: bom\ntitle: La forêt\nnodes:\n  - {id: end, kind: end, title: Fin}\n"
                     .encode("utf-8"))
    assert load_quest(path).title == "La forêt"


def test_missing_file_names_the_file(tmp_path):
    path = tmp_path / "nope.yaml"
    with pytest.raises(QuestFileError) as info:
        load_quest(path)
    assert str(path) in str(info.value)
    assert "cannot read" in str(info.value)


# --- YAML that must stay plain data --------------------------------------------

NORWAY = """\
id: on
title: 2024-01-02
nodes:
  - {id: yes, kind: story, title: no}
  - {id: off, kind: task, title: On, text: 2024-01-02T10:30:00}
  - id: quiz
    kind: quiz
    title: Yes
    questions:
      - {id: y, type: choice, prompt: "Is 2/4 equal to 1/2?", options: [yes, no], answer: yes}
      - {id: n, type: text, prompt: "Is 2/3 equal to 1/2?", accept: [no, NO, off]}
  - {id: 2024-06-30, kind: end, title: 2024-06-30}
edges:
  - [yes, off]
  - [off, quiz]
  - [quiz, 2024-06-30]
"""


def _assert_norway(quest):
    assert quest.id == "on"
    assert quest.title == "2024-01-02"
    assert [n.id for n in quest.nodes] == ["yes", "off", "quiz", "2024-06-30"]
    assert [n.title for n in quest.nodes] == ["no", "On", "Yes", "2024-06-30"]
    assert quest.nodes[1].text == "2024-01-02T10:30:00"
    choice, text = quest.nodes[2].questions
    assert choice.options == ["yes", "no"] and choice.answer == "yes"
    assert text.accept == ["no", "NO", "off"]
    assert [(e.source, e.target) for e in quest.edges] == [
        ("yes", "off"), ("off", "quiz"), ("quiz", "2024-06-30")]
    assert validate(quest) == []


def test_yes_no_on_off_and_dates_stay_strings():
    _assert_norway(loads_quest(NORWAY, "norway.yaml"))


def test_yaml_1_1_directive_does_not_turn_them_into_booleans_or_dates():
    _assert_norway(loads_quest("%YAML 1.1\n---\n" + NORWAY, "norway11.yaml"))


def test_yaml_directive_changes_no_value():
    body = ("id: octal\ntitle: 010\nnodes:\n"
            "  - {id: intro, kind: story, title: 0777, xp: 10}\n"
            "  - {id: end, kind: end, title: 1_000}\n"
            "edges: [[intro, end]]\n")
    plain = loads_quest(body, "plain.yaml")
    old = loads_quest("%YAML 1.1\n---\n" + body, "old.yaml")
    assert old.model_dump() == plain.model_dump()


def test_number_like_ids_and_titles_keep_their_text():
    # lessons numbered 1.1 ... 1.10 are common; 1.10 must not become "1.1"
    text = ("id: unit-1\ntitle: 1.10\nnodes:\n"
            "  - {id: 1.1, kind: story, title: 007}\n"
            "  - {id: 1.10, kind: end, title: 1.50}\n"
            "edges: [[1.1, 1.10]]\n")
    quest = loads_quest(text, "numbers.yaml")
    assert quest.title == "1.10"
    assert [n.id for n in quest.nodes] == ["1.1", "1.10"]
    assert [n.title for n in quest.nodes] == ["007", "1.50"]
    assert validate(quest) == []


DANGEROUS = {
    "apply-title": ('id: q\ntitle: !!python/object/apply:os.system ["touch {marker}"]\n'
                    "nodes:\n  - {{id: end, kind: end, title: End}}\n", 2, "python/object/apply"),
    "apply-document": ('!!python/object/apply:os.system ["touch {marker}"]\n', 1,
                       "python/object/apply"),
    "object-node": ("id: q\ntitle: T\nnodes:\n"
                    "  - !!python/object/new:os.system [\"touch {marker}\"]\n"
                    "  - {{id: end, kind: end, title: End}}\n", 4, "python/object/new"),
    "object-mapping": ("id: q\ntitle: T\nnodes:\n"
                       "  - !!python/object:collections.OrderedDict {{id: end, kind: end, title: E}}\n",
                       4, "python/object"),
    "name": ("id: q\ntitle: !!python/name:os.system\n"
             "nodes:\n  - {{id: end, kind: end, title: End}}\n", 2, "python/name"),
    "include": ("id: q\ntitle: T\nnodes:\n  - !include ../../etc/passwd\n", 4, "!include"),
}


@pytest.mark.parametrize("case", sorted(DANGEROUS))
def test_yaml_tags_are_refused_and_nothing_runs(case, tmp_path):
    marker = tmp_path / "pwned"
    template, line, tag = DANGEROUS[case]
    path = tmp_path / "evil.yaml"
    path.write_text(template.format(marker=marker), encoding="utf-8")
    with pytest.raises(QuestFileError) as info:
        load_quest(path)
    assert not marker.exists(), "a YAML tag ran code"
    problems = info.value.problems
    assert len(problems) == 1, show(problems)
    problem = problems[0]
    assert "tag" in problem.message.lower(), str(problem)
    assert tag in problem.message, str(problem)
    assert problem.line == line, str(problem)
    assert "TaggedScalar" not in problem.message and "Commented" not in problem.message


# --- JSON ------------------------------------------------------------------------

JSON_QUEST = """\
{
  "id": "fraction-walk",
  "title": "A Walk with Fractions",
  "nodes": [
    {"id": "intro", "kind": "story", "title": "Into the forest"},
    {"id": "boss", "kind": "quiz", "title": "The Bridge Troll", "pass_score": 0.5,
     "questions": [
       {"id": "q1", "type": "choice", "prompt": "Which equals 1/2?",
        "options": ["2/4", "2/3"], "answer": "2/4"}
     ]},
    {"id": "end", "kind": "end", "title": "Out of the forest", "rewards": {"xp": 50}}
  ],
  "edges": [["intro", "boss"], {"from": "boss", "to": "end", "when": "success"}]
}
"""

SAME_IN_YAML = """\
id: fraction-walk
title: A Walk with Fractions
nodes:
  - {id: intro, kind: story, title: Into the forest}
  - id: boss
    kind: quiz
    title: The Bridge Troll
    pass_score: 0.5
    questions:
      - {id: q1, type: choice, prompt: Which equals 1/2?, options: ["2/4", "2/3"], answer: "2/4"}
  - {id: end, kind: end, title: Out of the forest, rewards: {xp: 50}}
edges:
  - [intro, boss]
  - {from: boss, to: end, when: success}
"""


def test_json_file_loads_like_yaml(tmp_path):
    path = tmp_path / "walk.json"
    path.write_text(JSON_QUEST, encoding="utf-8")
    quest = load_quest(path)
    assert validate(quest) == []
    assert quest.model_dump() == loads_quest(SAME_IN_YAML, "walk.yaml").model_dump()


def test_json_errors_have_lines(tmp_path):
    path = tmp_path / "walk.json"
    path.write_text(JSON_QUEST.replace('"pass_score": 0.5', '"pass_score": 70'), encoding="utf-8")
    with pytest.raises(QuestFileError) as info:
        load_quest(path)
    [problem] = info.value.problems
    assert str(problem) == f"{path}:6: nodes[1].pass_score: must be between 0 and 1, got 70"


def test_json_round_trip_keeps_key_order(tmp_path):
    path = tmp_path / "walk.json"
    text = ('{\n  "title": "A Walk",\n  "id": "walk",\n'
            '  "nodes": [\n'
            '    {"kind": "story", "id": "intro", "title": "Into the forest"},\n'
            '    {"kind": "end", "id": "end", "title": "Out"}\n  ],\n'
            '  "edges": [["intro", "end"]]\n}\n')
    path.write_text(text, encoding="utf-8")
    quest = load_quest(path)
    save_quest(quest.model_copy(update={"title": "A Long Walk"}), path)
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert list(saved) == ["title", "id", "nodes", "edges"]
    assert [list(n) for n in saved["nodes"]] == [["kind", "id", "title"]] * 2
    assert saved["title"] == "A Long Walk"


# --- round trip and saving -------------------------------------------------------

FOREST = """\
# The Fraction Forest - grade 4, unit 3
id: fraction-forest
title: The Fraction Forest
version: 3
story: The forest paths are marked in fractions.  # shown on the map
competencies:
  - {id: equiv, name: Equivalent fractions, standard: CCSS.MATH.CONTENT.4.NF.A.1}
nodes:
  # --- the way in
  - {id: intro, kind: story, title: Into the forest, text: "The path forks."}
  - id: learn
    kind: choice
    title: Learn equivalent fractions
    competencies: [equiv]
    options:
      - {id: video, modality: video, label: Watch, url: "https://example.org/v.mp4", complete: self}
      - {id: sheet, modality: worksheet, label: Worksheet, complete: review}
  # --- the checkpoint
  - id: check
    kind: gate
    title: Checkpoint  # keep it short
    competencies: [equiv]
    threshold: 0.8
    max_attempts: 3
    questions:
      - {id: q1, type: choice, prompt: Which equals 1/2?, options: ["2/4", "2/3"], answer: "2/4"}
      - {id: q2, type: number, prompt: 1/4 + 1/4 as a decimal, answer: 0.5, tolerance: 0.001}
  - id: practice
    title: Extra practice   # the remediation path
    kind: task
    complete: self
  - {id: end, kind: end, title: Out of the forest, rewards: {xp: 100, badge: forest-ranger}}
edges:
  - [intro, learn]
  - [learn, check]
  - {from: check, to: end, when: success}   # the happy path
  - {from: check, to: practice, when: fail}
  - {from: practice, to: check, when: retry}
"""

COMMENTS = [
    "# The Fraction Forest - grade 4, unit 3",
    "story: The forest paths are marked in fractions.  # shown on the map",
    "  # --- the way in",
    "  # --- the checkpoint",
    "    title: Checkpoint  # keep it short",
    "  - {from: check, to: end, when: success}   # the happy path",
]


@pytest.fixture
def forest(tmp_path) -> Path:
    path = tmp_path / "forest.yaml"
    path.write_text(FOREST, encoding="utf-8")
    return path


def _in_order(lines: list[str], wanted: list[str]) -> bool:
    it = iter(lines)
    return all(any(w == ln for ln in it) for w in wanted)


def test_unchanged_quest_dumps_to_the_same_text(forest):
    quest = load_quest(forest)
    assert validate(quest) == []
    assert dumps_quest(quest) == FOREST


def test_loaded_twice_is_equal(forest):
    assert load_quest(forest) == load_quest(forest)


def _edited(quest):
    nodes = list(quest.nodes)
    i = [n.id for n in nodes].index("practice")
    nodes[i] = nodes[i].model_copy(update={"title": "More practice"})
    nodes.insert(i + 1, StoryNode(id="rest", kind="story", title="A rest by the river"))
    edges = [*quest.edges, Edge(source="rest", target="end")]
    return quest.model_copy(update={"nodes": nodes, "edges": edges})


def test_round_trip_keeps_comments_and_key_order(forest):
    edited = _edited(load_quest(forest))
    text = dumps_quest(edited)
    lines = text.splitlines()

    # every comment survives, on the line of what it describes, in order
    for comment in COMMENTS:
        assert comment in lines, f"lost or moved: {comment!r}\n{text}"
    assert _in_order(lines, COMMENTS)
    # the edited node: new title, its comment and its own key order kept
    at = lines.index("  - id: practice")
    assert lines[at + 2:at + 4] == ["    kind: task", "    complete: self"], text
    assert re.fullmatch(r"    title: More practice +# the remediation path", lines[at + 1]), text
    # the new node comes right after it, before the end node
    rest = next(i for i, ln in enumerate(lines) if "id: rest" in ln)
    end = next(i for i, ln in enumerate(lines) if "id: end, kind: end" in ln)
    assert at + 4 == rest < end, text
    # top-level key order unchanged
    top = [ln.split(":")[0] for ln in lines if re.match(r"^[a-z_]+:", ln)]
    assert top == ["id", "title", "version", "story", "competencies", "nodes", "edges"]

    reloaded = loads_quest(text, "forest.yaml")
    assert validate(reloaded) == []
    assert reloaded.model_dump() == edited.model_dump()
    assert reloaded == edited


def test_comments_stay_with_their_edge_when_an_edge_is_inserted(forest):
    quest = load_quest(forest)
    nodes = [StoryNode(id="map", kind="story", title="Read the map"), *quest.nodes]
    edges = [Edge(source="map", target="learn"), *quest.edges]
    text = dumps_quest(quest.model_copy(update={"nodes": nodes, "edges": edges}))
    assert "  - {from: check, to: end, when: success}   # the happy path" in text.splitlines(), text
    assert "# the happy path" not in text.replace("when: success}   # the happy path", ""), text


def test_save_quest_then_reload_is_equal(forest, tmp_path):
    edited = _edited(load_quest(forest))
    out = tmp_path / "saved.yaml"
    assert save_quest(edited, out) == out
    reloaded = load_quest(out)
    assert reloaded.model_dump() == edited.model_dump()
    assert reloaded == edited
    assert "# the happy path" in out.read_text(encoding="utf-8")


def test_save_quest_as_json(forest, tmp_path):
    quest = load_quest(forest)
    out = save_quest(quest, tmp_path / "forest.json")
    json.loads(out.read_text(encoding="utf-8"))  # plain JSON
    assert load_quest(out).model_dump() == quest.model_dump()


def test_save_quest_leaves_only_the_file(forest):
    save_quest(_edited(load_quest(forest)), forest)
    assert [p.name for p in forest.parent.iterdir()] == ["forest.yaml"]


def test_save_quest_is_atomic_when_the_write_fails(forest, monkeypatch):
    quest = _edited(load_quest(forest))
    real_write = Path.write_text

    def half_write(self, data, *args, **kwargs):
        real_write(self, data[: len(data) // 2], *args, **kwargs)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_text", half_write)
    with pytest.raises(OSError):
        save_quest(quest, forest)
    monkeypatch.undo()
    assert forest.read_text(encoding="utf-8") == FOREST
    assert [p.name for p in forest.parent.iterdir()] == ["forest.yaml"], "a temporary file was left"


def test_save_quest_is_atomic_when_the_rename_fails(forest, monkeypatch):
    quest = _edited(load_quest(forest))

    def no_rename(self, target):
        raise OSError(13, "Permission denied")

    monkeypatch.setattr(Path, "replace", no_rename)
    with pytest.raises(OSError):
        save_quest(quest, forest)
    monkeypatch.undo()
    assert forest.read_text(encoding="utf-8") == FOREST
    assert [p.name for p in forest.parent.iterdir()] == ["forest.yaml"], "a temporary file was left"
