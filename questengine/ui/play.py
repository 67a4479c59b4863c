"""The student's play page: login, quests, the map, the node panel, the profile.

Every button calls a :class:`~questengine.classroom.StudentSession` method;
the session checks with the engine whether the action is allowed. Widget
state (which node is selected, what a form holds) is only input: nothing
here decides what a student may do.
"""
from __future__ import annotations

import asyncio
import html
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import ipywidgets as w

from .. import i18n
from ..accommodations import Accommodations
from ..engine import PLAYABLE, Progress
from ..i18n import N_, _, ngettext
from ..model import timed_minutes
from ..rewards import BUILTIN_BADGES, level_progress
from .login import StudentLogin, friendly_call, page_style
from .page import LiveRegion, Page, classroom_from_env
from .countdown import Countdown
from .media import MediaView, ReadAloud, UploadBox
from .language import LanguageProbe, language_picker
from .questmap import QuestMap
from .reuse import Reuse, active, shared_layout, shared_models
from .text import markdown_html, markdown_inline, plain_html, speakable

__all__ = ["PlayPage", "MODALITY_ICONS", "KIND_LABELS"]

log = logging.getLogger("questengine.ui")
_WORKERS: ThreadPoolExecutor | None = None


def _workers() -> ThreadPoolExecutor:
    """Threads that run slow checks (a coding challenge's sandbox) off the kernel's loop."""
    global _WORKERS
    if _WORKERS is None:
        _WORKERS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="qe-check")
    return _WORKERS


def _running_loop():
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None

MODALITY_ICONS = {"video": "▶", "reading": "☰", "worksheet": "✎", "audio": "♫", "story": "❦",
                  "song": "♪", "movie": "◉", "project": "⚒", "game": "♞", "discussion": "☺",
                  "other": "✦"}
# English here (marked for the catalog with N_); shown through _() in the user's language
KIND_LABELS = {"story": N_("Story"), "task": N_("Task"), "choice": N_("Choose your way"),
               "quiz": N_("Quiz"), "gate": N_("Checkpoint"), "end": N_("Quest end")}
STATE_WORDS = {"locked": N_("Locked"), "available": N_("Open"), "in_progress": N_("In progress"),
               "pending_review": N_("Waiting for review"), "returned": N_("Returned to you"),
               "success": N_("Done"), "fail": N_("Not passed"), "closed": N_("Closed")}
MODALITY_WORDS = {"video": N_("Videos"), "reading": N_("Reading"),
                  "worksheet": N_("Worksheets"), "audio": N_("Listening"),
                  "story": N_("Stories"), "song": N_("Songs and chants"),
                  "movie": N_("Mini-movies"), "project": N_("Projects"), "game": N_("Games"),
                  "discussion": N_("Talking it over"), "other": N_("Other ways")}
NEWS_SECONDS = 5.0  # how often an open page asks the service for news (a teacher's review)
NEWS_IDLE_MINUTES = 30  # after this long without the student doing anything, stop asking


def _times(n: int) -> str:
    return {1: _("once"), 2: _("twice")}.get(n) or _("{n} times").format(n=n)


def _html(text: str, cls: str = "") -> w.HTML:
    reuse = active()  # in a panel being drawn: last drawing's text widget, new words
    if reuse is not None:
        return reuse.html(text, tuple(cls.split()))
    return w.HTML(text, _dom_classes=tuple(cls.split()))


