"""``--field-columns NAME:timestamp`` over Parquet input's own timestamp columns: the text the
reader carries for each (pandas' nanoseconds, pyarrow's seconds and milliseconds, zones with
daylight saving and with local mean time, dates) converted to the instant it holds, or a dead
letter saying why, never another instant."""
import datetime

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from beamtagger.transforms.field_columns import FieldColumn, field_column_values
from beamtagger.transforms.reading.parquet_rows import row_group_records, row_groups

UTC = datetime.timezone.utc


def _converted(record, name):
    try:
        (value,), _ = field_column_values(record.fields, (FieldColumn(name, "timestamp"),))
    except ValueError as error:
        return str(error)
    return value


def _columns(path, names):
    records = [record for group in row_groups(str(path), "text")
               for record in row_group_records(group, "text", None)]
    return {name: [_converted(record, name) for record in records] for name in names}


def test_pandas_written_timestamps_are_their_instants_or_say_why(tmp_path):
    path = tmp_path / "pandas.parquet"
    instants = pd.to_datetime(["2024-03-10 06:30:00", "2024-11-03 05:30:00",
                               "2024-11-03 06:30:00", None], utc=True)
    pd.DataFrame({
        "text": ["a", "b", "c", "d"],
        # df.to_parquet's default: timestamp[ns], one value with nanoseconds, a NaT.
        "naive": pd.to_datetime(["2024-01-05 11:00:00", "2024-01-05 11:00:00.000001",
                                 "2024-01-05 11:00:00.000000001", None], format="ISO8601"),
        # Either side of New York's spring and autumn changes: 01:30 twice in November.
        "new_york": instants.tz_convert("America/New_York"),
    }).to_parquet(path)
    columns = _columns(path, ["naive", "new_york"])
    assert columns["naive"] == [
        datetime.datetime(2024, 1, 5, 11, tzinfo=UTC),
        datetime.datetime(2024, 1, 5, 11, 0, 0, 1, tzinfo=UTC),
        "field 'naive': '2024-01-05T11:00:00.000000001' is not timestamp (finer than "
        "microseconds, which the timestamp column would cut: carry it as string)", None]
    assert columns["new_york"] == [*instants[:3].to_pydatetime(), None]


def test_pyarrow_written_timestamps_and_dates_are_their_instants_or_say_why(tmp_path):
    path = tmp_path / "pyarrow.parquet"
    early = [datetime.datetime(1930, 6, 1, tzinfo=UTC), datetime.datetime(1, 1, 1, tzinfo=UTC)]
    pq.write_table(pa.table({
        "text": ["a", "b"],
        "seconds": pa.array([datetime.datetime(2024, 1, 5, 11), None], pa.timestamp("s")),
        "india": pa.array([datetime.datetime(2024, 1, 5, 11, 0, 0, 123000, tzinfo=UTC),
                           early[1]], pa.timestamp("ms", tz="Asia/Kolkata")),
        # Amsterdam's local mean time until 1937, +01:19:32 in summer: an offset in seconds.
        "amsterdam": pa.array(early, pa.timestamp("us", tz="Europe/Amsterdam")),
        "day": pa.array([datetime.date(2024, 1, 5), None], pa.date32()),
    }), path)
    columns = _columns(path, ["seconds", "india", "amsterdam", "day"])
    assert columns["seconds"] == [datetime.datetime(2024, 1, 5, 11, tzinfo=UTC), None]
    # Year 1 in India, at its local mean time (+05:53:28), is still year 1 in UTC.
    assert columns["india"] == [datetime.datetime(2024, 1, 5, 11, 0, 0, 123000, tzinfo=UTC),
                                early[1]]
    assert columns["amsterdam"] == early
    assert columns["day"] == ["field 'day': '2024-01-05' is not timestamp (a date without a "
                              "time of day: name it :date, or carry it as string)", None]
