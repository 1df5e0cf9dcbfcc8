"""Chunk planning: full coverage, each token owned by the chunk where it is most central."""
import pytest

from beamtagger.transforms.chunks import chunk_spans


def centrality(token, span):
    return min(token - span.start, span.end - 1 - token)


@pytest.mark.parametrize("length,chunk,overlap", [
    (1, 256, 64), (256, 256, 64), (257, 256, 64), (1000, 256, 64), (100_000, 256, 64),
    (10, 3, 1), (11, 4, 0), (37, 8, 7), (50, 5, 2)])
def test_owned_runs_partition_the_record_and_pick_the_most_central_window(length, chunk, overlap):
    spans = chunk_spans(length, chunk, overlap)
    assert spans[0].start == 0 and spans[-1].end == length
    assert all(span.end - span.start == min(chunk, length) for span in spans)
    assert spans[0].keep_start == 0 and spans[-1].keep_end == length
    for left, right in zip(spans, spans[1:]):
        assert left.keep_end == right.keep_start
        assert right.start <= left.end - overlap or right.end == length  # chunks overlap
    for span in spans:
        assert span.start <= span.keep_start < span.keep_end <= span.end
    if length <= 2000:
        for token in range(length):
            owner = next(s for s in spans if s.keep_start <= token < s.keep_end)
            best = max(centrality(token, s) for s in spans if s.start <= token < s.end)
            assert centrality(token, owner) == best


def test_bad_window_settings_are_refused():
    with pytest.raises(ValueError, match="overlap"):
        chunk_spans(10, 4, 4)
    with pytest.raises(ValueError, match="chunk"):
        chunk_spans(10, 0, 0)
