"""What the numbers mean: the catalogue and peer groups, KPI sets, målvärden, run files and option values.

Pure rules over data already in memory: finding kommuner and KPIs by id or name (`catalog`: exact names
first), resolving a kommun's peer groups, the removed KPI ids and their successors (`lineage`), reading and
checking the TOML files people write (`tomlfile`: one reader with size and nesting caps, one problem
collector, used by `kpisets`, `targets` and `runfile`), and the project's vocabulary (`vocab`: formats,
genders, roles, source lines). No I/O but reading the files it is given. It may import `kpijmf.errors`,
`kpijmf.messages` (its warnings are said in the run's language) and `kpijmf.kolada.genders` only.
"""
