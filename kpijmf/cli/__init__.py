"""The command line: the Typer app, its commands, shared options and the talk on stderr.

Owns everything a person sees in the terminal: parsing options, printing data to stdout and messages to
stderr, and choosing exit codes. It is the only layer that writes to the terminal or exits the process. It
may import every other layer, but reaches the store and Kolada only through `kpijmf.service`.

The modules that define commands (`app`, `lookup`, `reports`) do without `from __future__ import annotations`:
Typer builds every command on every run and would `eval` each string annotation twice (8 of 13 ms per run;
benchmarks/README.md).
"""
