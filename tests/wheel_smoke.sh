#!/usr/bin/env bash
# The built package works without the checkout: build the sdist and, from it, the wheel
# (python -m build), install the wheel alone into a fresh venv (the compiler side's
# dependencies only, at constraints.txt's versions), and use it from a folder that has
# nothing of the repository but one example: lint, render (graphviz-pure draws), the
# shipped rule pages, `init`, and `lsp` naming its extra. Run by .ci/run.
#   usage: tests/wheel_smoke.sh [PYTHON]   (PYTHON builds; default .venv/bin/python)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
python="${1:-$repo/.venv/bin/python}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
fail() { echo "wheel_smoke: FAILED: $*" >&2; exit 1; }

"$python" -m build --outdir "$work/dist" "$repo" >"$work/build.log" 2>&1 || { cat "$work/build.log"; fail "python -m build"; }
wheel=("$work"/dist/hookpipe-*.whl)
sdist=("$work"/dist/hookpipe-*.tar.gz)
[ -f "${wheel[0]}" ] && [ -f "${sdist[0]}" ] || fail "build made no wheel and sdist"

# What the wheel must carry besides the Python modules (the grammar, the rule pages,
# the starter templates, the entry point), and what it must not (tests, docs site).
"$python" - "${wheel[0]}" <<'EOF' || fail "wheel contents"
import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
need = ["hookpipe/grammars/pipe.lark", "hookpipe/rule_docs/HP005.md", "hookpipe/lsp/server.py", "hookpipe/cli.py"]
missing = [n for n in need if n not in names]
missing += [] if any(n.startswith("hookpipe/starter/") and n.endswith(".tmpl") for n in names) else ["starter *.tmpl"]
entry = next((n for n in names if n.endswith(".dist-info/entry_points.txt")), None)
if entry is None or "hookpipe = hookpipe.cli:main" not in zipfile.ZipFile(sys.argv[1]).read(entry).decode():
    missing.append("the hookpipe console script")
stray = [n for n in names if n.split("/")[0] in ("tests", "benchmarks", "examples", "docs")]
if missing or stray:
    sys.exit(f"missing {missing}, unexpected {stray[:5]}")
EOF

python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --disable-pip-version-check --quiet "${wheel[0]}" -c "$repo/constraints.txt" \
    || fail "pip install the wheel"
if "$work/venv/bin/python" -c "import torch" 2>/dev/null; then fail "the compiler side pulled in torch"; fi

mkdir -p "$work/use/digits"
cp "$repo/examples/digits/train.pipe" "$work/use/digits/"
touch "$work/use/pyproject.toml"
cd "$work/use"   # the checkout is nowhere on sys.path from here
hookpipe="$work/venv/bin/hookpipe"

"$hookpipe" --version
where="$("$work/venv/bin/python" -c 'import hookpipe; print(hookpipe.__file__)')"
case "$where" in "$work/venv/"*) ;; *) fail "hookpipe imported from $where, not the wheel";; esac

"$hookpipe" lint --warnings-as-errors digits/train.pipe || fail "hookpipe lint"
"$hookpipe" render digits/train.pipe -o digits.svg || fail "hookpipe render .svg"
grep -q "<svg" digits.svg || fail "digits.svg is not an SVG"
grep -q "optimize" digits.svg || fail "digits.svg does not draw the hooks"
"$hookpipe" render digits/train.pipe -o digits.png || fail "hookpipe render .png"
head -c 8 digits.png | od -An -tx1 | grep -q "89 50 4e 47" || fail "digits.png is not a PNG"
"$hookpipe" lint --explain HP005 | head -1 | grep -q "^# HP005: " || fail "the rule pages are not shipped"
"$hookpipe" init starter >/dev/null || fail "hookpipe init"
"$hookpipe" lint --warnings-as-errors starter || fail "the starter project lints"
set +e
lsp_err="$("$hookpipe" lsp </dev/null 2>&1)"; lsp_status=$?
set -e
# the server's modules are in the wheel; what is missing is the extra's (pygls, lsprotocol)
[ "$lsp_status" -eq 2 ] && grep -q "hookpipe\[lsp\]" <<<"$lsp_err" && grep -Eq "No module named '(pygls|lsprotocol)" <<<"$lsp_err" \
    || fail "hookpipe lsp without the extra: status $lsp_status: $lsp_err"
echo "wheel_smoke: ok ($(basename "${wheel[0]}"), $(basename "${sdist[0]}"))"
