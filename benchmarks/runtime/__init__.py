"""The runtime benchmark: one training workload, several contenders, interleaved.

Each contender runs in its own interpreter (a worker, :mod:`.worker`), so peers
with their own dependency stacks (RoboOrchard Lab, Ignite) live in their own venvs
and no contender inherits another's import-time or allocator state. The parent
(:mod:`.driver`) drives the interleaving.
"""
