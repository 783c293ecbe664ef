"""Kolada's genders: T (total), K (women) and M (men), in the order kpijmf reads, stores and shows them.

Its own module, free of imports, so that every layer (the row parser, the store's columns, the CLI's choices)
can name them from here without loading the HTTP client.
"""

GENDERS = ("T", "K", "M")
