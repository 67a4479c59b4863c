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

from ..engine import PLAYABLE, Progress, explain
from ..rewards import BUILTIN_BADGES, level_progress
from .login import StudentLogin, friendly_call, page_style
from .page import Page, classroom_from_env
from .questmap import QuestMap
from .text import markdown_html, markdown_inline, plain_html

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
KIND_LABELS = {"story": "Story", "task": "Task", "choice": "Choose your way", "quiz": "Quiz",
               "gate": "Checkpoint", "end": "Quest end"}
STATE_WORDS = {"locked": "Locked", "available": "Open", "in_progress": "In progress",
               "pending_review": "Waiting for review", "returned": "Returned to you",
               "success": "Done", "fail": "Not passed", "closed": "Closed"}


def _html(text: str, cls: str = "") -> w.HTML:
    widget = w.HTML(text)
    if cls:
        for c in cls.split():
            widget.add_class(c)
    return widget


def _button(label: str, on_click, style: str = "primary", cls: str = "") -> w.Button:
    button = w.Button(description=label, button_style=style,
                      layout=w.Layout(width="auto", min_width="140px", height="38px"))
    button.on_click(lambda _b: on_click())
    for c in cls.split():
        button.add_class(c)
    return button


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
        super().__init__()
        self.login = StudentLogin(classroom, self._logged_in)
        self.widget = w.VBox([page_style(), self.login.widget])
        self.widget.add_class("qe-page")

    @classmethod
    def from_env(cls) -> "PlayPage":
        """The page over the classroom database named by QUESTENGINE_DB."""
        return cls(classroom_from_env())

    def _call(self, fn, *args, **kwargs) -> Any:
        self.banner.value = ""  # a new action: the last message is old news
        return super()._call(fn, *args, **kwargs)

    # after login --------------------------------------------------------------------------------

    def start(self, session) -> None:
        """Show the page for a session that is already logged in (e.g. the editor's preview)."""
        self._logged_in(session)

    def _logged_in(self, session) -> None:
        self.session = session
        self._session_began()
        self.header = _html("", "qe-header")
        self.logout = _button("Log out", self._logout, style="", cls="qe-logout")
        self.quest_list = w.VBox()
        self.quest_list.add_class("qe-quest-list")
        self.map = QuestMap(height=480, layout=w.Layout(width="100%"))
        self.map.observe(self._on_select, names="selected")
        self.panel = w.VBox(layout=w.Layout(width="38%", min_width="320px"))
        self.panel.add_class("qe-panel")
        self.map_box = w.Box([self.map], layout=w.Layout(flex="1 1 60%", min_width="0",
                                                          width="60%"))
        play = w.VBox([self.quest_list, w.HBox([self.map_box, self.panel],
                                                layout=w.Layout(width="100%"))])
        self.profile_box = w.VBox()
        self.profile_box.add_class("qe-profile")
        self.tabs = w.Tab([play, self.profile_box])
        self.tabs.set_title(0, "My quests")
        self.tabs.set_title(1, "My profile")
        self.tabs.observe(lambda change: change["new"] == 1 and self._show_profile(),
                          names="selected_index")
        top = w.HBox([self.header, self.logout], layout=w.Layout(justify_content="space-between",
                                                                align_items="center"))
        top.add_class("qe-top")
        self.widget.children = [self.widget.children[0], top, self.banner, self.tabs]
        cards = self._call(self.session.quests) or []
        if not cards:
            self.flash("No quest is assigned to your class yet. Ask your teacher!", "info")
        self._show_quests(cards)
        if cards:
            self._open_quest(cards[0].quest_id)
        self._update_header(celebrate=False)

    def _logout(self) -> None:
        if self.session is not None:
            friendly_call(self.session.logout, self.flash)
        self.session = None
        self.widget.children = [self.widget.children[0], self.login.widget]
        self._close_session_widgets()
        self.login.clear()
        self.login.message.value = "<div class='qe-info'>You are logged out. See you soon!</div>"

    def _show_quests(self, cards) -> None:
        rows = []
        for card in cards:
            pct = round(100 * card.fraction)
            button = w.Button(description=card.title, layout=w.Layout(width="auto"),
                              button_style="info" if card.quest_id == self.quest_id else "")
            button.add_class("qe-quest-button")
            button.on_click(lambda _b, q=card.quest_id: self._open_quest(q))
            done = " ✓ complete" if card.complete else ""
            bar = _html(f"<div class='qe-progress' title='{pct}% of the map done'>"
                        f"<div style='width:{pct}%'></div></div>"
                        f"<span class='qe-progress-label'>{card.done}/{card.total} steps · "
                        f"{card.xp} XP{done}</span>")
            row = w.HBox([button, bar], layout=w.Layout(align_items="center"))
            row.add_class("qe-quest-row")
            rows.append(row)
        self.quest_list.children = rows

    def _open_quest(self, quest_id: str) -> None:
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
        badges = "".join(f"<span class='qe-badge' title='{plain_html(names.get(b, b))}'>★ "
                         f"{plain_html(names.get(b, b))}</span>" for b in profile.badges)
        self.header.value = (
            f"<div class='qe-hello'>Hi, {plain_html(profile.name)}!</div>"
            f"<div class='qe-level'>Level {level}</div>"
            f"<div class='qe-xp' title='{into} of {span} XP to the next level'>"
            f"<div class='qe-xp-bar'><div style='width:{pct}%'></div></div>"
            f"<span class='qe-xp-label'>{profile.xp} XP</span></div>"
            f"<div class='qe-badges'>{badges}</div>")
        new_badges = set(profile.badges) - (self._badges_seen or set())
        if celebrate and self._badges_seen is not None and new_badges:
            self._celebrate("New badge: " + ", ".join(names.get(b, b) for b in sorted(new_badges)))
        elif celebrate and self._level_seen is not None and level > self._level_seen:
            self._celebrate(f"Level up! You reached level {level}.")
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
        node = change["new"]
        if not node or self.G is None or node not in self.G:
            self.selected = None
            self._render_panel()
            return
        self.selected = node
        if self.progress.nodes[node].state == "available" and not self.progress.nodes[node].retry_ready:
            progress = self._call(self.session.open, self.quest_id, node)
            if progress is not None:
                self.progress = progress
                self.map.show(self.G, progress)
        self._render_panel()

    def _act(self, method: str, *args) -> None:
        before = self.progress
        progress = self._call(getattr(self.session, method), self.quest_id, *args)
        if progress is None:
            return  # refused: the message is shown and the form keeps what was typed
        self._set_progress(progress)  # may celebrate a badge or a level
        self._show_quests(friendly_call(self.session.quests, self.flash) or [])
        reopened = [n for n, np in progress.nodes.items() if np.retry_ready
                    and not (before and before.nodes[n].retry_ready)]
        if reopened and self.map.selected != reopened[0]:
            gate = self.G.nodes[reopened[0]]["node"].title
            if not self.banner.value:
                self.flash(f"Well practised! “{gate}” is open again: try it now.", "info")
            self.map.selected = reopened[0]  # shows the gate's panel
            return
        self._render_panel()

    def _render_panel(self) -> None:
        n = self.selected
        if not n or self.progress is None:
            self.panel.children = [_html("<p class='qe-hint'>Click a step on the map to see it.</p>")]
            return
        node = self.G.nodes[n]["node"]
        np = self.progress.nodes[n]
        parts: list[w.Widget] = [_html(
            f"<div class='qe-kind'>{plain_html(self._kind_label(node.kind))}</div>"
            f"<h3 class='qe-node-title'>{plain_html(node.title)}</h3>"
            f"<span class='qe-pill qe-pill-{np.state}'>{STATE_WORDS.get(np.state, np.state)}</span>"
            f"<p class='qe-explain'>{plain_html(explain(self.progress, n))}</p>")]
        if np.state in ("locked", "closed"):
            if np.history:
                last = np.history[-1]
                done = "passed" if last.get("outcome") == "success" else (
                    "not passed" if last.get("outcome") == "fail" else "started")
                parts.append(_html(f"<p class='qe-history'>You did this step in round "
                                   f"{last['round']} ({done}"
                                   + (f", score {round(100 * last['score'])}%"
                                      if last.get("score") is not None else "") + ").</p>"))
            self.panel.children = parts
            return
        if node.story:
            parts.append(_html(f"<div class='qe-story'>{markdown_html(node.story)}</div>"))
        if node.text:
            parts.append(_html(f"<div class='qe-text'>{markdown_html(node.text)}</div>"))
        builder = getattr(self, f"_body_{node.kind}", None) or self._plugin_body(node.kind)
        if builder is not None:
            parts += builder(n, node, np)
        parts += self._feedback(np)
        if node.hints and np.state in PLAYABLE:
            hints = w.Accordion([_html("".join(f"<p>{markdown_html(h)}</p>" for h in node.hints))])
            hints.set_title(0, "Need a hint?")
            hints.selected_index = None
            parts.append(hints)
        if np.state in ("success", "fail") and node.reflection:
            parts += self._reflection(n, node, np)
        self.panel.children = parts

    def _body_story(self, n, node, np):
        if np.state in PLAYABLE:
            return [_button("Done ➜", lambda: self._act("complete", n), cls="qe-do")]
        return []

    def _body_end(self, n, node, np):
        if np.state in PLAYABLE:
            reward = f" (+{node.rewards.xp} XP)" if node.rewards.xp else ""
            return [_button(f"Finish the quest{reward}", lambda: self._act("complete", n),
                            style="success", cls="qe-do")]
        return [_html("<p class='qe-done'>🏁 You finished this quest. Well done!</p>")]

    def _body_task(self, n, node, np):
        if node.instructions:
            head = [_html(f"<div class='qe-text'>{markdown_html(node.instructions)}</div>")]
        else:
            head = []
        if node.complete == "self":
            if np.state in PLAYABLE:
                return head + [_button("Mark as done ✓", lambda: self._act("complete", n),
                                       cls="qe-do")]
            return head
        return head + self._submission(n, np, "Send to my teacher")

    def _submission(self, n, np, label: str) -> list[w.Widget]:
        if np.state == "pending_review":
            last = np.submissions[-1].content if np.submissions else ""
            return [_html(f"<div class='qe-waiting'>⏳ Sent! Your teacher will look at it soon."
                          f"<blockquote class='qe-submitted'>{plain_html(last)}</blockquote></div>")]
        if np.state not in PLAYABLE:
            return []
        box = w.Textarea(value=np.submissions[-1].content if np.state == "returned" and np.submissions
                         else "", placeholder="Write your answer, or paste a link to your work",
                         layout=w.Layout(width="100%", height="120px"))
        box.add_class("qe-submission")
        send = _button(label if np.state != "returned" else "Send my revision",
                       lambda: self._act("submit", n, box.value), cls="qe-do")
        return [box, send]

    def _body_choice(self, n, node, np):
        option = next((o for o in node.options if o.id == np.option), None)
        if np.state in ("success", "fail", "pending_review") and option is not None:
            out = [_html(f"<p>You chose <strong>{MODALITY_ICONS.get(option.modality, '')} "
                         f"{plain_html(option.label)}</strong>.</p>")]
            if option.complete == "review":
                out += self._submission(n, np, "Send to my teacher")
            if option.complete == "quiz" and np.results:
                out += self._results(option.questions, np)
            return out
        if option is None or np.state == "available":
            cards = []
            for o in node.options:
                b = w.Button(description=f"{MODALITY_ICONS.get(o.modality, '✦')}  {o.label}",
                             tooltip=f"{o.modality}: {o.label}",
                             layout=w.Layout(width="100%", height="46px"))
                b.add_class("qe-option")
                b.add_class(f"qe-option-{o.id}")
                b.on_click(lambda _b, o=o: self._act("choose", n, o.id))
                cards.append(b)
            return [_html("<p class='qe-prompt'>How do you want to do this? Pick one:</p>"),
                    w.VBox(cards, layout=w.Layout(grid_gap="6px"))]
        out = [_html(f"<div class='qe-chosen'>{MODALITY_ICONS.get(option.modality, '')} "
                     f"<strong>{plain_html(option.label)}</strong></div>")]
        if option.text:
            out.append(_html(f"<div class='qe-text'>{markdown_html(option.text)}</div>"))
        if option.url:
            out.append(_html(f"<p>{markdown_html(f'[Open the material]({option.url})')}</p>"))
        if option.complete == "self" and np.state in PLAYABLE:
            out.append(_button("I did it ✓", lambda: self._act("complete", n), cls="qe-do"))
        elif option.complete == "review":
            out += self._submission(n, np, "Send to my teacher")
        elif option.complete == "quiz" and np.state in PLAYABLE:
            out += self._quiz_form(n, option.questions, "Check my answers")
        if np.state == "in_progress" and not np.submissions:
            out.append(_button("Pick another way", lambda: self._rechoose(n), style="",
                               cls="qe-rechoose"))
        return out

    def _rechoose(self, n: str) -> None:
        node = self.G.nodes[n]["node"]
        cards = []
        for o in node.options:
            b = w.Button(description=f"{MODALITY_ICONS.get(o.modality, '✦')}  {o.label}",
                         layout=w.Layout(width="100%", height="46px"))
            b.add_class("qe-option")
            b.on_click(lambda _b, o=o: self._act("choose", n, o.id))
            cards.append(b)
        self.panel.children = list(self.panel.children[:1]) + [w.VBox(cards)]

    def _body_quiz(self, n, node, np):
        if np.state in PLAYABLE:
            return self._quiz_form(n, node.questions, "Check my answers")
        return self._results(node.questions, np)

    def _body_gate(self, n, node, np):
        out = []
        if np.state in PLAYABLE:
            if np.attempts:
                out.append(_html(f"<p class='qe-attempt'>Attempt {np.attempts + 1} of "
                                 f"{node.max_attempts + np.extra_attempts}</p>"))
            if node.questions:
                out += self._quiz_form(n, node.questions, "Check my mastery")
            else:
                out.append(_button("Check my mastery", lambda: self._act("answer", n, {}),
                                   cls="qe-do"))
            return out
        if np.state in ("success", "fail"):
            needed = round(100 * node.threshold)
            got = round(100 * min(np.mastery.values())) if np.mastery else (
                round(100 * np.score) if np.score is not None else 0)
            verdict = ("🎯 You showed mastery!" if np.state == "success"
                       else "Not yet — practice, then try again.")
            out.append(_html(f"<p class='qe-verdict qe-verdict-{np.state}'>{verdict} "
                             f"Mastery {got}% (needed {needed}%).</p>"))
            out += self._results(node.questions, np)
        return out

    # plugin kinds and coding challenges -----------------------------------------------------------

    def _plugin_kind(self, kind: str):
        return self.G.graph.get("kinds", {}).get(kind) if self.G is not None else None

    def _kind_label(self, kind: str) -> str:
        plugin = self._plugin_kind(kind)
        return KIND_LABELS.get(kind) or (plugin.label if plugin else "") or kind.title()

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
            self.flash("This step's own page could not be shown; here is a simple one instead.")
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
                out.append(_button("Mark as done ✓", lambda: self._act("complete", n), cls="qe-do"))
        elif plugin.completes == "review":
            out += self._submission(n, np, "Send to my teacher")
        elif np.state in PLAYABLE:
            box = w.Text(placeholder="your answer", layout=w.Layout(width="100%"))
            box.add_class("qe-plugin-answer")
            out += [box, _button("Check my answer", lambda: self._act("answer", n,
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
        out = [_html(f"<div class='qe-prompt'>{markdown_html(node.prompt)}</div>")]
        last = (np.answers or {}).get("answer")
        report = np.report or {}
        if np.state in PLAYABLE:
            running = (self.quest_id, n) in self._code_runs
            box = w.Textarea(value=last if isinstance(last, str) else node.starter_code,
                             layout=w.Layout(width="100%", height="220px"))
            box.add_class("qe-code")
            status = _html("<span class='qe-running'>⏳ Running your code…</span>" if running
                           else "", "qe-run-status")
            run = _button("▶ Run my code", lambda: self._run_code(n, box, run, status),
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
        items = "".join(
            f"<li><code>{plain_html(t.call)}</code> → "
            f"{'raises ' + plain_html(t.raises) if t.raises else '<code>' + plain_html(t.expect) + '</code>'}"
            f"</li>" for t in shown)
        more = f"<li>and {hidden} hidden test(s)</li>" if hidden else ""
        return _html(f"<div class='qe-hint'>Your function will be tried like this:"
                     f"<ul>{items}{more}</ul>Tip: indent with spaces (four per level); "
                     f"the Tab key moves to the next button.</div>")

    def _code_results(self, report: dict) -> list[w.Widget]:
        details = report.get("details") or {}
        if not report:
            return []
        rows = []
        for t in details.get("tests", []):
            ok = bool(t.get("passed"))
            if t.get("hidden"):
                what = "a hidden test"
            else:
                what = (f"<code>{plain_html(t.get('call', ''))}</code> should give "
                        f"<code>{plain_html(t.get('expected', ''))}</code>")
                if not ok and t.get("got"):
                    what += (f"<div class='qe-given'>Your code gave: "
                             f"<code>{plain_html(t['got'])}</code></div>")
                elif not ok:
                    why = str(t.get("message") or "not run")
                    what += f"<div class='qe-given'>{plain_html(why[:1].upper() + why[1:])}</div>"
            rows.append(f"<li class='qe-result qe-result-{'ok' if ok else 'wrong'}'>"
                        f"<span class='qe-mark'>{'✓' if ok else '✗'}</span> "
                        f"{plain_html(t.get('name', ''))}: {what}</li>")
        passed, failed = details.get("passed", 0), details.get("failed", 0)
        out = [_html(f"<p class='qe-score qe-code-summary'>{plain_html(report.get('feedback', ''))}"
                     f"</p><p class='qe-hint'>{passed} passed, {failed} failed</p>"
                     f"<ul class='qe-results qe-code-results'>{''.join(rows)}</ul>")]
        if details.get("output"):
            out.append(_html(f"<div class='qe-hint'>What your code printed:</div>"
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
                self.flash("Your code ran; open that quest again to see the results.", "info")
            return
        if progress is not None:
            self._set_progress(progress)
            self._show_quests(self._call(self.session.quests) or [])
            if self.selected != n:
                report = progress.nodes[n].report
                self.flash(f"Your code for {self.G.nodes[n]['node'].title} ran: "
                           f"{report.get('feedback', '')}", "info")
        if self.selected == n:
            self._render_panel()

    def _quiz_form(self, n: str, questions, label: str) -> list[w.Widget]:
        fields: dict[str, Any] = {}
        rows: list[w.Widget] = []
        for i, q in enumerate(questions, start=1):
            prompt = _html(f"<div class='qe-q'><span class='qe-qn'>{i}</span> "
                           f"{markdown_inline(q.prompt)}</div>")
            if q.type == "choice":
                field = w.RadioButtons(options=q.options, value=None,
                                       layout=w.Layout(width="auto"))
                fields[q.id] = lambda f=field: f.value
            elif q.type == "multi":
                boxes = [w.Checkbox(description=o, indent=False) for o in q.options]
                field = w.VBox(boxes)
                fields[q.id] = lambda bs=boxes: [b.description for b in bs if b.value]
            else:
                field = w.Text(placeholder="a number, like 0.5 or 1/2" if q.type == "number"
                               else "your answer", layout=w.Layout(width="240px"))
                fields[q.id] = lambda f=field: f.value
            field.add_class(f"qe-answer-{q.id}")
            rows.append(w.VBox([prompt, field], layout=w.Layout(margin="0 0 8px 0")))

        def submit():
            self._act("answer", n, {qid: get() for qid, get in fields.items()})

        return rows + [_button(label, submit, cls="qe-do")]

    def _results(self, questions, np) -> list[w.Widget]:
        if not np.results:
            return []
        rows = []
        for q in questions:
            ok = np.results.get(q.id)
            given = (np.answers or {}).get(q.id)
            given = ", ".join(given) if isinstance(given, list) else given
            mark = "✓" if ok else "✗"
            extra = ""
            if not ok and q.hint:
                extra = f"<div class='qe-hint'>Hint: {markdown_inline(q.hint)}</div>"
            elif ok and q.explanation:
                extra = f"<div class='qe-hint'>{markdown_inline(q.explanation)}</div>"
            rows.append(f"<li class='qe-result qe-result-{'ok' if ok else 'wrong'}'>"
                        f"<span class='qe-mark'>{mark}</span> {markdown_inline(q.prompt)}"
                        f"<div class='qe-given'>Your answer: {plain_html(given)}</div>{extra}</li>")
        score = round(100 * (np.score or 0))
        return [_html(f"<p class='qe-score'>Score: {score}%</p><ul class='qe-results'>"
                      f"{''.join(rows)}</ul>")]

    def _feedback(self, np) -> list[w.Widget]:
        if not np.reviews:
            return []
        items = "".join(
            f"<li><span class='qe-review-{r.decision}'>{ {'approve': 'Approved', 'fail': 'Not passed', 'return': 'Please revise'}.get(r.decision, r.decision)}</span>"
            f" (round {r.round}){': ' + markdown_html(r.feedback) if r.feedback else ''}</li>"
            for r in np.reviews)
        return [_html(f"<div class='qe-feedback'><strong>Your teacher's feedback</strong>"
                      f"<ul>{items}</ul></div>")]

    def _reflection(self, n, node, np) -> list[w.Widget]:
        prompt = _html(f"<div class='qe-reflect-prompt'>💭 {markdown_html(node.reflection)}</div>")
        if np.reflection:
            saved = _html(f"<blockquote class='qe-reflection'>{plain_html(np.reflection)}</blockquote>")
        else:
            saved = _html("")
        box = w.Textarea(placeholder="Write a few sentences...", value="",
                         layout=w.Layout(width="100%", height="80px"))
        box.add_class("qe-reflect")
        save = _button("Save my reflection", lambda: self._act("reflect", n, box.value), style="",
                       cls="qe-save-reflection")
        return [prompt, saved, box, save]

    # the profile ----------------------------------------------------------------------------------

    def _show_profile(self) -> None:
        profile = self._call(self.session.profile)
        if profile is None:
            return
        comp_names = {}
        for card in self._call(self.session.quests) or []:
            G = self._call(self.session.graph, card.quest_id)
            if G is not None:
                comp_names.update({c.id: c.name for c in G.graph["quest"].competencies})
        bars = "".join(
            f"<tr><td>{plain_html(comp_names.get(c, c))}</td><td><div class='qe-mastery'>"
            f"<div style='width:{round(100 * v)}%'></div></div></td><td>{round(100 * v)}%</td></tr>"
            for c, v in sorted(profile.mastery.items())) or \
            "<tr><td colspan=3>Answer a quiz or a checkpoint to see your mastery here.</td></tr>"
        names = self._badge_names()
        badges = "".join(f"<span class='qe-badge'>★ {plain_html(names.get(b, b))}</span>"
                         for b in profile.badges) or "None yet — keep going!"
        picks: dict[str, list] = {}
        for p in profile.picks:
            picks.setdefault(p["modality"], []).append(p["outcome"])
        pick_rows = "".join(
            f"<li>{MODALITY_ICONS.get(m, '')} {m}: chosen {len(o)} time(s), "
            f"{sum(1 for x in o if x == 'success')} done</li>" for m, o in sorted(picks.items())) \
            or "<li>No choices yet.</li>"
        reflections = "".join(f"<li><em>{plain_html(r['node'])}</em>: {plain_html(r['text'])}</li>"
                              for r in profile.reflections) or "<li>No reflections yet.</li>"
        goal_rows = []
        for goal in profile.goals:
            box = w.Checkbox(value=goal["done"], description=goal["text"], indent=False)
            box.observe(lambda ch, g=goal["id"]: self._call(self.session.set_goal_done, g,
                                                             ch["new"]), names="value")
            goal_rows.append(box)
        new_goal = w.Text(placeholder="A goal for this week...", layout=w.Layout(width="320px"))
        new_goal.add_class("qe-new-goal")
        add = _button("Add goal", lambda: self._add_goal(new_goal.value), style="", cls="qe-add-goal")
        interests = w.Text(value=", ".join(profile.interests),
                           placeholder="dinosaurs, football, drawing...",
                           layout=w.Layout(width="320px"))
        save_interests = _button("Save", lambda: self._save_interests(interests.value), style="")
        self.profile_box.children = [
            _html(f"<h3>My mastery</h3><table class='qe-mastery-table'>{bars}</table>"),
            _html(f"<h3>My badges</h3><div class='qe-badges'>{badges}</div>"),
            _html("<h3>My goals</h3>"), w.VBox(goal_rows), w.HBox([new_goal, add]),
            _html("<h3>What I like</h3>"), w.HBox([interests, save_interests]),
            _html(f"<h3>How I like to learn</h3><ul>{pick_rows}</ul>"),
            _html(f"<h3>My reflections</h3><ul>{reflections}</ul>"),
        ]

    def _add_goal(self, text: str) -> None:
        if self._call(self.session.add_goal, text) is not None:
            self._show_profile()

    def _save_interests(self, text: str) -> None:
        items = [t.strip() for t in text.split(",") if t.strip()]
        if self._call(self.session.set_interests, items) is not None:
            self.flash("Saved.", "info")
