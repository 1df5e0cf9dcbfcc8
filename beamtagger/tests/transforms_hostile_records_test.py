"""TagText on a caller's own hostile records: each comes out once per window, tagged or as a
dead letter, and none fails the job (bounded and streaming)."""
import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import StandardOptions
from apache_beam.testing.test_stream import TestStream
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms import window
from apache_beam.transforms.userstate import is_stateful_dofn
from apache_beam.transforms.window import TimestampedValue

from beamtagger.tagger import Tagger
from beamtagger.transforms import (
    AttachVectors,
    BucketByLength,
    TagBatches,
    TaggerModelHandler,
    TagText,
    TextRecord,
    TokenizedRecord,
    Tokenize,
)

LONG = " ".join(["the cat sat on the mat ."] * 6)   # 42 tokens: chunks of 10 below
OTHER_LONG = " ".join(["a dog went home today , !"] * 6)   # 42 tokens too
CHUNKS = {"chunk": 10, "overlap": 2}


def _tagged_or_dead(out):
    """(where each record came out, its source or id, labels) for every output of TagText."""
    tagged = out.tagged | "Tagged" >> beam.Map(
        lambda r: ("tagged", repr(r.source or r.id), len(r.labels)))
    dead = out.errors | "Dead" >> beam.Map(lambda d: ("dead", repr(d.source), 0))
    return (tagged, dead) | beam.Flatten()


def _run(records, streaming):
    """(pipeline, ``records`` in it, TagText's streaming options): one bounded Create, or one
    TestStream step tagged by TagText's streaming path."""
    if streaming:
        stream = (TestStream().advance_watermark_to(0)
                  .add_elements([TimestampedValue(r, 1) for r in records])
                  .advance_processing_time(10).advance_watermark_to_infinity())
        p = beam.Pipeline(options=StandardOptions(streaming=True))
        return p, p | stream, {"max_buffering_secs": 1}
    p = beam.Pipeline()
    return p, p | beam.Create(records), {}


@pytest.mark.parametrize("streaming", [False, True])
def test_records_whose_ids_are_no_strings_are_dead_letters_and_odd_sources_are_stitched(
        tiny_tagger, streaming):
    """A long record used to be keyed for its stitching by its source or id: an int or None id
    (no source) or a lone surrogate failed the job in the key coder. Then an int id was a dead
    letter of Arrow's in bounded runs, of stage "format" for a long record, and was tagged
    in streaming ones."""
    records = [TextRecord("good", LONG, "good"), TextRecord(7, LONG), TextRecord(None, LONG),
               TextRecord(8, "short"), TokenizedRecord.from_tokens(9, ("a", "b")),
               TextRecord("s", LONG, "src\ud800")]
    p, records, streaming_options = _run(records, streaming)
    with p:
        out = records | TagText(**CHUNKS, **streaming_options, **tiny_tagger.options)
        # The lone surrogate: tagged, or (where the sink cannot write it) a dead letter of
        # stage "format": once either way.
        assert_that(_tagged_or_dead(out) | beam.Map(lambda row: row[1]), equal_to(
            ["'good'", "'7'", "'None'", "'8'", "'9'", "'src\\ud800'"]), label="Outputs")
        assert_that(out.errors | beam.Filter(lambda d: d.stage == "tokenize")
                    | beam.Map(lambda d: (d.source, d.reason.split(" is ")[1][:3])),
                    equal_to([("7", "int"), ("None", "Non"), ("8", "int"), ("9", "int")]),
                    label="Reasons")


@pytest.mark.parametrize("streaming", [False, True])
def test_long_records_that_share_an_id_are_each_stitched_from_their_own_chunks(
        tiny_tagger, streaming):
    """Two long records with one id and no source: bounded input made both dead letters;
    streaming lost one and gave the other the first one's labels, or a dead letter (their
    chunks mixed in one state)."""
    handler = TaggerModelHandler(**CHUNKS, **tiny_tagger.options)
    alone = [tuple(result.inference.labels) for result in handler.run_inference(
        [LONG, OTHER_LONG], handler.load_model())]
    p, records, streaming_options = _run(
        [TextRecord("same", LONG), TextRecord("same", OTHER_LONG)], streaming)
    with p:
        out = records | TagText(**CHUNKS, **streaming_options, **tiny_tagger.options)
        assert_that(out.tagged | beam.Map(lambda r: (r.id, r.tokens[0], r.labels)),
                    equal_to([("same", "the", alone[0]), ("same", "a", alone[1])]))
        assert_that(out.errors, equal_to([]), label="no dead letters")


