"""find_videos: explicit paths as given, directories by extension, sorted, hidden skipped, depth on request."""

from reelscore.media.discover import find_videos


def test_directories_expand_sorted_and_optionally_flat(tmp_path):
    for rel in ("b.mp4", "a.MOV", "notes.txt", ".hidden.mp4", "sub/c.webm", ".cache/d.mp4"):
        f = tmp_path / rel
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(b"x")
    missing = tmp_path / "missing.mp4"
    deep = [p.relative_to(tmp_path).as_posix() for p in find_videos([tmp_path])]
    assert deep == ["a.MOV", "b.mp4", "sub/c.webm"]
    flat = list(find_videos([tmp_path, missing], recursive=False))
    assert [p.name for p in flat] == ["a.MOV", "b.mp4", "missing.mp4"]
