"""questengine: an open quest engine for personalized learning.

Quests are DAGs of objectives (story, task, modality choice, quiz, mastery
gate, end) loaded from YAML; a student's progress is replayed from an
append-only event log by pure functions.

>>> from questengine import loads_quest, quest_graph, replay, act, Action
>>> quest = loads_quest('''
... id: tiny
... title: Tiny
... nodes:
...   - {id: intro, kind: story, title: Hello}
...   - {id: end, kind: end, title: Bye, rewards: {xp: 10}}
... edges: [[intro, end]]
... ''')
>>> G = quest_graph(quest)
>>> progress = replay(G, [])
>>> progress.states()
{'intro': 'available', 'end': 'locked'}
>>> events = act(G, progress, Action("complete", "intro"))
>>> replay(G, events).states()
{'intro': 'success', 'end': 'available'}
"""
from .engine import (
    ACTION_TYPES, EVENT_TYPES, STATES, Action, Event, NodeProgress, Progress, act, available,
    explain, replay,
)
from .errors import ProgressError, Problem, QuestEngineError, QuestFileError, QuestValidationError
from .graph import build_graph, check, layout, quest_graph, validate
from .loader import dumps_quest, load_quest, loads_quest, parse_quest, save_quest
from .model import Edge, Quest
from .rewards import level_for, level_progress, xp_for_level



def edit(path, *, session=None, classroom=None):
    """Show the quest editor for one quest file in a notebook: ``questengine.edit(path)``.

    Saves to that file; publishes too when given a teacher's ``session`` (or a
    ``classroom`` whose teacher logs in). See :class:`questengine.ui.editor.EditorPage`.
    """
    from .ui.editor import edit as _edit

    return _edit(path, session=session, classroom=classroom)


__version__ = "0.1.0"

__all__ = [
    "ACTION_TYPES", "EVENT_TYPES", "STATES", "Action", "Event", "NodeProgress", "Progress",
    "act", "available", "explain", "replay",
    "ProgressError", "Problem", "QuestEngineError", "QuestFileError", "QuestValidationError",
    "build_graph", "check", "layout", "quest_graph", "validate",
    "dumps_quest", "load_quest", "loads_quest", "parse_quest", "save_quest",
    "Edge", "Quest", "level_for", "level_progress", "xp_for_level", "edit",
]
