"""lark's cache of the built parser: a pickle, so used only where nobody else can write."""

from __future__ import annotations

import os
import pickle
import stat
from pathlib import Path

import pytest

from hookpipe.dsl import grammar

pytestmark = pytest.mark.skipif(not hasattr(os, "getuid"), reason="the cache needs user ids (POSIX)")


class Plant:
    """A pickle that, when loaded, writes a file: what a planted cache would do to us."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (Path.write_text, (Path(self.marker), "loaded"))  # type: ignore[return-value]


def plant(path: Path, marker: Path) -> None:
    """A file in the place and shape of lark's cache whose loading runs code."""
    with path.open("wb") as f:
        f.write(b"x\n")
        pickle.dump(Plant(str(marker)), f)


def use_folder(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    monkeypatch.setenv("HOOKPIPE_CACHE_DIR", str(folder))


def test_a_private_folder_keeps_the_parser_and_it_loads_back(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "cache"
    use_folder(monkeypatch, folder)
    text = grammar.grammar_text()
    path = grammar.cache_file(text)
    assert path is not None and Path(path).parent == folder
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700  # made for this user alone
    grammar.build(text, path)
    assert Path(path).is_file() and not Path(path).stat().st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    lark, builder, _ = grammar.build(text, path)  # loaded from the file
    builder.path = "t.pipe"
    (hook,) = lark.parse("hook a = optimizer()\n")
    assert hook.name == "a" and hook.span.file == "t.pipe"


def test_another_grammar_gets_another_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use_folder(monkeypatch, tmp_path)
    text = grammar.grammar_text()
    assert grammar.cache_file(text) != grammar.cache_file(text.replace('"order"', '"ordering"'))


@pytest.mark.parametrize("mode", [0o777, 0o775, 0o1777])
def test_a_folder_others_can_write_is_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: int) -> None:
    folder = tmp_path / "shared"
    folder.mkdir()
    folder.chmod(mode)
    use_folder(monkeypatch, folder)
    assert grammar.cache_dir() is None and grammar.cache_file(grammar.grammar_text()) is None


def test_a_planted_file_in_a_shared_folder_is_never_loaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The attack lark's ``cache=True`` would allow in a shared /tmp: the pickle is not even opened."""
    folder = tmp_path / "shared"
    folder.mkdir()
    text = grammar.grammar_text()
    use_folder(monkeypatch, folder)
    folder.chmod(0o700)
    path = Path(str(grammar.cache_file(text)))
    folder.chmod(0o777)
    marker = tmp_path / "ran"
    plant(path, marker)
    lark, builder, _ = grammar.build(text, grammar.cache_file(text))
    builder.path = "t.pipe"
    assert lark.parse("hook a = optimizer()\n")[0].name == "a"
    assert not marker.exists()


@pytest.mark.parametrize("shape", ["group-writable", "symlink", "folder"])
def test_a_cache_file_others_could_have_written_is_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           shape: str) -> None:
    folder = tmp_path / "cache"
    use_folder(monkeypatch, folder)
    text = grammar.grammar_text()
    path = Path(str(grammar.cache_file(text)))
    marker = tmp_path / "ran"
    if shape == "group-writable":
        plant(path, marker)
        path.chmod(0o664)
    elif shape == "symlink":
        target = tmp_path / "elsewhere"
        plant(target, marker)
        path.symlink_to(target)
    else:
        path.mkdir()
    assert grammar.cache_file(text) is None
    lark, builder, _ = grammar.build(text, grammar.cache_file(text))
    builder.path = "t.pipe"
    assert lark.parse("hook a = optimizer()\n")[0].name == "a"
    assert not marker.exists()


def test_a_damaged_cache_file_is_rebuilt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use_folder(monkeypatch, tmp_path / "cache")
    text = grammar.grammar_text()
    path = Path(str(grammar.cache_file(text)))
    path.write_bytes(b"not a pickle\n\x00\x01")
    lark, builder, _ = grammar.build(text, grammar.cache_file(text))
    builder.path = "t.pipe"
    assert lark.parse("hook a = optimizer()\n")[0].name == "a"
    assert path.read_bytes() != b"not a pickle\n\x00\x01"  # lark wrote the parser it built


def test_an_unwritable_home_builds_without_a_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    use_folder(monkeypatch, blocker / "cache")  # a folder under a file cannot be made
    assert grammar.cache_dir() is None
    lark, builder, _ = grammar.build(grammar.grammar_text(), None)
    builder.path = "t.pipe"
    assert lark.parse("hook a = optimizer()\n")[0].name == "a"
