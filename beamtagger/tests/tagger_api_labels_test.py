"""beamtagger.Tagger gives TagText's labels: plain, empty, pre-tokenized and chunked records, in
input order, lazily, from several threads."""
import itertools
import pickle
import threading

import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

import beamtagger
from beamtagger.testing import TINY_LABELS
from beamtagger.transforms import TagText, TextRecord, TokenizedRecord

# 3,010 tokens: twelve chunks of the default 256 with 64 shared, stitched back together.
LONG = " ".join(["the cat sat on the mat ."] * 430)
RECORDS = [TextRecord("s1", "I like green apples."), TextRecord("empty", ""),
           TextRecord("long", LONG), TextRecord("oov", "Zyzzyva quux, frobnicated!"),
           TokenizedRecord.from_tokens("pre", ["They", "went", "home", "yesterday", "."])]


def described(tagged):
    return tagged.id, tagged.tokens, tagged.starts, tagged.ends, tagged.labels


def test_tag_many_gives_the_labels_tagtext_gives_in_input_order(tiny_tagger):
    tagger = beamtagger.Tagger(tiny_tagger.model_dir, tiny_tagger.store_path)
    assert tagger.runtime == "numpy" and tagger.labels == TINY_LABELS
    found = [described(tagged) for tagged in tagger.tag_many(RECORDS)]
    assert [len(tokens) for _, tokens, _, _, _ in found] == [5, 0, 3010, 5, 5]
    assert [found_id for found_id, *_ in found] == [record.id for record in RECORDS]
    with TestPipeline() as p:
        out = p | beam.Create(RECORDS) | TagText(**tiny_tagger.options)
        assert_that(out.tagged | beam.Map(described), equal_to(found))
    # One record at a time, and groups of one record, give the same.
    assert [described(tagger.tag(record)) for record in RECORDS] == found
    assert [described(t) for t in tagger.tag_many(iter(RECORDS), batch_chars=1)] == found


def test_a_text_is_a_record_without_an_id_and_keeps_its_offsets(tiny_tagger):
    tagger = beamtagger.Tagger(**tiny_tagger.options)
    text = "  Beam tags  this.\n"
    tagged = tagger.tag(text)
    assert tagged.id == "" and tagged.tokens == ("Beam", "tags", "this", ".")
    assert [text[s:e] for s, e in zip(tagged.starts, tagged.ends)] == list(tagged.tokens)
    assert list(tagged.labels) == tiny_tagger.labels(text)
    assert len(tagged.scores) == 4 and all(0 < score <= 1 for score in tagged.scores)


def test_tag_many_reads_an_unbounded_iterable_group_by_group(tiny_tagger):
    tagger = beamtagger.Tagger(**tiny_tagger.options)
    read = []

    def endless():
        for n in itertools.count():
            read.append(n)
            yield TextRecord(str(n), "the dog went home " * (1 + n % 3))

    first = list(itertools.islice(tagger.tag_many(endless(), batch_chars=200), 25))
    assert [tagged.id for tagged in first] == [str(n) for n in range(25)]
    # Reads stop at the group that held the 25th record: about 200 characters past it.
    assert 25 <= len(read) < 25 + 200 // len("the dog went home ")
    assert [tagged.labels for tagged in first] == [tagger.tag(TextRecord(str(n), "the dog went "
                                                                         "home " * (1 + n % 3)
                                                                         )).labels
                                                   for n in range(25)]


def test_two_threads_tag_at_once_and_each_gets_what_one_thread_gets(tiny_tagger):
    tagger = beamtagger.Tagger(**tiny_tagger.options)
    texts = [f"the {word} sat on a mat while dogs bark at {word} ." for word in
             "cat dog apple Paris beam pipeline quux".split()] * 20
    expected = [tagged.labels for tagged in tagger.tag_many(texts)]
    found, errors = {}, []

    def run(t):
        try:
            for round_ in range(3):
                found[t, round_, "many"] = [r.labels for r in tagger.tag_many(texts,
                                                                              batch_chars=300)]
                found[t, round_, "one"] = [tagger.tag(text).labels for text in texts[:10]]
        except Exception as error:  # noqa: BLE001  (reported by the assertion below)
            errors.append(error)

    threads = [threading.Thread(target=run, args=(t,)) for t in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(found) == 2 * 3 * 2
    for (_, _, kind), labels in found.items():
        assert labels == (expected if kind == "many" else expected[:10])


def test_a_pickled_tagger_is_loaded_again_with_its_options(tiny_tagger):
    tagger = beamtagger.Tagger(**tiny_tagger.options, chunk=10, overlap=2,
                               max_record_chars=20_000)
    copied = pickle.loads(pickle.dumps(tagger))
    assert copied is not tagger and repr(copied) == repr(tagger)
    assert described(copied.tag(RECORDS[2])) == described(tagger.tag(RECORDS[2]))
    assert copied.max_record_chars == 20_000 and copied._record_tagger.chunk == 10
    assert "Tagger" in dir(beamtagger)


def test_an_entity_tagger_gives_tagtext_s_viterbi_labels_and_their_entities(entity_tagger):
    tagger = beamtagger.Tagger(entity_tagger.model_dir, entity_tagger.store_path,
                               runtime="numpy", chunk=40, overlap=8)
    records = [TextRecord("a", "Bob went to Paris with Alice yesterday ."),
               TextRecord("chunked", "the dog sat on the mat in Paris . " * 12)]
    found = [described(tagged) for tagged in tagger.tag_many(records)]
    with TestPipeline() as p:
        out = p | beam.Create(records) | TagText(model_dir=entity_tagger.model_dir,
                                                 store_path=entity_tagger.store_path,
                                                 runtime="numpy", chunk=40, overlap=8)
        assert_that(out.tagged | beam.Map(described), equal_to(found))
    tagged = tagger.tag(records[0].text)
    # Viterbi decoding: never I-X after O or after another type, which argmax would allow.
    for before, label in zip(("O", *tagged.labels), tagged.labels):
        assert not label.startswith("I-") or before[2:] == label[2:]
    entities = tagged.entities()
    assert entities and all(records[0].text[e.start:e.end] == e.text for e in entities)


def test_a_loop_left_early_or_interrupted_leaves_the_tagger_as_it_was(tiny_tagger, monkeypatch):
    import pandas as pd

    from beamtagger.transforms.model_handler import LoadedTagger

    tagger = beamtagger.Tagger(**tiny_tagger.options)
    texts = [f"the {word} went home with a dog ." for word in "cat mat apple Paris".split()] * 5
    expected = [tagged.labels for tagged in tagger.tag_many(texts)]
    for tagged in tagger.tag_many(texts, batch_chars=40):
        break   # the generator is closed half way through its groups
    predict, calls = LoadedTagger.predict, []

    def interrupted(self, *args, **kwargs):   # Ctrl-C while the model runs a later group
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return predict(self, *args, **kwargs)

    monkeypatch.setattr(LoadedTagger, "predict", interrupted)
    try:
        list(tagger.tag_many(texts + ["Zyzzyva quux frobnicated"], batch_chars=40))
    except KeyboardInterrupt:
        pass
    assert len(calls) == 3
    # A pandas Series is read as its values; each result comes back in its place.
    assert [tagged.labels for tagged in tagger.tag_many(pd.Series(texts))] == expected
    record = TextRecord("r", texts[0], "file.txt:1", {"lang": "en"})
    assert tagger.tag(record)[-2:] == ("file.txt:1", {"lang": "en"})
