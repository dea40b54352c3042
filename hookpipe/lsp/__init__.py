"""``hookpipe lsp``: the language server editors talk to over stdio.

Built on pygls; every answer comes from the compiler and the lint exactly as the
command line runs them, on the editor's unsaved text. Like ``hookpipe lint`` it
never imports torch, accelerate or the user's code, so opening an untrusted
``.pipe`` file is safe.
"""
