"""mkdocs hooks (mkdocs.yml ``hooks:``): the site pages that are made from the repository.

Why generated and not written: the rule index must list every code of
``hookpipe.lint.codes`` (a new code cannot be forgotten), and the examples page
must show each shipped example as it is now, drawn by ``hookpipe render``, so a
stale picture cannot be published. Nothing here is written into ``docs/``: the
pages exist only in the built site, and docs/ stays readable on GitHub as is.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files

from hookpipe.lint.codes import CODES
from hookpipe.render import render_file

ROOT = Path(__file__).resolve().parent

#: The shipped examples shown on the examples page, with what each one shows.
EXAMPLES: tuple[tuple[str, str], ...] = (
    ("examples/digits/train.pipe", "The digits example: a small MLP trained to >90% held-out accuracy."),
    ("examples/cnn/train.pipe", "A CNN with the built-ins of a real job: accumulation, bf16, warmup-cosine, "
                                "EMA, early stopping, best checkpoints, TensorBoard and CSV."),
    ("examples/compose/base.pipe", "A base pipeline meant to be included."),
    ("examples/finetune.pipe", "A pipeline that includes `examples/compose/base.pipe` and changes it."),
    ("examples/all_scopes.pipe", "Every scope and phase of the language."),
)

RULES_NAV = "rules/index.md"


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    """Expand the nav entry ``rules/index.md`` into the index plus one page per code."""
    config.nav = _expand_rules(config.nav or [])
    return config


def _expand_rules(nav: list[Any]) -> list[Any]:
    out: list[Any] = []
    for entry in nav:
        if isinstance(entry, dict):
            ((title, value),) = entry.items()
            if value == RULES_NAV:
                pages = [{f"{c.code}: {c.title.replace('`', '')}": f"rules/{c.code}.md"} for c in CODES]
                out.append({title: [{"All codes": RULES_NAV}, *pages]})
            elif isinstance(value, list):
                out.append({title: _expand_rules(value)})
            else:
                out.append(entry)
        else:
            out.append(entry)
    return out


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Add the rule index, the examples page and each example's rendered graph."""
    files.append(File.generated(config, RULES_NAV, content=_rules_index()))
    sections = []
    with tempfile.TemporaryDirectory() as tmp:
        for source, about in EXAMPLES:
            svg_name = source.removeprefix("examples/").removesuffix(".pipe").replace("/", "-") + ".svg"
            svg = Path(tmp) / svg_name
            render_file(ROOT / source, svg)
            files.append(File.generated(config, f"examples/{svg_name}", content=svg.read_bytes()))
            text = (ROOT / source).read_text(encoding="utf-8")
            sections.append(
                f"## `{source}`\n\n{about}\n\n"
                f"![The hook graph of {source}]({svg_name})\n\n"
                f"??? example \"The source\"\n\n"
                + "".join(f"    {line}\n" if line else "\n" for line in ["```pipe", *text.splitlines(), "```"])
            )
    page = (
        "# Examples\n\n"
        "The pipelines shipped in the repository's `examples/` folder, each drawn by "
        "`hookpipe render` when this site was built (an edge's label says where it comes from: "
        "written order, an `order`/`require` statement, or an effect). Every example is formatted, "
        "lint-clean with warnings as errors, and trains (`hookpipe run FILE`).\n\n" + "\n".join(sections)
    )
    files.append(File.generated(config, "examples/index.md", content=page))
    return files


def _rules_index() -> str:
    rows = "\n".join(f"| [{c.code}]({c.code}.md) | {c.severity} | {c.title} |" for c in CODES)
    return (
        "# Diagnostic codes\n\n"
        "Every code hookpipe reports. HP0xx are the compiler's errors (`hookpipe check`); "
        "HP1xx are the lint's warnings (`hookpipe lint`). Each page has a failing example "
        "and its fix; `hookpipe lint --explain CODE` prints the same page.\n\n"
        "| code | severity | title |\n| --- | --- | --- |\n" + rows + "\n"
    )


def on_page_markdown(markdown: str, page: Any, config: MkDocsConfig, files: Files) -> str:
    """Point links at the rules folder (``rules/``, a folder listing on GitHub) to the generated index."""
    prefix = "../" * page.file.src_uri.count("/")
    return markdown.replace(f"]({prefix}rules/)", f"]({prefix}rules/index.md)")
