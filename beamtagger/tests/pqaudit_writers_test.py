"""Parquet files as other tools write them, read by ``parquet_rows`` (no Beam pipeline): pandas'
unnamed index is not carried as a field (a named one is a column like any other); a text
inside a struct is refused saying how to read it."""
import pytest

from beamtagger.transforms.reading.parquet_rows import row_group_records, row_groups


def _records(path, fields=None, text="text"):
    return [record for group in row_groups(str(path), text, fields)
            for record in row_group_records(group, text, fields=fields)]


def test_pandas_unnamed_index_is_not_carried_unless_named_and_a_named_index_is_a_column(
        tmp_path):
    pd = pytest.importorskip("pandas", reason="files as pandas writes them need pandas (the "
                                              "test extra installs it)")
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


def test_a_text_inside_a_struct_is_refused_saying_how_to_read_it(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from beamtagger.transforms.reading.parquet_rows import file_problem

    path = tmp_path / "nested.parquet"
    table = pa.table({"doc": pa.array([{"body": "a b", "n": 1}]), "a.b": ["dotted"]})
    pq.write_table(table, path)
    assert file_problem(str(path), "doc.body") == (
        "no text column 'doc.body'; its columns are doc, a.b ('doc' is a struct: a text inside "
        "one is not read; write it to a column of its own, e.g. with pyarrow's "
        "Table.flatten())")
    assert file_problem(str(path), "a.b") is None   # a name with a dot is a name
    flat = tmp_path / "flat.parquet"
    pq.write_table(table.drop_columns(["a.b"]).flatten(), flat)
    assert [record.text for record in _records(flat, text="doc.body")] == ["a b"]
