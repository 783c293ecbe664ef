"""The local store: one SQLite file with metadata, observations, coverage, revisions and a fetch log.

The only code that imports sqlite3: the schema and its migrations, the reads, the one write path (batches
written inside one transaction, revisions kept) and the cross-process lock. It may import `kpijmf.errors`
and plain data types from `kpijmf.kolada`; it knows nothing of KPI sets, peers or output.
"""
