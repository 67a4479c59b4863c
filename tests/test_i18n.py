"""Tests of questengine.i18n: the catalogs are complete, languages are negotiated, and
quests' own translations are shown (and listed when missing) without changing the play."""
from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from questengine import i18n, loads_quest
from questengine.classroom import Classroom
from questengine.errors import QuestEngineError, QuestFileError
from helpers import T1, FakeClock, cheap_hasher

PACKAGE = Path(i18n.__file__).resolve().parent

T1_ES = T1.replace("edges:", """translations:
  es:
    title: Fracciones pequeñas
    competencies: {equiv: {name: Fracciones equivalentes}}
    nodes:
      intro: {title: Hacia el bosque, text: Hola}
      learn:
        title: Aprende
        options: {video: {label: Mira}}
      check:
        title: Control
        questions: {q1: {prompt: ¿Cuál es igual a 1/2?, options: ["2/4 (dos cuartos)", "2/3"]}}
edges:""")


def extracted() -> dict[str, tuple]:
    """Every message marked in questengine's sources, as Babel extracts it."""
    from babel.messages.extract import extract_from_dir

    return {(m if isinstance(m, str) else m[0]): (m if isinstance(m, tuple) else (m,))
            for _file, _line, m, _comments, _context in extract_from_dir(
                str(PACKAGE), method_map=[("**.py", "python")])}


def fields(text: str) -> set[str]:
    return {f for _lit, f, _spec, _conv in string.Formatter().parse(text) if f is not None}


def test_every_interface_message_has_a_spanish_translation_with_the_same_fields():
    from babel.messages.pofile import read_po

    with open(PACKAGE / "locale" / "es" / "LC_MESSAGES" / "questengine.po", "rb") as f:
        catalog = read_po(f, locale="es")
    messages = extracted()
    assert len(messages) > 50
    problems = []
    for key, ids in messages.items():
        entry = catalog.get(ids if len(ids) > 1 else key)
        strings = entry and (entry.string if isinstance(entry.string, tuple) else (entry.string,))
        if not entry or not all(strings):
            problems.append(f"not translated: {key!r}")
        elif entry.fuzzy:
            problems.append(f"fuzzy: {key!r}")
        elif any(fields(s) != fields(key) for s in strings):
            problems.append(f"fields differ: {key!r} -> {strings!r}")
    assert problems == [], "\n".join(problems[:20]) + "\n(run `make catalogs`, then translate)"


def test_no_message_hides_inside_an_f_string():
    """Babel cannot see _() inside an f-string's braces: such a text would stay English."""
    hidden = []
    for path in PACKAGE.rglob("*.py"):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r"""\bf(["']).*\{[^}]*\b_\(\s*["']""", line):
                hidden.append(f"{path.relative_to(PACKAGE)}:{n}")
    assert hidden == []


def test_catalogs_compile_on_load_and_switch_per_kernel():
    assert isinstance(i18n.translations("es"), __import__("gettext").GNUTranslations)
    try:
        assert i18n.activate("es-ES") == "es"
        assert i18n._("Log in") == "Entrar"
        assert i18n.ngettext("{n} request is waiting for the teacher's approval.",
                             "{n} requests are waiting for the teacher's approval.", 2) \
            .format(n=2).startswith("2 solicitudes")
        assert i18n.gettext_in("en", "Log in") == "Log in"
    finally:
        i18n.activate("en")
    assert i18n._("Log in") == "Log in"


@pytest.mark.parametrize("preferences,expected", [
    ("es-MX,es;q=0.9,en;q=0.8", "es"),
    ("en;q=0.2, es;q=0.9", "es"),
    ("fr-CA,fr;q=0.9", "en"),
    (["de-DE", "es-419"], "es"),
    ([], "en"), (None, "en"), ("", "en"),
    ("es;q=nonsense, en", "en"),
    ([{"forged": True}, 3, "EN-gb"], "en"),
])
def test_the_browser_preference_picks_a_supported_language(preferences, expected):
    assert i18n.negotiate(preferences) == expected


def test_an_unknown_interface_language_names_the_valid_ones():
    with pytest.raises(i18n.LanguageError, match="choose one of en, es") as err:
        i18n.check_language("klingon")
    assert isinstance(err.value, QuestEngineError)


