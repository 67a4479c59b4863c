"""Quest bundles: round trip into a fresh database, conflicts, and hostile or broken files."""
from __future__ import annotations

import hashlib
import json
import stat
import zipfile
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from click.testing import CliRunner

from questengine import load_quest, loads_quest
from questengine.classroom import Classroom
from questengine.cli import main
from questengine.errors import QuestFileError, QuestValidationError
from questengine.interop import bundle as bundle_module
from questengine.interop.bundle import (
    BundleConflict, BundleError, asset_references, build_bundle, import_bundle, read_bundle,
)

QUEST = """\
# Forest of fractions, with local assets
id: forest
title: The Fraction Forest
version: 2
story: "![The forest map](assets/forest/map.png) Follow the path."
nodes:
  - id: intro
    kind: story
    title: Into the forest
    text: |
      Read the [trail guide](assets/forest/guide.pdf "guide") first.
      <img src="./assets/forest/sign.svg" alt="sign">
      The web has more: [Khan](https://example.org/fractions).
  - id: learn
    kind: choice
    title: Learn
    options:
      - {id: video, modality: video, label: Watch, url: assets/forest/videos/halves.mp4}
      - {id: sheet, modality: worksheet, label: Worksheet, url: "assets/forest/wall.pdf", complete: self}
  - {id: end, kind: end, title: Out, rewards: {xp: 50}}
edges:
  - [intro, learn]
  - [learn, end]
"""
ASSETS = {
    "assets/forest/map.png": b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4,
    "assets/forest/guide.pdf": b"%PDF-1.4 trail guide",
    "assets/forest/sign.svg": b"<svg xmlns='http://www.w3.org/2000/svg'/>",
    "assets/forest/videos/halves.mp4": bytes(5000),
    "assets/forest/wall.pdf": b"%PDF-1.4 fraction wall",
}


@pytest.fixture
def quest_file(tmp_path) -> Path:
    folder = tmp_path / "teacher-a" / "quests"
    folder.mkdir(parents=True)
    path = folder / "forest.yaml"
    path.write_text(QUEST, encoding="utf-8")
    for rel, data in ASSETS.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(data)
    return path


@pytest.fixture
def bundle_file(quest_file, tmp_path) -> Path:
    out = tmp_path / "forest.quest.zip"
    build_bundle(quest_file, out)
    return out


