"""State colours against their neighbours: WCAG 1.4.11 (3:1) and 1.4.3 (4.5:1), computed.

The colours come from the one table that defines them (questengine/ui/palette.py);
the tests also check that the map's stylesheet and script and the progress
center's grid take them from there rather than from a copy.
"""
import json
import re

import pytest

from questengine.ui import center, palette
from questengine.ui.palette import INK, MAP_BACKGROUND, STATE_COLOURS, WHITE, contrast
from questengine.ui.questmap import FRONT_END, QuestMap

STATES = sorted(STATE_COLOURS)


def test_contrast_matches_known_ratios():
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)
    assert contrast("#ffffff", "#ffffff") == pytest.approx(1.0)
    assert contrast("#fff", "#000") == pytest.approx(21.0)


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("neighbour", [WHITE, *MAP_BACKGROUND])
def test_state_fill_stands_out_from_what_it_sits_on(state, neighbour):
    # a node's band and border on its white box and on the map's background, a grid cell
    # between white borders, a legend chip on the page: graphical objects need 3:1
    ratio = contrast(STATE_COLOURS[state], neighbour)
    assert ratio >= 3.0, f"{state} {STATE_COLOURS[state]} on {neighbour}: {ratio:.2f}:1 < 3:1"


@pytest.mark.parametrize("state", STATES)
def test_text_on_a_state_fill_and_state_colour_as_text(state):
    # white symbols and counts on a fill; the state's symbol in its colour on white
    fill = STATE_COLOURS[state]
    assert contrast(INK, fill) >= 4.5, f"ink {INK} on {state} {fill}: {contrast(INK, fill):.2f}:1"
    assert contrast(fill, WHITE) >= 4.5, f"{state} {fill} as text on white"


def test_map_stylesheet_takes_the_colours_from_the_palette():
    css = (FRONT_END / "questmap.css").read_text(encoding="utf-8")
    for state in STATES:  # no second definition of a state colour in the file
        assert not re.search(rf"--qe-{state}\s*:", css), state
    assert not re.search(r"--qe-mark\s*:", css)
    for state, colour in STATE_COLOURS.items():  # the widget's stylesheet carries them
        assert f"--qe-{state}: {colour};" in QuestMap._css
    # the frame's gradient is the background the test above compares against
    gradient = re.search(r"\.qe-map-frame\s*{[^}]*radial-gradient\(([^;]*)\);", css).group(1)
    assert tuple(re.findall(r"#[0-9a-fA-F]{6}", gradient)) == MAP_BACKGROUND
    # the list view's and the legend's symbols are drawn in the state colour on white
    # (the 4.5:1 checked above)
    assert re.search(r"\.qe-step-dot::before\s*{[^}]*color: var\(--qe-state\)", css)


def test_map_script_symbols_are_the_palettes():
    js = (FRONT_END / "questmap.js").read_text(encoding="utf-8")
    body = re.search(r"const STATE_MARK = ({.*?});", js, re.S).group(1)
    marks = json.loads(re.sub(r",\s*}", "}", re.sub(r"(\w+):", r'"\1":', body)))
    assert marks == palette.STATE_MARKS


def test_progress_center_grid_uses_the_palette():
    for state, colour in center.STATE_COLOURS.items():
        mark, ink = center.STATE_MARKS[state]
        if state == "":  # not started: a blank white cell, no indicator
            assert colour == WHITE and mark == ""
            continue
        assert colour == STATE_COLOURS[state] and mark == palette.STATE_MARKS[state]
        assert contrast(ink, colour) >= 4.5, state
    cell = center._grid_cell("pending_review")
    assert STATE_COLOURS["pending_review"] in cell and "⏳" in cell

