"""Twine (Twee 3) import: realistic stories in four story formats, every link form,
tags and kinds, loops, bad input, and the `questengine import-twee` command.

Every story imported here must validate, survive a YAML round trip and be played
to an end by the simulator.
"""
from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from questengine import load_quest, loads_quest, quest_graph, validate
from questengine.cli import main
from questengine.errors import QuestEngineError, QuestFileError
from questengine.interop.twee import (
    TweeImportError, find_links, load_twee, loads_twee, parse_twee, quest_yaml, slug, split_link,
)
from questengine.simulate import play

FIXTURES = Path(__file__).parent / "fixtures" / "twee"
STORIES = sorted(FIXTURES.glob("*.twee"))
LOOPING = {"maple-library-sugarcube.twee"}  # ends with a "Play again" link back to the start


def imported(path: Path):
    return load_twee(path, drop_back_links=path.name in LOOPING)


def codes(problems) -> list[str]:
    return [p.code for p in problems]


# --- the stories ----------------------------------------------------------------------------


def test_fixtures_cover_four_story_formats():
    formats = {parse_twee(p.read_text(encoding="utf-8"), str(p)).format for p in STORIES}
    assert formats == {"Harlowe", "SugarCube", "Chapbook", "Snowman"}


@pytest.mark.parametrize("path", STORIES, ids=lambda p: p.name)
def test_every_story_imports_validates_and_round_trips(path):
    result = imported(path)
    quest = result.quest
    assert validate(quest) == []
    assert any(n.kind == "end" for n in quest.nodes)
    # the YAML we write loads back to the same quest
    again = loads_quest(quest_yaml(result, path.name), "again.yaml")
    assert again == quest
    # no markup or code is left in the text students read
    for node in quest.nodes:
        text = node.text or ""
        for leftover in ("[[", "]]", "<<", ">>", "(set:", "(if:", "<%", "<script", "<style",
                         "{link", "data-passage", "<p>", "<h2>"):
            assert leftover not in text, (node.id, leftover, text)


@pytest.mark.parametrize("path", STORIES, ids=lambda p: p.name)
@pytest.mark.parametrize("seed", range(6))
def test_every_story_can_be_played_to_an_end(path, seed):
    G = quest_graph(imported(path).quest)
    run = play(G, random.Random(seed), skill=0.8)
    assert run.progress.complete, run.path
    assert run.progress.ends[0] in {n.id for n in G.graph["quest"].nodes if n.kind == "end"}


def test_harlowe_story():
    result = load_twee(FIXTURES / "lighthouse-harlowe.twee")
    q = result.quest
    assert (q.id, q.title) == ("the-lighthouse-keeper", "The Lighthouse Keeper")
    assert "Harlowe 3.3.8" in q.description and "5B3C2E1A-7D44-4F1E-9C2B-8E6A0F9D1C37" in q.description
    kinds = {n.id: n.kind for n in q.nodes}
    assert kinds == {"storm-warning": "story", "the-lens-room": "story", "clean-glass": "task",
                     "lamp-room": "story", "signal-the-boat": "story",
                     "radio-the-marigold": "story", "safe-harbour": "end"}
    # the start comes from StoryData; header/startup/stylesheet passages are not nodes
    assert q.nodes[0].id == "storm-warning"
    edges = {(e.source, e.target) for e in q.edges}
    assert edges == {
        ("storm-warning", "the-lens-room"),        # [[text->target]]
        ("storm-warning", "lamp-room"),
        ("the-lens-room", "clean-glass"),          # (go-to:) inside a (link:) hook
        ("clean-glass", "lamp-room"),              # (link-goto: "text", "target")
        ("lamp-room", "signal-the-boat"),          # [[target<-text]]
        ("lamp-room", "radio-the-marigold"),       # [[target]]
        ("signal-the-boat", "safe-harbour"),
        ("radio-the-marigold", "safe-harbour"),    # [[text|target]]
    }
    assert all(e.when == "done" for e in q.edges)
    # a passage reached by either of two links needs only one of them
    assert q.node("lamp-room").requires == "any"
    assert q.node("safe-harbour").requires == "any"
    assert q.node("storm-warning").requires == "all"
    assert q.node("storm-warning").position == (400.0, 100.0)
    text = q.node("storm-warning").text
    assert "**The radio crackles.**" in text and "*Marigold*" in text
    assert "Check the lens" in text and "Light the lamp at once" in text
    assert "Circles, not lines" in q.node("clean-glass").text  # a named hook keeps its prose
    assert "Now light the lamp" in q.node("clean-glass").text
    # the unreached note passage is reported, not imported
    assert result.left_out == ["Old Logbook"]
    assert "unreached" in codes(result.warnings)


def test_sugarcube_story_loop_is_dropped_by_default_and_refused_on_request():
    path = FIXTURES / "maple-library-sugarcube.twee"
    with pytest.raises(TweeImportError) as info:
        load_twee(path, loops="refuse")
    (problem,) = info.value.problems
    assert problem.code == "cycle" and problem.line == 86 and problem.file == str(path)
    message = str(problem)
    assert "'Case Closed' links back to 'Start'" in message
    assert "retry" in message and "unroll" in message and "--loops" in message
    assert "\n" not in message

    result = load_twee(path)  # "Play again" is not a question's "try again": left out
    assert result.dropped_links == [("Case Closed", "Start")]
    (dropped,) = [w for w in result.warnings if w.code == "back_link_dropped"]
    assert "'Case Closed' back to 'Start'" in dropped.message and dropped.line == 86
    q = result.quest
    kinds = {n.id: n.kind for n in q.nodes}
    assert kinds["case-closed"] == "end"
    # special passages (StoryInit, StoryCaption), scripts, styles and widgets are not nodes
    assert {"storyinit", "storycaption", "widgets", "story-javascript"}.isdisjoint(kinds)
    edges = {(e.source, e.target) for e in q.edges}
    assert ("start", "librarian") in edges            # [[text|target][$setter]]
    assert ("librarian", "map-table") in edges        # <<link "text" "target">>
    assert ("reading-room", "map-table") in edges     # <<goto>> inside <<button>>
    assert ("map-table", "returns-cart") in edges
    assert ("the-park-family", "returns-cart") in edges
    assert q.node("start").text.startswith("## The Missing Atlas")
    assert "## Where do you start?" in q.node("start").text  # SugarCube's !! heading
    assert "Look at the map table" in q.node("librarian").text


