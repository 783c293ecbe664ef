"""Built-in KPI sets shipped with kpijmf; installed as the package ``kpijmf.kpi_sets`` (see kpijmf.domain.kpisets)."""
