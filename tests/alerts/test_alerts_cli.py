"""``lagesbild alerts status|run`` print counts and the folder, never alert rows."""

from __future__ import annotations

import pytest
from alerts_helpers import build_observations

from lagesbild.alerts.cli import register
from lagesbild.warehouse import write_parquet_atomic


def _main(argv):
    import argparse

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def test_run_then_status(tmp_path, capsys, caplog, secrets, monkeypatch):
    monkeypatch.delenv("LAGESBILD_ALERT_WEBHOOK_URL", raising=False)
    assert _main(["alerts", "status", "--data-dir", str(tmp_path)]) == 0
    assert "no alerts have been written yet" in capsys.readouterr().out

    write_parquet_atomic(build_observations(), tmp_path / "intermediate" / "int_ad_observations.parquet")
    assert _main(["alerts", "run", "--data-dir", str(tmp_path)]) == 0
    assert _main(["alerts", "status", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "under-18 ads in store: 3" in out and "change alerts in store: 1" in out
    assert "3 under-18 ad(s) to review (3 new)" in out
    assert str(tmp_path / "restricted" / "alerts") in out
    assert not [s for s in secrets if s in out + caplog.text]


def test_run_without_the_export_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"intermediate/int_ad_observations.parquet"):
        _main(["alerts", "run", "--data-dir", str(tmp_path)])
