"""A content-addressed file store for students' uploads and quests' assets.

Files live outside the database, in a folder (by default ``<database>.files``
beside the SQLite file; a shared folder for a district on PostgreSQL), named by
the SHA-256 of their bytes: ``ab/cdef....`` The database keeps only the hash,
the size and the type. Writing is atomic (a temporary file renamed into place),
so a crash never leaves half a file under a hash; the same bytes uploaded twice
are stored once.

The type of a file is read from its first bytes (its "magic number"), never from
its name or from what the browser claims:

>>> sniff(b"%PDF-1.7 ...")
'application/pdf'
>>> sniff(b"MZ not a picture") is None
True
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from .errors import QuestEngineError

__all__ = ["FileStore", "FileStoreError", "sniff", "KINDS", "DEFAULT_LIMIT", "kind_of"]

DEFAULT_LIMIT = 50 * 1024 * 1024  #: the largest upload, unless the teacher sets another
CHUNK = 1024 * 1024

#: what a student may hand in: type -> kind of viewer
KINDS = {
    "image/jpeg": "image", "image/png": "image", "image/gif": "image", "image/webp": "image",
    "application/pdf": "pdf",
    "audio/mpeg": "audio", "audio/wav": "audio", "audio/ogg": "audio", "audio/mp4": "audio",
    "audio/webm": "audio", "audio/flac": "audio",
    "video/mp4": "video", "video/webm": "video", "video/quicktime": "video",
    "text/vtt": "captions",
}


class FileStoreError(QuestEngineError):
    """A file that cannot be stored or found (too big, of a refused type, missing)."""


def _ftyp(head: bytes) -> str | None:
    brand = head[8:12]
    if brand in (b"M4A ", b"M4B "):
        return "audio/mp4"
    if brand == b"qt  ":
        return "video/quicktime"
    return "video/mp4"


def sniff(head: bytes) -> str | None:
    """The type of a file from its first bytes (at least 16), or None if not one we take."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return "audio/wav"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head[4:8] == b"ftyp":
        return _ftyp(head)
    if head.startswith(b"\x1a\x45\xdf\xa3"):  # Matroska / WebM
        return "audio/webm" if b"A_OPUS" in head[:4096] and b"V_" not in head[:4096] \
            else "video/webm"
    if head.startswith(b"OggS"):
        return "audio/ogg"
    if head.startswith(b"fLaC"):
        return "audio/flac"
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "audio/mpeg"
    if head.lstrip(b"\xef\xbb\xbf").startswith(b"WEBVTT"):
        return "text/vtt"
    return None


def kind_of(mime: str) -> str:
    """``image``, ``pdf``, ``audio``, ``video`` or ``captions`` (``file`` for anything else)."""
    return KINDS.get(mime, "file")


class FileStore:
    """Files under ``root``, each named by the SHA-256 of its bytes."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    @classmethod
    def beside(cls, database: str | Path) -> "FileStore":
        """The default place: a folder next to the database file (``classroom.db.files``)."""
        return cls(Path(str(database) + ".files"))

    def path(self, digest: str) -> Path:
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise FileStoreError(f"{digest!r} is not a file's SHA-256")
        return self.root / digest[:2] / digest[2:]

    def put(self, data: bytes | BinaryIO | Iterable[bytes], limit: int | None = None,
            allowed: Iterable[str] | None = None) -> tuple[str, int, str]:
        """Store bytes (or a binary stream); returns (sha256, size, type).

        Refuses, storing nothing, a file over ``limit`` bytes or whose type (from its first
        bytes) is not in ``allowed`` (default: every type in :data:`KINDS`).
        """
        allowed = set(allowed) if allowed is not None else set(KINDS)
        chunks = _chunks(data)
        self.root.mkdir(parents=True, exist_ok=True)
        digest, size, head = hashlib.sha256(), 0, b""
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    if len(head) < 4096:
                        head += chunk[:4096 - len(head)]
                    size += len(chunk)
                    if limit is not None and size > limit:
                        raise FileStoreError(
                            f"the file is bigger than {limit // (1024 * 1024)} MB, the most "
                            "your teacher allows")
                    digest.update(chunk)
                    out.write(chunk)
            mime = sniff(head)
            if mime is None or mime not in allowed:
                raise FileStoreError("this file is not a photo, a recording, a video or a PDF "
                                     "(only those can be handed in)")
            sha = digest.hexdigest()
            target = self.path(sha)
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists():
                os.unlink(tmp)
            else:
                os.chmod(tmp, 0o600)
                os.replace(tmp, target)
            return sha, size, mime
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def read(self, digest: str) -> bytes:
        try:
            return self.path(digest).read_bytes()
        except FileNotFoundError as err:
            raise FileStoreError(f"the file {digest[:12]}… is missing from {self.root}") from err

    def exists(self, digest: str) -> bool:
        return self.path(digest).exists()

    def delete(self, digest: str) -> bool:
        """Remove a file (call it only when no row names it any more)."""
        try:
            self.path(digest).unlink()
            return True
        except FileNotFoundError:
            return False

    def copy_out(self, digest: str, target: str | Path) -> Path:
        """Copy a stored file to ``target`` (an export)."""
        target = Path(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.path(digest), target)
        return target


def _chunks(data) -> Iterable[bytes]:
    if isinstance(data, (bytes, bytearray, memoryview)):
        view = memoryview(data)
        return (bytes(view[i:i + CHUNK]) for i in range(0, max(len(view), 1), CHUNK))
    if hasattr(data, "read"):
        return iter(lambda: data.read(CHUNK), b"")
    return (bytes(c) for c in data)
