"""Parquet files as other tools write them, read by ``parquet_rows`` (no Beam pipeline): pandas'
unnamed index is not carried as a field (a named one is a column like any other)."""
import pandas as pd

from beamtagger.transforms.reading.parquet_rows import row_group_records, row_groups


def _records(path, fields=None):
    return [record for group in row_groups(str(path), "text", fields)
            for record in row_group_records(group, fields=fields)]


def test_pandas_unnamed_index_is_not_carried_unless_named_and_a_named_index_is_a_column(
        tmp_path):
    unnamed = tmp_path / "unnamed.parquet"
    pd.DataFrame({"text": ["a b", "c"], "lang": ["en", "fr"]}, index=[7, 9]).to_parquet(unnamed)
    assert [(r.id, r.fields) for r in _records(unnamed)] == [
        ("unnamed.parquet:1", {"lang": "en"}), ("unnamed.parquet:2", {"lang": "fr"})]
    assert [r.fields for r in _records(unnamed, ("__index_level_0__",))] == [
        {"__index_level_0__": 7}, {"__index_level_0__": 9}]
    named = tmp_path / "named.parquet"
    pd.DataFrame({"text": ["a b", "c"]},
                 index=pd.Index(["d1", "d2"], name="id")).to_parquet(named)
    assert [r.id for r in _records(named)] == ["d1", "d2"]