def test_chapbook_story():
    result = load_twee(FIXTURES / "honeybee-chapbook.twee")
    q = result.quest
    edges = {(e.source, e.target) for e in q.edges}
    assert ("waking-up", "watch-the-dance") in edges  # {link to: ..., label: ...}
    assert ("waking-up", "the-meadow") in edges
    assert ("clover-field", "home-to-the-hive") in edges
    assert q.node("clover-field").kind == "task" and q.node("clover-field").complete == "self"
    text = q.node("waking-up").text
    assert "nectar: 0" not in text                    # the vars section
    assert "Authors:" not in text                     # a [note] section
    assert "Watch the waggle dance" in text
    assert result.left_out == []
    assert result.merged == {"Bee Fact": ["The Meadow"]}  # only embedded: folded into its host
    assert "bee-fact" not in {n.id for n in q.nodes}


def test_snowman_story_with_quiz_and_review_tags():
    q = load_twee(FIXTURES / "fraction-trail-snowman.twee").quest
    assert [n.kind for n in q.nodes] == ["story", "task", "quiz", "task", "end"]
    quiz = q.node("checkpoint")
    assert [qq.id for qq in quiz.questions] == ["half", "quarter"] and quiz.pass_score == 0.5
    assert q.node("summit").complete == "review"
    assert ("trailhead", "pizza-sign") in {(e.source, e.target) for e in q.edges}  # data-passage
    assert "s.steps" not in (quiz.text or "")


# --- links ------------------------------------------------------------------------------------


@pytest.mark.parametrize("inner, expected", [
    ("Cave", ("Cave", "Cave")),
    ("Enter the cave->Cave", ("Enter the cave", "Cave")),
    ("Cave<-Enter the cave", ("Enter the cave", "Cave")),
    ("Enter the cave|Cave", ("Enter the cave", "Cave")),
    ("Enter the cave|Cave][$torch to true", ("Enter the cave", "Cave")),
    ("A->B->Cave", ("A->B", "Cave")),            # the rightmost arrow wins
    ("Cave<-B<-A", ("B<-A", "Cave")),            # the leftmost arrow wins
    (" Enter -> Cave ", ("Enter", "Cave")),
])
def test_split_link(inner, expected):
    assert split_link(inner) == expected


@pytest.mark.parametrize("body, fmt, targets", [
    ("[[Cave]] and [[Go->Hill]] and [[Lake<-Swim]] and [[Row|Boat]]", "", ["Cave", "Hill", "Lake", "Boat"]),
    ("(if: $lamp)[[[Light it->Lit]]]", "Harlowe", ["Lit"]),
    ('(link-goto: "Run", "Forest") (link-goto: "Barn") (go-to: "Yard")', "Harlowe",
     ["Forest", "Barn", "Yard"]),
    ('(linkgoto: "Run", "Forest")(click-goto: ?door, "Hall")', "Harlowe", ["Forest", "Hall"]),
    ('<<link "Knock" "Door">><</link>> <<button "Go" "Road">><</button>> <<goto "Pit">>',
     "SugarCube", ["Door", "Road", "Pit"]),
    ('<<link [[Knock|Door]]>><</link>> <<actions "Left" "Right">>', "SugarCube",
     ["Door", "Left", "Right"]),
    ("[img[map.png][Map Room]]", "SugarCube", ["Map Room"]),
    ("{link to: 'Hive', label: 'Fly home'} {link to: \"Field\"} {back link}", "Chapbook",
     ["Hive", "Field"]),
    ('<a data-passage="Summit">Climb</a>', "Snowman", ["Summit"]),
])
def test_find_links_in_every_form(body, fmt, targets):
    assert [lk.target for lk in find_links(body, 1, fmt) if lk.kind == "link"] == targets


@pytest.mark.parametrize("body, fmt", [
    ("[[Back|previous()]]", "SugarCube"), ("[[Return|$return]]", "SugarCube"),
    ("<<return>>", "SugarCube"), ("<<back \"Go back\">>", "SugarCube"),
    ('<<link "Back" previous()>><</link>>', "SugarCube"),
    ("(link-goto: \"Back\", (history:)'s last)", "Harlowe"), ("(link-undo: \"Undo\")", "Harlowe"),
    ("{back link}", "Chapbook"), ('<a href="javascript:void(0)" onclick="story.back()">x</a>',
                                  "Snowman"),
])
def test_back_idioms_are_found_as_back_links(body, fmt):
    assert [lk.kind for lk in find_links(body, 1, fmt)] == ["back"]


@pytest.mark.parametrize("body, fmt, target", [
    ('<<include "Map">>', "SugarCube", "Map"), ("<<display [[Map]]>>", "SugarCube", "Map"),
    ("<<display Maze Addon>>", "Sugarcane", "Maze Addon"), ('(display: "Map")', "Harlowe", "Map"),
    ("{embed passage: 'Map'}", "Chapbook", "Map"),
    ("{reveal link: 'See', passage: 'Map'}", "Chapbook", "Map"),
    ('<%= story.render("Map") %>', "Snowman", "Map"),
])
def test_passages_shown_inside_others_are_found_as_includes(body, fmt, target):
    assert [(lk.target, lk.kind) for lk in find_links(body, 1, fmt)] == [(target, "include")]