@pytest.mark.parametrize("streaming", [False, True])
def test_elements_that_are_no_records_are_dead_letters_naming_their_type(tiny_tagger, streaming):
    # A plain string used to fail as "TextRecord.__new__() takes from 3 to 5 positional
    # arguments but 15 were given".
    p, records, streaming_options = _run(
        ["fifteen letters", {"id": "d", "text": "a dict"}, ("t", "a tuple"), 7], streaming)
    with p:
        out = records | TagText(**streaming_options, **tiny_tagger.options)
        assert_that(_tagged_or_dead(out), equal_to([
            ("dead", repr("'fifteen letters'"), 0), ("dead", "'d'", 0),   # a dict: its id
            ("tagged", "'t'", 2), ("dead", "'7'", 0)]), label="Outputs")
        assert_that(out.errors | beam.Map(lambda d: d.reason.split("not ")[-1].split(":")[0]),
                    equal_to(["str", "dict", "int"]), label="Reasons")


@pytest.mark.parametrize("streaming", [False, True])
def test_tokenized_records_whose_tokens_and_offsets_do_not_line_up_are_dead_letters(
        tiny_tagger, streaming):
    """Streaming used to tag a record of 42 tokens and 1 offset (WriteResults then wrote one
    token of it) and to fail the job on tokens that are None or not strings."""
    tokens = tuple(LONG.split())
    records = [TokenizedRecord.from_tokens("fine", tokens, "fine"),
               TokenizedRecord("offsets", tokens, (0,), (3,), "offsets"),
               TokenizedRecord("none", None, None, None, "none"),
               TokenizedRecord("number", tokens[:20] + (5,), tuple(range(21)),
                               tuple(range(1, 22)), "number")]
    p, records, streaming_options = _run(records, streaming)
    with p:
        out = records | TagText(**CHUNKS, **streaming_options, **tiny_tagger.options)
        assert_that(_tagged_or_dead(out), equal_to([
            ("tagged", "'fine'", 42), ("dead", "'offsets'", 0), ("dead", "'none'", 0),
            ("dead", "'number'", 0)]))


def test_streaming_in_sliding_windows_each_record_comes_out_once_a_window(tiny_tagger):
    """Each batch of a window was put back into every sliding window of its timestamp: a
    record came out twice a window, and its long records' chunks were stitched twice over.
    A long record that fails is one dead letter a window, in that window."""
    bad_long = LONG.replace("cat", "c\ud800t", 1)
    stream = (TestStream().advance_watermark_to(0)
              .add_elements([TimestampedValue(TextRecord("short", "The dog went home .", "s"), 7),
                             TimestampedValue(TextRecord("long", LONG, "l"), 8),
                             TimestampedValue(TextRecord("bad long", bad_long, "b"), 9)])
              .advance_processing_time(10).advance_watermark_to_infinity())
    with beam.Pipeline(options=StandardOptions(streaming=True)) as p:
        out = (p | stream | beam.WindowInto(window.SlidingWindows(10, 5))
               | TagText(max_buffering_secs=1, **CHUNKS, **tiny_tagger.options))
        assert_that(out.tagged | beam.Map(
            lambda r, w=beam.DoFn.WindowParam: (r.id, len(r.labels), float(w.start))),
            equal_to([("short", 5, 0.0), ("short", 5, 5.0), ("long", 42, 0.0),
                      ("long", 42, 5.0)]))
        assert_that(out.errors | beam.Map(
            lambda d, t=beam.DoFn.TimestampParam, w=beam.DoFn.WindowParam:
            (d.source, d.stage, float(t), float(w.start))),
            equal_to([("b", "featurize", 9.0, 0.0), ("b", "featurize", 9.0, 5.0)]),
            label="dead letters")


