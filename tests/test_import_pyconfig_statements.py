"""``hookpipe import mmengine --no-execute`` accounts for every top-level statement of a config.

A new user's trial found the reader took only ``name = value`` and passed over every
other statement without a word: a config that runs 24 epochs with a checkpoint every
4 and an EMA hook was written as 12 epochs, a checkpoint every epoch, no EMA, and
"nothing needs a person". The reader now evaluates the statements it can evaluate
exactly (stores, ``update``, ``+=``, ``del``, a known ``if``), and makes every name any
other statement could bind or change ``Opaque``, marked with the statement's file and
line; what it cannot read at all (a base imported in ``with read_base():``) is marked
on the run's length. Each claim is checked against what Python itself computes.

Also here: errors name the file and line that caused them (a missing or package
``_base_``, an expression too deep), and ``hookpipe import lightning`` says what it
reads when given a training script.
"""

from __future__ import annotations

import textwrap
import types
from pathlib import Path
from typing import Any

import pytest

from hookpipe.porting.pyconfig import MAX_DEPTH, MAX_VALUES, ConfigError, Opaque, read_config
from tests.helpers import CliResult, run_cli

#: The trial's config (/tmp/trial-mm/cfg/mutate.py): MMEngine runs 24 epochs, checkpoints every 4, with EMA.
MUTATE = """\
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=12)
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1), logger=dict(type='LoggerHook', interval=50))
default_hooks['checkpoint']['interval'] = 4
train_cfg.update(max_epochs=24)
if True:
    custom_hooks = [dict(type='EMAHook')]
"""

#: The trial's pure-Python config (/tmp/trial-mm/newstyle/retina.py): its base is imported, not named in `_base_`.
NEWSTYLE = """\
from mmengine.config import read_base

with read_base():
    from ._base_.schedule import *

from mmengine.hooks import EMAHook

train_cfg.update(max_epochs=24)
default_hooks.update(dict(logger=dict(type=LoggerHook, interval=20)))
custom_hooks = [dict(type=EMAHook, momentum=0.0002)]
"""
NEWSTYLE_BASE = """\
from mmengine.hooks import CheckpointHook, LoggerHook, IterTimerHook
from mmengine.runner.loops import EpochBasedTrainLoop
train_cfg = dict(type=EpochBasedTrainLoop, max_epochs=12, val_interval=1)
default_hooks = dict(
    timer=dict(type=IterTimerHook),
    logger=dict(type=LoggerHook, interval=50),
    checkpoint=dict(type=CheckpointHook, interval=1, max_keep_ckpts=3))
"""


def project(tmp_path: Path, files: dict[str, str]) -> Path:
    (tmp_path / "pyproject.toml").write_text("")
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(textwrap.dedent(text))
    return tmp_path


def read(tmp_path: Path, text: str, notes: list[str] | None = None) -> dict[str, Any]:
    root = project(tmp_path, {"c.py": text})
    return read_config(root / "c.py", root) if notes is None else read_config(root / "c.py", root, notes)


def do_import(source: Path, out: Path, *extra: str) -> CliResult:
    return run_cli("import", "mmengine", str(source), "-o", str(out), "--no-execute", *extra)


# --- the trial's configs ---------------------------------------------------------------------------------------

def test_the_trial_s_statements_are_read_as_mmengine_runs_them(tmp_path: Path) -> None:
    cfg = read(tmp_path, MUTATE)
    assert cfg["train_cfg"] == {"type": "EpochBasedTrainLoop", "max_epochs": 24}
    assert cfg["default_hooks"]["checkpoint"] == {"type": "CheckpointHook", "interval": 4}
    assert cfg["custom_hooks"] == [{"type": "EMAHook"}]


