"""What processes agree on: the Plan they run, when to stop, signals, threads per process, the teardown."""
