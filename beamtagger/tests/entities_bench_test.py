"""A smoke run of bench/entities_bench.py (its outputs checked equal before it times them)."""
from beamtagger.tests.bench_scripts_test import run_json_report


def test_entities_bench_times_every_case_on_the_same_records(shared_data):
    report = run_json_report("entities_bench.py", "--records", "200", "--rounds", "2",
                             "--calls", "1")
    assert report["records"] == 200 and report["entities"] > 0
    assert len(report["cpu_us_a_token_median"]) == 7
    assert all(value > 0 for value in report["cpu_us_a_token_median"].values())