def test_the_trial_s_config_imports_as_it_runs(tmp_path: Path) -> None:
    root = project(tmp_path, {"mutate.py": MUTATE})
    out = root / "out.pipe"
    result = do_import(root / "mutate.py", out, "--module", "proj")
    text = out.read_text()
    assert result.code == 0, result.err
    assert "max_epoch = 24" in text and "save every 4 epochs" in text and "ema(" in text
    assert "logger every 50 batches" in text


def test_a_base_imported_in_read_base_is_named_as_not_read(tmp_path: Path) -> None:
    root = project(tmp_path, {"retina.py": NEWSTYLE, "_base_/schedule.py": NEWSTYLE_BASE,
                              "__init__.py": "", "_base_/__init__.py": ""})
    notes: list[str] = []
    cfg = read_config(root / "retina.py", root, notes)
    assert len(notes) == 1 and notes[0].startswith(f"{root / 'retina.py'}:4: `from ._base_.schedule import *` "
                                                   "(a base config) is not read without executing the config")
    # what the file changes of the base's names is unknown, marked with the line that changed it
    assert cfg["train_cfg"] == Opaque(f"<not evaluated: {root / 'retina.py'}:8 train_cfg.update(max_epochs=24)>")
    assert isinstance(cfg["default_hooks"], Opaque) and ":9 default_hooks.update(" in cfg["default_hooks"].source
    out = root / "out.pipe"
    result = do_import(root / "retina.py", out, "--module", "proj")
    assert result.code == 1, result.err
    assert "nothing needs a person" not in result.err
    assert "retina.py:4: `from ._base_.schedule import *` (a base config) is not read" in result.err
    assert "# hookpipe import:" in out.read_text().split("max_epoch", 1)[1].split("\n", 1)[0]


def test_a_setting_not_evaluated_is_marked_even_where_the_translation_reads_it_as_missing(tmp_path: Path) -> None:
    """An ``optim_wrapper`` the reader could not evaluate would be written as ``project.optimizer()``, no mark."""
    root = project(tmp_path, {"c.py": """\
        train_cfg = dict(max_epochs=2)
        optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1))
        for key in ['lr']:
            optim_wrapper['optimizer'][key] = 0.2
        randomness = make_randomness()
        """})
    out = root / "out.pipe"
    result = do_import(root / "c.py", out, "--module", "proj")
    assert result.code == 1 and "nothing needs a person" not in result.err, result.err
    assert f"optim_wrapper <not evaluated: {root / 'c.py'}:3 for key in ['lr']:>" in result.err
    assert "randomness make_randomness()" in result.err


def test_a_named_import_from_a_base_is_unknown(tmp_path: Path) -> None:
    notes: list[str] = []
    cfg = read(tmp_path, """\
        from mmengine.config import read_base
        with read_base():
            from .schedule import train_cfg, default_hooks as hooks
        work_dir = 'runs/x'
        """, notes)
    assert notes[0].startswith(f"{tmp_path / 'c.py'}:3: `from .schedule import train_cfg, default_hooks as hooks`")
    assert "train_cfg, hooks are unknown" in notes[0]
    assert isinstance(cfg["train_cfg"], Opaque) and isinstance(cfg["hooks"], Opaque)
    assert cfg["work_dir"] == "runs/x"


# --- what is evaluated, checked against Python ------------------------------------------------------------------

