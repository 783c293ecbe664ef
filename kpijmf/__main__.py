"""`python -m kpijmf` runs the command-line interface."""

from kpijmf.cli import main

if __name__ == "__main__":
    main()