@pytest.mark.parametrize("build", [
    lambda: TagText(vector_dtype="float64"),
    lambda: TaggerModelHandler(vector_dtype="bfloat16"),
    lambda: AttachVectors(vector_dtype="float64"),
])
def test_a_vector_dtype_no_batch_can_carry_is_refused_where_the_transform_is_built(build):
    # Found only in the featurize stage, it made every record of the run a dead letter (and
    # failed every RunInference batch).
    with pytest.raises(ValueError, match="vector_dtype"):
        build()


def test_streaming_records_come_out_in_their_window_with_their_own_timestamp(tiny_tagger):
    # They came out with their batch's timestamp, the earliest of the records batched with
    # them: "b" at 1, not 5. A record's own is never earlier than its batch's, which the
    # grouping holds the watermark at, so none turns late downstream.
    stamps = {"a": 1, "b": 5, "c": 9, "long": 8, "other long": 7}
    texts = {"long": LONG, "other long": OTHER_LONG}
    stream = (TestStream().advance_watermark_to(0)
              .add_elements([TimestampedValue(TextRecord(name, texts.get(name, "The dog went "
                                                                               "home ."), name),
                                              stamp) for name, stamp in stamps.items()]
                            + [TimestampedValue(TextRecord("bad", "The d\ud800g .", "bad"), 6)])
              .advance_processing_time(10).advance_watermark_to_infinity())
    with beam.Pipeline(options=StandardOptions(streaming=True)) as p:
        out = (p | stream | beam.WindowInto(window.FixedWindows(20))
               | TagText(max_buffering_secs=1, **CHUNKS, **tiny_tagger.options))
        assert_that(out.tagged | beam.Map(
            lambda r, t=beam.DoFn.TimestampParam, w=beam.DoFn.WindowParam:
            (r.id, float(t), float(w.start))),
            equal_to([(name, stamp, 0.0) for name, stamp in stamps.items()]))
        assert_that(out.errors | beam.Map(lambda d, t=beam.DoFn.TimestampParam: (
            d.source, d.stage, float(t))), equal_to([("bad", "featurize", 6.0)]),
            label="dead letters")


def test_streaming_records_rewindowed_after_tagtext_land_in_their_own_windows(tiny_tagger):
    """A pipeline that tags in the global window and counts in fixed windows afterwards: a
    record batched with an earlier one went into that one's window (both at 1 here)."""
    stream = (TestStream().advance_watermark_to(0)
              .add_elements([TimestampedValue(TextRecord("early", "The dog went home ."), 1),
                             TimestampedValue(TextRecord("later", "The cat sat down ."), 15)])
              .advance_processing_time(10).advance_watermark_to_infinity())
    with beam.Pipeline(options=StandardOptions(streaming=True)) as p:
        out = p | stream | TagText(max_buffering_secs=1, **tiny_tagger.options)
        assert_that(out.tagged | beam.WindowInto(window.FixedWindows(10)) | beam.Map(
            lambda r, w=beam.DoFn.WindowParam: (r.id, float(w.start))),
            equal_to([("early", 0.0), ("later", 10.0)]))


def test_streaming_state_is_kept_in_the_global_window_and_the_windowing_given_back(tiny_tagger):
    """The stitch of long records kept its state in the records' own windows, where a runner may
    drop what reaches it after its window expired, or collect the state kept for it: a late
    long record could be lost where a late short one, batched in the global window, was tagged.
    And the records came out with no allowed lateness where they went in with 300 s."""
    p = beam.Pipeline(options=StandardOptions(streaming=True))
    records = (p | TestStream().advance_watermark_to_infinity()
               | beam.WindowInto(window.FixedWindows(10), allowed_lateness=300))
    out = records | TagText(max_buffering_secs=1, **CHUNKS, **tiny_tagger.options)
    stateful = {}   # label -> the window fn of what it reads

    class FindStatefulSteps(beam.pipeline.PipelineVisitor):
        def visit_transform(self, node):
            if isinstance(node.transform, beam.ParDo) and is_stateful_dofn(node.transform.fn):
                stateful[node.full_label] = node.inputs[0].windowing.windowfn

    p.visit(FindStatefulSteps())
    assert any("StitchChunks" in label for label in stateful), stateful
    assert all(windows == window.GlobalWindows() for windows in stateful.values()), stateful
    assert out.tagged.windowing == records.windowing
    assert out.errors.windowing == records.windowing