#: Statements with the values Python gives them. Each is read, and every value the reader knows must be
#: Python's; a name Python binds is never missing (unknown, at worst).
STATEMENTS = {
    "stores": """
        d = dict(a=dict(b=1), c=[1, 2])
        d['a']['b'] = 4
        d['c'][0] = 9
        d['c'][-1] += 5
        d['new'] = 'x'
        """,
    "stores through shared objects": """
        a = dict(k=1)
        b = dict(inner=a, lst=[a])
        a['k'] = 2
        b['inner']['z'] = 3
        """,
    "update": """
        t = dict(max_epochs=12, n=dict(a=1))
        t.update(max_epochs=24)
        t.update(dict(n=dict(b=2)), extra=1)
        u = dict(a=1)
        u.update(t)
        t['n']['c'] = 3
        h = dict(ck=dict(interval=1), lg=dict(interval=50))
        h['ck'].update(interval=4)
        """,
    "if": """
        flag = True
        if flag:
            x = 1
        else:
            x = 2
        if not flag:
            y = 1
        cfg = dict(use_ema=False)
        if cfg['use_ema']:
            z = 1
        else:
            z = 2
        """,
    "unpacking and chains": """
        a, b = 1, 2
        (c, d), e = [3, 4], 5
        h = w = 7
        p = [1, 2]
        q, r = p
        """,
    "augmented": """
        n = 1
        n += 2
        s = 'a'
        s += 'b'
        f = 2.0
        f *= 3
        l = [1]
        m = l
        l += [2]
        """,
    "del": """
        a = 1
        b = dict(x=1, y=2)
        del b['x']
        c = [1, 2, 3]
        del c[0]
        del a
        """,
    "loops": """
        total = 0
        for i in range(3):
            total += i
        lst = []
        while len(lst) < 2:
            lst.append(len(lst))
        """,
    "method calls": """
        a = [1, 2]
        b = dict(l=a)
        a.append(3)
        c = dict(x=1)
        c.pop('x')
        g = c.get('q')
        """,
    "a call given a name": """
        def f(x):
            x['zz'] = 1
        a = dict(k=1)
        b = dict(inner=a)
        c = [b]
        e = dict(other=1)
        f(a)
        """,
    "a function called later": """
        d = dict(a=1)
        f = lambda: d.update(a=2)
        x = 1
        f()
        """,
    "global": """
        x = 1
        def g():
            global x
            x = 5
        x = 2
        g()
        y = x
        """,
    "walrus": """
        x = [y := 5, y + 1]
        z = (w := dict(a=1))
        w['a'] = 2
        """,
    "class body": """
        lst = [1]
        class C:
            lst.append(2)
            attr = 3
        """,
    "try, with, match": """
        import contextlib
        try:
            a = 1
        except Exception as e:
            a = 2
        with contextlib.nullcontext() as cm:
            v = 1
        match v:
            case 1:
                r = 'one'
            case _:
                r = 'other'
        """,
    "exec": """
        a = 1
        exec('a = 2')
        b = a
        """,
    "globals": """
        a = 1
        globals()['a'] = 3
        """,
    "a builtin rebound": """
        from collections import OrderedDict as dict
        x = dict(a=1)
        """,
    "a function given a key": """
        a = [dict(k=2), dict(k=1)]
        def key(d):
            d['seen'] = True
            return d['k']
        b = sorted(a, key=key)
        """,
    "a tuple holding a list": """
        inner = [1]
        t = (inner, 2)
        def f(x):
            x[0].append(9)
        f(t)
        """,
}


def agrees(mine: Any, python: Any) -> bool:
    """``mine`` is Python's value where it is not ``Opaque`` (an unknown part agrees with anything)."""
    if isinstance(mine, Opaque):
        return True
    if type(mine) is not type(python):
        return False
    if isinstance(mine, dict):
        return mine.keys() == python.keys() and all(agrees(mine[k], python[k]) for k in mine)
    if isinstance(mine, (list, tuple)):
        return len(mine) == len(python) and all(agrees(a, b) for a, b in zip(mine, python))
    return bool(mine == python)


@pytest.mark.parametrize("name", sorted(STATEMENTS))
def test_every_value_read_is_the_one_python_computes(tmp_path: Path, name: str) -> None:
    text = textwrap.dedent(STATEMENTS[name])
    cfg = read(tmp_path, text)
    python: dict[str, Any] = {}
    exec(compile(text, "c.py", "exec"), python)  # the test's own text, to compare with
    python = {k: v for k, v in python.items()
              if not k.startswith("__") and not isinstance(v, (types.ModuleType, types.FunctionType, type))}
    assert not python.keys() - cfg.keys(), "names Python binds are missing"
    for key, value in cfg.items():
        assert key in python or isinstance(value, Opaque), key
        if key in python:
            assert agrees(value, python[key]), (key, value, python[key])


