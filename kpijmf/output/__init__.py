"""Everything a reader gets: the audit layout, the terminal table, file formats, reports and charts.

Turns a comparison frame into rows, text, bytes or rich renderables. Only `sink` writes to disk (a regular
file atomically, a device in place); the other modules return what they make, with text from Kolada made
safe by `clean`. It may import `kpijmf.errors` and `kpijmf.domain`, never the store, the network or the CLI.
"""
