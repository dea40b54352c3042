"""``hookpipe import`` bounds what an untrusted config builds (docs/import.md, "What runs when you import").

Nothing in a config is executed, yet a few lines can still ask for gigabytes: a
string doubled 40 times, a list of a list of ... doubled (one object to Python,
2**n copies in the ``.pipe`` file written from it), a YAML "billion laughs". Each
reader counts what it builds (a name or an alias each time it is used) and refuses
past ``MAX_VALUES`` values, ``MAX_TEXT`` characters, ``MAX_DEPTH`` levels or a
``MAX_STRING`` string: exit 2, the file (and line) and the limit named, nothing
written. Each bomb here is at a depth past the limits that is refused in well under
a second; before the limits the readers returned it (or hung writing it).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from hookpipe.commands.import_ import MAX_YAML_NUMBER, _Unreadable, _yaml
from hookpipe.porting.pyconfig import MAX_BASE_FILES, MAX_DEPTH, MAX_STRING, MAX_VALUES, ConfigError, read_config
from tests.helpers import ROOT, run_cli


def project(tmp_path: Path, files: dict[str, str]) -> Path:
    (tmp_path / "pyproject.toml").write_text("")
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return tmp_path


def string_doubling(levels: int) -> str:
    return "\n".join(['s0 = "ab"', *(f"s{i} = s{i - 1} + s{i - 1}" for i in range(1, levels + 1)),
                      f'custom_hooks = [dict(type="EMAHook", note=s{levels})]', "train_cfg = dict(max_epochs=3)"]) + "\n"


def list_doubling(levels: int) -> str:
    return "\n".join(["l0 = [1, 2]", *(f"l{i} = [l{i - 1}, l{i - 1}]" for i in range(1, levels + 1)),
                      f'custom_hooks = [dict(type="mypkg.hooks.MyHook", note=l{levels}, priority="NORMAL")]',
                      "train_cfg = dict(max_epochs=3)"]) + "\n"


def laughs(levels: int) -> str:
    return "\n".join(["a0: &a0 [x, y]", *(f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}]" for i in range(1, levels + 1))]) + \
        f"\ntrainer:\n  max_epochs: 4\n  callbacks:\n    - class_path: mypkg.MyCallback\n      init_args:\n" \
        f"        data: *a{levels}\n"


# --- MMEngine's Python configs (hookpipe's own reader) ----------------------------------------------------


def test_a_doubled_string_is_refused_before_it_is_built(tmp_path: Path) -> None:
    root = project(tmp_path, {"c.py": string_doubling(40)})
    with pytest.raises(ConfigError) as err:
        read_config(root / "c.py", root)
    # s20 (line 21) would be 2**21 characters: the first string past MAX_STRING, refused on its own line
    assert f"c.py:21: not a config hookpipe reads: it builds a string longer than {MAX_STRING:,} characters" \
        in str(err.value)


def test_a_doubled_list_counts_every_use_of_a_name(tmp_path: Path) -> None:
    root = project(tmp_path, {"c.py": list_doubling(20)})
    with pytest.raises(ConfigError) as err:
        read_config(root / "c.py", root)
    assert f"more than {MAX_VALUES:,} values (a name or an alias counts each time it is used)" in str(err.value)
    assert "c.py:" in str(err.value)


def test_a_copied_dict_counts_each_copy(tmp_path: Path) -> None:
    """``dict(d)`` copies ``d``: a list of copies of a big dict is as big as written out."""
    big = "d = dict(" + ", ".join(f"k{i}=1" for i in range(2000)) + ")\n"
    root = project(tmp_path, {"c.py": big + "x = [" + ", ".join(["dict(d, z=1)"] * 100) + "]\n"})
    with pytest.raises(ConfigError, match=f"more than {MAX_VALUES:,} values"):
        read_config(root / "c.py", root)


def test_nesting_through_names_is_refused_past_max_depth(tmp_path: Path) -> None:
    text = "l0 = [1]\n" + "".join(f"l{i} = [l{i - 1}]\n" for i in range(1, MAX_DEPTH + 5))
    root = project(tmp_path, {"c.py": text})
    with pytest.raises(ConfigError, match=f"deeper than {MAX_DEPTH} levels"):
        read_config(root / "c.py", root)


def test_a_base_file_named_over_and_over_is_read_a_bounded_number_of_times(tmp_path: Path) -> None:
    many = "_base_ = [" + ", ".join(["'{}'"] * 20) + "]\nx = 1\n"
    root = project(tmp_path, {"a.py": many.format(*["b.py"] * 20), "b.py": many.format(*["c.py"] * 20),
                              "c.py": "y = 2\n"})
    with pytest.raises(ConfigError, match=f"reads more than {MAX_BASE_FILES} files"):
        read_config(root / "a.py", root)


def test_a_config_within_the_limits_reads_as_before(tmp_path: Path) -> None:
    text = "base = dict(a='x' + 'y')\nl0 = [1, 2]\n" + \
        "".join(f"l{i} = [l{i - 1}, l{i - 1}]\n" for i in range(1, 11)) + "d = dict(base, b=l10)\n"
    root = project(tmp_path, {"c.py": text})
    cfg = read_config(root / "c.py", root)
    assert cfg["d"]["a"] == "xy" and len(cfg["l10"]) == 2


# --- YAML (LightningCLI) and JSON (RoboOrchard Lab) -------------------------------------------------------


def test_yaml_aliases_count_each_time_they_are_used() -> None:
    with pytest.raises(_Unreadable) as err:
        _yaml(laughs(20), "c.yaml")
    assert str(err.value).startswith("c.yaml:")
    assert f"more than {MAX_VALUES:,} values (a name or an alias counts each time it is used)" in str(err.value)


@pytest.mark.parametrize("text, message", [
    ("a: &a [*a]\n", f"deeper than {MAX_DEPTH} levels"),  # an alias inside its own anchor
    ("x: " + "[" * 100 + "]" * 100 + "\n", f"deeper than {MAX_DEPTH} levels"),
    ("x: " + "[" * 1500 + "]" * 1500 + "\n", f"deeper than {MAX_DEPTH} levels"),  # PyYAML's own recursion
    ("x: 1" + ":1" * 200 + "\n", f"a number with more than {MAX_YAML_NUMBER} characters"),  # base 60
    ("x: " + "1" * 5000 + "\n", f"a number with more than {MAX_YAML_NUMBER} characters"),
    ("x: !!int abc\n", "not valid YAML: invalid literal"),
    ('x: "' + "a" * (MAX_STRING + 1) + '"\n', f"a string longer than {MAX_STRING:,} characters"),
])
def test_yaml_that_would_recurse_or_grow_is_refused(text: str, message: str) -> None:
    with pytest.raises(_Unreadable, match="c.yaml") as err:
        _yaml(text, "c.yaml")
    assert message in str(err.value)


def test_yaml_within_the_limits_loads_as_before() -> None:
    assert _yaml("a: &a [1, 2]\nb: [*a, *a]\nc: {<<: {k: 1}, j: 2}\n", "c.yaml") == \
        {"a": [1, 2], "b": [[1, 2], [1, 2]], "c": {"k": 1, "j": 2}}
    assert _yaml("", "c.yaml") is None


@pytest.mark.parametrize("data, message", [
    ("[" * 100 + "]" * 100, f"deeper than {MAX_DEPTH} levels"),
    ("[" * 100_000 + "]" * 100_000, f"deeper than {MAX_DEPTH} levels"),  # json's own recursion
    (json.dumps({"hooks": [0] * (MAX_VALUES + 1)}), f"more than {MAX_VALUES:,} values"),
])
def test_json_is_counted_too(tmp_path: Path, data: str, message: str) -> None:
    root = project(tmp_path, {"h.json": data})
    result = run_cli("import", "robo", str(root / "h.json"), "-o", str(root / "out.pipe"))
    assert result.code == 2, result.err
    assert "h.json: not a config hookpipe reads: it " in result.err and message in result.err
    assert not (root / "out.pipe").exists()


# --- the trial's three inputs, end to end ---------------------------------------------------------------


@pytest.mark.parametrize("kind, name, text, limit", [
    ("mmengine", "str.py", string_doubling(40), f"longer than {MAX_STRING:,} characters"),
    ("mmengine", "list2.py", list_doubling(59), f"more than {MAX_VALUES:,} values"),
    ("lightning", "laugh.yaml", laughs(40), f"more than {MAX_VALUES:,} values"),
])
def test_the_trial_bombs_exit_2_at_once_and_write_nothing(tmp_path: Path, kind: str, name: str, text: str,
                                                          limit: str) -> None:
    root = project(tmp_path, {name: text})
    out = root / "o.pipe"
    # its own process, with a timeout: before the limits these hung or ran out of memory
    proc = subprocess.run([sys.executable, "-m", "hookpipe.cli", "import", kind, name, "-o", str(out), "--force",
                           "--no-execute"], capture_output=True, text=True, cwd=root, timeout=60,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert f"{name}:" in proc.stderr and "not a config hookpipe reads" in proc.stderr and limit in proc.stderr
    assert not out.exists()
