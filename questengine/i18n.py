"""Languages: the interface's gettext catalogs and quests' own translations.

Interface text is marked with :func:`_` (and :func:`ngettext`) and extracted
with Babel (``make catalogs``: ``pybabel extract`` then ``pybabel update``)
into ``questengine/locale/<lang>/LC_MESSAGES/questengine.po``. Only the ``.po``
files are kept in git: they are compiled **on load**, in memory, with Babel's
own reader and writer (:func:`translations`), so a fresh clone, an editable
install and a wheel all work with no build step and no stale ``.mo`` file.

A Voilà kernel serves one browser tab, so the language of what a page builds
is the kernel's *active* language: a page calls :func:`activate` with the
user's language (their saved choice, else the browser's preference,
:func:`negotiate`) before it builds its widgets. Code outside pages passes a
language explicitly (:func:`gettext_in`).

Quest files may carry translations of their own texts (``translations:`` in
the quest, see :func:`localize`); a page shows the user's language where the
author gave one and the original text otherwise. :func:`untranslated` lists
what a translator still has to do.

>>> _ignored = activate("es"); _("Log in")
'Entrar'
>>> _ignored = activate("en"); _("Log in")
'Log in'
>>> negotiate("es-MX,es;q=0.9,en;q=0.8")
'es'
>>> negotiate(["fr-FR", "de"])
'en'
"""
from __future__ import annotations

import gettext
import io
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from .errors import QuestEngineError

__all__ = ["LANGUAGES", "DEFAULT", "_", "N_", "ngettext", "activate", "active", "gettext_in",
           "translations", "negotiate", "check_language", "localize", "untranslated",
           "untranslated_messages", "LanguageError"]

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "questengine"
DEFAULT = "en"
#: The interface's complete languages, each named in its own language.
LANGUAGES = {"en": "English", "es": "Español"}


class LanguageError(QuestEngineError):
    """A language questengine has no catalog for."""


def check_language(language: Any) -> str:
    """A supported language code (``en``, ``es``), or LanguageError naming the valid ones."""
    code = str(language or "").strip().lower().replace("_", "-").split("-")[0]
    if code not in LANGUAGES:
        raise LanguageError(f"there is no interface language {language!r}; choose one of "
                            f"{', '.join(sorted(LANGUAGES))}")
    return code


@lru_cache(maxsize=None)
def translations(language: str) -> gettext.NullTranslations:
    """The compiled catalog of a language (compiled from its .po file, once per process)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    po = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if language == DEFAULT or not po.is_file():
        return gettext.NullTranslations()
    with open(po, "rb") as f:
        catalog = read_po(f, locale=language, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


_active = {"language": DEFAULT}


def activate(language: str | None) -> str:
    """Make ``language`` the one this kernel's pages are built in; returns it."""
    code = check_language(language or DEFAULT)
    _active["language"] = code
    return code


def active() -> str:
    """The active interface language."""
    return _active["language"]


def _(message: str) -> str:
    """``message`` in the active language (the English text when it has no translation)."""
    return translations(_active["language"]).gettext(message)


def N_(message: str) -> str:
    """Mark a text for the catalog where it is defined (a table of labels); translate it
    with :func:`_` where it is shown."""
    return message


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form for ``n``, in the active language."""
    return translations(_active["language"]).ngettext(singular, plural, n)


def untranslated_messages(language: str) -> list[str]:
    """The catalog template's messages that ``language``'s catalog does not translate yet
    (``make catalogs`` prints how many: 0 for a complete language)."""
    from babel.messages.pofile import read_po

    code = check_language(language)
    with open(LOCALE_DIR / f"{DOMAIN}.pot", "rb") as f:
        template = read_po(f)
    if code == DEFAULT:
        return []
    po = LOCALE_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.po"
    catalog = None
    if po.is_file():
        with open(po, "rb") as f:
            catalog = read_po(f, locale=code, domain=DOMAIN)
    missing = []
    for message in template:
        if not message.id:
            continue
        entry = catalog.get(message.id) if catalog is not None else None
        strings = entry.string if entry is not None and isinstance(entry.string, tuple) else (
            (entry.string,) if entry is not None else ())
        if entry is None or entry.fuzzy or not strings or not all(strings):
            missing.append(message.id if isinstance(message.id, str) else message.id[0])
    return missing


def catalog_report() -> None:  # pragma: no cover - `make catalogs` prints it
    """Print each language's count of untranslated messages (and the first few of them)."""
    for code in LANGUAGES:
        if code == DEFAULT:
            continue
        missing = untranslated_messages(code)
        print(f"{code}: {len(missing)} untranslated")
        for text in missing[:20]:
            print(f"  {text!r}")


