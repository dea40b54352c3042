"""The documentation page of each code, as shipped inside the package.

The pages live in docs/rules/ (the source of truth) and are installed as the
package ``hookpipe.rule_docs`` (see pyproject.toml), so ``hookpipe lint
--explain`` and the SARIF rule help work from a wheel without the repository.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

_SECTION = re.compile(r"^## (?P<name>.+?)\n(?P<body>.*?)(?=^## |\Z)", re.S | re.M)


@lru_cache(maxsize=None)
def page(code: str) -> str:
    """The markdown page for ``code``; FileNotFoundError if there is none.

    Example:
        >>> page("HP102").splitlines()[0]
        '# HP102: a step or batch frequency that is not a multiple of grad_accumulation'
    """
    if not re.fullmatch(r"HP\d{3}", code):
        raise FileNotFoundError(code)
    return resources.files("hookpipe.rule_docs").joinpath(f"{code}.md").read_text(encoding="utf-8")


def section(code: str, name: str) -> str:
    """One ``## name`` section of a page, stripped."""
    for m in _SECTION.finditer(page(code)):
        if m["name"].strip().lower() == name.lower():
            return m["body"].strip()
    raise KeyError(f"{code}: no section `{name}`")