def test_streaming_tagtext_moves_records_between_windows_without_windowinto_steps(tiny_tagger):
    """Into the global window and back, the batching's and the stitching's own steps move each
    element (Beam's Reshuffle does the same): the WindowInto steps before and after them, and
    the steps keeping each output in its own window, were 9 of TagText's 23 streaming steps, and
    Beam's DirectRunner pays its per-bundle work at every step (BENCHMARKS.md, "Streaming: long
    records stitched in the global window")."""
    p = beam.Pipeline(options=StandardOptions(streaming=True))
    records = (p | TestStream().advance_watermark_to_infinity()
               | beam.WindowInto(window.SlidingWindows(10, 5)))
    _ = records | "TagText" >> TagText(max_buffering_secs=1, **CHUNKS, **tiny_tagger.options)
    steps = []

    class TagTextSteps(beam.pipeline.PipelineVisitor):
        def visit_transform(self, node):
            if node.full_label.startswith("TagText/"):
                steps.append((node.full_label, node.transform))

    p.visit(TagTextSteps())
    assert [label for label, transform in steps
            if isinstance(transform, beam.WindowInto)] == [], steps
    assert len(steps) <= 14, [label for label, _ in steps]


def test_late_long_records_come_out_tagged_in_their_own_window_beside_late_short_ones(
        tiny_tagger):
    """Records behind the watermark, in a window still within its allowed lateness and in one
    past it, each come out once, in its own window with its own timestamp, long or short,
    tagged or as a dead letter. Beam's DirectRunner dropped none before the stitch ran in the
    global window either; the test above pins that it does."""
    bad_long = LONG.replace("cat", "c\ud800t", 1)
    late = {"expired long": (LONG, 5), "expired short": ("the cat sat .", 6),
            "late long": (LONG, 35), "late short": ("the cat .", 36),
            "late bad long": (bad_long, 33)}
    stream = (TestStream().advance_watermark_to(0)
              .add_elements([TimestampedValue(TextRecord("on time", LONG, "on time"), 25)])
              .advance_processing_time(10).advance_watermark_to(40)
              # [0, 10) has expired (its end and 5 s of lateness behind the watermark); [30, 40)
              # is late, not expired.
              .add_elements([TimestampedValue(TextRecord(name, text, name), stamp)
                             for name, (text, stamp) in late.items()])
              .advance_processing_time(10).advance_watermark_to_infinity())
    with beam.Pipeline(options=StandardOptions(streaming=True)) as p:
        out = (p | stream | beam.WindowInto(window.FixedWindows(10), allowed_lateness=5)
               | TagText(max_buffering_secs=1, **CHUNKS, **tiny_tagger.options))
        assert_that(out.tagged | beam.Map(
            lambda r, t=beam.DoFn.TimestampParam, w=beam.DoFn.WindowParam:
            (r.id, len(r.labels), float(t), float(w.start))),
            equal_to([("on time", 42, 25.0, 20.0), ("expired long", 42, 5.0, 0.0),
                      ("expired short", 4, 6.0, 0.0), ("late long", 42, 35.0, 30.0),
                      ("late short", 3, 36.0, 30.0)]))
        assert_that(out.errors | beam.Map(
            lambda d, t=beam.DoFn.TimestampParam, w=beam.DoFn.WindowParam:
            (d.source, d.stage, float(t), float(w.start))),
            equal_to([("late bad long", "featurize", 33.0, 30.0)]), label="dead letters")