def test_what_can_be_evaluated_is_evaluated(tmp_path: Path) -> None:
    """Not ``Opaque`` where exact: the test above alone would pass a reader that knows nothing."""
    expected = {
        "stores": {"d": {"a": {"b": 4}, "c": [9, 7], "new": "x"}},
        "stores through shared objects": {"b": {"inner": {"k": 2, "z": 3}, "lst": [{"k": 2, "z": 3}]}},
        "update": {"t": {"max_epochs": 24, "n": {"b": 2, "c": 3}, "extra": 1},
                   "u": {"a": 1, "max_epochs": 24, "n": {"b": 2, "c": 3}, "extra": 1},
                   "h": {"ck": {"interval": 4}, "lg": {"interval": 50}}},
        "if": {"x": 1, "z": 2},
        "unpacking and chains": {"a": 1, "d": 4, "e": 5, "h": 7, "w": 7, "q": 1, "r": 2},
        "augmented": {"n": 3, "s": "ab", "f": 6.0},
        "del": {"b": {"y": 2}, "c": [2, 3]},
        "a call given a name": {"e": {"other": 1}},
        "a function called later": {"x": 1},
    }
    for name, values in expected.items():
        folder = tmp_path / name.replace(" ", "_").replace(",", "")
        folder.mkdir()
        cfg = read(folder, STATEMENTS[name])
        for key, value in values.items():
            assert cfg[key] == value, (name, key, cfg[key])
        if name == "del":
            assert "a" not in cfg


@pytest.mark.parametrize(("text", "names", "line"), [
    ("total = 0\nfor i in range(3):\n    total += i\n", ["total", "i"], "2 for i in range(3):"),
    ("x = 1\nwith open('f') as fh:\n    x = fh.read()\n", ["x", "fh"], "2 with open('f') as fh:"),
    ("h = dict(a=1)\nh.setdefault('b', 2)\n", ["h"], "2 h.setdefault('b', 2)"),
    ("h = dict(a=1)\nh.update(**extra)\n", ["h"], "2 h.update(**extra)"),
    ("h = dict(a=1)\nh[key()] = 2\n", ["h"], "2 h[key()] = 2"),
    ("import os\n", ["os"], "1 import os"),
    ("def build():\n    return 1\n", ["build"], "1 def build():"),
])
def test_a_statement_not_evaluated_marks_what_it_binds_or_changes(tmp_path: Path, text: str, names: list[str],
                                                                  line: str) -> None:
    cfg = read(tmp_path, text)
    for name in names:
        assert cfg[name] == Opaque(f"<not evaluated: {tmp_path / 'c.py'}:{line}>"), cfg[name]


def test_a_change_of_an_object_marks_every_name_that_holds_it(tmp_path: Path) -> None:
    cfg = read(tmp_path, """\
        hooks = [dict(type='EMAHook')]
        default_hooks = dict(logger=dict(type='LoggerHook'))
        custom_hooks = hooks
        runner = dict(hooks=[hooks[0]])
        hooks[0].setdefault('momentum', 0.5)
        """)
    mark = Opaque(f"<not evaluated: {tmp_path / 'c.py'}:5 hooks[0].setdefault('momentum', 0.5)>")
    assert cfg["hooks"] == cfg["custom_hooks"] == cfg["runner"] == mark
    assert cfg["default_hooks"] == {"logger": {"type": "LoggerHook"}}