def test_a_quest_shows_its_spanish_texts_and_plays_the_same():
    quest = loads_quest(T1_ES)
    es = i18n.localize(quest, "es")
    assert es.title == "Fracciones pequeñas"
    assert [n.title for n in es.nodes][:3] == ["Hacia el bosque", "Aprende", "Control"]
    assert es.node("learn").options[0].label == "Mira"
    assert es.node("learn").options[1].label == "Worksheet"  # not translated: the original
    assert es.node("check").questions[0].prompt == "¿Cuál es igual a 1/2?"
    assert es.node("check").questions[1].prompt == "1/4 + 1/4"
    assert es.competencies[0].name == "Fracciones equivalentes"
    assert [n.id for n in es.nodes] == [n.id for n in quest.nodes] and es.edges == quest.edges
    assert i18n.localize(quest, "fr") is quest and i18n.localize(quest, None) is quest
    # a translated option stands for the original at the same place
    assert i18n.original_answers(quest, es, "check", {"q1": "2/4 (dos cuartos)", "q2": 0.5}) \
        == {"q1": "2/4", "q2": 0.5}


def test_untranslated_strings_are_listed_for_a_translator():
    quest = loads_quest(T1_ES)
    todo = {t["key"]: t["text"] for t in i18n.untranslated(quest, "es")}
    assert todo["nodes.learn.options.sheet.label"] == "Worksheet"
    assert todo["nodes.check.questions.q2.prompt"] == "1/4 + 1/4"
    assert todo["nodes.end.title"] == "Out"
    assert "title" not in todo and "nodes.intro.title" not in todo
    everything = {t["key"] for t in i18n.untranslated(quest, "fr")}
    assert {"title", "nodes.intro.text", "competencies.equiv.name"} <= everything


def test_a_translation_under_a_bad_language_key_is_a_file_error():
    with pytest.raises(QuestFileError, match="translations"):
        loads_quest(T1_ES.replace("  es:\n", "  Spanish!:\n"))


def _class_with_spanish_quest(address):
    """Ann's Class A playing T1_ES (a quest with Spanish texts), and Ada logged in."""
    c = Classroom(address, clock=FakeClock(), hasher=cheap_hasher())
    c.add_teacher("ann@school.org", "Ann", "password-ann")
    c.create_class("ann@school.org", "Class A", "CLASS-A")
    ann = c.login_teacher("ann@school.org", "password-ann")
    ann.publish(loads_quest(T1_ES))
    ann.assign("t1", "CLASS-A")
    ann.add_student("CLASS-A", "Ada", "1234")
    ada = c.login_student("CLASS-A", "Ada", "1234")
    return c, ann, ada


def test_the_student_plays_in_their_language(db_address):
    c, ann, ada = _class_with_spanish_quest(db_address)
    assert ada.graph("t1").nodes["intro"]["node"].title == "Into the forest"
    ada.set_language("es")
    G = ada.graph("t1")
    assert G.nodes["intro"]["node"].title == "Hacia el bosque"
    assert G.graph["quest"].title == "Fracciones pequeñas"
    ada.complete("t1", "intro")
    ada.choose("t1", "learn", "video")
    ada.complete("t1", "learn")
    # the answer picked among the Spanish options is graded as the original one
    assert ada.answer("t1", "check", {"q1": "2/4 (dos cuartos)", "q2": 0.5}).state("check") \
        == "success"
    assert {"key": "nodes.end.title", "text": "Out"} in ann.untranslated("t1", "es")


def test_why_a_step_is_locked_says_what_the_engine_says_and_in_spanish_with_spanish_titles():
    from questengine import Action, act, quest_graph, replay
    from questengine.engine import explain

    G = quest_graph(loads_quest(T1_ES))
    shown = G.copy()
    for node in i18n.localize(G.graph["quest"], "es").nodes:
        shown.nodes[node.id]["node"] = node
    events, seen = [], []
    steps = [Action("complete", "intro"), Action("choose", "learn", option="video"),
             Action("complete", "learn"), Action("answer", "check", answers={"q1": "2/3", "q2": 3})]
    for action in [None, *steps]:
        if action is not None:
            events += act(G, replay(G, events), action, role="student", actor="s", at="t")
        progress = replay(G, events)
        for n in G:
            assert i18n.explain(progress, n) == explain(progress, n)
            seen.append(progress.nodes[n].state)
    assert {"locked", "available", "success", "fail"} <= set(seen)
    try:
        i18n.activate("es")
        assert i18n.explain(replay(G, []), "learn", shown) == \
            "«Aprende» está bloqueado: se abre después de terminar «Hacia el bosque»."
    finally:
        i18n.activate("en")