def test_link_lines_are_counted_from_the_passage():
    links = find_links("one\ntwo [[A]]\n\nfour [[B->C]]", 10, "")
    assert [(lk.target, lk.line) for lk in links] == [("A", 11), ("C", 13)]


def test_harlowe_targets_computed_by_code_are_not_followed():
    links = find_links('(go-to: $next) (go-to: "Room " + $n) (link-goto: "Go", $there)',
                       1, "Harlowe")
    assert [lk.target for lk in links] == ["", "", ""]
    result = loads_twee(':: Start\n(go-to: $next)\n[[End]]\n\n:: End\nx\n', "c.twee")
    assert "computed_link" in codes(result.warnings)


def test_links_to_web_pages_and_code_are_warned_about_not_followed():
    result = loads_twee(":: Start\nRead [[the guide|https://example.org/guide]] or "
                        "[[go on|$next]].\n[[Finish]]\n\n:: Finish\nDone.\n", "w.twee")
    assert [(e.source, e.target) for e in result.quest.edges] == [("start", "finish")]
    assert {"external_link", "computed_link"} <= set(codes(result.warnings))


# --- bad input ----------------------------------------------------------------------------------

MISSING = """\
:: StoryTitle
Caves

:: Start
You stand at the mouth of a cave.
[[Go in->Tunnels]]
[[Climb up->Clif]]

:: Tunnel
Dark and damp.
[[Back out->Outside]]

:: Cliff
Windy.
"""


def test_a_link_to_a_missing_passage_is_a_warning_and_a_missing_step():
    result = loads_twee(MISSING, "caves.twee")
    problems = [w for w in result.warnings if w.code == "missing_passage"]
    assert [(p.line, p.code) for p in problems] == [(6, "missing_passage"), (7, "missing_passage"),
                                                    (11, "missing_passage")]
    assert validate(result.quest) == []
    assert result.missing == ["Tunnels", "Clif"]  # reached from the start: steps to write
    steps = {n.title: n for n in result.quest.nodes if n.title in ("Tunnels", "Clif")}
    assert set(steps) == {"Tunnels", "Clif"} and all("missing step" in n.text for n in steps.values())
    assert "missing step" in str(problems[0]) and "missing step" not in str(problems[2])
    assert "'Start' links to 'Tunnels'" in str(problems[0])
    assert "did you mean 'Tunnel'?" in str(problems[0])
    assert "did you mean 'Cliff'?" in str(problems[1])
    assert "'Tunnel' links to 'Outside'" in str(problems[2])  # every broken link, at once
    assert str(problems[0]).startswith("caves.twee:6: ")
    assert "'Tunnel', 'Cliff'" in next(w.message for w in result.warnings if w.code == "unreached")


def test_a_missing_passage_in_a_harlowe_macro_is_a_missing_step_too():
    result = loads_twee(':: Start\n(link-goto: "On", "Nowhere")\n', "m.twee")
    (w,) = [w for w in result.warnings if w.code == "missing_passage"]
    assert "'Nowhere'" in w.message and w.line == 2
    assert [(n.title, n.kind) for n in result.quest.nodes] == [("Start", "story"), ("Nowhere", "end")]


def test_a_self_link_is_a_loop_left_out():
    story = ":: Start\n[[Look again->Start]] [[Leave]]\n\n:: Leave\nBye.\n"
    with pytest.raises(TweeImportError) as info:
        loads_twee(story, "s.twee", loops="refuse")
    assert info.value.problems[0].code == "cycle"
    assert "'Start' -> 'Start'" in str(info.value)
    result = loads_twee(story, "s.twee")
    assert result.dropped_links == [("Start", "Start")]
    assert "'Start' back to 'Start'" in str(result.warnings)


def test_every_loop_is_reported():
    story = (":: Start\n[[A]] [[B]]\n\n:: A\n[[Start]] [[End]]\n\n:: B\n[[Start]] [[End]]\n\n"
             ":: End\nThe end.\n")
    with pytest.raises(TweeImportError) as info:
        loads_twee(story, "loops.twee", loops="refuse")
    assert isinstance(info.value, QuestFileError) and isinstance(info.value, QuestEngineError)
    assert [p.line for p in info.value.problems] == [5, 8]
    for options in ({}, {"loops": "drop"}, {"drop_back_links": True}):
        result = loads_twee(story, "loops.twee", **options)
        assert validate(result.quest) == []
        assert [(w.code, w.line) for w in result.warnings if w.code == "back_link_dropped"] == [
            ("back_link_dropped", 5), ("back_link_dropped", 8)]
        assert result.dropped_links == [("A", "Start"), ("B", "Start")]


QUESTION = """\
:: Start
Which fraction equals one half?
* [[2/3|Wrong]]
* [[2/4|Right]]
* [[3/4|Wrong]]

:: Wrong
Not quite. [[Try again|Start]]

:: Right
Yes! [[On to the bridge|Bridge]]

:: Bridge
You crossed.
"""