def test_update_replaces_a_nested_dict_as_mmengine_does_for_the_file_s_own_dicts(tmp_path: Path) -> None:
    """``dict.update``, also in a pure-Python config (one with imports): MMEngine 0.10.7 gives ``{'a': {'y': 2}}``
    for both. Only an imported base's dicts are ``ConfigDict``s, whose ``update`` merges, and those are unknown."""
    plain = read(tmp_path, "d = dict(a=dict(x=1), n=1)\nd.update(a=dict(y=2), n=2)\n")
    assert plain["d"] == {"a": {"y": 2}, "n": 2}
    (tmp_path / "lazy").mkdir()
    lazy = read(tmp_path / "lazy", "import os\nd = dict(a=dict(x=1), n=1)\nd.update(a=dict(y=2), n=2)\n")
    assert lazy["d"] == {"a": {"y": 2}, "n": 2}


def test_a_star_import_makes_every_name_before_it_unknown(tmp_path: Path) -> None:
    notes: list[str] = []
    cfg = read(tmp_path, "a = 1\nfrom os.path import *\nb = 2\n", notes)
    assert isinstance(cfg["a"], Opaque) and cfg["b"] == 2
    assert notes == [f"{tmp_path / 'c.py'}:2: `from os.path import *` may set any name, which only executing the "
                     "config shows: every name set before it is unknown; import with mmengine installed (without "
                     "--no-execute), or set those names after it"]


def test_a_statement_that_binds_and_changes_nothing_is_passed_over(tmp_path: Path) -> None:
    notes: list[str] = []
    cfg = read(tmp_path, "'''doc'''\na = dict(x=1)\nprint(a)\nlen(a)\npass\nassert a\n", notes)
    assert cfg == {"a": {"x": 1}} and notes == []


def test_the_reader_still_executes_nothing(tmp_path: Path) -> None:
    sentinel = tmp_path / "ran"
    cfg = read(tmp_path, f"""\
        import pathlib
        for p in [pathlib.Path({str(sentinel)!r})]:
            p.write_text('x')
        if pathlib.Path({str(sentinel)!r}).write_text('x'):
            pass
        exec("open({str(sentinel)!r}, 'w')")
        """)
    assert not sentinel.exists() and isinstance(cfg["p"], Opaque)


# --- bounds: what is evaluated now counts too -------------------------------------------------------------------

