"""Everything a reader gets: the audit layout, the terminal table, file formats, reports and charts.

Turns a comparison frame into rows, text, bytes or rich renderables. Only `files` writes to disk (atomically);
the other modules return what they make. It may import `kpijmf.errors` and `kpijmf.domain`, never the store,
the network or the CLI.
"""