def test_answer_choices_with_a_try_again_loop_become_a_gate_with_a_retry_path():
    result = loads_twee(QUESTION, "q.twee")
    q = result.quest
    assert validate(q) == []
    gate = q.node("start")
    assert gate.kind == "gate"
    (question,) = gate.questions
    assert (question.type, question.prompt, question.options, question.answer) == (
        "choice", "Which fraction equals one half?", ["2/3", "2/4", "3/4"], "2/4")
    assert "2/3" not in (gate.text or "")  # the options are the question's, not the text's
    edges = {(e.source, e.target, e.when) for e in q.edges}
    assert {("start", "right", "success"), ("start", "wrong", "fail"),
            ("wrong", "start", "retry"), ("right", "bridge", "done")} == edges
    assert result.gates["Start"]["answer"] == "2/4" and result.dropped_links == []
    assert any("made 'Start' a gate" in line for line in result.report())
    # and it plays: wrong answers go round the retry path, a right one reaches the end
    for seed in range(5):
        run = play(quest_graph(q), random.Random(seed), skill=0.5)
        assert run.progress.complete and run.path[-1] == "bridge"
    assert any(play(quest_graph(q), random.Random(seed), skill=0.5).path.count("wrong")
               for seed in range(5))


def test_loops_drop_leaves_the_try_again_link_out_instead():
    result = loads_twee(QUESTION, "q.twee", loops="drop")
    assert result.quest.node("start").kind == "story"
    assert result.dropped_links == [("Wrong", "Start")]
    assert result.quest.node("wrong").kind == "story"  # a side trip, not an ending


def test_a_bad_loops_option_names_the_choices():
    with pytest.raises(TweeImportError, match="retry, drop, refuse"):
        loads_twee(QUESTION, "q.twee", loops="sometimes")


@pytest.mark.parametrize("text, code", [
    ("", "no_passages"),
    ("just some text, no passages\n", "no_passages"),
    (":: StoryTitle\nOnly a title\n", "no_passages"),
    (":: Start [quiz] {\"questions\": [{\"id\": \"q\", \"type\": \"choice\"}]}\n[[End]]\n\n"
     ":: End\nx\n", "bad_questions"),
])
def test_bad_stories(text, code):
    with pytest.raises(TweeImportError) as info:
        loads_twee(text, "bad.twee")
    assert codes(info.value.problems)[0] == code
    assert all(p.file == "bad.twee" for p in info.value.problems)


@pytest.mark.parametrize("text, code", [
    (":: Start\nOne\n\n:: Start\nTwo\n", "duplicate_passage"),
    (':: StoryData\n{"start": "Begin"}\n\n:: Start\nHi\n', "missing_start"),
    (':: StoryData\n{"start": "Begin"}\n\n:: Start [script]\nHi\n\n:: Hall\nx\n', "special_start"),
    (":: \nNo name\n\n:: Start\nHi\n", "no_name"),
])
def test_stories_imported_with_a_warning(text, code):
    result = loads_twee(text, "odd.twee")
    assert code in codes(result.warnings)
    assert all(w.file == "odd.twee" for w in result.warnings)
    assert validate(result.quest) == []


def test_a_start_given_as_a_passage_id():
    result = loads_twee(':: StoryData\n{"start": 2}\n\n:: Hall\n[[Room]]\n\n:: Room\nx\n', "ids.twee")
    assert result.quest.nodes[0].title == "Room"  # the second passage of the file
    assert "start_is_id" in codes(result.warnings)


def test_a_file_that_is_not_utf8(tmp_path):
    path = tmp_path / "latin1.twee"
    path.write_bytes(":: Start\nCaf\xe9\n".encode("latin-1"))
    with pytest.raises(TweeImportError) as info:
        load_twee(path)
    assert "UTF-8" in str(info.value) and info.value.problems[0].line == 2


# --- headers, tags and kinds ----------------------------------------------------------------------


def test_header_escapes_tags_metadata_and_twee2_positions():
    story = parse_twee(
        ':: A \\[bracketed\\] name [tag1  tag2] {"position":"10,20","size":"100,100"}\nx\n\n'
        ":: Old style [t] <300,400>\ny\n\n"
        ':: Broken {"position": oops}\nz\n', "h.twee")
    a, old, broken = story.passages
    assert (a.name, a.tags, a.metadata["position"]) == ("A [bracketed] name", ["tag1", "tag2"],
                                                        "10,20")
    assert (old.name, old.metadata["position"]) == ("Old style", "300,400")
    assert broken.name == "Broken" and broken.metadata == {}
    assert codes(story.warnings) == ["bad_metadata"]


def test_tags_set_kinds_only_when_the_passage_gives_what_the_kind_needs():
    result = loads_twee(
        ":: Start [quiz]\nA quiz with no questions.\n[[Check]]\n\n"
        ':: Check [gate] {"questions": [{"id": "q1", "type": "number", "prompt": "2+2?", '
        '"answer": 4}], "threshold": 1, "max_attempts": 2}\n[[Work]]\n\n'
        ":: Work [task review]\nHand in your map.\n[[Done]]\n\n"
        ":: Done [end]\nWell done.\n", "kinds.twee")
    q = result.quest
    assert [n.kind for n in q.nodes] == ["story", "gate", "task", "end"]
    assert q.node("check").threshold == 1 and q.node("check").max_attempts == 2
    assert q.node("work").complete == "review"
    warning = next(w for w in result.warnings if w.code == "kind_needs_questions")
    assert warning.line == 1 and "'Start' is tagged 'quiz'" in warning.message
    G = quest_graph(q)
    assert play(G, random.Random(1), skill=1.0).progress.complete


def test_an_end_tag_on_a_passage_with_links_keeps_it_a_story():
    result = loads_twee(":: Start [end]\nNot yet.\n[[Later]]\n\n:: Later\nNow.\n", "e.twee")
    assert [n.kind for n in result.quest.nodes] == ["story", "end"]
    assert "end_with_links" in codes(result.warnings)


