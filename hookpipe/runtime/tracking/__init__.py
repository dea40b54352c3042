"""Watching a run: trackers, the progress display, the profiler, traces, the loss sum, monitors.

``trackers`` is ``log_with`` through accelerate and the CSV tracker;
``progress_display`` the bar or plain lines; ``profiler`` is ``run --profile``;
``trace`` is ``HOOKPIPE_TRACE``; ``loss_meter`` the running loss sum; ``monitor``
reads a hook's newest metric (``monitor = "HOOK.METRIC"``).
"""
