"""questengine.files: the content-addressed file store and the type read from the bytes."""
import pytest

from questengine.files import FileStore, FileStoreError, sniff

SAMPLES = {
    "image/jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
    "image/png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    "image/gif": b"GIF89a\x01\x00\x01\x00",
    "image/webp": b"RIFF\x24\x00\x00\x00WEBPVP8 ",
    "audio/wav": b"RIFF\x24\x00\x00\x00WAVEfmt ",
    "application/pdf": b"%PDF-1.4\n%\xe2\xe3",
    "video/mp4": b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00",
    "audio/mp4": b"\x00\x00\x00\x18ftypM4A \x00\x00\x00\x00",
    "video/quicktime": b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00",
    "video/webm": b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01V_VP8",
    "audio/ogg": b"OggS\x00\x02\x00\x00",
    "audio/mpeg": b"ID3\x04\x00\x00\x00\x00\x00\x00",
    "audio/flac": b"fLaC\x00\x00\x00\x22",
    "text/vtt": b"WEBVTT\n\n00:00.000 --> 00:01.000\nhi",
}


@pytest.mark.parametrize("mime", sorted(SAMPLES))
def test_sniff_reads_the_type_from_the_first_bytes(mime):
    assert sniff(SAMPLES[mime] + b"\x00" * 32) == mime


@pytest.mark.parametrize("head", [b"MZ\x90\x00", b"#!/bin/sh\n", b"<html><script>", b"PK\x03\x04"])
def test_sniff_refuses_programs_pages_and_archives(head):
    assert sniff(head + b"\x00" * 32) is None


def test_put_is_content_addressed_and_stores_the_same_bytes_once(tmp_path):
    store = FileStore(tmp_path / "files")
    data = SAMPLES["image/png"] + b"picture" * 1000
    sha, size, mime = store.put(data)
    again = store.put(data)
    assert again == (sha, size, mime) and mime == "image/png" and size == len(data)
    assert store.read(sha) == data
    assert store.path(sha).relative_to(tmp_path / "files").parts == (sha[:2], sha[2:])
    assert len([p for p in (tmp_path / "files").rglob("*") if p.is_file()]) == 1
    assert store.delete(sha) and not store.exists(sha)


def test_put_refuses_too_big_and_wrong_types_and_leaves_nothing(tmp_path):
    store = FileStore(tmp_path / "files")
    with pytest.raises(FileStoreError, match="bigger than 1 MB"):
        store.put(SAMPLES["video/mp4"] + b"\x00" * (1024 * 1024), limit=1024 * 1024)
    with pytest.raises(FileStoreError, match="not a photo, a recording"):
        store.put(b"MZ" + b"\x00" * 100)
    assert not [p for p in (tmp_path / "files").rglob("*") if p.is_file()]


def test_a_stream_is_stored_without_reading_it_whole(tmp_path):
    import io

    store = FileStore(tmp_path / "files")
    data = SAMPLES["audio/wav"] + bytes(range(256)) * 20_000  # 5 MB in 1 MB chunks
    sha, size, _ = store.put(io.BytesIO(data))
    assert size == len(data) and store.read(sha) == data


def test_a_bad_hash_is_not_a_path(tmp_path):
    with pytest.raises(FileStoreError, match="SHA-256"):
        FileStore(tmp_path).path("../../etc/passwd")


def test_the_teacher_sets_the_upload_limit_in_the_review_queue():
    from helpers import T1, cheap_hasher
    from questengine.classroom import Classroom
    from questengine.loader import loads_quest
    from questengine.ui.center import CenterPage

    c = Classroom(":memory:", hasher=cheap_hasher())
    owner = c.add_teacher("t@school.org", "Tess", "correct horse")
    code = c.create_class("t@school.org", "Class", "OWL-0001")
    c.publish(loads_quest(T1), by=owner)
    c.assign("t1", code, by=owner)
    page = CenterPage(c)
    page.login.email.value, page.login.password.value = "t@school.org", "correct horse"
    page.login.button.click()
    row = page.queue_box.children[-1]
    box, save, note = row.children
    assert box.value == 50
    box.value = 12
    save.click()
    assert "files up to 12 MB" in note.value
    teacher = c.login_teacher("t@school.org", "correct horse")
    assert teacher.class_upload_limit(code) == 12 * 1024 * 1024