def test_a_passage_whose_links_hide_in_code_is_flagged():
    # modelled on real SugarCube stories that build their choices in a custom widget
    result = loads_twee(':: Start\n<<set _choices = [{ text: "Ask", link: "Ask" }]>>\n'
                        "<<randomChoices _choices>>\n\n:: Ask\nHello.\n", "w.twee")
    assert [n.kind for n in result.quest.nodes] == ["end"]
    assert "end_by_code" in codes(result.warnings)
    assert result.left_out == ["Ask"]


def test_ids_are_unique_slugs_of_passage_names_and_titles_are_the_names():
    result = loads_twee(":: Start\n[[Cave!]] [[Cave?]] [[Écoute]] [[???]]\n\n:: Cave!\na\n\n"
                        ":: Cave?\nb\n\n:: Écoute\nc\n\n:: ???\nd\n", "ids.twee")
    q = result.quest
    assert [n.id for n in q.nodes] == ["start", "cave", "cave-2", "ecoute", "passage-5"]
    assert [n.title for n in q.nodes] == ["Start", "Cave!", "Cave?", "Écoute", "???"]
    assert slug("The Dragon's Lair") == "the-dragons-lair"


def test_without_storydata_the_story_starts_at_start_or_the_first_passage():
    a = loads_twee(":: Intro\n[[Start]]\n\n:: Start\n[[End]]\n\n:: End\nx\n", "a.twee")
    assert a.quest.nodes[0].id == "start" and a.left_out == ["Intro"]
    b = loads_twee(":: Intro\n[[End]]\n\n:: End\nx\n", "b.twee")
    assert b.quest.nodes[0].id == "intro"
    assert "first_passage_start" in codes(b.warnings)
    assert b.quest.id == "b"  # no StoryTitle: the id comes from the file name


