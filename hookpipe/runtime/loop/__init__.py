"""The training loop: the seed's loop over prepared objects, the fused step, progress ids.

``training_loop`` runs a run; ``step_program`` generates an epoch's batches as one
function; ``batch_processor`` is what runs inside the ``batch`` scope; ``progress``
holds the ids hooks see and the position a checkpoint resumes at.
"""
