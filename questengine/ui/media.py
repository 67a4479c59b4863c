"""A file shown inside a page (video, audio with captions, picture, PDF): one small anywidget.

The kernel hands it the bytes after the classroom service checked who may see
them; the browser shows them from a ``blob:`` URL, so "open the material" never
sends the tab anywhere.
"""
from __future__ import annotations

import anywidget
import traitlets

from .login import _front_end

__all__ = ["MediaView", "Chart", "ReadAloud"]


class MediaView(anywidget.AnyWidget):
    """One file: ``data`` (bytes), ``mime``, ``name``, optional ``captions`` (WebVTT bytes)."""

    _esm = _front_end() / "media.js"
    data = traitlets.Bytes(b"").tag(sync=True)
    mime = traitlets.Unicode("").tag(sync=True)
    name = traitlets.Unicode("").tag(sync=True)
    title = traitlets.Unicode("").tag(sync=True)
    captions = traitlets.Bytes(b"").tag(sync=True)
    captions_lang = traitlets.Unicode("en").tag(sync=True)


class Chart(anywidget.AnyWidget):
    """A PNG chart with its text alternative: ``value`` (PNG bytes), ``alt`` (what it shows).

    Used where ``ipywidgets.Image`` would draw an ``<img>`` without any ``alt``.
    """

    _esm = _front_end() / "chart.js"
    value = traitlets.Bytes(b"").tag(sync=True)
    alt = traitlets.Unicode("").tag(sync=True)


class ReadAloud(anywidget.AnyWidget):
    """A "Read aloud" button for one text (the browser's speech synthesis, offline)."""

    _esm = _front_end() / "readaloud.js"
    text = traitlets.Unicode("").tag(sync=True)
    label = traitlets.Unicode("Read aloud").tag(sync=True)
    lang = traitlets.Unicode("").tag(sync=True)


def submission_files_view(session, item, call) -> list:
    """For a review card: one button per file handed in, which shows the file in the card.

    ``session`` is the teacher's session (it checks the student is theirs), ``item`` a
    queue item, ``call`` the page's way to call the service (errors as sentences).
    """
    import ipywidgets as w

    rows = call(session.submission_files, item.submission_id) or []
    out = []
    for row in rows:
        box = w.VBox()
        box.add_class("qe-handed-file")
        icon = {"image": "🖼", "audio": "♫", "video": "▶", "pdf": "☰"}.get(
            row["mime"].split("/")[0] if row["mime"] != "application/pdf" else "pdf", "📎")

        def show(_b=None, row=row, box=box):
            got = call(session.file, item.student_id, row["sha256"])
            if got is not None:
                data, mime = got
                box.children = [MediaView(data=data, mime=mime, name=row["name"],
                                          title=row["name"])]

        button = w.Button(description=f"{icon} {row['name']}", tooltip="Show it here",
                          layout=w.Layout(width="auto", height="auto"))
        button.add_class("qe-show-file")
        button.on_click(show)
        box.children = [button]
        out.append(box)
    return out


class UploadBox(anywidget.AnyWidget):
    """Files a student adds before sending work: ``files`` holds (name, bytes) in order.

    The bytes are only kept here; the classroom service checks each one (its type from
    its first bytes, its size against the class's limit) when the work is sent.
    """

    _esm = _front_end() / "upload.js"
    accept = traitlets.Unicode("image/*,audio/*,video/*,application/pdf,.pdf").tag(sync=True)
    label = traitlets.Unicode("📎 Add photos, recordings or files").tag(sync=True)
    chosen = traitlets.List(traitlets.Dict()).tag(sync=True)
    message = traitlets.Unicode("").tag(sync=True)
    limit = traitlets.Int(0).tag(sync=True)  # bytes; 0 = no limit said in the browser

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.files: list[tuple[str, bytes]] = []
        self.on_msg(self._on_msg)

    def _on_msg(self, _widget, content, buffers) -> None:
        if not isinstance(content, dict):
            return
        kind = content.get("type")
        if kind == "add" and buffers:
            data = bytes(buffers[0])
            if self.limit and len(data) > self.limit:
                self._too_big(str(content.get("name", "file")))
                return
            self.add(str(content.get("name") or "file"), data)
        elif kind == "too_big":
            self._too_big(str(content.get("name", "file")))
        elif kind == "remove":
            index = content.get("index")
            if isinstance(index, int) and 0 <= index < len(self.files):
                del self.files[index]
                self._show()

    def add(self, name: str, data: bytes) -> None:
        """Add a file (as the browser does)."""
        self.files.append((name[:200], data))
        self.message = ""
        self._show()

    def _too_big(self, name: str) -> None:
        mb = round(self.limit / (1024 * 1024))
        self.message = f"“{name[:80]}” is bigger than {mb} MB, the most your teacher allows."

    def _show(self) -> None:
        self.chosen = [{"name": n, "size": len(d)} for n, d in self.files]

    def clear(self) -> None:
        self.files = []
        self.message = ""
        self._show()