def _teacher_classroom():
    quests = PACKAGE.parent / "quests"
    c = Classroom(":memory:", clock=FakeClock(), hasher=cheap_hasher())
    owner = c.add_teacher("ann@school.org", "Ann", "password-ann")
    c.create_class("ann@school.org", "Class A", "CLASS-A")
    c.publish(quests / "fraction-forest.yaml", by=owner)
    c.assign("fraction-forest", "CLASS-A")
    c.add_student("CLASS-A", "Ada", "1234")
    return c, quests


def _browser_prefers(page, languages):
    """What the page's language probe hears from a browser with these preferences."""
    page.probe._msg(page.probe, {"type": "languages", "languages": languages}, [])


def _log_in(login):
    login.email.value, login.password.value = "ann@school.org", "password-ann"
    login.button.click()


def test_the_progress_center_follows_the_browsers_spanish():
    """Teachers keep no language of their own: the center speaks the browser's preference."""
    from questengine.ui.center import CenterPage

    c, _quests = _teacher_classroom()
    try:
        page = CenterPage(c)
        _browser_prefers(page, ["es-MX", "en"])
        assert i18n.active() == "es"
        _log_in(page.login)
        assert page.session is not None
        titles = [page.tabs.get_title(i) for i in range(len(page.tabs.children))]
        assert titles[:8] == ["Mapa de la clase", "Estudiantes", "Por revisar",
                              "Con dificultades", "Dominio y grupos", "Modalidades",
                              "Ajustes manuales", "Exportaciones"]
        buttons = {b.description for b in _walk(page.widget) if hasattr(b, "on_click")}
        assert {"↻ Actualizar", "Salir", "Crear informe"} <= buttons
        assert page.class_pick.description == "Clase"
    finally:
        i18n.activate("en")


def test_the_editor_follows_the_browsers_spanish_and_keeps_the_draft():
    from questengine.ui.editor import EditorPage

    c, quests = _teacher_classroom()
    try:
        page = EditorPage(c, quests)
        _log_in(page.login)
        assert [page.tabs.get_title(i) for i in range(2)] == ["Edit", "Preview"]
        page.draft.update_quest(title="Bosque de fracciones")
        _browser_prefers(page, ["es"])
        assert [page.tabs.get_title(i) for i in range(2)] == ["Editar", "Vista previa"]
        assert page.draft.data["title"] == "Bosque de fracciones"  # nothing typed is lost
        assert {"💾 Guardar", "↶ Deshacer", "Publicar en la clase", "Salir"} <= {
            b.description for b in _walk(page.widget) if hasattr(b, "on_click")}
        assert page.kind.description == "Haga clic en el mapa para añadir:"
    finally:
        i18n.activate("en")


def _walk(widget):
    yield widget
    for child in getattr(widget, "children", ()):
        yield from _walk(child)


# --- what users see refused, flagged or listed: in their language (issue 18's last gaps) ------

def _es(message: str) -> str:
    return i18n.gettext_in("es", message)


def test_every_msgid_of_the_catalog_template_has_a_spanish_translation():
    """The template `make catalogs` writes, entry by entry, against the Spanish catalog."""
    from babel.messages.pofile import read_po

    locale = PACKAGE / "locale"
    with open(locale / "questengine.pot", "rb") as f:
        template = read_po(f)
    with open(locale / "es" / "LC_MESSAGES" / "questengine.po", "rb") as f:
        spanish = read_po(f, locale="es")
    ids = [m.id for m in template if m.id]
    assert len(ids) > 300
    missing = [i for i in ids if not spanish.get(i) or not all(
        spanish.get(i).string if isinstance(spanish.get(i).string, tuple)
        else (spanish.get(i).string,))]
    assert missing == []
    assert i18n.untranslated_messages("es") == []


def test_a_refused_action_keeps_english_for_logs_and_speaks_spanish_to_the_student():
    from questengine.errors import ProgressError

    c, ann, ada = _class_with_spanish_quest(":memory:")
    ada.set_language("es")
    with pytest.raises(ProgressError) as info:
        ada.complete("t1", "learn")  # locked: the story comes first
    err = info.value
    assert str(err) == ("You cannot complete “Learn” yet. “Learn” is locked: it opens after "
                        "finishing “Into the forest”.")
    assert err.translated(_es, ada.graph("t1")) == (
        "Todavía no puedes completar «Aprende». «Aprende» está bloqueado: se abre después de "
        "terminar «Hacia el bosque».")
    with pytest.raises(QuestEngineError) as info:
        c.login_student("CLASS-A", "Ada", "9999")
    assert info.value.translated(_es) == ("Ese nombre y ese PIN no coinciden en la clase "
                                          "CLASS-A. Revísalos o pregunta a tu profesor.")