def fresh(tmp_path, name="b.db") -> Classroom:
    classroom = Classroom(tmp_path / name,
                          hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    classroom.owner = classroom.add_teacher("owner@school.example", "Ms Owner", "owner-pass")
    return classroom


def make_zip(path: Path, files: dict[str, bytes], manifest: dict | None = None,
             *, extra: list[tuple[zipfile.ZipInfo, bytes]] = ()) -> Path:
    """A bundle written by hand: files, a manifest with their hashes (unless given)."""
    if manifest is None:
        manifest = {"format": "questengine-bundle", "format_version": 1,
                    "quest": {"id": "forest", "version": 2, "title": "x"},
                    "files": [{"path": n, "size": len(d), "sha256": hashlib.sha256(d).hexdigest()}
                              for n, d in files.items()]}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", json.dumps(manifest))
        for name, data in files.items():
            zf.writestr(name, data)
        for info, data in extra:
            zf.writestr(info, data)
    return path


# --- building ---------------------------------------------------------------------------------


def test_asset_references(quest_file):
    assert asset_references(load_quest(quest_file)) == [
        "assets/forest/map.png", "assets/forest/guide.pdf", "assets/forest/sign.svg",
        "assets/forest/videos/halves.mp4", "assets/forest/wall.pdf"]


def test_bundle_layout_and_manifest(bundle_file):
    with zipfile.ZipFile(bundle_file) as zf:
        names = zf.namelist()
        manifest = json.loads(zf.read("manifest.json"))
        assert names[0] == "manifest.json"
        assert set(names) == {"manifest.json", "quest.yaml", *ASSETS}
        assert zf.read("quest.yaml").decode() == QUEST  # the file as written, comments and all
    assert manifest["format"] == "questengine-bundle" and manifest["format_version"] == 1
    assert manifest["quest"] == {"id": "forest", "version": 2, "title": "The Fraction Forest"}
    hashes = {f["path"]: f["sha256"] for f in manifest["files"]}
    for rel, data in ASSETS.items():
        assert hashes[rel] == hashlib.sha256(data).hexdigest()


def test_bundles_are_reproducible(quest_file, tmp_path):
    a, b = tmp_path / "a.zip", tmp_path / "b.zip"
    build_bundle(quest_file, a)
    build_bundle(quest_file, b)
    assert a.read_bytes() == b.read_bytes()


def test_missing_assets(quest_file, tmp_path):
    (quest_file.parent / "assets/forest/wall.pdf").unlink()
    with pytest.raises(BundleError, match="assets/forest/wall.pdf") as info:
        build_bundle(quest_file, tmp_path / "x.zip")
    assert "--allow-missing" in str(info.value)
    assert not (tmp_path / "x.zip").exists()
    manifest = build_bundle(quest_file, tmp_path / "x.zip", allow_missing=True)
    assert manifest["missing"] == ["assets/forest/wall.pdf"]
    assert read_bundle(tmp_path / "x.zip").assets.keys() == set(ASSETS) - {"assets/forest/wall.pdf"}


@pytest.mark.parametrize("url", ["assets/../secret.txt", "assets/forest/../../../etc/passwd"])
def test_an_asset_path_that_leaves_the_folder_is_refused(quest_file, tmp_path, url):
    quest_file.write_text(QUEST.replace("assets/forest/wall.pdf", url), encoding="utf-8")
    (quest_file.parent / "secret.txt").write_text("secret")
    with pytest.raises(BundleError, match="'..'"):
        build_bundle(quest_file, tmp_path / "x.zip")


def test_an_asset_that_is_a_link_out_of_the_folder_is_refused(quest_file, tmp_path):
    outside = tmp_path / "outside.pdf"
    outside.write_bytes(b"private")
    wall = quest_file.parent / "assets/forest/wall.pdf"
    wall.unlink()
    wall.symlink_to(outside)
    with pytest.raises(BundleError, match="link or leads outside"):
        build_bundle(quest_file, tmp_path / "x.zip")


def test_an_invalid_quest_is_not_bundled(quest_file, tmp_path):
    quest_file.write_text(QUEST.replace("[learn, end]", "[learn, nowhere]"), encoding="utf-8")
    with pytest.raises(QuestValidationError):
        build_bundle(quest_file, tmp_path / "x.zip")


# --- the round trip -----------------------------------------------------------------------------


def test_round_trip_into_a_fresh_database(bundle_file, quest_file, tmp_path):
    classroom = fresh(tmp_path)
    target = tmp_path / "teacher-b" / "quests"
    result = import_bundle(classroom, bundle_file, target, by=classroom.owner)
    assert (result.quest_id, result.version, result.new_version) == ("forest", 1, True)
    # the quest: stored and written back equal to the original
    original = load_quest(quest_file)
    row = classroom.store.quest_row("forest")
    assert loads_quest(row["source"]) == original
    assert load_quest(target / "forest.yaml") == original
    assert (target / "forest.yaml").read_text(encoding="utf-8") == QUEST
    assert classroom.graph("forest").graph["quest"].title == "The Fraction Forest"
    # the assets: byte for byte, at the same relative paths
    for rel, data in ASSETS.items():
        assert (target / rel).read_bytes() == data
    written = sorted(str(p.relative_to(target)) for p in target.rglob("*") if p.is_file())
    assert written == sorted(["forest.yaml", *ASSETS])
    # and it can be bundled again from there, to the same bytes
    again = tmp_path / "again.zip"
    build_bundle(target / "forest.yaml", again)
    assert again.read_bytes() == bundle_file.read_bytes()


def test_importing_the_same_bundle_twice_changes_nothing(bundle_file, tmp_path):
    classroom = fresh(tmp_path)
    import_bundle(classroom, bundle_file, tmp_path / "q", by=classroom.owner)
    second = import_bundle(classroom, bundle_file, tmp_path / "q", by=classroom.owner)
    assert (second.version, second.new_version, second.written) == (1, False, [])
    assert len(second.unchanged) == 1 + len(ASSETS)


def test_a_different_quest_with_the_same_id_is_refused_unless_replaced(bundle_file, tmp_path):
    classroom = fresh(tmp_path)
    theirs = loads_quest(QUEST.replace("The Fraction Forest", "Someone else's forest"))
    classroom.publish(theirs, by=classroom.owner)
    before = classroom.store._rows("select * from quests")
    with pytest.raises(BundleConflict) as info:
        import_bundle(classroom, bundle_file, tmp_path / "q", by=classroom.owner)
    message = str(info.value)
    assert "'forest'" in message and "--replace" in message and "Someone else's forest" in message
    assert classroom.store._rows("select * from quests") == before  # nothing published
    assert not (tmp_path / "q").exists()  # nothing written
    result = import_bundle(classroom, bundle_file, tmp_path / "q", replace=True, by=classroom.owner)
    assert (result.version, result.new_version) == (2, True)
    assert classroom.graph("forest").graph["quest"].title == "The Fraction Forest"


def test_a_different_asset_already_on_disk_is_refused_unless_replaced(bundle_file, tmp_path):
    classroom = fresh(tmp_path)
    target = tmp_path / "q"
    (target / "assets/forest").mkdir(parents=True)
    (target / "assets/forest/map.png").write_bytes(b"my own map")
    with pytest.raises(BundleConflict, match="map.png"):
        import_bundle(classroom, bundle_file, target, by=classroom.owner)
    assert classroom.store.quest_row("forest") is None
    assert (target / "assets/forest/map.png").read_bytes() == b"my own map"
    import_bundle(classroom, bundle_file, target, replace=True, by=classroom.owner)
    assert (target / "assets/forest/map.png").read_bytes() == ASSETS["assets/forest/map.png"]


# --- bad bundles -------------------------------------------------------------------------------


def quest_files() -> dict[str, bytes]:
    return {"quest.yaml": QUEST.encode(), **ASSETS}


@pytest.mark.parametrize("content", [b"", b"id: forest\ntitle: not a zip\n", b"PK\x03\x04broken"])
def test_a_bundle_that_is_not_a_zip(tmp_path, content):
    path = tmp_path / "forest.quest.zip"
    path.write_bytes(content)
    with pytest.raises(BundleError, match="not a zip archive"):
        read_bundle(path)


@pytest.mark.parametrize("name, why", [
    ("../evil.txt", "'..'"),
    ("assets/../../evil.txt", "'..'"),
    ("/etc/cron.d/evil", "absolute path"),
    ("C:/Windows/evil.dll", "absolute path"),
    ("assets\\..\\evil.txt", "backslash"),
    ("assets//evil.txt", "empty folder name"),
])
def test_a_path_that_tries_to_escape_is_refused(tmp_path, name, why):
    files = {**quest_files(), name: b"evil"}
    path = make_zip(tmp_path / "evil.zip", files)
    with pytest.raises(BundleError, match="refused") as info:
        read_bundle(path)
    assert why in str(info.value)
    classroom = fresh(tmp_path)
    target = tmp_path / "inside" / "quests"
    with pytest.raises(BundleError):
        import_bundle(classroom, path, target, by=classroom.owner)
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path / "inside").exists()
    assert classroom.store.quest_row("forest") is None


