"""Talking to Kolada's v3 API: URLs, ≤25-id batches, next_url paging, retries and the one row parser.

The only code that imports httpx. It turns every HTTP outcome into data (`DataRow`, metadata dicts) or a
typed `kpijmf.errors.ApiError`. It may import `kpijmf.errors`, `kpijmf.config` and `kpijmf.messages` (the
words of its "försöker igen" line), nothing else of kpijmf.
"""