def test_the_play_page_shows_a_refusal_in_the_students_spanish():
    from questengine.ui.play import PlayPage

    c, _quests = _teacher_classroom()
    try:
        c.login_student("CLASS-A", "Ada", "1234").set_language("es")
        page = PlayPage(c)
        page.start(c.login_student("CLASS-A", "Ada", "1234"))
        page._open_quest("fraction-forest")
        assert page._call(page.session.complete, "fraction-forest", "bridge-troll") is None
        shown = page.banner.value
        assert "Todavía no puedes completar «The Bridge Troll»" in shown, shown
        assert "está bloqueado" in shown and "You cannot" not in shown
    finally:
        i18n.activate("en")


def test_a_spanish_teachers_struggle_card_and_its_help_are_in_spanish():
    from datetime import datetime

    from questengine import center, quest_graph

    G = quest_graph(loads_quest(T1))
    students = [{"id": 1, "name": "Al"}, {"id": 2, "name": "Bo"}, {"id": 3, "name": "Cy"}]
    found = center.struggling(students, {"t1": G}, datetime(2024, 9, 10), translate=_es,
                              fails=[(1, "t1", "check", 3)],
                              current={(1, "t1", "check"): "fail"},
                              last_active=[(2, "2024-09-01T00:00:00"), (3, None)])
    cards = {s.name: (s.reason, s.help) for s in found}
    assert cards["Al"] == ("no superó el control «Checkpoint» 3 veces",
                           "No quedan intentos: repásenlo juntos y luego dé un intento más "
                           "(desbloquear) o márquelo como hecho.")
    assert cards["Bo"][0] == "no ha hecho nada en 9 días"
    assert cards["Cy"] == ("aún no ha empezado ninguna misión",
                           "Compruebe que puede entrar (código de clase, nombre y PIN).")
    english = center.struggling(students, {"t1": G}, datetime(2024, 9, 10),
                                fails=[(1, "t1", "check", 3)],
                                current={(1, "t1", "check"): "fail"})
    assert english[0].reason == "did not pass the checkpoint “Checkpoint” 3 times"


def test_the_centers_struggling_tab_is_in_the_teachers_saved_spanish():
    from questengine.ui.center import CenterPage

    c, _quests = _teacher_classroom()
    try:
        c.login_teacher("ann@school.org", "password-ann").set_language("es")
        page = CenterPage(c)
        _browser_prefers(page, ["en-US"])  # the saved choice wins over the browser
        _log_in(page.login)
        assert i18n.active() == "es"
        text = " ".join(getattr(x, "value", "") for x in _walk(page.struggle_box)
                        if isinstance(getattr(x, "value", None), str))
        assert "aún no ha empezado ninguna misión" in text, text[:500]
        assert "has not started" not in text
    finally:
        i18n.activate("en")


def test_a_spanish_editor_problem_names_the_step_in_spanish():
    from questengine.authoring import QuestDraft

    draft = QuestDraft.new("q", "Q")
    a = draft.add_node("story", 0, 0, title="Inicio")
    draft.add_node("end", 200, 0, title="Fin")
    problems = {p.code: p for p in draft.problems() if p.nodes == (a,)}
    assert str(problems["unconnected"].message).startswith("“Inicio” is not connected")
    assert problems["unconnected"].translated(_es) == (
        "«Inicio» no está conectado con ningún otro paso: dibuje un camino hacia él y desde él")
    assert problems["placeholder"].translated(_es) == (
        "«Inicio» todavía tiene un texto de ejemplo (texto de la historia) «Tell the story "
        "here.»: escriba el suyo")
    assert a in problems["placeholder"].nodes


def test_the_supports_are_named_in_the_readers_language():
    from questengine.accommodations import Accommodations

    acc = Accommodations(read_aloud=True, extra_attempts=1, extra_time=1.5, simple_text=True)
    assert acc.words() == ["read aloud", "1 more try at checkpoints",
                           "1.5× time on timed challenges", "simpler text"]
    assert acc.words(_es) == ["lectura en voz alta", "1 intento más en los controles",
                              "1.5× de tiempo en los desafíos con tiempo", "texto más sencillo"]