@pytest.mark.parametrize("streaming", [False, True])
def test_records_over_max_record_chars_are_dead_letters_that_say_how_to_let_them_through(
        tiny_tagger, streaming):
    # Held whole at about 0.8 kB a token, one 50 MB line took 6.9 GB of its worker's memory.
    tokens = tuple(LONG.split())   # 42 tokens, 149 characters one space apart
    records = [TextRecord("at", LONG[:60], "at"), TextRecord("over", LONG[:61], "over"),
               TokenizedRecord.from_tokens("tokens-at", tokens[:14], "tokens-at"),
               TokenizedRecord.from_tokens("tokens-over", tokens, "tokens-over")]
    assert len(LONG[:60]) == 60 and len(" ".join(tokens[:14])) <= 60 < len(" ".join(tokens))
    p, records, streaming_options = _run(records, streaming)
    with p:
        out = records | TagText(max_record_chars=60, **streaming_options, **tiny_tagger.options)
        assert_that(out.tagged | beam.Map(lambda r: r.id), equal_to(["at", "tokens-at"]))
        assert_that(out.errors | beam.Map(lambda d: (d.source, d.stage, "--max-record-chars"
                                                     in d.reason)),
                    equal_to([("over", "tokenize", True), ("tokens-over", "tokenize", True)]),
                    label="dead letters")


@pytest.mark.parametrize("limit", [0, -5, 2.5, None])
def test_a_max_record_chars_that_lets_nothing_through_is_refused_where_tagtext_is_built(limit):
    with pytest.raises(ValueError, match="max_record_chars"):
        TagText(max_record_chars=limit)


@pytest.mark.parametrize("streaming", [False, True])
def test_elements_that_are_no_records_are_dead_letters_not_unpacked_into_one(
        tiny_tagger, streaming):
    # Unpacked as TextRecord(*element): "abc" was tagged as the token "b" of a record with id
    # "a" and source "c", and a dict as the tuple of its keys (its key "text" tagged).
    records = [TextRecord("good", "The dog went home .", "good"), "abc",
               {"id": "d", "text": "The dog went home ."}, b"ab", ("pair", "The dog .")]
    p, records, streaming_options = _run(records, streaming)
    with p:
        out = records | TagText(**streaming_options, **tiny_tagger.options)
        assert_that(out.tagged | beam.Map(lambda r: (r.id, len(r.labels))),
                    equal_to([("good", 5), ("pair", 3)]))
        assert_that(out.errors | beam.Map(lambda d: (d.stage, "not " in d.reason)),
                    equal_to([("tokenize", True)] * 3), label="dead letters")


@pytest.mark.parametrize("build", [lambda: TagText(), lambda: Tokenize()])
def test_a_pcollection_of_texts_is_refused_where_the_pipeline_is_built(build):
    # ReadFromText's lines: every one would be a dead letter (or, of 2-4 characters, mangled).
    with pytest.raises(TypeError, match="TextRecord or TokenizedRecord elements, not str"):
        beam.Pipeline() | beam.Create(["I like green apples."]) | build()