def gettext_in(language: str, message: str) -> str:
    """``message`` in a given language (outside pages: handouts, exports)."""
    return translations(check_language(language)).gettext(message)


def negotiate(preferences: str | list[str] | tuple[str, ...] | None,
              default: str = DEFAULT) -> str:
    """The first supported language among the browser's preferences.

    ``preferences`` is an Accept-Language header (``es-MX,es;q=0.9``) or the
    browser's ``navigator.languages`` list; anything unreadable is skipped.
    """
    if isinstance(preferences, str):
        weighted = []
        for i, part in enumerate(preferences.split(",")):
            tag, _sep, q = part.strip().partition(";q=")
            try:
                weight = float(q) if q else 1.0
            except ValueError:
                continue
            weighted.append((-weight, i, tag))
        items = [tag for _w, _i, tag in sorted(weighted)]
    elif isinstance(preferences, (list, tuple)):
        items = [p for p in preferences if isinstance(p, str)][:20]
    else:
        items = []
    for tag in items:
        code = tag.strip().lower().replace("_", "-").split("-")[0]
        if re.fullmatch(r"[a-z]{2,3}", code) and code in LANGUAGES:
            return code
    return default


# --- quests' own translations ------------------------------------------------------------------

#: The texts of each part of a quest that a translation may give.
QUEST_TEXTS = ("title", "story", "description")
NODE_TEXTS = ("title", "story", "text", "instructions", "reflection", "hints")
OPTION_TEXTS = ("label", "text")
QUESTION_TEXTS = ("prompt", "hint", "explanation", "options")
COMPETENCY_TEXTS = ("name", "description")
REWARD_TEXTS = ("badge_name", "title")


def _pick(source: Any, names: tuple[str, ...], given: dict) -> dict:
    """The translated fields that fit ``source``: strings for strings, same-length lists."""
    update = {}
    for name in names:
        original, new = getattr(source, name, None), given.get(name)
        if original is None or new is None:
            continue
        if isinstance(original, list):
            if isinstance(new, list) and len(new) == len(original) and all(
                    isinstance(x, str) and x.strip() for x in new):
                update[name] = list(new)
        elif isinstance(new, str) and new.strip():
            update[name] = new
    return update


def _question(q, given: dict):
    return q.model_copy(update=_pick(q, QUESTION_TEXTS, given.get(q.id) or {}))


def localize(quest, language: str | None):
    """A copy of ``quest`` with its texts in ``language`` where its author translated them.

    Ids, answers, scores and edges never change: only what is shown. A choice
    question's ``options`` are replaced only by a list of the same length, so a
    translated option is the original one at the same position
    (:func:`original_answers` maps an answer back).
    """
    given = (getattr(quest, "translations", None) or {}).get(language or "")
    if not given:
        return quest
    nodes_given = given.get("nodes") or {}
    comps_given = given.get("competencies") or {}
    nodes = []
    for node in quest.nodes:
        t = nodes_given.get(node.id) or {}
        update = _pick(node, NODE_TEXTS, t)
        if getattr(node, "questions", None):
            update["questions"] = [_question(q, t.get("questions") or {}) for q in node.questions]
        if getattr(node, "options", None) and node.kind == "choice":
            opts = t.get("options") or {}
            update["options"] = [
                o.model_copy(update={**_pick(o, OPTION_TEXTS, opts.get(o.id) or {}),
                                     "questions": [_question(q, (opts.get(o.id) or {}).get(
                                         "questions") or {}) for q in o.questions]})
                for o in node.options]
        if getattr(node, "rewards", None) is not None and t.get("rewards"):
            update["rewards"] = node.rewards.model_copy(
                update=_pick(node.rewards, REWARD_TEXTS, t["rewards"]))
        nodes.append(node.model_copy(update=update))
    comps = [c.model_copy(update=_pick(c, COMPETENCY_TEXTS, comps_given.get(c.id) or {}))
             for c in quest.competencies]
    return quest.model_copy(update={**_pick(quest, QUEST_TEXTS, given), "nodes": nodes,
                                    "competencies": comps})


