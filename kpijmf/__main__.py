"""`python -m kpijmf` runs the command-line interface."""

from kpijmf.cli.app import entry

if __name__ == "__main__":
    entry()