def test_stores_count_against_the_value_limit(tmp_path: Path) -> None:
    text = "d = dict()\n" + "".join(f"d[{i}] = [1, 2, 3]\n" for i in range(MAX_VALUES // 4 + 10))
    with pytest.raises(ConfigError, match=f"c.py:\\d+: not a config hookpipe reads: it builds more than "
                                          f"{MAX_VALUES:,} values"):
        read(tmp_path, text)


def test_a_store_into_an_object_many_names_hold_is_counted_where_each_holds_it(tmp_path: Path) -> None:
    """Two names holding one dict write it twice: a store into it grows both (a list of it 2**12 times)."""
    text = "leaf = dict(a=1)\nl0 = [leaf, leaf]\n" + "".join(f"l{i} = [l{i - 1}, l{i - 1}]\n" for i in range(1, 12))
    big = "leaf['big'] = [" + ", ".join(str(i) for i in range(100)) + "]\n"
    assert read(tmp_path, text)["l11"]  # within the limits before the store
    (tmp_path / "big").mkdir()
    with pytest.raises(ConfigError, match=f"c.py: not a config hookpipe reads: it builds more than {MAX_VALUES:,} "
                                          "values .*, counted at its end with what it changes in place"):
        read(tmp_path / "big", text + big)


@pytest.mark.parametrize(("text", "message"), [
    ("d = dict()\nd['x'] = " + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "\n",
     f"c.py:2: not a config hookpipe reads: it nests lists and dicts deeper than {MAX_DEPTH} levels"),
    ("a = dict(x=1)\nb = dict(a=a)\na['b'] = b\n", "c.py:3: not a config hookpipe reads: it puts a list or dict "
                                                   "inside itself"),
    ("a = dict(x=1)\na.update(me=a)\n", "c.py:2: not a config hookpipe reads: it puts a list or dict inside itself"),
    ("inner = dict()\nouter = " + "[" * 40 + "inner" + "]" * 40 + "\ninner['k'] = " + "[" * 40 + "1" + "]" * 40 +
     "\n", f"c.py: not a config hookpipe reads: it nests lists and dicts deeper than {MAX_DEPTH} levels"),
])
def test_stores_are_refused_past_the_depth_limit_or_into_themselves(tmp_path: Path, text: str,
                                                                     message: str) -> None:
    with pytest.raises(ConfigError) as err:
        read(tmp_path, text)
    assert message in str(err.value)


def test_star_imports_over_many_names_are_bounded(tmp_path: Path) -> None:
    text = "".join(f"n{i} = {i}\n" for i in range(5000)) + "from x import *\n" * 100
    with pytest.raises(ConfigError, match=f"more than {MAX_VALUES:,} values"):
        read(tmp_path, text)


# --- where an error is ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("files", "message"), [
    ({"a.py": "x = 1\n_base_ = ['./b.py', './nope/missing.py']\n", "b.py": "y = 2\n"},
     "a.py:2: `_base_` names {root}/nope/missing.py: the file was not found; check the path"),
    ({"a.py": "_base_ = 'b.py'\n", "b.py": "\n\n_base_ = ['gone.py']\n"},
     "b.py:3: `_base_` names {root}/gone.py: the file was not found"),
    ({"a.py": "_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'\n"},
     "a.py:1: `_base_` names 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py', a package base (`pkg::path`), "
     "which only MMEngine finds (in the installed package): hookpipe does not read it; copy that file into the "
     "project and name it by its path, or write its settings in this file"),
    ({"a.py": "_base_ = 'a.py'\n"}, "a.py:1: `_base_` cycle"),
    ({"a.py": "train_cfg = dict(max_epochs=2)\nx = " + " + ".join(["1"] * 100_000) + "\n"},
     "a.py:2: not a config hookpipe reads: it nests too deep for Python's parser"),
    ({"a.py": "train_cfg = dict(max_epochs=2)\nx = (1\n" + "+ 1\n" * 100_000 + ")\n"},
     "a.py:2: not a config hookpipe reads: it nests too deep for Python's parser"),
    ({"a.py": "train_cfg = dict(max_epochs=2)\nx = " + " + ".join(["1"] * 990) + "\n"},
     "a.py:2: not a config hookpipe reads: it nests"),  # too deep to evaluate (or, with a deeper stack, to parse)
])
def test_an_error_names_the_file_and_line_that_caused_it(tmp_path: Path, files: dict[str, str],
                                                         message: str) -> None:
    root = project(tmp_path, files)
    out = root / "out.pipe"
    result = do_import(root / "a.py", out)
    assert result.code == 2 and message.format(root=root) in result.err, result.err
    assert "Traceback" not in result.err and not out.exists()


# --- hookpipe import lightning given a training script ----------------------------------------------------------

SCRIPT = """\
import lightning as L

trainer = L.Trainer(
    max_epochs=30,
    accumulate_grad_batches=4,
)
"""


@pytest.mark.parametrize("name", ["train.py", "train.txt"])
def test_lightning_given_python_says_what_it_reads(tmp_path: Path, name: str) -> None:
    source = tmp_path / name
    source.write_text(SCRIPT if name.endswith(".txt") else SCRIPT + "config = {'a': 1}\n")  # .py: not even YAML
    out = tmp_path / "out.pipe"
    result = run_cli("import", "lightning", str(source), "-o", str(out))
    assert result.code == 2 and not out.exists() and "Traceback" not in result.err
    assert f"{source}: hookpipe import lightning reads a LightningCLI YAML config, not Python: write the " \
           "Trainer(...) arguments as a config.yaml with a `trainer:` section" in result.err, result.err
