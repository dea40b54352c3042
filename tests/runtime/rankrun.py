"""``python -m tests.runtime.rankrun FILE0 FILE1 [RUN-ARGS...]``: each rank runs its own file.

Simulates a node with a stale checkout: rank r runs FILE<r> (RANK from the launcher).
"""

from __future__ import annotations

import os
import sys

if __name__ == "__main__":
    from hookpipe.runtime.distributed.teardown import exit_process
    from hookpipe.runtime.run import main

    files, rest = sys.argv[1:3], sys.argv[3:]
    exit_process(main([files[int(os.environ.get("RANK", "0"))], *rest]))
