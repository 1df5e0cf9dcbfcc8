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


def test_stitched_bio_records_are_decoded_together_as_each_alone_would_be(tmp_path,
                                                                            monkeypatch):
    """StitchChunks decodes completed records together (the batch Viterbi); each record's
    labels are still ``spec.decode`` of its own stitched probabilities, a record whose chunk
    failed or whose probabilities cannot be decoded is a dead letter, and the others of its
    batch are tagged."""
    import apache_beam as beam
    import numpy as np
    from apache_beam.testing.util import assert_that, equal_to

    from beamtagger.model.features import TokenFeaturizer
    from beamtagger.model.tagger_spec import MODEL_FILE, TaggerSpec
    from beamtagger.transforms.chunks import StitchChunks
    from beamtagger.transforms.records import ChunkResult, TokenizedRecord

    labels = ["O", "B-loc", "I-loc", "B-per", "I-per"]
    binding = {"fingerprint": "f", "dim": 4, "normalization": ["lower"]}
    spec = TaggerSpec(labels, "softmax", TokenFeaturizer(), binding, {})
    assert spec.decoding["viterbi"]
    spec.save(tmp_path)
    (tmp_path / MODEL_FILE).write_bytes(b"")  # StitchChunks reads tagger.json only
    rng = np.random.default_rng(0)
    records, results, expected = [], [], {}
    for i in range(30):
        length = int(rng.integers(257, 900))
        record = TokenizedRecord.from_tokens(f"r{i}", [f"t{j}" for j in range(length)],
                                             source=f"r{i}")
        probs = rng.dirichlet(np.full(len(labels), 0.3), size=length).astype(np.float32)
        cuts = np.sort(rng.choice(np.arange(1, length), size=2, replace=False))
        parts = np.split(probs, cuts)
        if i == 7:
            parts = [part[:, 0] for part in parts]   # 1-D: stitched, but not decodable
        records.append((record.source, record))
        for chunk, part in enumerate(parts):
            failed = i == 11 and chunk == 2
            results.append((record.source, ChunkResult(chunk, len(parts), None if failed
                                                       else part, "tagger failed: x" if failed
                                                       else "")))
        if i not in (7, 11):
            decoded_labels, _ = spec.decode(probs, length)
            expected[record.id] = tuple(decoded_labels)
    # The in-process runner's DoFn loads its own spec: count the records it decodes alone.
    alone = []
    decode = TaggerSpec.decode
    monkeypatch.setattr(TaggerSpec, "decode", lambda self, probs, length: (
        alone.append(length) or decode(self, probs, length)))
    with beam.Pipeline() as p:
        out = ((p | "Records" >> beam.Create(records), p | "Results" >> beam.Create(results))
               | StitchChunks(str(tmp_path)))
        assert_that(out.tagged | beam.Map(lambda r: (r.id, r.labels)),
                    equal_to(list(expected.items())))
        assert_that(out.errors | beam.Map(lambda d: (d.source, d.reason.split(":")[0])),
                    equal_to([("r7", "decoding failed"), ("r11", "tagger failed")]),
                    label="dead letters")
    assert alone == [len(records[7][1].tokens)]


def test_a_record_whose_chunks_did_not_all_arrive_is_a_dead_letter_not_lost(tmp_path):
    """Bounded input groups each record with its chunk results: a missing chunk, chunk
    results with no record and two records on one key each come out as dead letters."""
    import apache_beam as beam
    import numpy as np
    from apache_beam.testing.util import assert_that, equal_to

    from beamtagger.model.features import TokenFeaturizer
    from beamtagger.model.tagger_spec import MODEL_FILE, TaggerSpec
    from beamtagger.transforms.chunks import StitchChunks
    from beamtagger.transforms.records import ChunkResult, TokenizedRecord

    binding = {"fingerprint": "f", "dim": 4, "normalization": ["lower"]}
    TaggerSpec(["NOUN", "VERB"], "softmax", TokenFeaturizer(), binding, {}).save(tmp_path)
    (tmp_path / MODEL_FILE).write_bytes(b"")

    def record(key, length=300):
        return key, TokenizedRecord.from_tokens(key, ["w"] * length, source=key)

    def result(key, chunk, of, length=100):
        return key, ChunkResult(chunk, of, np.full((length, 2), 0.5, np.float32))

    records = [record("whole"), record("gap"), record("twice"), record("twice")]
    results = [result("whole", c, 3) for c in range(3)] + [
        result("gap", 0, 3), result("gap", 2, 3), result("orphan", 0, 2),
        result("orphan", 1, 2)] + [result("twice", c, 3) for c in range(3)]
    with beam.Pipeline() as p:
        out = ((p | "Records" >> beam.Create(records), p | "Results" >> beam.Create(results))
               | StitchChunks(str(tmp_path)))
        assert_that(out.tagged | beam.Map(lambda r: (r.id, len(r.labels))),
                    equal_to([("whole", 300)]))
        assert_that(out.errors | beam.Map(lambda d: (d.source, d.reason, d.stage)), equal_to([
            ("gap", "stitching failed: 2 chunk results arrived for 3 chunks", "stitch"),
            ("orphan", "stitching failed: chunk results without their record", "stitch"),
            ("twice", "stitching failed: 2 records share the key 'twice'", "stitch"),
            ("twice", "stitching failed: 2 records share the key 'twice'", "stitch")]),
            label="dead letters")
