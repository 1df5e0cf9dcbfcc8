"""Chunk planning: full coverage, each token owned by the chunk where it is most central."""
import pytest

from beamtagger.transforms.chunks import chunk_spans


def context(token, span, length):
    """The tokens ``token`` sees on its poorer side within ``span``: the record's own edge
    counts as all there is to see."""
    left = token - span.start if span.start else length
    right = span.end - 1 - token if span.end < length else length
    return min(left, right)


@pytest.mark.parametrize("length,chunk,overlap", [
    (1, 256, 64), (256, 256, 64), (257, 256, 64), (1000, 256, 64), (100_000, 256, 64),
    (10, 3, 1), (11, 4, 0), (37, 8, 7), (50, 5, 2)])
def test_owned_runs_partition_the_record_and_pick_the_window_with_most_context(length, chunk,
                                                                               overlap):
    spans = chunk_spans(length, chunk, overlap)
    assert spans[0].start == 0 and spans[-1].end == length
    assert all(span.end - span.start == min(chunk, length) for span in spans[:-1])
    assert 0 < spans[-1].end - spans[-1].start <= chunk
    assert spans[0].keep_start == 0 and spans[-1].keep_end == length
    for left, right in zip(spans, spans[1:]):
        assert left.keep_end == right.keep_start
        assert right.start == left.end - overlap  # every chunk overlaps the one before
    for span in spans:
        assert span.start <= span.keep_start < span.keep_end <= span.end
    if length <= 2000:
        for token in range(length):
            owner = next(s for s in spans if s.keep_start <= token < s.keep_end)
            best = max(context(token, s, length) for s in spans if s.start <= token < s.end)
            assert context(token, owner, length) == best


def test_the_model_runs_at_most_one_overlap_more_a_chunk_than_the_record_holds():
    # The last chunk used to end with the record at full length: 512 tokens for 260.
    for length in (257, 260, 316, 449, 1000, 100_000):
        spans = chunk_spans(length, 256, 64)
        assert sum(s.end - s.start for s in spans) == length + 64 * (len(spans) - 1)
    assert [(s.start, s.end) for s in chunk_spans(260, 256, 64)] == [(0, 256), (192, 260)]


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


@pytest.mark.parametrize("output_batches", [False, True])
@pytest.mark.parametrize("streaming", [False, True])
def test_labelled_chunks_stitch_to_their_records_labels(tmp_path, output_batches, streaming):
    """A tagger that decodes each token on its own sends its chunks' labels, not their
    probabilities: stitched, they are the record's, with its offsets and pass-through fields,
    as TaggedRecords or (``output_batches``) as tagged batches holding the same records. Chunks
    that do not make up the record's tokens, or that mix labels and probabilities, make a
    dead letter. The same from the streaming stitch (records from a TestStream)."""
    import apache_beam as beam
    from apache_beam.options.pipeline_options import StandardOptions
    from apache_beam.testing.test_stream import TestStream
    import numpy as np
    import pyarrow as pa
    from apache_beam.testing.util import assert_that, equal_to

    from beamtagger.model.batch_decoding import decode_batch
    from beamtagger.model.features import TokenFeaturizer
    from beamtagger.model.tagger_spec import MODEL_FILE, TaggerSpec
    from beamtagger.transforms.chunks import StitchChunks
    from beamtagger.transforms.records import ChunkResult, TokenizedRecord
    from beamtagger.transforms.tagged_batches import tagged_records

    labels = ["NOUN", "VERB", "ADJ"]
    binding = {"fingerprint": "f", "dim": 4, "normalization": ["lower"]}
    spec = TaggerSpec(labels, "softmax", TokenFeaturizer(), binding, {})
    spec.save(tmp_path)
    (tmp_path / MODEL_FILE).write_bytes(b"")
    rng = np.random.default_rng(6)
    records, results, expected = [], [], {}
    for i in range(12):
        length = int(rng.integers(257, 700))
        record = TokenizedRecord.from_tokens(
            f"r{i}", [f"w{j}" if j % 9 else f'"é{j}' for j in range(length)], source=f"s{i}",
            fields={"n": i, "tags": ["a", "b"]} if i % 2 else None)
        probs = rng.dirichlet(np.ones(len(labels)), size=length).astype(np.float32)
        [(ids, scores)] = decode_batch(spec, probs[None], [length], label_ids=True)
        cuts = np.sort(rng.choice(np.arange(1, length), size=2, replace=False))
        pieces = list(zip(np.split(ids.astype(np.uint8), cuts), np.split(scores, cuts),
                          np.split(probs, cuts)))
        if i == 4:   # a chunk's labels lost on the way: fewer labels than tokens
            pieces[1] = (pieces[1][0][:-1], pieces[1][1][:-1], None)
        records.append((record.key, record))
        for chunk, (chunk_ids, chunk_scores, chunk_probs) in enumerate(pieces):
            if i == 9 and chunk == 0:
                result = ChunkResult(chunk, 3, chunk_probs)
            else:
                result = ChunkResult(chunk, 3, labels=chunk_ids, scores=chunk_scores)
            results.append((record.key, result))
        if i not in (4, 9):
            expected[record.id] = (tuple(labels[k] for k in ids), tuple(scores.tolist()),
                                   record.tokens, record.starts, record.ends, record.fields)

    def as_records(element):
        if output_batches:
            assert isinstance(element, pa.RecordBatch)
            return tagged_records(element)
        return [element]

    with beam.Pipeline(options=StandardOptions(streaming=streaming)) as p:
        stitch_records = p | "Records" >> (
            TestStream().add_elements(records).advance_watermark_to_infinity() if streaming
            else beam.Create(records))
        out = ((stitch_records, p | "Results" >> beam.Create(results))
               | StitchChunks(str(tmp_path), output_batches=output_batches))
        assert_that(out.tagged | beam.FlatMap(as_records) | beam.Map(
            lambda r: (r.id, (r.labels, r.scores, r.tokens, r.starts, r.ends, r.fields))),
            equal_to(list(expected.items())))
        assert_that(out.errors | beam.Map(lambda d: (d.source, d.reason.split(":")[0],
                                                     d.stage)),
                    equal_to([("s4", "stitching failed", "stitch"),
                              ("s9", "stitching failed", "stitch")]), label="dead letters")


