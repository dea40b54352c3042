"""A module that imports but lacks the name: the help says what to fix there, not where modules are searched."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.helpers import launch_env


def test_a_missing_name_in_an_imported_module_says_define_or_fix_and_never_suggests_a_module(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "mylib2.py").write_text("import time\n\ndef optimiser(params):\n    return None\n")
    (tmp_path / "m.pipe").write_text(
        'use lib = "mylib2"\ntrainer {\n    max_step = 2\n    model = "torch.nn.Linear"(in_features = 2, '
        'out_features = 1)\n    dataloader = lib.loader()\n    batch_processor = lib.optimiser\n'
        "    optimizer = lib.optimizer\n}\nhook o = optimizer()\nloop { epoch { step { after { o } } } }\n")
    done = subprocess.run([sys.executable, "-m", "hookpipe.cli", "check", "--resolve", "m.pipe"], cwd=tmp_path,
                          env=launch_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert ("m.pipe:7:5: HP002 error: trainer setting `optimizer`: cannot resolve 'mylib2:optimizer': `mylib2` has "
            "no attribute 'optimizer'; did you mean `optimiser`?") in lines  # not `time`, a module it imported
    assert "  = help: `mylib2` (mylib2.py) imported; define `loader` in it, or fix the name in the .pipe file" in lines
    assert "install the package" not in done.stderr
