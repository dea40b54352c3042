"""One module per ``hookpipe`` subcommand."""