def _size(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB" if n >= 1024 * 1024 else f"{max(1, round(n / 1024))} KB"


def _worth_explaining(np) -> bool:
    """Whether the one-sentence explanation says more than the state's pill already does."""
    return np.state in ("locked", "closed", "fail") or (
        np.state == "available" and np.retry_ready)


def _badge_word(names: dict, badge: str) -> str:
    """A badge's name; for a badge of another quest, its id made readable."""
    return names.get(badge) or badge.replace("-", " ").replace("_", " ").capitalize()


def _row(children) -> w.Box:
    """Widgets side by side that wrap onto a new line on a narrow screen."""
    return w.Box(children, _dom_classes=("qe-row",))


def _named(name: str, *classes: str) -> dict:
    """A form field's name for screen readers (WCAG 1.3.1, 4.1.2), as creation arguments.

    A placeholder is no name (Chromium says nothing for a box whose empty description label
    points at it). The name goes in the widget's own description label, kept for screen
    readers and hidden from the eye (``qe-named``: the prompt above says it already); given
    at creation, like the classes, so it costs no message of its own.
    """
    return {"description": name, "_dom_classes": (*classes, "qe-named")}


def _textarea(value: str, placeholder: str, name: str, cls: str, **size) -> w.Textarea:
    """A text box named for screen readers (in a panel being drawn, a reused one)."""
    reuse = active()
    if reuse is not None:
        return reuse.textarea(value, placeholder, **_named(name, cls), layout=reuse.layout(**size))
    return w.Textarea(value=value, placeholder=placeholder, **_named(name, cls),
                      **shared_models(w.Textarea, **size))


def _box(children, cls: str = "", kind: type = w.VBox, **layout) -> w.Box:
    """A box of widgets (in a panel being drawn, the last drawing's box)."""
    reuse = active()
    if reuse is not None:
        return reuse.box(kind, children, tuple(cls.split()),
                         reuse.layout(**layout) if layout else None)
    return kind(list(children), _dom_classes=tuple(cls.split()),
                **({"layout": w.Layout(**layout)} if layout else {}))


_BUTTON_SIZE = {"width": "auto", "min_width": "140px", "height": "38px"}


def _button(label: str, on_click, style: str = "primary", cls: str = "",
            tooltip: str | None = None, size: dict | None = None) -> w.Button:
    layout = shared_layout(**(size or _BUTTON_SIZE))
    reuse = active()
    if reuse is not None:  # in a panel being drawn: the last drawing's button, new action
        return reuse.button(label, on_click, style, tuple(cls.split()), layout, tooltip)
    button = w.Button(description=label, button_style=style, layout=layout,
                      _dom_classes=tuple(cls.split()), tooltip=tooltip)
    button.on_click(lambda _b: on_click())
    return button


def _missing_answer(questions, answers: dict, label: str) -> str:
    """A sentence naming the questions (by number) still without a usable answer, or ""."""
    from ..grading import _blank, parse_number

    blank = [i for i, q in enumerate(questions, start=1) if _blank(answers.get(q.id))]
    if blank:
        if len(blank) == 1:
            return _("Question {n} has no answer yet. Please answer every question, then "
                     "press “{label}”.").format(n=blank[0], label=label)
        return _("Questions {list} and {last} have no answer yet. Please answer every "
                 "question, then press “{label}”.").format(
            list=", ".join(map(str, blank[:-1])), last=blank[-1], label=label)
    for i, q in enumerate(questions, start=1):
        if q.type == "number" and parse_number(answers.get(q.id)) is None:
            return _("Question {n} needs a number, like 3 or 0.5 or 1/2.").format(n=i)
    return ""


class PlayPage(Page):
    """The whole play page as one widget tree (``page.widget``)."""

    def __init__(self, classroom):
        self.classroom = classroom
        self.session = None
        self.quest_id: str | None = None
        self.G = None
        self.progress: Progress | None = None
        self.selected: str | None = None
        self._badges_seen: set[str] | None = None
        self._level_seen: int | None = None
        self._code_runs: set[tuple[str, str]] = set()  # (quest, node) whose code is running
        self._news_timer = None
        self._active_at = 0.0
        self.supports = Accommodations()  # the student's, as the service says (set at login)
        super().__init__()
        self.probe = LanguageProbe(self._browser_language)
        self.browser_language = i18n.DEFAULT
        # read out by screen readers only: what an action did ("Checkpoint: done, score 100%")
        self.announcer = LiveRegion()
        self.announcer.add_class("qe-sr-only")
        self.announcer.add_class("qe-announcer")
        self.login = StudentLogin(classroom, self._logged_in)
        self.widget = w.VBox([page_style(), self.login.widget, self.probe])
        self.widget.add_class("qe-page")

    @classmethod
    def from_env(cls) -> "PlayPage":
        """The page over the classroom database named by QUESTENGINE_DB, caches warmed."""
        page = cls(classroom_from_env())
        page.warm()
        page.sign_in_hub_user(page.classroom, "student", page.start)  # behind JupyterHub
        return page

    def warm(self) -> None:
        """Read and lay out every published quest now (a preheated kernel does this before
        anyone opens the page), so logging in only reads the student's own progress."""
        from ..graph import map_layout

        try:
            for quest_id in self.classroom.store.published_quest_ids():
                map_layout(self.classroom.graph(quest_id))
        except Exception:  # a quest that cannot be read now says so when it is opened
            log.info("warming the play page's caches failed", exc_info=True)

    def shown_graph(self):
        return getattr(self, "G", None)

    def _call(self, fn, *args, **kwargs) -> Any:
        self.banner.value = ""  # a new action: the last message is old news
        return super()._call(fn, *args, **kwargs)

    # news: the teacher's reviews reach an open page -----------------------------------------------

    def _start_news(self) -> None:
        """Ask the service for news every few seconds while the student is here."""
        import time

        self._active_at = time.monotonic()
        if self._news_timer is not None:
            return
        loop = _running_loop()
        if loop is None:
            return  # no event loop (a test, a script): call check_news() by hand
        self._news_timer = loop.call_later(NEWS_SECONDS, self._news_tick)

    def _news_tick(self) -> None:
        import time

        self._news_timer = None
        if self.session is None:
            return
        self.check_news()
        if time.monotonic() - self._active_at < NEWS_IDLE_MINUTES * 60:
            loop = _running_loop()
            if loop is not None:
                self._news_timer = loop.call_later(NEWS_SECONDS, self._news_tick)

    def _stop_news(self) -> None:
        if self._news_timer is not None:
            self._news_timer.cancel()
            self._news_timer = None

    def check_news(self) -> bool:
        """Catch up with what others wrote (a review, a message); redraw what changed. True if
        anything did."""
        if self.session is None:
            return False
        noticed = self.notice.refresh() if hasattr(self, "notice") else False
        if self.quest_id is None or self.progress is None:
            return noticed
        try:
            progress = self.session.progress(self.quest_id)
        except Exception:  # an ended session or a busy database: try again later, quietly
            log.info("news check failed", exc_info=True)
            return noticed
        before = self.progress
        if progress is before:
            return noticed
        changed = [n for n, np in progress.nodes.items()
                   if (np.state, len(np.reviews), np.attempts) != (
                       before.nodes[n].state, len(before.nodes[n].reviews), before.nodes[n].attempts)]
        if not changed:
            self.progress = progress
            return noticed
        news = [self._review_news(n, progress.nodes[n]) for n in changed
                if len(progress.nodes[n].reviews) > len(before.nodes[n].reviews)]
        self._set_progress(progress)
        self._show_quests(friendly_call(self.session.quests, lambda _t: None) or [])
        if self.selected in changed:
            self._render_panel()
        news = [t for t in news if t]
        if news:
            self.flash(" ".join(news), "info")
        return True

    def _review_news(self, n: str, np) -> str:
        title = self.G.nodes[n]["node"].title
        decision = np.reviews[-1].decision
        if decision == "approve":
            return _("📬 Your teacher approved “{title}”. Well done!").format(title=title)
        if decision == "return":
            return _("📬 Your teacher sent “{title}” back with a note. Open it to read the note, "
                     "then send a new version.").format(title=title)
        return _("📬 Your teacher looked at “{title}”: open it to read what they "
                 "wrote.").format(title=title)

    # languages ------------------------------------------------------------------------------------

    def _browser_language(self, code: str) -> None:
        """The browser's preference: the login form's language, and a student's default."""
        self.browser_language = code
        if self.session is None:
            i18n.activate(code)
            self.probe.language = code
            self.login.relabel()
        elif not self.session.language and code != i18n.active():
            self._use_language(code)

    def _use_language(self, code: str) -> None:
        i18n.activate(code)
        self.probe.language = code
        if self.session is not None:
            self._logged_in(self.session, again=True)

    def _choose_language(self, code: str) -> None:
        """The student picked a language: saved for them, and the page redrawn in it."""
        if self.session is not None and self._call(self.session.set_language, code) is None:
            return
        self._use_language(code)

    def _on_map_focus(self) -> None:
        """The student came back to the tab: look for news now."""
        self.check_news()

    # after login --------------------------------------------------------------------------------

    def start(self, session) -> None:
        """Show the page for a session that is already logged in (e.g. the editor's preview)."""
        self._logged_in(session)

    def _logged_in(self, session, again: bool = False) -> None:
        self.session = session
        if not again:
            self._session_began()
            language = session.language or self.browser_language
            i18n.activate(language)
            self.probe.language = language
        self.header = _html("", "qe-header")
        self.logout = w.Button(description=_("Log out"),
                               layout=w.Layout(width="auto", height="38px"))
        self.logout.on_click(lambda _b: self._logout())
        self.logout.add_class("qe-logout")
        self.quest_list = w.VBox()
        self.quest_list.add_class("qe-quest-list")
        # sizes live in pages.css: side by side on a laptop, the panel below the map on a
        # tablet or a phone
        self.map = QuestMap(height=480, follow=".qe-panel")
        self.map.observe(self._on_select, names="selected")
        self.map.on_focus(self._on_map_focus)
        self.panel = w.VBox()
        self.panel.add_class("qe-panel")
        # the panel and the quest list reuse their widgets from one drawing to the next
        self._panel_reuse, self._quests_reuse = Reuse(), Reuse()
        self.map_box = w.Box([self.map])
        self.map_box.add_class("qe-map-box")
        main = w.Box([self.map_box, self.panel])
        main.add_class("qe-play-main")
        play = w.VBox([self.quest_list, main])
        play.add_class("qe-play")
        self.profile_box = w.VBox()
        self.profile_box.add_class("qe-profile")
        self.tabs = w.Tab([play, self.profile_box])
        self.tabs.set_title(0, _("My quests"))
        self.tabs.set_title(1, _("My profile"))
        self.tabs.observe(lambda change: change["new"] == 1 and self._show_profile(),
                          names="selected_index")
        self.language = language_picker(i18n.active(), self._choose_language)
        top = w.Box([self.header, self.language, self.logout])
        top.add_class("qe-top")
        # the teacher's messages (issue 16): above the quests until the student reads them
        from .messages import StudentNotice

        announced = self.notice.announced if again and hasattr(self, "notice") else set()
        self.notice = StudentNotice(session, lambda text: setattr(
            self.announcer, "value", plain_html(text)), announced=announced)
        self.messages_box = self.notice.widget
        self.widget.children = [self.widget.children[0], top, self.banner, self.messages_box,
                                self.tabs, self.announcer, self.probe]
        self._refresh_supports()
        cards = self._call(self.session.quests) or []
        if not cards:
            self.flash(_("No quest is assigned to your class yet. Ask your teacher!"), "info")
        self._show_quests(cards)
        if cards:
            self._open_quest(self.quest_id if again and self.quest_id in
                             {c.quest_id for c in cards} else cards[0].quest_id)
        self._update_header(celebrate=False)
        self.notice.refresh()
        self._start_news()

    def _logout(self) -> None:
        self._stop_news()
        if self.session is not None:
            friendly_call(self.session.logout, self.flash)
        self.session = None
        self.supports = Accommodations()
        self.widget.remove_class("qe-larger")
        self.announcer.value = ""
        self.widget.children = [self.widget.children[0], self.login.widget, self.probe]
        self._close_session_widgets(keep=(self.probe,))
        i18n.activate(self.browser_language)  # the next person starts in the browser's language
        self.probe.language = self.browser_language
        self.login.relabel()
        self.login.clear()
        self.login.show_info(_("You are logged out. See you soon!"))

    def _show_quests(self, cards) -> None:
        with self._quests_reuse.drawing(self.quest_list) as reuse:
            self._draw_quests(cards, reuse)

    def _draw_quests(self, cards, reuse: Reuse) -> None:
        rows = []
        for card in cards:
            pct = round(100 * card.fraction)
            button = reuse.button(
                card.title, lambda q=card.quest_id: self._open_quest(q),
                "info" if card.quest_id == self.quest_id else "", ("qe-quest-button",),
                reuse.layout(width="auto"),
                tooltip=(_("You are playing this quest") if card.quest_id == self.quest_id
                         else _("Play “{title}”").format(title=card.title)))
            done = " ✓ " + _("complete") if card.complete else ""
            steps_done = plain_html(_("{done} of {total} steps done").format(
                done=card.done, total=card.total))
            label = plain_html(_("{done}/{total} steps").format(done=card.done, total=card.total))
            bar = _html(f"<div class='qe-progress' title='{steps_done}'>"
                        f"<div style='width:{pct}%'></div></div>"
                        f"<span class='qe-progress-label'>{label} · "
                        f"{card.xp} XP{plain_html(done)}</span>")
            rows.append(_box([button, bar], "qe-quest-row" + (
                " qe-quest-current" if card.quest_id == self.quest_id else "")))
        self.quest_list.children = rows

    def _refresh_supports(self) -> None:
        """Ask the service which supports the teacher set (they may change while playing)."""
        got = friendly_call(self.session.accommodations, lambda _t: None) if self.session else None
        self.supports = got or Accommodations()
        if self.supports.larger_text:
            self.widget.add_class("qe-larger")
        else:
            self.widget.remove_class("qe-larger")

    def _speak(self, text: str | None, what: str) -> list[w.Widget]:
        """A "read aloud" button for a text, for a student who has that support."""
        words = speakable(text)
        if not (self.supports.read_aloud and words):
            return []
        return [ReadAloud(text=words, label=_("Read {what} aloud").format(what=_(what)),
                          lang=i18n.active(), _dom_classes=("qe-speak",))]

    def _open_quest(self, quest_id: str) -> None:
        if self.session is not None and self.quest_id is not None:
            self._refresh_supports()
        G = self._call(self.session.graph, quest_id)
        progress = self._call(self.session.progress, quest_id)
        if G is None or progress is None:
            return
        self.quest_id, self.G = quest_id, G
        self._set_progress(progress, celebrate=False)
        start = progress.current or next((n for n in G.graph["order"]
                                          if progress.nodes[n].state in PLAYABLE), None)
        self.map.selected = start or ""
        self._show_quests(self._call(self.session.quests) or [])
        self._render_panel()

    def _set_progress(self, progress: Progress, celebrate: bool = True) -> None:
        self.progress = progress
        self.map.show(self.G, progress)
        self._update_header(celebrate)

    def _update_header(self, celebrate: bool) -> None:
        profile = friendly_call(self.session.profile, self.flash) if self.session else None
        if profile is None:
            return
        level, into, span = level_progress(profile.xp)
        pct = round(100 * into / span) if span else 100
        names = self._badge_names()
        badges = "".join(f"<span class='qe-badge' title='{plain_html(_badge_word(names, b))}'>★ "
                         f"{plain_html(_badge_word(names, b))}</span>" for b in profile.badges)
        hello = plain_html(_("Hi, {name}!").format(name=profile.name))
        level_word = plain_html(_("Level {level}").format(level=level))
        to_next = plain_html(_("{into} of {span} XP to the next level").format(into=into,
                                                                               span=span))
        self.header.value = (
            f"<div class='qe-hello'>{hello}</div>"
            f"<div class='qe-level'>{level_word}</div>"
            f"<div class='qe-xp' title='{to_next}'>"
            f"<div class='qe-xp-bar'><div style='width:{pct}%'></div></div>"
            f"<span class='qe-xp-label'>{profile.xp} XP</span></div>"
            f"<div class='qe-badges'>{badges}</div>")
        new_badges = set(profile.badges) - (self._badges_seen or set())
        if celebrate and self._badges_seen is not None and new_badges:
            self._celebrate(_("New badge: {badges}").format(
                badges=", ".join(_badge_word(names, b) for b in sorted(new_badges))))
        elif celebrate and self._level_seen is not None and level > self._level_seen:
            self._celebrate(_("Level up! You reached level {level}.").format(level=level))
        self._badges_seen = set(profile.badges)
        self._level_seen = level

    def _badge_names(self) -> dict[str, str]:
        rules = self.G.graph.get("badges", BUILTIN_BADGES) if self.G is not None else BUILTIN_BADGES
        names = {rule.id: rule.name for rule in BUILTIN_BADGES + tuple(rules)}
        if self.G is not None:
            for n in self.G:
                node = self.G.nodes[n]["node"]
                if node.kind == "end" and node.rewards.badge:
                    names[node.rewards.badge] = node.rewards.badge_name or node.rewards.badge
        return names

    def _celebrate(self, text: str) -> None:
        confetti = "".join(f"<i style='--i:{i}'></i>" for i in range(14))
        self.banner.value = (f"<div class='qe-celebrate' role='status'><div class='qe-confetti'>"
                             f"{confetti}</div><strong>🎉 {plain_html(text)}</strong></div>")

    # the node panel ------------------------------------------------------------------------------

    def _on_select(self, change) -> None:
        self._start_news()
        node = change["new"]
        if not node or self.G is None or node not in self.G:
            self.selected = None
            self._render_panel()
            return
        self.selected = node
        timed = timed_minutes(self.G.nodes[node]["node"])  # its clock starts with "Start"
        if self.progress.nodes[node].state == "available" and not self.progress.nodes[node].retry_ready \
                and not timed:
            progress = self._call(self.session.open, self.quest_id, node)
            if progress is not None:
                self.progress = progress
                self.map.show(self.G, progress)
        self._render_panel()

    def _act(self, method: str, *args) -> None:
        self._start_news()
        before = self.progress
        progress = self._call(getattr(self.session, method), self.quest_id, *args)
        if progress is None:
            return  # refused: the message is shown and the form keeps what was typed
        self._set_progress(progress)  # may celebrate a badge or a level
        self._announce(args[0] if args else None, progress)
        self._show_quests(friendly_call(self.session.quests, self.flash) or [])
        reopened = [n for n, np in progress.nodes.items() if np.retry_ready
                    and not (before and before.nodes[n].retry_ready)]
        if reopened and self.map.selected != reopened[0]:
            gate = self.G.nodes[reopened[0]]["node"].title
            if not self.banner.value:
                self.flash(_("Well practised! “{gate}” is open again: try it now.").format(
                    gate=gate), "info")
            self.map.selected = reopened[0]  # shows the gate's panel
            return
        self._render_panel()

    def _announce(self, n: str | None, progress: Progress) -> None:
        """Say what an action did, for screen readers (the panel shows it to the eye)."""
        if not n or n not in progress.nodes or self.G is None:
            return
        np = progress.nodes[n]
        title = self.G.nodes[n]["node"].title
        said = _("“{step}”: {state}.").format(step=title, state=self._state_word(np.state))
        if np.time_up:
            said += " " + _("Time was up.")
        if np.score is not None:
            said += " " + _("Score: {score}%.").format(score=round(100 * np.score))
        self.announcer.value = plain_html(said)

    def _time_note(self, n, node, np) -> tuple[list[w.Widget], bool]:
        """A timed challenge: how long the student has (more with the "more time" support), a
        Start button before the questions, then the countdown. Returns the widgets and whether
        the questions show. The service's clock gives the seconds left; the engine judges."""
        minutes = timed_minutes(node)
        if not minutes or np.state not in PLAYABLE:
            return [], True
        said = ngettext("⏱ Timed challenge: you have {n} minute.",
                        "⏱ Timed challenge: you have {n} minutes.",
                        1 if minutes == 1 else 2).format(n=f"{minutes:g}")
        if self.supports.extra_time > 1:
            said += " " + _("Your teacher gave you extra time.")
        parts: list[w.Widget] = [_html(f"<p class='qe-time-limit'>{plain_html(said)}</p>")]
        if not np.opened:
            parts.append(_html("<p class='qe-time-start'>" + plain_html(
                _("Your time begins when you press “Start”.")) + "</p>"))
            parts.append(_button(_("Start"), lambda: self._act("open", n), cls="qe-do qe-start"))
            return parts, False
        # not self._call: drawing the panel must not clear the message of the last action
        left = friendly_call(self.session.time_left, self.flash, self.quest_id, n)
        if left is not None:
            parts.append(Countdown(left))
        return parts, True

    def _time_is_up(self, n: str) -> bool:
        """The service's word on whether a timed challenge's time is up (a blank answer may go)."""
        return friendly_call(self.session.time_left, lambda _message: None, self.quest_id, n) == 0

    def _render_panel(self) -> None:
        with self._panel_reuse.drawing(self.panel):
            self._draw_panel()

    def _draw_panel(self) -> None:
        n = self.selected
        if not n or self.progress is None:
            self.panel.children = [_html("<p class='qe-hint'>"
                                         + plain_html(_("Click a step on the map to see it."))
                                         + "</p>")]
            return
        node = self.G.nodes[n]["node"]
        np = self.progress.nodes[n]
        parts: list[w.Widget] = [_html(
            f"<div class='qe-kind'>{plain_html(self._kind_label(node.kind))}</div>"
            f"<h2 class='qe-node-title'>{plain_html(node.title)}</h2>"
            f"<span class='qe-pill qe-pill-{np.state}'>{plain_html(self._state_word(np.state))}"
            "</span>"
            + (f"<p class='qe-explain'>{plain_html(i18n.explain(self.progress, n, self.G))}</p>"
               if _worth_explaining(np) else ""))]
        if np.state in ("locked", "closed"):
            if np.history:
                last = np.history[-1]
                done = _("passed") if last.get("outcome") == "success" else (
                    _("not passed") if last.get("outcome") == "fail" else _("started"))
                if last.get("score") is not None:
                    said = _("You did this step in round {round} ({how}, score {score}%).").format(
                        round=last["round"], how=done, score=round(100 * last["score"]))
                else:
                    said = _("You did this step in round {round} ({how}).").format(
                        round=last["round"], how=done)
                parts.append(_html(f"<p class='qe-history'>{plain_html(said)}</p>"))
            self.panel.children = parts
            return
        parts += self._feedback(np)  # the teacher's note first: above the box to revise in
        if node.story:
            parts += self._speak(node.story, N_("the story"))
            parts.append(_html(f"<div class='qe-story'>{markdown_html(node.story)}</div>"))
        if node.text:
            parts += self._speak(node.text, N_("this text"))
            parts.append(_html(f"<div class='qe-text'>{markdown_html(node.text)}</div>"))
        timing, questions = self._time_note(n, node, np)
        parts += timing
        builder = getattr(self, f"_body_{node.kind}", None) or self._plugin_body(node.kind)
        if builder is not None and questions:
            parts += builder(n, node, np)
        if node.hints and np.state in PLAYABLE:
            # a native disclosure: Tab reaches it, Enter or Space opens and closes it
            parts.append(_html("<details class='qe-hints'><summary>"
                               + plain_html(_("Need a hint?")) + "</summary>"
                               + "".join(f"<p>{markdown_html(h)}</p>" for h in node.hints)
                               + "</details>"))
        if np.state in ("success", "fail") and node.reflection:
            parts += self._reflection(n, node, np)
        self.panel.children = parts

    def _body_story(self, n, node, np):
        if np.state in PLAYABLE:
            return [_button(_("Done ➜"), lambda: self._act("complete", n), cls="qe-do")]
        return []

    def _body_end(self, n, node, np):
        if np.state in PLAYABLE:
            label = (_("Finish the quest (+{xp} XP)").format(xp=node.rewards.xp)
                     if node.rewards.xp else _("Finish the quest"))
            return [_button(label, lambda: self._act("complete", n), style="success", cls="qe-do")]
        return [_html("<p class='qe-done'>"
                      + plain_html(_("🏁 You finished this quest. Well done!")) + "</p>")]

    def _body_task(self, n, node, np):
        if node.instructions:
            head = self._speak(node.instructions, N_("the instructions")) + [
                _html(f"<div class='qe-text'>{markdown_html(node.instructions)}</div>")]
        else:
            head = []
        if node.complete == "self":
            if np.state in PLAYABLE:
                return head + [_button(_("Done ✓"), lambda: self._act("complete", n),
                                       cls="qe-do")]
            return head
        return head + self._submission(n, np, _("Send to my teacher"))

    def _submission(self, n, np, label: str) -> list[w.Widget]:
        if np.state == "pending_review":
            last = np.submissions[-1].content if np.submissions else ""
            sent = plain_html(_("⏳ Sent! Your teacher will look at it soon. This page will "
                                "tell you when they have."))
            return [_html(f"<div class='qe-waiting'>{sent}"
                          f"<blockquote class='qe-submitted'>{plain_html(last)}</blockquote></div>")
                    ] + self._handed_in(n, np)
        if np.state not in PLAYABLE:
            return []
        box = _textarea(np.submissions[-1].content if np.state == "returned" and np.submissions
                        else "", _("Write your answer, or paste a link to your work"),
                        _("Your work"), "qe-submission", width="100%", height="120px")
        label = label if np.state != "returned" else _("Send my new version")
        limit_mb = self._upload_limit_mb()
        upload = UploadBox(limit=limit_mb * 1024 * 1024)

        def send_it():
            files = list(upload.files)
            if not box.value.strip() and not files:
                self.flash(_("The box is empty. Write your answer (or add a photo, a recording "
                             "or a file), then press “{label}”.").format(label=label))
                return
            if files:
                self._act("submit_files", n, box.value, files)
            else:
                self._act("submit", n, box.value)

        change = _("Change your work using your teacher's note, then send it again.")
        intro = ([_html(f"<p class='qe-prompt'>{plain_html(change)}</p>")]
                 if np.state == "returned" else [])
        can_add = _("You can add photos, recordings, videos or PDFs (up to {mb} MB "
                    "each).").format(mb=limit_mb)
        hint = _html(f"<p class='qe-hint'>{plain_html(can_add)}</p>")
        return intro + [box, upload, hint, _button(label, send_it, cls="qe-do")]

    def _upload_limit_mb(self) -> int:
        limit = friendly_call(self.session.upload_limit, lambda _t: None)
        return round((limit or 50 * 1024 * 1024) / (1024 * 1024))

    def _handed_in(self, n: str, np) -> list[w.Widget]:
        """The files handed in with the latest submission (names, and a player for each)."""
        rows = friendly_call(self.session.my_files, lambda _t: None, self.quest_id, n) or []
        if not rows or not np.submissions:
            return []
        last = max(r["submission_id"] for r in rows)
        names = "".join(f"<li>📎 {plain_html(r['name'])} ({_size(r['size'])})</li>"
                        for r in rows if r["submission_id"] == last)
        return [_html(f"<ul class='qe-handed-in'>{names}</ul>")]

    def _body_choice(self, n, node, np):
        option = next((o for o in node.options if o.id == np.option), None)
        if np.state in ("success", "fail", "pending_review") and option is not None:
            chose = plain_html(_("You chose {option}.")).replace(
                "{option}", f"<strong>{MODALITY_ICONS.get(option.modality, '')} "
                            f"{plain_html(option.label)}</strong>")
            out = [_html(f"<p>{chose}</p>")]
            if option.complete == "review":
                out += self._submission(n, np, _("Send to my teacher"))
            if option.complete == "quiz" and np.results:
                out += self._results(option.questions, np)
            return out
        if option is None or np.state == "available":
            cards = [self._option_card(n, o, tooltip=True) for o in node.options]
            return [_html("<p class='qe-prompt'>"
                          + plain_html(_("How do you want to do this? Pick one:")) + "</p>"),
                    w.VBox(cards, layout=shared_layout(grid_gap="6px"))]
        out = [_html(f"<div class='qe-chosen'>{MODALITY_ICONS.get(option.modality, '')} "
                     f"<strong>{plain_html(option.label)}</strong></div>")]
        if option.text:
            out += self._speak(option.text, N_("this text"))
            out.append(_html(f"<div class='qe-text'>{markdown_html(option.text)}</div>"))
        if option.url:
            out += self._material(option)
        if option.complete == "self" and np.state in PLAYABLE:
            out.append(_button(_("Done ✓"), lambda: self._act("complete", n), cls="qe-do"))
        elif option.complete == "review":
            out += self._submission(n, np, _("Send to my teacher"))
        elif option.complete == "quiz" and np.state in PLAYABLE:
            out += self._quiz_form(n, option.questions, _("Check my answers"))
        if np.state == "in_progress" and not np.submissions:
            out.append(_button(_("Pick another way"), lambda: self._rechoose(n), style="",
                               cls="qe-rechoose"))
        return out

    def _material(self, option) -> list[w.Widget]:
        """An option's material: the quest's own file shown inside the page; an outside page
        opened in a new tab, never replacing this one."""
        url = option.url or ""
        if url.startswith(("http://", "https://")):
            opens = plain_html(_("Open the material in a new tab ↗"))
            return [_html(f"<p><a class='qe-material-link' href='{html.escape(url, quote=True)}' "
                          f"target='_blank' rel='noopener noreferrer'>{opens}</a></p>")]
        listed = {a.path: a for a in self.G.graph["quest"].assets}
        if url not in listed:
            return [_html("<p class='qe-hint'>" + plain_html(_(
                "📎 Your teacher has the material for this step (ask for it if you do not have "
                "it yet).")) + "</p>")]
        asset = listed[url]
        box = w.VBox(_dom_classes=("qe-material",))
        watch, listen, read = _("▶ Watch {what} here"), _("♫ Listen to {what} here"), \
            _("☰ Open {what} here")
        label = {"mp4": watch, "webm": watch, "mov": watch, "mp3": listen, "wav": listen,
                 "ogg": listen, "m4a": listen, "pdf": read,
                 }.get(url.rsplit(".", 1)[-1].lower(), _("📎 Open {what} here"))
        what = asset.title or _("the material")
        button = _button(label.format(what=what), lambda: self._open_material(box, url, what),
                         style="info", cls="qe-open-material")
        box.children = [button]
        return [box]

    def _open_material(self, box: w.VBox, path: str, title: str) -> None:
        got = self._call(self.session.asset, self.quest_id, path)
        if got is None:
            return  # the reason is in the banner ("ask your teacher")
        data, mime, captions = got
        vtt = b""
        if captions:
            extra = friendly_call(self.session.asset, lambda _t: None, self.quest_id, captions)
            vtt = extra[0] if extra else b""
        view = MediaView(data=data, mime=mime, name=path.rsplit("/", 1)[-1], title=title,
                         captions=vtt)
        box.children = [view]

    def _option_card(self, n: str, o, tooltip: bool) -> w.Button:
        """One option of a choice step, as a card the student presses to pick it."""
        return _button(f"{MODALITY_ICONS.get(o.modality, '✦')}  {o.label}",
                       lambda: self._act("choose", n, o.id), style="",
                       cls="qe-option" + (f" qe-option-{o.id}" if tooltip else ""),
                       tooltip=(f"{_(MODALITY_WORDS.get(o.modality, o.modality))}: {o.label}"
                                if tooltip else None),
                       size={"width": "100%", "height": "46px"})

    def _rechoose(self, n: str) -> None:
        node = self.G.nodes[n]["node"]
        with self._panel_reuse.drawing(self.panel):
            head = self.panel.children[:1]
            cards = [self._option_card(n, o, tooltip=False) for o in node.options]
            self.panel.children = list(head) + [w.VBox(cards, layout=shared_layout())]

    def _body_quiz(self, n, node, np):
        if np.state in PLAYABLE:
            return self._quiz_form(n, node.questions, _("Check my answers"))
        return self._verdict(n, node, np, node.questions, node.pass_score) + \
            self._results(node.questions, np)

    def _body_gate(self, n, node, np):
        out = []
        if np.state in PLAYABLE:
            if np.attempts:
                attempt = _("Attempt {n} of {most}").format(
                    n=np.attempts + 1, most=node.max_attempts + np.extra_attempts)
                out.append(_html(f"<p class='qe-attempt'>{plain_html(attempt)}</p>"))
            if node.questions:
                out += self._quiz_form(n, node.questions, _("Check my mastery"))
            else:
                out.append(_button(_("Check my mastery"), lambda: self._act("answer", n, {}),
                                   cls="qe-do"))
            return out
        if np.state in ("success", "fail"):
            out += self._verdict(n, node, np, node.questions, node.threshold)
            out += self._results(node.questions, np)
        return out

    def _verdict(self, n, node, np, questions, needed: float) -> list[w.Widget]:
        """What happened, in words for a child: passed and the XP won, or what to do next."""
        if np.state not in ("success", "fail"):
            return []
        right = sum(1 for q in questions if np.results.get(q.id))
        total = len(questions)
        need = -(-round(needed * total * 1000) // 1000) if total else 0  # ceil, without float dust
        xp = f" +{np.xp} XP" if np.xp else ""
        if np.state == "success":
            sub = (_("You showed mastery: {right} of {total} right.") if node.kind == "gate"
                   else _("You got {right} of {total} right.")).format(
                right=right, total=total) if total else ""
            passed = plain_html(_("🎉 You passed!"))
            return [_html(f"<div class='qe-verdict qe-verdict-success' role='status'>"
                          f"<strong>{passed}{xp}</strong> {plain_html(sub)}</div>")]
        parts = []
        head = (_("Not yet! You got {right} of {total} right, and you need {need} to "
                  "pass.").format(right=right, total=total, need=need)
                if total else _("Not yet! You need a bit more practice first."))
        if np.time_up:
            head = _("Time was up before your answers came in, so this try counts as not "
                     "passed.")
        next_steps = [v for v, d in self.G.succ[n].items() if d.get("when") == "fail"
                      and self.progress.nodes[v].state in PLAYABLE]
        if next_steps:
            go = self.G.nodes[next_steps[0]]["node"].title
            tip = " " + _("Go to “{step}” to practise, then come back and try again.").format(
                step=go)
        elif np.state == "fail" and node.kind == "gate":
            tip = " " + _("Your teacher will help you with the next step.")
        else:
            tip = " " + _("Look at the answers below to see what to practise.") + (
                " " + _("You still earned {xp} XP.").format(xp=np.xp) if xp else "")
        parts.append(_html(f"<div class='qe-verdict qe-verdict-fail' role='status'><strong>"
                           f"{plain_html(head)}</strong>{plain_html(tip)}</div>"))
        if next_steps:
            target = next_steps[0]
            go_button = _button(_("Go to “{step}” ➜").format(
                step=self.G.nodes[target]["node"].title),
                                lambda: self._go(target), cls="qe-go")
            parts.append(go_button)
        return parts

    def _go(self, node: str) -> None:
        """Open another step's panel, as a click on it in the map would."""
        self.map.selected = node

    # plugin kinds and coding challenges -----------------------------------------------------------

    def _plugin_kind(self, kind: str):
        return self.G.graph.get("kinds", {}).get(kind) if self.G is not None else None

    def _kind_label(self, kind: str) -> str:
        plugin = self._plugin_kind(kind)
        return (_(KIND_LABELS[kind]) if kind in KIND_LABELS else "") or (
            plugin.label if plugin else "") or kind.title()

    @staticmethod
    def _state_word(state: str) -> str:
        return _(STATE_WORDS[state]) if state in STATE_WORDS else state

    def _plugin_body(self, kind: str):
        """The panel builder for a plugin kind: its own, or a generic one."""
        plugin = self._plugin_kind(kind)
        if plugin is None:
            return None
        if plugin.panel is None:
            return self._body_plugin
        return lambda n, node, np: self._custom_panel(plugin, n, node, np)

    def _custom_panel(self, plugin, n, node, np) -> list[w.Widget]:
        try:
            parts = list(plugin.panel(node, np, lambda answer: self._act("answer", n,
                                                                         {"answer": answer})))
            if all(isinstance(p, w.Widget) for p in parts):
                return parts
            raise TypeError("a panel must return a list of widgets")
        except Exception:
            log.exception("the panel of plugin kind %r failed", node.kind)
            self.flash(_("This step's own page could not be shown; here is a simple one "
                         "instead."))
            return self._body_plugin(n, node, np)

    def _body_plugin(self, n, node, np):
        """A plugin kind without its own panel: its question, the checker's feedback, an answer box."""
        plugin = self._plugin_kind(node.kind)
        out = []
        for name in ("question", "prompt", "instructions"):
            text = getattr(node, name, None)
            if isinstance(text, str) and text.strip():
                out.append(_html(f"<div class='qe-prompt'>{markdown_html(text)}</div>"))
                break
        out += self._check_feedback(np)
        if plugin.completes == "self":
            if np.state in PLAYABLE:
                out.append(_button(_("Mark as done ✓"), lambda: self._act("complete", n),
                                   cls="qe-do"))
        elif plugin.completes == "review":
            out += self._submission(n, np, _("Send to my teacher"))
        elif np.state in PLAYABLE:
            box = w.Text(placeholder=_("your answer"),
                         **_named(_("Your answer"), "qe-plugin-answer"),
                         **shared_models(w.Text, width="100%"))
            out += [box, _button(_("Check my answer"), lambda: self._act("answer", n,
                                                                      {"answer": box.value}),
                                 cls="qe-do")]
        return out

    def _check_feedback(self, np) -> list[w.Widget]:
        report = np.report or {}
        if not report.get("feedback"):
            return []
        cls = "ok" if report.get("correct") else "wrong"
        return [_html(f"<p class='qe-check qe-result qe-result-{cls}'>"
                      f"{'✓' if report.get('correct') else '✗'} {plain_html(report['feedback'])}</p>")]

    def _body_code(self, n, node, np):
        """A coding challenge: the code box, Run, and which tests passed and failed."""
        out = self._speak(node.prompt, N_("the challenge")) + [
            _html(f"<div class='qe-prompt'>{markdown_html(node.prompt)}</div>")]
        last = (np.answers or {}).get("answer")
        report = np.report or {}
        if np.state in PLAYABLE:
            running = (self.quest_id, n) in self._code_runs
            box = w.Textarea(value=last if isinstance(last, str) else node.starter_code,
                             **_named(_("Your code"), "qe-code"),
                             **shared_models(w.Textarea, width="100%", height="220px"))
            status = _html("<span class='qe-running'>" + plain_html(_("⏳ Running your code…"))
                           + "</span>" if running else "", "qe-run-status")
            run = _button(_("▶ Run my code"), lambda: self._run_code(n, box, run, status),
                          cls="qe-run")
            run.disabled = running
            out += [box, w.HBox([run, status], layout=w.Layout(align_items="center"))]
            if not report:
                out.append(self._code_tests_preview(node))
        elif isinstance(last, str):
            out.append(_html(f"<pre class='qe-code-done'>{html.escape(last)}</pre>"))
        out += self._code_results(report)
        return out

    def _code_tests_preview(self, node) -> w.Widget:
        shown = [t for t in node.tests if not t.hidden]
        hidden = len(node.tests) - len(shown)
        raises = plain_html(_("raises {error}"))
        items = "".join(
            f"<li><code>{plain_html(t.call)}</code> → "
            + (raises.format(error=plain_html(t.raises)) if t.raises
               else '<code>' + plain_html(t.expect) + '</code>')
            + "</li>" for t in shown)
        more = ("<li>" + plain_html(ngettext("and {n} hidden test", "and {n} hidden tests",
                                             hidden).format(n=hidden)) + "</li>") if hidden else ""
        tried = plain_html(_("Your function will be tried like this:"))
        tip = plain_html(_("Tip: indent with spaces (four per level); the Tab key moves to the "
                           "next button."))
        return _html(f"<div class='qe-hint'>{tried}<ul>{items}{more}</ul>{tip}</div>")

    def _code_results(self, report: dict) -> list[w.Widget]:
        details = report.get("details") or {}
        if not report:
            return []
        rows = []
        for t in details.get("tests", []):
            ok = bool(t.get("passed"))
            if t.get("hidden"):
                what = plain_html(_("a hidden test"))
            else:
                what = plain_html(_("{call} should give {expected}")).format(
                    call=f"<code>{plain_html(t.get('call', ''))}</code>",
                    expected=f"<code>{plain_html(t.get('expected', ''))}</code>")
                if not ok and t.get("got"):
                    what += ("<div class='qe-given'>" + plain_html(_("Your code gave:"))
                             + f" <code>{plain_html(t['got'])}</code></div>")
                elif not ok:
                    why = str(t.get("message") or _("not run"))
                    what += f"<div class='qe-given'>{plain_html(why[:1].upper() + why[1:])}</div>"
            rows.append(f"<li class='qe-result qe-result-{'ok' if ok else 'wrong'}'>"
                        f"<span class='qe-mark'>{'✓' if ok else '✗'}</span> "
                        f"{plain_html(t.get('name', ''))}: {what}</li>")
        passed, failed = details.get("passed", 0), details.get("failed", 0)
        out = [_html(f"<p class='qe-score qe-code-summary'>{plain_html(report.get('feedback', ''))}"
                     "</p><p class='qe-hint'>" + plain_html(_("{passed} passed, {failed} "
                                                              "failed").format(
                         passed=passed, failed=failed)) + "</p>"
                     f"<ul class='qe-results qe-code-results'>{''.join(rows)}</ul>")]
        if details.get("output"):
            out.append(_html("<div class='qe-hint'>" + plain_html(_("What your code printed:"))
                             + "</div>"
                             f"<pre class='qe-output'>{html.escape(details['output'])}</pre>"))
        return out

    def _run_code(self, n: str, box, run_button, status) -> None:
        """Run the student's code without freezing the page.

        The slow part (the sandboxed run) happens in a worker thread, which
        only warms the sandbox's cache; then, back on the kernel's event loop,
        the session checks the answer as usual (the engine's grader finds the
        run in the cache). Without a running event loop it all happens at once.
        """
        quest_id, code = self.quest_id, box.value
        if (quest_id, n) in self._code_runs:
            return
        node = self.G.nodes[n]["node"]
        plugin = self._plugin_kind(node.kind)
        run_button.disabled = True
        status.value = "<span class='qe-running'>⏳ Running your code…</span>"
        self.banner.value = ""
        loop = _running_loop()
        if plugin is None or plugin.prepare is None or loop is None:
            self._finish_run(quest_id, n, code)
            return
        self._code_runs.add((quest_id, n))
        future = _workers().submit(plugin.warm, node, code)
        future.add_done_callback(
            lambda _f: loop.call_soon_threadsafe(self._finish_run, quest_id, n, code))

    def _finish_run(self, quest_id: str, n: str, code: str) -> None:
        self._code_runs.discard((quest_id, n))
        if self.session is None:
            return
        progress = self._call(self.session.answer, quest_id, n, {"answer": code})
        if quest_id != self.quest_id:
            if progress is not None:
                self.flash(_("Your code ran; open that quest again to see the results."),
                           "info")
            return
        if progress is not None:
            self._set_progress(progress)
            self._show_quests(self._call(self.session.quests) or [])
            if self.selected != n:
                report = progress.nodes[n].report
                self.flash(_("Your code for {step} ran: {feedback}").format(
                    step=self.G.nodes[n]["node"].title, feedback=report.get("feedback", "")),
                    "info")
        if self.selected == n:
            self._render_panel()

    def _quiz_form(self, n: str, questions, label: str) -> list[w.Widget]:
        fields: dict[str, Any] = {}
        rows: list[w.Widget] = []
        for i, q in enumerate(questions, start=1):
            prompt = _html(f"<div class='qe-q'><span class='qe-qn'>{i}</span> "
                           f"{markdown_inline(q.prompt)}</div>")
            mark = (f"qe-answer-{q.id}",)
            named = _named(_("Your answer to question {n}").format(n=i), *mark)
            if q.type == "choice":
                field = w.RadioButtons(options=q.options, value=None, **named,
                                       **shared_models(w.RadioButtons, width="auto"))
                fields[q.id] = lambda f=field: f.value
            elif q.type == "multi":
                boxes = [w.Checkbox(description=o, indent=False,
                                    **shared_models(w.Checkbox)) for o in q.options]
                field = w.VBox(boxes, layout=shared_layout(), _dom_classes=mark)
                fields[q.id] = lambda bs=boxes: [b.description for b in bs if b.value]
            else:
                field = w.Text(placeholder=_("a number, like 0.5 or 1/2") if q.type == "number"
                               else _("your answer"), **named,
                               **shared_models(w.Text, width="240px"))
                fields[q.id] = lambda f=field: f.value
            speak = self._speak(_("Question {n}.").format(n=i) + f" {q.prompt}" + (
                ". " + _("The choices:") + " " + "; ".join(q.options)
                if q.type in ("choice", "multi") else ""), _("question {n}").format(n=i))
            # a new box per question, like the field in it (a form is never reused)
            rows.append(w.VBox([prompt, *speak, field], layout=shared_layout(margin="0 0 8px 0")))

        def submit():
            answers = {qid: get() for qid, get in fields.items()}
            problem = _missing_answer(questions, answers, label)
            if problem and not self._time_is_up(n):  # when time is up, what there is goes
                self.flash(problem)
                return
            self._act("answer", n, answers)

        return rows + [_button(label, submit, cls="qe-do")]

    def _results(self, questions, np) -> list[w.Widget]:
        if not np.results:
            return []
        rows = []
        your_answer, none = plain_html(_("Your answer:")), _("(none)")
        for q in questions:
            ok = np.results.get(q.id)
            given = (np.answers or {}).get(q.id)
            given = ", ".join(given) if isinstance(given, list) else given
            mark = _("✓ Right") if ok else _("✗ Not quite")
            extra = ""
            if q.explanation:  # the question's own explanation, right or wrong
                extra += f"<div class='qe-why'>💡 {markdown_inline(q.explanation)}</div>"
            elif not ok and q.hint:
                extra += ("<div class='qe-hint'>" + plain_html(_("Hint:")) + " "
                          + f"{markdown_inline(q.hint)}</div>")
            rows.append(f"<li class='qe-result qe-result-{'ok' if ok else 'wrong'}'>"
                        f"<span class='qe-mark'>{mark}</span> {markdown_inline(q.prompt)}"
                        f"<div class='qe-given'>{your_answer} "
                        f"{plain_html(given or none)}</div>"
                        f"{extra}</li>")
        score = round(100 * (np.score or 0))
        right = sum(1 for q in questions if np.results.get(q.id))
        said = _("Score: {score}% ({right} of {total} right)").format(
            score=score, right=right, total=len(questions))
        return [_html(f"<p class='qe-score'>{plain_html(said)}"
                      f"</p><ul class='qe-results'>{''.join(rows)}</ul>")]

    def _feedback(self, np) -> list[w.Widget]:
        if not np.reviews:
            return []
        words = {"approve": _("✅ Approved"), "fail": _("Not passed this time"),
                 "return": _("✏️ Please change it and send it again")}
        latest, earlier = np.reviews[-1], np.reviews[:-1]
        note = markdown_html(latest.feedback) if latest.feedback else ""
        older = "".join(f"<li>{words.get(r.decision, r.decision)}"
                        f"{': ' + markdown_html(r.feedback) if r.feedback else ''}</li>"
                        for r in reversed(earlier))
        earlier_notes = plain_html(_("Earlier notes ({n})").format(n=len(earlier)))
        older = (f"<details class='qe-earlier'><summary>{earlier_notes}</summary>"
                 f"<ul>{older}</ul></details>") if earlier else ""
        your_teacher = plain_html(_("📬 Your teacher:"))
        return [_html(f"<div class='qe-feedback qe-feedback-{latest.decision}' role='status'>"
                      f"<strong>{your_teacher} "
                      f"<span class='qe-review-{latest.decision}'>{words.get(latest.decision, '')}"
                      f"</span></strong>{note}{older}</div>")]

    def _reflection(self, n, node, np) -> list[w.Widget]:
        prompt = _html(f"<div class='qe-reflect-prompt'>💭 {markdown_html(node.reflection)}</div>")
        if np.reflection:
            saved = _html(f"<blockquote class='qe-reflection'>{plain_html(np.reflection)}</blockquote>")
        else:
            saved = _html("")
        box = _textarea("", _("Write a few sentences..."), _("Your reflection"), "qe-reflect",
                        width="100%", height="80px")
        save = _button(_("Save my reflection"), lambda: self._act("reflect", n, box.value), style="",
                       cls="qe-save-reflection")
        return [prompt, saved, box, save]

    # the profile ----------------------------------------------------------------------------------

    def _show_profile(self) -> None:
        profile = self._call(self.session.profile)
        if profile is None:
            return
        comp_names, step_names = {}, {}
        for card in self._call(self.session.quests) or []:
            G = self._call(self.session.graph, card.quest_id)
            if G is not None:
                comp_names.update({c.id: c.name for c in G.graph["quest"].competencies})
                step_names.update({(card.quest_id, n): G.nodes[n]["node"].title for n in G})
        a_skill, a_step = _("A skill"), _("A step")
        bars = "".join(
            f"<tr><td>{plain_html(comp_names.get(c) or a_skill)}</td><td><div class='qe-mastery'>"
            f"<div style='width:{round(100 * v)}%'></div></div></td><td>{round(100 * v)}%</td></tr>"
            for c, v in sorted(profile.mastery.items())) or \
            ("<tr><td colspan=3>" + plain_html(_("Answer a quiz or a checkpoint to see your "
                                                 "mastery here.")) + "</td></tr>")
        names = self._badge_names()
        badges = "".join(f"<span class='qe-badge'>★ {plain_html(_badge_word(names, b))}</span>"
                         for b in profile.badges) or plain_html(_("None yet — keep going!"))
        picks: dict[str, list] = {}
        for p in profile.picks:
            picks.setdefault(p["modality"], []).append(p["outcome"])
        pick_rows = "".join(
            f"<li>{MODALITY_ICONS.get(m, '')} {plain_html(_(MODALITY_WORDS.get(m, m.title())))}: "
            + plain_html((_("you chose this {times} and finished it {done}.").format(
                times=_times(len(o)), done=_times(done)) if (done := sum(
                    1 for x in o if x == "success")) else _("you chose this {times}.").format(
                    times=_times(len(o))))) + "</li>"
            for m, o in sorted(picks.items())) or (
            "<li>" + plain_html(_("No choices yet.")) + "</li>")
        reflections = "".join(
            f"<li><em>{plain_html(step_names.get((r.get('quest'), r['node'])) or a_step)}</em>: "
            f"{plain_html(r['text'])}</li>" for r in profile.reflections) \
            or ("<li>" + plain_html(_("No reflections yet.")) + "</li>")
        goal_rows = []
        for goal in profile.goals:
            box = w.Checkbox(value=goal["done"], description=goal["text"], indent=False)
            box.observe(lambda ch, g=goal["id"]: self._call(self.session.set_goal_done, g,
                                                             ch["new"]), names="value")
            goal_rows.append(box)
        new_goal = w.Text(placeholder=_("A goal for this week..."),
                          layout=w.Layout(width="320px", max_width="100%"),
                          **_named(_("A new goal"), "qe-new-goal"))
        add = _button(_("Add goal"), lambda: self._add_goal(new_goal.value), style="", cls="qe-add-goal")
        new_goal.on_submit(lambda box: self._add_goal(box.value))  # Enter adds it too
        interests = w.Text(value=", ".join(profile.interests),
                           placeholder=_("dinosaurs, football, drawing..."),
                           layout=w.Layout(width="320px", max_width="100%"),
                           **_named(_("Your interests")))
        save_interests = _button(_("Save"), lambda: self._save_interests(interests.value), style="")
        interests.on_submit(lambda box: self._save_interests(box.value))
        def h2(text: str) -> str:
            return f"<h2>{plain_html(text)}</h2>"

        self.profile_box.children = [
            _html(h2(_("My mastery")) + f"<table class='qe-mastery-table'>{bars}</table>"),
            _html(h2(_("My badges")) + f"<div class='qe-badges'>{badges}</div>"),
            _html(h2(_("My goals"))), w.VBox(goal_rows), _row([new_goal, add]),
            _html(h2(_("What I like"))), _row([interests, save_interests]),
            _html(h2(_("How I like to learn")) + f"<ul>{pick_rows}</ul>"),
            _html(h2(_("My reflections")) + f"<ul>{reflections}</ul>"),
            *self._sharing(),
        ]
        if self.supports.any():
            words = "".join(f"<li>{plain_html(x)}</li>" for x in self.supports.words(_))
            turned_on = plain_html(_("Your teacher turned these on for you."))
            self.profile_box.children += (_html(
                h2(_("My supports")) + f"<p class='qe-hint'>{turned_on}"
                f"</p><ul class='qe-supports'>{words}</ul>"),)

    def _sharing(self) -> list[w.Widget]:
        """A "share with my family" switch per reflection (off until the student turns it on)."""
        rows = self._call(self.session.reflections) or []
        if not rows:
            return []
        switches = []
        for r in rows:
            box = w.Checkbox(value=bool(r["shared"]), indent=False,
                             description=_("Share with my family: “{text}”").format(
                                 text=r["text"][:60] + ("…" if len(r["text"]) > 60 else "")))
            box.add_class("qe-share-reflection")
            box.observe(lambda ch, rid=r["id"]: self._call(self.session.share_reflection, rid,
                                                            ch["new"]), names="value")
            switches.append(box)
        return [_html("<h2>" + plain_html(_("What my family sees")) + "</h2>"), w.VBox(switches)]

    def _add_goal(self, text: str) -> None:
        if not text.strip():
            self.flash(_("Type your goal in the box first, then press “{label}”.").format(
                label=_("Add goal")))
            return
        if self._call(self.session.add_goal, text) is not None:
            self._show_profile()

    def _save_interests(self, text: str) -> None:
        items = [t.strip() for t in text.split(",") if t.strip()]
        if self._call(self.session.set_interests, items) is not None:
            self.flash(_("Saved."), "info")
