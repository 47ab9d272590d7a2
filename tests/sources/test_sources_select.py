from pathlib import Path

import pytest

from lagesbild.settings import Settings
from lagesbild.sources.select import population, snapshot_archive, verdict_paths
from lagesbild.sources.snapshots import FolderArchive, HttpArchive


def test_archive_choice(tmp_path):
    assert isinstance(snapshot_archive(Settings(snapshots_url="https://a.test/x")), HttpArchive)
    assert isinstance(snapshot_archive(Settings(snapshots_dir=tmp_path)), FolderArchive)
    assert isinstance(snapshot_archive(Settings(), demo_dir=tmp_path), FolderArchive)
    with pytest.raises(RuntimeError, match="LAGESBILD_SNAPSHOTS_URL"):
        snapshot_archive(Settings(source_mode="real"), demo_dir=tmp_path)


def test_verdict_inbox_folder(tmp_path):
    for name in ("b.xlsx", "a.csv", "~$a.xlsx", "notes.txt"):
        (tmp_path / name).write_text("x")
    assert [p.name for p in verdict_paths(Settings(verdicts_path=tmp_path))] == ["a.csv", "b.xlsx"]
    with pytest.raises(RuntimeError, match="LAGESBILD_VERDICTS_PATH"):
        verdict_paths(Settings(source_mode="real"))
    with pytest.raises(FileNotFoundError):
        verdict_paths(Settings(verdicts_path=Path(tmp_path / "missing.csv")))


def test_real_mode_without_key_refuses():
    with pytest.raises(RuntimeError, match="LAGESBILD_PSEUDONYM_KEY"):
        Settings(source_mode="real").resolved_pseudonym_key()


def test_offline_population_in_demo_mode(tmp_path):
    from lagesbild.settings import REFERENCE_DIR
    from lagesbild.sources.pxweb import build_offline_population

    build_offline_population(REFERENCE_DIR / "population_ostergotland.csv", tmp_path)
    frame = population(Settings(), [2024], offline_dir=tmp_path)
    assert frame.dropna(subset=["population"]).query(
        "region_code == '05' and year == 2024"
    ).population.tolist() == [472446]
