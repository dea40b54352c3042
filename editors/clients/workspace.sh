#!/usr/bin/env bash
# Make the workspace the editor checks run in: bad.pipe (the digits example with an
# HP005 ordering error on line 30), a.pipe including b.pipe, a pyproject.toml and .git.
# Usage: bash editors/clients/workspace.sh DIR   (from the repository root)
set -euo pipefail
dir=${1:?usage: workspace.sh DIR}
mkdir -p "$dir"
git -C "$dir" init -q
printf '[tool.hookpipe.lint]\n' > "$dir/pyproject.toml"
sed 's/clip -> optimize/optimize -> clip/' examples/digits/train.pipe > "$dir/bad.pipe"
cat > "$dir/b.pipe" <<'PIPE'
trainer {
    max_step = 100
}

hook clip     = grad_clip(mode = "norm", max_norm = 1.0)
hook optimize = optimizer()
PIPE
cat > "$dir/a.pipe" <<'PIPE'
include "b.pipe"

loop {
    epoch {
        step {
            after {
                clip -> optimize
            }
        }
    }
}
PIPE