@pytest.mark.parametrize("labels,decoded", [(["NOUN", "VERB", "ADJ"], True),
                                            (["O", "B-per", "I-per"], False)])
def test_the_tag_stage_sends_chunks_labels_where_each_token_decodes_alone(labels, decoded):
    """A chunk of an arg-max tagger leaves the tag stage as the labels and scores of the
    tokens it owns (a byte a label id), also when its batch failed and the row ran alone; a
    BIO tagger's (Viterbi over the stitched record) as their probabilities."""
    from types import SimpleNamespace

    import numpy as np

    from beamtagger.model.features import TokenFeaturizer
    from beamtagger.model.tagger_spec import TaggerSpec
    from beamtagger.transforms.tag import _ChunkDecoding

    binding = {"fingerprint": "f", "dim": 4, "normalization": ["lower"]}
    spec = TaggerSpec(labels, "softmax", TokenFeaturizer(), binding, {})
    probs = np.random.default_rng(7).dirichlet(np.ones(3), size=(3, 10)).astype(np.float32)
    lengths = np.array([4, 10, 10])
    whole = np.array([True, False, False])
    rows = SimpleNamespace(chunks=[0, 0, 1], num_chunks=[1, 2, 2], keep_starts=[0, 0, 7],
                           keep_ends=[4, 7, 10])
    for batch_probs in (probs, None):   # None: the batch failed, each row ran alone
        decoding = _ChunkDecoding(spec, batch_probs, lengths, whole)
        for i, keep in ((1, slice(0, 7)), (2, slice(7, 10))):
            result = decoding.result(rows, i, 10, probs[i], "")
            assert (result.chunk, result.num_chunks, result.error) == (rows.chunks[i], 2, "")
            if decoded:
                assert result.probs is None and result.labels.dtype == np.uint8
                expected = probs[i, keep].argmax(axis=-1)
                assert result.labels.tolist() == expected.tolist()
                assert result.scores.tolist() == probs[i, keep].max(axis=-1).tolist()
            else:
                assert result.labels is None and result.scores is None
                assert result.probs.tolist() == probs[i, keep].tolist()
    failed = _ChunkDecoding(spec, None, lengths, whole).result(rows, 1, 10, None,
                                                               "tagger failed: x")
    assert (failed.probs, failed.labels, failed.error) == (None, None, "tagger failed: x")


def test_a_stitched_record_arrow_cannot_hold_is_a_dead_letter_not_a_failed_job(tmp_path):
    """Tagged batches of stitched records: a record whose token no UTF-8 can hold (a lone
    surrogate, from a caller's own records) becomes a dead letter of stage "format"; the
    records stitched with it are still written."""
    import apache_beam as beam
    import numpy as np
    from apache_beam.testing.util import assert_that, equal_to

    from beamtagger.model.features import TokenFeaturizer
    from beamtagger.model.tagger_spec import MODEL_FILE, TaggerSpec
    from beamtagger.transforms.chunks import StitchChunks
    from beamtagger.transforms.records import ChunkResult, TokenizedRecord
    from beamtagger.transforms.tagged_batches import tagged_records

    binding = {"fingerprint": "f", "dim": 4, "normalization": ["lower"]}
    TaggerSpec(["NOUN", "VERB"], "softmax", TokenFeaturizer(), binding, {}).save(tmp_path)
    (tmp_path / MODEL_FILE).write_bytes(b"")
    records, results = [], []
    for key, word in (("good", "w"), ("bad", "w\ud800"), ("fine", "x")):
        record = TokenizedRecord.from_tokens(key, [word] * 300, source=key)
        records.append((key, record))
        results += [(key, ChunkResult(c, 2, labels=np.zeros(150, np.uint8),
                                      scores=np.full(150, 0.5, np.float32))) for c in range(2)]
    with beam.Pipeline() as p:
        out = ((p | "Records" >> beam.Create(records), p | "Results" >> beam.Create(results))
               | StitchChunks(str(tmp_path), output_batches=True))
        assert_that(out.tagged | beam.FlatMap(tagged_records) | beam.Map(
            lambda r: (r.id, len(r.labels))), equal_to([("good", 300), ("fine", 300)]))
        assert_that(out.errors | beam.Map(lambda d: (d.source, d.stage,
                                                     d.reason.split(":")[0])),
                    equal_to([("bad", "format", "cannot write the result")]),
                    label="dead letters")


def test_the_streaming_stitch_refuses_sessions_where_it_is_built():
    # Its state is kept in the global window and each output put back into its own window,
    # which a merged session window is not.
    import apache_beam as beam
    from apache_beam.options.pipeline_options import StandardOptions
    from apache_beam.testing.test_stream import TestStream
    from apache_beam.transforms import window

    from beamtagger.transforms.chunks import StitchChunks

    p = beam.Pipeline(options=StandardOptions(streaming=True))
    records = (p | TestStream().advance_watermark_to_infinity()
               | beam.WindowInto(window.Sessions(10)))
    with pytest.raises(ValueError, match="StitchChunks .streaming. needs non-merging windows"):
        _ = (records, records) | StitchChunks()