@pytest.mark.parametrize("build, option", [
    (lambda: TagText(chunk=100.5), "chunk"), (lambda: TagText(chunk=20, overlap=2.5), "overlap"),
    (lambda: TagText(chunk="300"), "chunk"), (lambda: TagText(max_batch_tokens="4096"),
                                              "max_batch_tokens"),
    (lambda: TagText(max_batch_tokens=0), "max_batch_tokens"),
    (lambda: TagText(max_buffering_secs="5"), "max_buffering_secs"),
    (lambda: TaggerModelHandler(chunk=100.5), "chunk"),
    (lambda: TagText(progress_every_secs=-1), "progress_every_secs"),
    (lambda: TagText(progress_every_secs=float("nan")), "progress_every_secs"),
    (lambda: TagText(tagger_threads=-1), "tagger_threads"),
    (lambda: TagText(tagger_threads=True), "tagger_threads"),
    (lambda: TagText(allow_other_embeddings="no"), "allow_other_embeddings"),
    (lambda: TaggerModelHandler(allow_other_embeddings="no"), "allow_other_embeddings"),
    # Found by fuzzing the API's arguments: AttachVectors read "no" as True.
    (lambda: AttachVectors(allow_other_embeddings="no"), "allow_other_embeddings"),
    # Found by fuzzing the transforms' arguments, each taken where it was built: 2**31
    # threads end a TensorFlow worker on SIGSEGV (beamtagger tag refuses above 4,096);
    # max_batch_tokens=inf made every batch one record (inf // length is NaN); True was read
    # as 1 (max_record_chars=True: every record a dead letter); an accelerator that is no str
    # failed where the transform was applied, and one without a type went to Dataflow as is.
    (lambda: TagText(tagger_threads=2 ** 31), "tagger_threads"),
    (lambda: TaggerModelHandler(tagger_threads=4097), "tagger_threads"),
    (lambda: TagBatches(threads=2 ** 31), "threads"),
    (lambda: TagText(max_batch_tokens=float("inf")), "max_batch_tokens"),
    (lambda: TagText(max_batch_tokens=1.5), "max_batch_tokens"),
    (lambda: TaggerModelHandler(max_batch_tokens=True), "max_batch_tokens"),
    (lambda: TagText(max_record_chars=True), "max_record_chars"),
    (lambda: TagText(chunk=8, overlap=True), "overlap"),
    (lambda: TagText(max_buffering_secs=True), "max_buffering_secs"),
    (lambda: TagText(progress_every_secs=True), "progress_every_secs"),
    (lambda: TagText(accelerator=5), "accelerator"),
    (lambda: TagText(accelerator="nvidia-l4"), "accelerator"),
    (lambda: TagText(accelerator=0), "accelerator"),
    (lambda: TaggerModelHandler(accelerator=""), "accelerator"),
    # A str failed as "'<' not supported between instances of 'str' and 'int'"; inf passed.
    (lambda: BucketByLength(max_buffered_tokens="65536"), "max_buffered_tokens"),
    (lambda: BucketByLength(max_buffered_tokens=float("inf")), "max_buffered_tokens"),
])
def test_a_chunk_or_batch_option_no_stage_can_follow_is_refused_where_it_is_built(build, option):
    # A float chunk or overlap passed the bounds checks and failed the whole job in the first
    # worker to cut a long record; the others were refused only where the pipeline was built,
    # a string as "'<' not supported between instances of 'str' and 'int'". A negative
    # progress interval printed lines of 40 billion tokens/s; allow_other_embeddings="no" was
    # read as True.
    with pytest.raises(ValueError, match=f"^{option} must be"):
        build()


@pytest.mark.parametrize("build, error, said", [
    (lambda: TagText(model_dir=5), TypeError,
     "model_dir must be a path (a str or os.PathLike), or None, not int 5"),
    (lambda: TagText(store_path=b"stores/glove"), TypeError,
     "store_path must be a path (a str or os.PathLike), or None, not bytes b'stores/glove'"),
    (lambda: TaggerModelHandler(model_dir=["models/ner"]), TypeError,
     "model_dir must be a path (a str or os.PathLike), or None, not list ['models/ner']"),
    (lambda: AttachVectors(store_path=3.0), TypeError, "store_path must be a path"),
    (lambda: Tagger(model_dir=b"models/ner", runtime="numpy"), TypeError,
     "model_dir must be a path"),
    (lambda: TagText(model_dir=""), ValueError, "model_dir is an empty path: give the folder, "
                                                "or None"),
    (lambda: Tagger(store_path="", runtime="numpy"), ValueError, "store_path is an empty path"),
])
def test_a_path_that_is_none_is_refused_naming_its_option(build, error, said):
    # Found by fuzzing the API's arguments: os.fspath's "expected str, bytes or os.PathLike
    # object, not int" named no option, bytes failed deeper as "cannot use a string pattern on
    # a bytes-like object", and "" was read as the current folder (". is not a tagger model").
    with pytest.raises(error) as refused:
        build()
    assert str(refused.value).startswith(said), refused.value
