"""Against the real Kolada API (https://api.kolada.se/v3). Deselected by default: `python -m pytest -m live`."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from tests.support import kpijmf_env, run_kpijmf

pytestmark = pytest.mark.live
KOLADA = "https://api.kolada.se/v3"


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    return kpijmf_env(KOLADA, tmp_path_factory.mktemp("live"), KPIJMF_TIMEOUT="60")


def test_real_kolada_answers_the_audit_table_for_ostersund(env):
    run = run_kpijmf(["compare", "--kommun", "Östersund", "--kpi", "N03926", "--years", "2019-2021", "-f", "csv"], env)
    assert run.code == 0, run.stderr
    frame = pd.read_csv(io.StringIO(run.stdout), dtype={"id": str})
    kommun = frame[(frame.id == "2380") & (frame.gender == "T")].set_index("year")["value"]
    assert kommun.notna().all()
    assert set(frame.role) >= {"kommun", "alla", "storlek", "kommungrupp", "lan", "riket"}
    alla = frame[(frame.id == "G2328") & (frame.year == 2021)].iloc[0]
    assert alla["count"] > 250  # nearly every kommun reports


def test_real_kolada_still_has_the_peer_groups_kpijmf_expects(env):
    run = run_kpijmf(["kommun", "show", "2380"], env)
    assert run.code == 0, run.stderr
    assert "G2328" in run.stdout and "liknande" in run.stdout


def test_real_v2_is_gone(env, tmp_path):
    run = run_kpijmf(["fetch", "--kpi", "N03926", "--years", "2021"],
                     kpijmf_env("https://api.kolada.se/v2", tmp_path / "v2"))  # fmt: skip
    assert run.code == 4
    assert "v2" in run.stderr
