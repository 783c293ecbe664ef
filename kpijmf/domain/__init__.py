"""What the numbers mean: the catalogue and peer groups, KPI sets, målvärden, run files and option values.

Pure rules over data already in memory: finding kommuner and KPIs by id or name, resolving a kommun's peer
groups, reading and checking the TOML files people write, and the project's vocabulary. No I/O but reading
the files it is given. It may import `kpijmf.errors` only.
"""