# --- the command ----------------------------------------------------------------------------------


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_cli_imports_to_a_file_that_validates(runner, tmp_path):
    out = tmp_path / "quests" / "lighthouse.yaml"
    result = runner.invoke(main, ["import-twee", str(FIXTURES / "lighthouse-harlowe.twee"),
                                  "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "warning: 1 passage(s) cannot be reached" in result.stderr
    assert re.search(r"lighthouse-harlowe\.twee:\d+: warning: ", result.stderr)
    quest = load_quest(out)
    assert validate(quest) == [] and quest.id == "the-lighthouse-keeper"
    assert out.read_text(encoding="utf-8").startswith("# Imported from the Twine story")
    assert runner.invoke(main, ["validate", str(out)]).exit_code == 0
    # an existing file is not replaced without --force
    again = runner.invoke(main, ["import-twee", str(FIXTURES / "lighthouse-harlowe.twee"),
                                 "-o", str(out)])
    assert again.exit_code == 1 and "already exists" in again.stderr
    forced = runner.invoke(main, ["import-twee", str(FIXTURES / "lighthouse-harlowe.twee"),
                                  "-o", str(out), "--force", "--id", "lighthouse"])
    assert forced.exit_code == 0 and load_quest(out).id == "lighthouse"


def test_cli_prints_yaml_by_default(runner):
    result = runner.invoke(main, ["import-twee", str(FIXTURES / "honeybee-chapbook.twee")])
    assert result.exit_code == 0, result.output
    assert loads_quest(result.stdout).id == "a-day-as-a-honeybee"


def test_cli_refuses_a_loop_in_one_line_and_exit_1_on_request(runner, tmp_path):
    path = FIXTURES / "maple-library-sugarcube.twee"
    result = runner.invoke(main, ["import-twee", str(path), "-o", str(tmp_path / "m.yaml"),
                                  "--loops", "refuse"])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"{path}:86: the story loops")
    assert not (tmp_path / "m.yaml").exists()
    for flags in ([], ["--drop-back-links"], ["--loops", "drop"]):
        ok = runner.invoke(main, ["import-twee", str(path), "-o", str(tmp_path / "m.yaml"),
                                  "--force", *flags])
        assert ok.exit_code == 0, ok.output
        assert "warning: the link from 'Case Closed' back to 'Start'" in ok.stderr
        assert "dropped the link 'Case Closed' -> 'Start': it loops back" in ok.stderr


def test_cli_missing_passage_one_warning_per_link(runner, tmp_path):
    path = tmp_path / "caves.twee"
    path.write_text(MISSING, encoding="utf-8")
    result = runner.invoke(main, ["import-twee", str(path), "-o", str(tmp_path / "caves.yaml")])
    assert result.exit_code == 0, result.output
    lines = [ln for ln in result.stderr.splitlines() if "links to" in ln]
    assert [ln.split(": ")[0] for ln in lines] == [f"{path}:6", f"{path}:7", f"{path}:11"]
    assert "added the missing step 'Tunnels'" in result.stderr
    assert validate(load_quest(tmp_path / "caves.yaml")) == []


def test_cli_usage_errors_exit_2(runner):
    assert runner.invoke(main, ["import-twee"]).exit_code == 2
    bad_id = runner.invoke(main, ["import-twee", str(STORIES[0]), "--id", "no spaces allowed"])
    assert bad_id.exit_code == 2


# --- real stories, written by other people (tests/fixtures/twine/README.md) ------------------

REAL = Path(__file__).parent / "fixtures" / "twine"
REAL_STORIES = sorted(p for p in REAL.iterdir() if p.name != "README.md")


def test_real_stories_cover_every_format_and_every_kind_of_file():
    from questengine.interop.twee import read_story

    stories = [read_story(p) for p in REAL_STORIES]
    formats = {s.format.split()[0] for s in stories}
    assert {"Harlowe", "SugarCube", "Chapbook", "Snowman"} <= formats
    sources = {s.source.split(" of ")[0] for s in stories}
    assert {"Twee", "Twine 2 HTML", "Twine 1 HTML", "a folder"} <= sources
    assert any(p.suffix == ".tw" for p in REAL_STORIES)  # Twee 1 (Twine 1's notation)
    sizes = sorted(sum(not p.is_special for p in s.passages) for s in stories)
    assert sizes[0] <= 2 and sizes[-1] >= 100  # from a two-passage page to a 149-passage game


@pytest.mark.parametrize("path", REAL_STORIES, ids=lambda p: p.name)
def test_every_real_story_imports_with_default_flags(path):
    result = load_twee(path)
    quest = result.quest
    assert validate(quest) == []
    assert result.kept_ratio >= 0.8, result.report()
    assert loads_quest(quest_yaml(result, path.name), "again.yaml") == quest
    # the warnings name everything that was left out
    text = "\n".join(w.message for w in result.warnings)
    for source, target in result.dropped_links:
        assert f"the link from {source!r} back to {target!r}" in text
    for name in result.left_out:
        assert repr(name) in text
    for name in result.missing:
        assert f"links to {name!r}" in text
    report = "\n".join(result.report())
    for name in result.merged:
        assert f"merged {name!r}" in report
    run = play(quest_graph(quest), random.Random(3), skill=0.8)
    assert run.progress.complete


def test_published_twine2_html_keeps_positions_start_and_tags():
    result = load_twee(REAL / "dungeon-snowman.html")
    q = result.quest
    assert q.title == "Moving through a 'dungeon'"
    assert [(n.id, n.kind, n.position) for n in q.nodes] == [
        ("start", "story", (494.0, 185.0)), ("exit", "end", (618.0, 186.0))]
    assert [(e.source, e.target) for e in q.edges] == [("start", "exit")]  # story.show('Exit')
    assert q.node("exit").text == "You've escaped this fiendish maze!"  # entities decoded
    assert "Snowman 1.3.0" in q.description and "E1BE7A60" in q.description


def test_published_harlowe_html_folds_displayed_passages_and_adds_the_missing_step():
    result = load_twee(REAL / "dungeon-harlowe.html")
    assert result.merged == {"Map": ["Start"]}
    assert result.missing == ["Exit"]
    (w,) = [w for w in result.warnings if w.code == "missing_passage"]
    assert w.file == str(REAL / "dungeon-harlowe.html") and w.line == 60  # the line of [[Exit]]
    q = result.quest
    assert [(e.source, e.target) for e in q.edges] == [("start", "exit")]
    assert "missing step" in q.node("exit").text
    assert "(for:" not in q.node("start").text and "(set:" not in q.node("start").text


def test_twine1_html_with_its_escapes_and_positions():
    result = load_twee(REAL / "passagetags-sugarcane.html")
    q = result.quest
    assert q.title == "CSS and Passage Tags in Twine 1.4.2"
    assert q.node("start").text == "This passage has a grey background and white text.\n\nSecond"
    assert q.node("start").position == (10.0, 10.0)
    assert [(e.source, e.target) for e in q.edges] == [("start", "second")]
    assert sorted(result.special) == ["StoryAuthor", "StoryTitle", "Stylesheet"]


def test_a_maths_lesson_question_becomes_a_gate_with_its_try_again_path():
    result = load_twee(REAL / "grenzwert-snowman.twee")
    q = result.quest
    gate = q.node("start")
    assert gate.kind == "gate"
    (question,) = gate.questions
    assert question.answer == "§0§"
    assert question.options == ["§\\frac 1{10}§", "§0§", "§-\\frac 1{10}§",
                                "Die Folge hat keinen Grenzwert"]
    assert question.prompt == "Rein intuitiv: Was ist deiner Meinung nach der Grenzwert dieser Funktion?"
    edges = {(e.source, e.target, e.when) for e in q.edges}
    assert {("start", "welche-intuition", "success"), ("start", "falscher-grenzwert", "fail"),
            ("falscher-grenzwert", "start", "retry")} <= edges
    # story.show("...") in the passages' scripts is followed like their links
    assert ("intuition-choice", "nach-auswahl-der-intuition", "done") in edges
    assert result.dropped_links == []


def test_a_side_trip_that_only_goes_back_stays_a_story_node():
    result = load_twee(REAL / "learning-path-snowman.twee")
    q = result.quest
    assert result.dropped_links == [("Exkurs", "Aktivierung Vorwissen")]
    assert q.node("exkurs").kind == "story"
    assert [n.id for n in q.nodes if n.kind == "end"] == ["abschlussreflexion"]


def test_a_folder_project_follows_a_widget_that_takes_passage_names():
    folder = REAL / "how-to-buy-software-sugarcube"
    result = load_twee(folder)
    q = result.quest
    assert result.story.files == [str(folder / "ProjectWidgets.twee"), str(folder / "story.twee")]
    assert q.title == "Alex's LMS Procurement: The Strategic Journey"
    edges = {(e.source, e.target) for e in q.edges}
    # <<randomChoices _choices>>, _choices set to objects whose link: names the passages
    assert {("step-1", "s1ra"), ("step-1", "s1r"), ("step-8", "end")} <= edges
    assert len(q.nodes) == 24 and result.left_out == []
    assert "ProjectWidgets" in result.special


def test_included_passages_carry_their_links_into_the_host():
    result = load_twee(REAL / "space-exploration-harlowe.twee")
    q = result.quest
    edges = {(e.source, e.target) for e in q.edges}
    # (goto:) inside "Check Status", shown by "HUD", shown by "Explore Space 1"
    assert {("explore-space-1", "destroyed"), ("explore-space-1", "safe")} <= edges
    assert set(result.merged) == {"HUD", "Check Status", "Generate System", "Display System",
                                  "Show Outcome - Red", "Show Outcome - Green"}
    assert "Number of Jumps Left" in q.node("explore-space-1").text  # HUD's prose joins the host
    chapbook = load_twee(REAL / "space-exploration-chapbook.twee")
    edges = {(e.source, e.target) for e in chapbook.quest.edges}
    assert ("explore-space", "lost-in-space") in edges  # go("Lost in Space") in an embed
    assert {"RED", "GREEN", "CheckStatus"} <= set(chapbook.merged)


def test_a_twee1_story_whose_rooms_all_link_to_each_other():
    result = load_twee(REAL / "dungeon-sugarcane.tw")
    assert result.merged == {"Maze Addon": ["Start"]}
    assert len(result.dropped_links) == 10
    assert [n.id for n in result.quest.nodes if n.kind == "end"] == ["exit"]


def test_story_includes_reads_the_listed_files(tmp_path):
    (tmp_path / "main.tw2").write_text(
        "::StoryTitle\nLibrary tour\n\n::StoryIncludes\nrooms.tw2\nnot-there.tw2\n\n"
        "::Start\nWelcome. [[Stacks]]\n", encoding="utf-8")
    (tmp_path / "rooms.tw2").write_text("::Stacks\nBooks. [[Desk]]\n\n::Desk\nAsk here.\n",
                                        encoding="utf-8")
    result = load_twee(tmp_path / "main.tw2")
    assert [n.id for n in result.quest.nodes] == ["start", "stacks", "desk"]
    (w,) = [w for w in result.warnings if w.code == "missing_include"]
    assert "'not-there.tw2'" in w.message and w.line == 6
    stacks = next(p for p in result.story.passages if p.name == "Stacks")
    assert stacks.file == str(tmp_path / "rooms.tw2")


def test_a_duplicate_passage_in_a_folder_is_named_with_both_files(tmp_path):
    (tmp_path / "a.twee").write_text(":: Start\n[[Hall]]\n\n:: Hall\nOne\n", encoding="utf-8")
    (tmp_path / "b.twee").write_text(":: Hall\nTwo\n", encoding="utf-8")
    result = load_twee(tmp_path)
    (w,) = [w for w in result.warnings if w.code == "duplicate_passage"]
    assert w.file == str(tmp_path / "b.twee") and str(tmp_path / "a.twee") in w.message
    assert result.quest.node("hall").text == "One"


def test_html_start_is_the_startnode_pid():
    html = ('<tw-storydata name="Pid" startnode="7" format="SugarCube">'
            '<tw-passagedata pid="3" name="Later">x</tw-passagedata>'
            '<tw-passagedata pid="7" name="Opening">[[Later]]</tw-passagedata></tw-storydata>')
    result = loads_twee(html, "pid.html")
    assert result.quest.nodes[0].title == "Opening"
    with pytest.raises(TweeImportError, match="no Twine story found"):
        loads_twee("<html><body><p>hello</p></body></html>", "page.html")


def test_cli_imports_a_published_story_and_prints_the_report(runner, tmp_path):
    out = tmp_path / "dungeon.yaml"
    result = runner.invoke(main, ["import-twee", str(REAL / "dungeon-harlowe.html"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "merged 'Map' into 'Start'" in result.stderr
    assert "added the missing step 'Exit'" in result.stderr
    assert "kept 1 passage(s) as nodes" in result.stderr
    assert validate(load_quest(out)) == []
    folder = runner.invoke(main, ["import-twee", str(REAL / "how-to-buy-software-sugarcube")])
    assert folder.exit_code == 0, folder.output
    assert loads_quest(folder.stdout).id == "alexs-lms-procurement-the-strategic-journey"


CHOICES = """\
:: Start
Which planet is the largest?
[[Mars]] [[Jupiter]] [[Venus]]

:: Mars
Sorry, that is wrong: Mars is small. [[Continue->Moons]]

:: Venus
Not quite. Venus is about the size of Earth. [[Continue->Moons]]

:: Jupiter
Yes! Jupiter is the largest. [[Continue->Moons]]

:: Moons
Now on to the moons.
"""


def test_answer_choices_are_offered_as_a_quiz_and_made_one_on_request():
    offered = loads_twee(CHOICES, "planets.twee")
    assert offered.quizzes == {"Start": {"id": "q1", "type": "choice",
                                         "prompt": "Which planet is the largest?",
                                         "options": ["Mars", "Jupiter", "Venus"],
                                         "answer": "Jupiter"}}
    assert offered.quest.node("start").kind == "story"
    assert any("'Start' reads like a question" in line for line in offered.report())
    made = loads_twee(CHOICES, "planets.twee", choices="quiz")
    q = made.quest
    assert validate(q) == []
    quiz = q.node("start")
    assert quiz.kind == "quiz" and quiz.pass_score == 1 and quiz.questions[0].answer == "Jupiter"
    edges = {(e.source, e.target, e.when) for e in q.edges}
    assert {("start", "jupiter", "success"), ("start", "mars", "fail"),
            ("start", "venus", "fail")} <= edges
    for seed in range(4):
        assert play(quest_graph(q), random.Random(seed), skill=0.5).progress.complete


def test_cli_choices_quiz(runner, tmp_path):
    path = tmp_path / "planets.twee"
    path.write_text(CHOICES, encoding="utf-8")
    result = runner.invoke(main, ["import-twee", str(path), "--choices", "quiz"])
    assert result.exit_code == 0, result.output
    assert loads_quest(result.stdout).node("start").kind == "quiz"
    assert "made 'Start' a quiz" in result.stderr


def test_a_large_harlowe_story_whose_endings_restart():
    result = load_twee(REAL / "ukraine-shopkeeper-harlowe.twee")
    q = result.quest
    assert len(q.nodes) == 149 and result.kept_ratio == 1.0
    assert sorted(result.dropped_links) == [("AfterHit", "InterrogationLie"),
                                            ("EndStay2", "Start"), ("LeaveUkraine", "Start")]
    # "The end." links back to the start: those passages are the quest's ends
    assert sorted(n.id for n in q.nodes if n.kind == "end") == ["endstay2", "leaveukraine"]
    # (link-goto: "text", "target") inside hooks and (link:)[(go-to:)] both become paths
    edges = {(e.source, e.target) for e in q.edges}
    assert {("lenny5", "lennyincrease"), ("lenny5", "lennycallout"),
            ("alexandrad3-1", "alexandrad3a"), ("alexandrad3-1", "alexandrad3b")} <= edges
    assert "(link-goto:" not in q.node("start").text


def test_a_harlowe_custom_macro_that_takes_a_passage_name_is_followed():
    story = (':: Startup [startup]\n(set: $door to (macro: str-type _room, [(output: '
             '(link-goto: "Open the door", _room))]))\n\n'
             ':: Start\nA hall. ($door: "Kitchen") ($door: "Garden")\n\n'
             ':: Kitchen\nPans.\n\n:: Garden\nRoses.\n')
    result = loads_twee(story, "doors.twee")
    assert {(e.source, e.target) for e in result.quest.edges} == {("start", "kitchen"),
                                                                  ("start", "garden")}
    assert "computed_link" not in codes(result.warnings)


SUGARCUBE_PUBLISHED = """<!DOCTYPE html><html><head><title>Sugar</title>
<script id="script-libraries" type="text/javascript">var s = "<tw-storydata name='not this'>";</script>
</head><body><div id="init-screen"></div>
<div id="store-area" data-size="2" hidden><tw-storydata name="Sugar" startnode="2" format="SugarCube"
 format-version="2.36.1" ifid="X"><style role="stylesheet" id="twine-user-stylesheet"
 type="text/twine-css">body {}</style><script role="script" id="twine-user-script"
 type="text/twine-javascript">var a = "<tw-passagedata name='nor this'>";</script><tw-passagedata
 pid="1" name="End" tags="" position="1,2" size="100,100">Bye &lt;b&gt;now&lt;/b&gt;.</tw-passagedata><tw-passagedata
 pid="2" name="Begin" tags="a" position="3,4">Hi [[End]] &amp; more</tw-passagedata></tw-storydata></div>
<script id="script-sugarcube" type="text/javascript">if (x < 3 && "<tw-storydata>") {}</script>
</body></html>"""


def test_sugarcube_published_html_with_markup_in_its_scripts():
    result = loads_twee(SUGARCUBE_PUBLISHED, "sugar.html")
    assert [(n.id, n.kind, n.text, n.position) for n in result.quest.nodes] == [
        ("begin", "story", "Hi End & more", (3.0, 4.0)), ("end", "end", "Bye **now**.", (1.0, 2.0))]
    assert result.story.format == "SugarCube"


def test_a_library_archive_imports_its_first_story_and_names_the_others():
    archive = ('<tw-storydata name="One" startnode="1"><tw-passagedata pid="1" name="A">x'
               '</tw-passagedata></tw-storydata><tw-storydata name="Two" startnode="1">'
               '<tw-passagedata pid="1" name="B">y</tw-passagedata></tw-storydata>')
    result = loads_twee(archive, "library.html")
    assert result.quest.title == "One"
    (w,) = [w for w in result.warnings if w.code == "several_stories"]
    assert "'Two'" in w.message


def test_a_macro_of_the_storys_own_that_names_passages_is_followed():
    # the shape of Acadia University Library's citation tutorial (<<AnswerChoices>> is
    # defined in the story's JavaScript)
    story = (':: StoryTitle\nYou Quote It\n\n::Start\n! Is this plagiarism?\n\n'
             '<<AnswerChoices\n  "q1" $next "hide"\n  "q1_yes" "Yes, this is plagiarism"\n'
             '  "q1_no" "No, this is not plagiarism"\n  >>\n\n'
             '::q1_yes\n!! Incorrect\n<<AnswerStatus "q1" "incorrect">>\n\n'
             '::q1_no\n!! Correct\n<<AnswerStatus "q1" "correct">>\n')
    result = loads_twee(story, "quote.tw")
    assert {(e.source, e.target) for e in result.quest.edges} == {("start", "q1-yes"),
                                                                  ("start", "q1-no")}
    assert result.left_out == []


def test_a_twee_story_that_talks_about_published_html_is_read_as_twee():
    result = loads_twee(":: Start\nTwine keeps stories in <tw-storydata> elements. [[More]]\n\n"
                        ":: More\nThat is all.\n", "about.twee")
    assert [n.id for n in result.quest.nodes] == ["start", "more"]


# --- damaged files: a quest that validates, or a TweeImportError, never a crash -------------

from hypothesis import given, settings, strategies as st  # noqa: E402

_DAMAGE = st.lists(st.tuples(st.floats(0, 1), st.sampled_from(
    ["", "[[", "]]", "::", "(", ")", "<<", ">>", '"', "{", "}", "\n:: X\n", "[[A->Start]]",
    '(display: "Start")', '<tw-passagedata name="Q">', "</tw-storydata>", "</div>"]),
    st.integers(0, 120)), min_size=1, max_size=6)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(path=st.sampled_from([p for p in REAL_STORIES if p.is_file()]), damage=_DAMAGE)
def test_a_damaged_story_imports_or_says_why(path, damage):
    text = path.read_text(encoding="utf-8")
    for where, insert, cut in damage:
        i = int(where * len(text))
        text = text[:i] + insert + text[i + cut:]
    try:
        result = loads_twee(text, path.name)
    except TweeImportError as err:
        assert err.problems and all(p.message for p in err.problems)
    else:
        assert validate(result.quest) == []
