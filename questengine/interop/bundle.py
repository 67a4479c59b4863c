"""Quest bundles: a quest and its assets in one zip file another teacher can import.

A bundle (``NAME.quest.zip``) holds::

    manifest.json      format, format_version, the quest's id, version and title,
                       and the size and SHA-256 of every other file
    quest.yaml         the quest file (comments kept)
    assets/...         the files the quest refers to: ``url`` fields and markdown
                       links or images (``![map](assets/forest/map.png)``) whose path
                       starts with ``assets/``, relative to the quest file's folder

Reading a bundle trusts nothing in it: the file must be a zip; names may not
be absolute, contain ``..`` or backslashes, or be links; the number of files,
each file's size and the total unpacked size are bounded (zip bombs); every
file must be listed in the manifest with a matching hash, and the quest must
load and validate. Only then is anything written.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import re
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import QuestEngineError
from ..graph import quest_graph
from ..loader import dumps_quest, load_quest, loads_quest
from ..model import Quest

__all__ = ["BUNDLE_FORMAT", "BUNDLE_VERSION", "MAX_FILES", "MAX_FILE_BYTES", "MAX_TOTAL_BYTES",
           "BundleError", "BundleConflict", "Bundle", "BundleImport", "asset_references",
           "build_bundle", "read_bundle", "import_bundle"]

BUNDLE_FORMAT = "questengine-bundle"
BUNDLE_VERSION = 1
MAX_FILES = 500
MAX_FILE_BYTES = 100_000_000
MAX_TOTAL_BYTES = 250_000_000
MAX_RATIO = 200  # unpacked / packed size of one file above which it is treated as a bomb
_FIXED_TIME = (2020, 1, 1, 0, 0, 0)  # same bundle bytes for the same quest and assets


class BundleError(QuestEngineError):
    """A bundle that cannot be built or read; the message names the file and what to do."""


class BundleConflict(BundleError):
    """Importing would overwrite a different quest or asset (allowed only with replace)."""


@dataclass
class Bundle:
    """A bundle read and checked: the manifest, the quest and the asset bytes."""

    manifest: dict
    quest: Quest
    quest_text: str
    assets: dict[str, bytes] = field(default_factory=dict)  # "assets/..." -> bytes


@dataclass
class BundleImport:
    quest_id: str
    version: int
    new_version: bool
    quest_file: Path | None
    written: list[Path]
    unchanged: list[Path]


# --- which files a quest refers to --------------------------------------------------------

_MARKDOWN_REF = re.compile(r"!?\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+[\"'][^\"']*[\"'])?\s*\)")
_HTML_REF = re.compile(r"\b(?:src|href)\s*=\s*[\"']([^\"']+)[\"']", re.IGNORECASE)


def asset_references(quest: Quest) -> list[str]:
    """The ``assets/...`` paths a quest refers to, in order of first mention."""
    found: list[str] = []

    def visit(value: Any, key: str | None = None) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                visit(v, k)
        elif isinstance(value, list):
            for v in value:
                visit(v, key)
        elif isinstance(value, str):
            refs = [value.strip()] if key == "url" else []
            refs += _MARKDOWN_REF.findall(value) + _HTML_REF.findall(value)
            for ref in refs:
                ref = ref.split("#", 1)[0].split("?", 1)[0]
                if ref.startswith("./"):
                    ref = ref[2:]
                if ref.startswith("assets/") and ref not in found:
                    found.append(ref)

    visit(quest.to_data())
    return found


def _safe_member(name: str) -> str | None:
    """Why a path inside a bundle is unsafe, or None when it is a plain relative path."""
    if not name:
        return "an empty name"
    if "\\" in name or "\x00" in name:
        return "a backslash or NUL character"
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        return "an absolute path"
    parts = name.split("/")
    if any(p in ("..", ".") for p in parts):
        return "'..' or '.' in the path, which could escape the bundle's folder"
    if "" in parts:
        return "an empty folder name ('//')"
    return None


# --- building --------------------------------------------------------------------------------


def build_bundle(quest_path: str | Path, output: str | Path, *,
                 allow_missing: bool = False, registry=None) -> dict:
    """Write ``output`` (a zip) with the quest at ``quest_path`` and its assets; returns the manifest.

    Assets are looked up relative to the quest file's folder. A missing asset
    is an error unless ``allow_missing`` (then it is left out and listed under
    ``missing`` in the manifest).
    """
    quest_path = Path(quest_path)
    quest = load_quest(quest_path, registry)  # registry: the plugin kinds it may use
    quest_graph(quest, registry)  # a bundle only carries valid quests
    if quest_path.suffix.lower() == ".json":
        quest_text = dumps_quest(quest)
    else:
        quest_text = quest_path.read_text(encoding="utf-8-sig")
    root = quest_path.resolve().parent
    assets_root = root / "assets"
    files: dict[str, bytes] = {"quest.yaml": quest_text.encode("utf-8")}
    missing: list[str] = []
    for ref in asset_references(quest):
        why = _safe_member(ref)
        if why:
            raise BundleError(f"{quest_path}: the asset {ref!r} has {why}; keep assets inside "
                              "the assets/ folder next to the quest")
        path = root / ref
        if path.is_symlink() or not path.resolve().is_relative_to(assets_root.resolve()):
            raise BundleError(f"{quest_path}: the asset {ref!r} is a link or leads outside the "
                              f"assets/ folder next to the quest; copy the file there")
        if not path.is_file():
            missing.append(ref)
            continue
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise BundleError(f"{path}: {size / 1e6:.0f} MB is more than a bundle carries "
                              f"({MAX_FILE_BYTES / 1e6:.0f} MB a file); share it by link instead")
        files[ref] = path.read_bytes()
    if missing and not allow_missing:
        raise BundleError(f"{quest_path}: the quest refers to asset(s) that are not there: "
                          f"{', '.join(missing)} (looked in {assets_root}); add the files, or "
                          "bundle without them (--allow-missing)")
    total = sum(len(b) for b in files.values())
    if total > MAX_TOTAL_BYTES:
        raise BundleError(f"{quest_path}: the quest and its assets are {total / 1e6:.0f} MB, more "
                          f"than a bundle carries ({MAX_TOTAL_BYTES / 1e6:.0f} MB)")
    manifest: dict[str, Any] = {
        "format": BUNDLE_FORMAT,
        "format_version": BUNDLE_VERSION,
        "quest": {"id": quest.id, "version": quest.version, "title": quest.title},
        "files": [{"path": name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
                  for name, data in files.items()],
    }
    if missing:
        manifest["missing"] = missing
    output = Path(output)
    tmp = output.with_name(f".{output.name}.tmp")
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            _add(zf, "manifest.json",
                 (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
            for name, data in files.items():
                _add(zf, name, data)
        os.replace(tmp, output)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return manifest


def _add(zf: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = (stat.S_IFREG | 0o644) << 16
    zf.writestr(info, data)


# --- reading ---------------------------------------------------------------------------------


def read_bundle(path: str | Path, registry=None) -> Bundle:
    """Open and check a bundle; raise BundleError saying what is wrong with it.

    ``registry``: the plugin registry whose kinds the quest may use (None: questengine's own)."""
    path = Path(path)
    name = str(path)
    if not path.is_file():
        raise BundleError(f"{name}: no such file")
    if path.stat().st_size > MAX_TOTAL_BYTES:
        raise BundleError(f"{name}: the file is larger than any bundle may be "
                          f"({MAX_TOTAL_BYTES / 1e6:.0f} MB)")
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as err:
        raise BundleError(f"{name}: not a quest bundle: the file is not a zip archive ({err}); "
                          "make bundles with `questengine bundle`") from err
    with zf:
        return _read(zf, name, registry)


def _read(zf: zipfile.ZipFile, name: str, registry=None) -> Bundle:
    infos = zf.infolist()
    if len(infos) > MAX_FILES:
        raise BundleError(f"{name}: {len(infos)} files is more than a bundle may hold ({MAX_FILES})")
    seen: set[str] = set()
    total = 0
    members: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        why = _safe_member(info.filename.rstrip("/") if info.is_dir() else info.filename)
        if why:
            raise BundleError(f"{name}: refused: the entry {info.filename!r} has {why}")
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise BundleError(f"{name}: refused: the entry {info.filename!r} is a symbolic link")
        if info.is_dir():
            continue
        if info.filename in seen:
            raise BundleError(f"{name}: refused: the entry {info.filename!r} appears twice")
        seen.add(info.filename)
        if info.flag_bits & 0x1:
            raise BundleError(f"{name}: refused: the entry {info.filename!r} is encrypted")
        if info.file_size > MAX_FILE_BYTES:
            raise BundleError(f"{name}: refused: {info.filename!r} would unpack to "
                              f"{info.file_size / 1e6:.0f} MB (the most is "
                              f"{MAX_FILE_BYTES / 1e6:.0f} MB a file)")
        if info.file_size > 1_000_000 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise BundleError(f"{name}: refused: {info.filename!r} unpacks to "
                              f"{info.file_size // max(info.compress_size, 1)} times its packed "
                              "size, as a zip bomb does")
        total += info.file_size
        if total > MAX_TOTAL_BYTES:
            raise BundleError(f"{name}: refused: the files would unpack to more than "
                              f"{MAX_TOTAL_BYTES / 1e6:.0f} MB")
        members[info.filename] = info
    if "manifest.json" not in members:
        raise BundleError(f"{name}: not a quest bundle: it has no manifest.json")
    try:
        manifest = json.loads(_data(zf, members["manifest.json"], name).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise BundleError(f"{name}: manifest.json is not valid JSON ({err})") from err
    if not isinstance(manifest, dict) or manifest.get("format") != BUNDLE_FORMAT:
        raise BundleError(f"{name}: not a quest bundle: manifest.json does not say "
                          f"\"format\": \"{BUNDLE_FORMAT}\"")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > BUNDLE_VERSION or version < 1:
        raise BundleError(f"{name}: bundle format version {version!r} is not one this questengine "
                          f"reads (it reads 1 to {BUNDLE_VERSION}); upgrade questengine")
    listed = manifest.get("files")
    if not isinstance(listed, list) or not all(
            isinstance(f, dict) and isinstance(f.get("path"), str)
            and isinstance(f.get("sha256"), str) for f in listed):
        raise BundleError(f"{name}: manifest.json has no valid 'files' list (path and sha256 "
                          "of every file)")
    expected = {f["path"]: f for f in listed}
    extra = sorted(set(members) - set(expected) - {"manifest.json"})
    if extra:
        raise BundleError(f"{name}: refused: {', '.join(extra)} not listed in manifest.json")
    absent = sorted(set(expected) - set(members))
    if absent:
        raise BundleError(f"{name}: manifest.json lists {', '.join(absent)}, which the bundle "
                          "does not contain")
    data: dict[str, bytes] = {}
    for path, entry in expected.items():
        if path != "quest.yaml" and not path.startswith("assets/"):
            raise BundleError(f"{name}: refused: {path!r} is neither quest.yaml nor under assets/")
        blob = _data(zf, members[path], name)
        if hashlib.sha256(blob).hexdigest() != entry["sha256"].lower():
            raise BundleError(f"{name}: {path} does not match its SHA-256 in manifest.json; the "
                              "bundle was changed or damaged, so nothing was imported")
        data[path] = blob
    if "quest.yaml" not in data:
        raise BundleError(f"{name}: the bundle has no quest.yaml")
    try:
        quest_text = data.pop("quest.yaml").decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise BundleError(f"{name}: quest.yaml is not UTF-8 text") from err
    quest = loads_quest(quest_text, f"{name}!quest.yaml", registry)  # names the line
    quest_graph(quest, registry)  # QuestValidationError names the nodes
    declared = manifest.get("quest") or {}
    if declared.get("id") != quest.id:
        raise BundleError(f"{name}: manifest.json says the quest is {declared.get('id')!r} but "
                          f"quest.yaml has id {quest.id!r}")
    return Bundle(manifest, quest, quest_text, data)


def _data(zf: zipfile.ZipFile, info: zipfile.ZipInfo, name: str) -> bytes:
    """A member's bytes, read in chunks and never more than its declared size."""
    out = io.BytesIO()
    try:
        with zf.open(info) as fh:
            while True:
                chunk = fh.read(1 << 16)
                if not chunk:
                    break
                out.write(chunk)
                if out.tell() > info.file_size:
                    raise BundleError(f"{name}: refused: {info.filename!r} unpacks to more than "
                                      "its declared size")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as err:
        raise BundleError(f"{name}: {info.filename} is damaged ({err})") from err
    except RuntimeError as err:  # encrypted members and the like
        raise BundleError(f"{name}: {info.filename} cannot be read ({err})") from err
    return out.getvalue()


# --- importing -------------------------------------------------------------------------------


def import_bundle(classroom: Any, path: str | Path, quests_dir: str | Path, *,
                  replace: bool = False, by: int | None = None) -> BundleImport:
    """Check a bundle, write its quest file and assets under ``quests_dir``, and publish it.

    ``classroom`` is a Classroom or a TeacherSession (who then owns the quest).

    A different quest already published with the same id, or a different file
    already at one of the paths, is refused with BundleConflict unless
    ``replace`` (the quest then becomes a new version). ``by`` is the id of the
    teacher who owns the quest (a TeacherSession publishes as its teacher).
    Nothing is written unless every check passes.
    """
    from ..classroom import quest_digest

    bundle = read_bundle(path, classroom.registry)  # the plugin kinds this classroom has
    quest = bundle.quest
    quests_dir = Path(quests_dir)
    latest = classroom.published(quest.id)
    same_quest = latest is not None and latest["hash"] == quest_digest(quest)
    if latest is not None and not same_quest and not replace:
        raise BundleConflict(
            f"{path}: a different quest with the id {quest.id!r} is already published "
            f"(version {latest['version']}, {latest['title']!r}); import with --replace to publish "
            f"the bundle as version {latest['version'] + 1}, or change the id in the bundle")
    root = quests_dir.resolve()
    targets: list[tuple[Path, bytes]] = [(quests_dir / f"{quest.id}.yaml",
                                          bundle.quest_text.encode("utf-8"))]
    targets += [(quests_dir / rel, blob) for rel, blob in bundle.assets.items()]
    writes, unchanged, conflicts = [], [], []
    for target, blob in targets:
        if not target.resolve().is_relative_to(root):
            raise BundleError(f"{path}: refused: {target} would be written outside {quests_dir}")
        if target.is_symlink() or target.exists():
            if target.is_file() and not target.is_symlink() and target.read_bytes() == blob:
                unchanged.append(target)
                continue
            if target.is_dir():
                raise BundleError(f"{path}: {target} is a folder; move it away and import again")
            conflicts.append(target)
        writes.append((target, blob))
    if conflicts and not replace:
        shown = ", ".join(str(c) for c in conflicts[:5]) + (" ..." if len(conflicts) > 5 else "")
        raise BundleConflict(f"{path}: different files are already at {shown}; import with "
                             "--replace to overwrite them, or import into another folder "
                             "(--quests)")
    version_before = latest["version"] if latest else None
    from ..classroom import TeacherSession

    version = (classroom.publish(quest) if isinstance(classroom, TeacherSession)
               else classroom.publish(quest, by=by))
    written = []
    for target, blob in writes:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_bytes(blob)
        os.replace(tmp, target)
        written.append(target)
    return BundleImport(quest.id, version, version != version_before,
                        quests_dir / f"{quest.id}.yaml", written, unchanged)