def test_a_teacher_keeps_a_language_of_their_own(db_address):
    c = Classroom(db_address, clock=FakeClock(), hasher=cheap_hasher())
    c.add_teacher("ann@school.org", "Ann", "password-ann")
    ann = c.login_teacher("ann@school.org", "password-ann")
    assert ann.language is None  # the browser's preference until they choose
    assert ann.set_language("es-MX") == "es"
    assert c.login_teacher("ann@school.org", "password-ann").language == "es"
    with pytest.raises(i18n.LanguageError, match="choose one of en, es"):
        ann.set_language("tlh")
    ann.logout()
    with pytest.raises(QuestEngineError) as info:
        ann.set_language("en")
    assert info.value.translated(_es) == "Tu sesión terminó. Vuelve a entrar, por favor."


def test_migration_12_skips_a_teachers_language_column_that_is_there(db_address):
    from pgserver import is_sqlite, query
    from questengine.store import SCHEMA_VERSION, open_store

    c = Classroom(db_address, clock=FakeClock(), hasher=cheap_hasher())
    c.add_teacher("ann@school.org", "Ann", "password-ann")
    c.login_teacher("ann@school.org", "password-ann").set_language("es")
    store = c.store
    if is_sqlite(store):  # marked older than it is: migration 12 meets its own column
        store.conn.execute("pragma user_version = 11")
    else:
        with store.write():
            query(store, "update questengine_schema set version = ?", (11,))
    store.close()
    with open_store(db_address) as again:
        assert again.schema_version == SCHEMA_VERSION
        assert again.teacher_by_email("ann@school.org")["language"] == "es"


def test_a_family_session_is_a_session_like_the_others():
    from questengine.classroom import _Session
    from questengine.family import FamilySession

    assert issubclass(FamilySession, _Session)
    assert not {"__init__", "_check", "logout"} & set(vars(FamilySession))


def test_a_map_problem_in_the_editor_reads_in_spanish():
    from questengine.authoring import QuestDraft

    draft = QuestDraft.new("q", "Q")
    a = draft.add_node("story", 0, 0, title="Inicio")
    b = draft.add_node("story", 200, 0, title="Medio")
    draft.connect(a, b)
    draft.connect(b, a)
    loop = next(p for p in draft.problems() if p.code == "cycle")
    assert str(loop.message).startswith(f"the paths between '{a}' and '{b}' form a loop")
    spanish = loop.translated(_es)
    assert spanish.startswith("los caminos entre") and "forman un bucle" in spanish
    assert "solo los caminos 'retry' pueden volver atrás" in spanish
    no_end = next(p for p in draft.problems() if p.code == "no_end")
    assert no_end.translated(_es) == ("la misión no tiene ningún paso 'end'; añada uno (kind: "
                                      "end) para que los estudiantes puedan terminar")


def test_a_spanish_teacher_reads_a_students_record_in_spanish(tmp_path):
    """The record's "out of attempts" line is worded by the page, not the engine's stored
    English sentence."""
    from helpers import two_class_school
    from questengine.ui.center import _record_html

    c, ann, _bob, ids = two_class_school(str(tmp_path / "c.db"))
    s = c.login_student("CLASS-A", "Ada", "1234")
    s.complete("t1", "intro")
    s.choose("t1", "learn", "video")
    s.complete("t1", "learn")
    wrong = {"q1": "2/3", "q2": "9"}
    s.answer("t1", "check", wrong)
    s.complete("t1", "practice")
    s.answer("t1", "check", wrong)  # the second of two attempts: out of attempts
    record = ann.student_record(ids["Ada"])
    assert record["quests"]["t1"]["out_of_attempts"] == {"check": {"attempts": 2, "allowed": 2}}
    try:
        i18n.activate("es")
        html = _record_html(record)
    finally:
        i18n.activate("en")
    assert "no superó Checkpoint en 2 intentos (el máximo permitido es 2)" in html
    assert "did not pass" not in html
    assert "did not pass Checkpoint in 2 attempts (the most allowed is 2)" in _record_html(record)


def test_the_hubs_signed_out_sentence_follows_the_page_language():
    from questengine.ui.page import _HubSignedOut

    out = _HubSignedOut()
    assert "You are logged out of this page" in out.widget.value
    try:
        i18n.activate("es")
        out.relabel()
        assert "Has cerrado la sesión en esta página" in out.widget.value
    finally:
        i18n.activate("en")
