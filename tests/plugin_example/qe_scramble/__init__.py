"""An example questengine plugin: unscramble the letters of a word.

``plugin`` is named in this package's entry points (group ``questengine.plugins``),
so installing the package is all it takes for quests to use ``kind: scramble``.
"""
from __future__ import annotations

import random

from pydantic import Field

from questengine.plugins import Plugin, PluginNode, Verdict

plugin = Plugin("scramble", "Unscramble the letters of a word.")

#: a shuffle icon, in a 16x16 box
ICON = "M2 4h3l6 8h3M2 12h3l6-8h3M12 2l2 2-2 2M12 10l2 2-2 2"


@plugin.kind("scramble", label="Word scramble", icon=ICON,
             defaults={"word": "forest"},
             example=lambda node, right: node.word if right else node.word[::-1] + "x")
class Scramble(PluginNode):
    """The student sees the letters of ``word`` shuffled and types the word."""

    word: str = Field(min_length=2, max_length=40, pattern=r"^[A-Za-z]+$")
    clue: str | None = None

    @property
    def question(self) -> str:
        letters = list(self.word.upper())
        random.Random(self.word).shuffle(letters)
        clue = f" (clue: {self.clue})" if self.clue else ""
        return f"Unscramble: **{' '.join(letters)}**{clue}"


@plugin.grader("scramble")
def check(node: Scramble, answer, tries: int) -> Verdict:
    if str(answer).strip().lower() == node.word.lower():
        return Verdict(correct=True, feedback="You got it!")
    if tries >= 1:
        return Verdict(correct=False, feedback=f"Not yet. It starts with '{node.word[0].upper()}'.")
    return Verdict(correct=False, feedback="Not yet. Try again!")


@plugin.badge("word-wizard", "Word Wizard", "Unscrambled a word on the first try.")
def word_wizard(progress) -> bool:
    return any(n.kind == "scramble" and n.state == "success" and n.tries == 1
               for n in progress.nodes.values())
