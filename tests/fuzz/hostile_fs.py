"""Generated file-system hostility: what a pull request can commit besides text.

A layout is a main pipeline plus a few *targets*, each reached by an include or
named on the command line: symlinks out of the project (to a file holding a
secret, or to /proc/self/environ), FIFOs, devices, folders, symlink loops,
dangling links, sparse files far over the size limit, and odd file names
(newlines, GitHub workflow commands, bytes that are not UTF-8, spaces). Numbers
in the text may be huge.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from hypothesis import strategies as st

SECRET = "hookpipe-fuzz-secret-93ab"
BASE = "trainer {\n    max_step = %s\n}\nhook o = optimizer()\nloop { epoch { step { after { o } } } }\n"

KINDS = ("regular", "outside", "environ", "fifo", "device", "folder", "loop", "dangling", "sparse", "chain")
NAMES = ("t.pipe", "x\n::error file=f,line=1::forged.pipe", "::warning title=w::n.pipe", "sp ace.pipe",
         "bad\udcff.pipe", "deep/er/t.pipe", "..%2e.pipe", "ü.pipe")
NUMBERS = ("1", "9" * 30, "9" * 5000, "-1", "1e999", "0x10", "9223372036854775807", "9223372036854775808")


@dataclass(frozen=True)
class Layout:
    targets: tuple[tuple[str, str], ...]  # (kind, name)
    number: str
    direct: bool  # name the first target on the command line instead of including it


layouts = st.builds(
    Layout,
    st.lists(st.tuples(st.sampled_from(KINDS), st.sampled_from(NAMES)), min_size=1, max_size=4,
             unique_by=lambda t: t[1]).map(tuple),
    st.sampled_from(NUMBERS),
    st.booleans(),
)


def build(root: Path, layout: Layout) -> list[str]:
    """Create the layout under a fresh ``root``; return the paths to pass to the command."""
    if root.exists():
        shutil.rmtree(root)
    project = root / "project"
    project.mkdir(parents=True)
    (project / "pyproject.toml").write_text("")
    (root / "secret.pipe").write_text(f'use s = "{SECRET}"\n')
    includes = []
    for kind, name in layout.targets:
        path = Path(os.fsdecode(os.fsencode(project)) + "/" + name)
        path.parent.mkdir(parents=True, exist_ok=True)
        if kind == "regular":
            path.write_text("hook r = loss_log(window = %s)\n" % layout.number)
        elif kind == "outside":
            path.symlink_to(root / "secret.pipe")
        elif kind == "environ":
            path.symlink_to("/proc/self/environ")
        elif kind == "fifo":
            os.mkfifo(path)
        elif kind == "device":
            path.symlink_to("/dev/zero")
        elif kind == "folder":
            path.mkdir()
        elif kind == "loop":
            path.symlink_to(path.name)
        elif kind == "dangling":
            path.symlink_to("nowhere.pipe")
        elif kind == "sparse":
            with open(path, "wb") as f:
                f.truncate(1 << 30)
        elif kind == "chain":  # a link to a link that leaves the project
            hop = project / f"hop{len(includes)}.pipe"
            hop.symlink_to(root / "secret.pipe")
            path.symlink_to(hop)
        includes.append(name)
    quoted = "".join('include "%s"\n' % n.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
                     for n in includes if "\udcff" not in n)
    (project / "main.pipe").write_text(quoted + BASE % layout.number)
    first = os.fsdecode(os.fsencode(project)) + "/" + layout.targets[0][1]
    return [first] if layout.direct else [str(project / "main.pipe")]
