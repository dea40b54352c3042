"""How hooks are called: the per-scope channels and the phase functions compiled from a Plan.

``channels`` holds the counters and the dispatchers the loop enters with ``with``;
``phases`` compiles a Plan phase's calls into specialised Python source.
"""