def original_answers(quest, localized, node_id: str, answers: dict) -> dict:
    """Answers picked among translated options, as the original options they stand for."""
    if localized is quest or not isinstance(answers, dict):
        return answers

    def questions_of(q):
        node = next((n for n in q.nodes if n.id == node_id), None)
        found = list(getattr(node, "questions", None) or [])
        for o in getattr(node, "options", None) or []:
            found += list(getattr(o, "questions", []) or [])
        return {x.id: x for x in found}

    before, after = questions_of(quest), questions_of(localized)
    out = dict(answers)
    for qid, value in answers.items():
        a, b = before.get(qid), after.get(qid)
        if a is None or b is None or not getattr(a, "options", None):
            continue
        mapping = dict(zip(b.options, a.options))
        if isinstance(value, str):
            out[qid] = mapping.get(value, value)
        elif isinstance(value, list):
            out[qid] = [mapping.get(v, v) if isinstance(v, str) else v for v in value]
    return out


def untranslated(quest, language: str) -> list[dict]:
    """Every text of ``quest`` with no translation into ``language``: ``{key, text}``.

    ``key`` is where the translation goes under ``translations.<language>``
    (``nodes.learn.options.video.label``): a translator's work list.
    """
    given = (getattr(quest, "translations", None) or {}).get(language) or {}
    todo: list[dict] = []

    def check(source, names, have: dict, prefix: str) -> None:
        for name in names:
            original = getattr(source, name, None)
            if original in (None, "", []):
                continue
            if not _pick(source, (name,), have):
                todo.append({"key": f"{prefix}{name}",
                             "text": original if isinstance(original, str) else list(original)})

    def questions(qs, have: dict, prefix: str) -> None:
        for q in qs:
            check(q, QUESTION_TEXTS, have.get(q.id) or {}, f"{prefix}questions.{q.id}.")

    check(quest, QUEST_TEXTS, given, "")
    for c in quest.competencies:
        check(c, COMPETENCY_TEXTS, (given.get("competencies") or {}).get(c.id) or {},
              f"competencies.{c.id}.")
    for node in quest.nodes:
        t = (given.get("nodes") or {}).get(node.id) or {}
        prefix = f"nodes.{node.id}."
        check(node, NODE_TEXTS, t, prefix)
        questions(getattr(node, "questions", None) or [], t.get("questions") or {}, prefix)
        if node.kind == "choice":
            for o in node.options:
                ot = (t.get("options") or {}).get(o.id) or {}
                check(o, OPTION_TEXTS, ot, f"{prefix}options.{o.id}.")
                questions(o.questions, ot.get("questions") or {}, f"{prefix}options.{o.id}.")
        if getattr(node, "rewards", None) is not None:
            check(node.rewards, REWARD_TEXTS, t.get("rewards") or {}, f"{prefix}rewards.")
    return todo


# --- the engine's "why is this locked?" sentence, in the active language -------------------------

def explain(progress, node: str, shown=None) -> str:
    """:func:`questengine.engine.explain` in the active language, naming the steps by their
    titles in ``shown`` (the graph the page shows: translated titles), else the quest's own.

    The engine stays pure; its sentences are the catalog's message ids.
    """
    from .engine import explain as engine_explain

    return engine_explain(progress, node, translate=_, names=shown)
