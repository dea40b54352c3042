"""Checkpoints: what they hold, their files, resuming (also with a changed pipeline), the best.

``checkpoint_state`` is hookpipe's state beside accelerate's ``save_state``,
``hook_state`` a hook's tensors, ``epoch_random`` the random states an epoch's
order was drawn from, ``checkpoint_files`` the files' durability and
verification, ``resume`` the layout and resuming, ``resume_changes`` resuming a
changed pipeline, ``best`` ranking checkpoints by a monitored metric.
"""