def test_a_symlink_entry_is_refused(tmp_path):
    link = zipfile.ZipInfo("assets/forest/link")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    path = make_zip(tmp_path / "link.zip", quest_files(), extra=[(link, b"/etc/passwd")])
    with pytest.raises(BundleError, match="symbolic link"):
        read_bundle(path)


def test_a_zip_bomb_is_refused(tmp_path):
    bomb = b"\0" * 50_000_000  # compresses about a thousand times
    path = make_zip(tmp_path / "bomb.zip", {**quest_files(), "assets/forest/bomb.bin": bomb})
    assert path.stat().st_size < 1_000_000
    with pytest.raises(BundleError, match="zip bomb"):
        read_bundle(path)


def test_the_total_unpacked_size_is_bounded(tmp_path, monkeypatch):
    path = make_zip(tmp_path / "big.zip", quest_files())
    unpacked = sum(len(d) for d in quest_files().values())
    assert unpacked > path.stat().st_size + 1000
    monkeypatch.setattr(bundle_module, "MAX_TOTAL_BYTES", path.stat().st_size + 500)
    with pytest.raises(BundleError, match="would unpack to more than"):
        read_bundle(path)


def test_too_many_files(tmp_path, monkeypatch):
    monkeypatch.setattr(bundle_module, "MAX_FILES", 3)
    with pytest.raises(BundleError, match="more than a bundle may hold"):
        read_bundle(make_zip(tmp_path / "many.zip", quest_files()))


def test_a_file_changed_after_bundling(bundle_file, tmp_path):
    with zipfile.ZipFile(bundle_file) as zf:
        files = {n: zf.read(n) for n in zf.namelist()}
    manifest = json.loads(files.pop("manifest.json"))
    files["assets/forest/guide.pdf"] = b"%PDF-1.4 swapped"
    path = make_zip(tmp_path / "tampered.zip", files, manifest)
    with pytest.raises(BundleError, match="does not match its SHA-256"):
        read_bundle(path)


