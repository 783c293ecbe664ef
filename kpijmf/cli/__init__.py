"""The command line: the Typer app, its commands, shared options and the talk on stderr.

Owns everything a person sees in the terminal: parsing options, printing data to stdout and messages to
stderr, and choosing exit codes. It is the only layer that writes to the terminal or exits the process. It
may import every other layer, but reaches the store and Kolada only through `kpijmf.service`.
"""