@pytest.mark.parametrize("change, message", [
    (lambda m, f: f.update({"assets/forest/extra.exe": b"MZ"}), "not listed in manifest.json"),
    (lambda m, f: f.pop("assets/forest/wall.pdf"), "does not contain"),
    (lambda m, f: m.update(format="zip"), "not a quest bundle"),
    (lambda m, f: m.update(format_version=9), "upgrade questengine"),
    (lambda m, f: m.update(files="all of them"), "no valid 'files' list"),
    (lambda m, f: m["quest"].update(id="other"), "manifest.json says the quest is 'other'"),
])
def test_a_manifest_that_does_not_match(tmp_path, change, message):
    files = quest_files()
    manifest = {"format": "questengine-bundle", "format_version": 1,
                "quest": {"id": "forest", "version": 2, "title": "x"},
                "files": [{"path": n, "size": len(d), "sha256": hashlib.sha256(d).hexdigest()}
                          for n, d in files.items()]}
    change(manifest, files)
    with pytest.raises(BundleError, match=message):
        read_bundle(make_zip(tmp_path / "m.zip", files, manifest))


def test_no_manifest(tmp_path):
    path = tmp_path / "plain.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("quest.yaml", QUEST)
    with pytest.raises(BundleError, match="no manifest.json"):
        read_bundle(path)


def test_a_broken_quest_inside_names_the_line(tmp_path):
    files = {"quest.yaml": QUEST.replace("title: Out", "title: Out\n    threshold: 2").encode()}
    path = make_zip(tmp_path / "q.zip", files)
    with pytest.raises(QuestFileError) as info:
        read_bundle(path)
    assert f"{path}!quest.yaml:" in str(info.value)


# --- the commands ------------------------------------------------------------------------------


def test_cli_bundle_and_import(quest_file, tmp_path):
    runner = CliRunner()
    out = tmp_path / "forest.quest.zip"
    made = runner.invoke(main, ["bundle", str(quest_file), "-o", str(out)])
    assert made.exit_code == 0, made.output
    assert f"{out}: quest 'forest' with 5 asset(s)" in made.stderr
    again = runner.invoke(main, ["bundle", str(quest_file), "-o", str(out)])
    assert again.exit_code == 1 and "already exists" in again.stderr

    db = tmp_path / "other" / "classroom.db"
    target = tmp_path / "other" / "quests"
    db.parent.mkdir()
    setup = Classroom(db)
    setup.add_teacher("bo@school.example", "Mr Bo", "password-bo")
    setup.create_class("bo@school.example", "Science", "FOX-0002")
    setup.store.close()
    imported = runner.invoke(main, ["import-bundle", str(out), "--db", str(db), "--quests",
                                    str(target), "--assign", "fox-0002"])
    assert imported.exit_code == 0, imported.output
    assert imported.stdout.strip() == ("forest published as version 1; 6 file(s) written, "
                                       "0 unchanged; assigned to FOX-0002")
    assert (target / "assets/forest/map.png").read_bytes() == ASSETS["assets/forest/map.png"]
    assert [a["quest_id"] for a in Classroom(db).store.assignments("FOX-0002")] == ["forest"]

    quest_file.write_text(QUEST.replace("Into the forest", "Into the woods"), encoding="utf-8")
    assert runner.invoke(main, ["bundle", str(quest_file), "-o", str(out), "--force"]).exit_code == 0
    conflict = runner.invoke(main, ["import-bundle", str(out), "--db", str(db), "--quests",
                                    str(target)])
    assert conflict.exit_code == 1
    lines = conflict.stderr.strip().splitlines()
    assert len(lines) == 1 and "--replace" in lines[0] and lines[0].startswith("error: ")
    replaced = runner.invoke(main, ["import-bundle", str(out), "--db", str(db), "--quests",
                                    str(target), "--replace"])
    assert replaced.exit_code == 0 and "published as version 2" in replaced.stdout


def test_cli_refuses_bad_bundles_in_one_line(tmp_path):
    runner = CliRunner()
    not_zip = tmp_path / "notes.quest.zip"
    not_zip.write_text("hello")
    evil = make_zip(tmp_path / "evil.zip", {**quest_files(), "../../evil.sh": b"rm -rf"})
    for path in (not_zip, evil, tmp_path / "missing.zip"):
        result = runner.invoke(main, ["import-bundle", str(path), "--db",
                                      str(tmp_path / "c.db"), "--quests", str(tmp_path / "q")])
        assert result.exit_code == 1, result.output
        assert "Traceback" not in result.output
        assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "q").exists()
    assert runner.invoke(main, ["import-bundle"]).exit_code == 2
