"""Entity spans of BIO labels (records.entity_spans): conlleval's reading, offsets, text, score;
the same spans evaluate scores (seqeval's chunking) on random sequences and on WNUT-17 dev."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from beamtagger.transforms.records import Entity, TaggedRecord, entity_spans


def record(labels, tokens=None, scores=None, gap=1):
    """A TaggedRecord of ``labels``; tokens ``t0``, ``t1``... ``gap`` characters apart."""
    tokens = tokens or [f"t{i}" for i in range(len(labels))]
    starts, position = [], 0
    for token in tokens:
        starts.append(position)
        position += len(token) + gap
    return TaggedRecord("r", tuple(tokens), tuple(starts),
                        tuple(s + len(t) for s, t in zip(starts, tokens)), tuple(labels),
                        tuple(scores or [0.5] * len(labels)))


def spans(labels):
    """(type, first token, last token) of each entity, as evaluation.entity_spans gives them."""
    tagged = record(labels)
    return [(entity.label, tagged.starts.index(entity.start), tagged.ends.index(entity.end))
            for entity in entity_spans(tagged)]


@pytest.mark.parametrize("labels,expected", [
    (["B-per", "I-per", "O"], [("per", 0, 1)]),                      # at the start
    (["O", "B-loc", "I-loc"], [("loc", 1, 2)]),                      # at the end
    (["B-per"], [("per", 0, 0)]),                                    # one token, alone
    (["O", "B-per", "O"], [("per", 1, 1)]),                          # one token
    (["B-per", "B-per"], [("per", 0, 0), ("per", 1, 1)]),            # adjacent, same type
    (["B-per", "I-per", "B-per", "I-per"], [("per", 0, 1), ("per", 2, 3)]),
    (["B-per", "B-loc", "I-loc"], [("per", 0, 0), ("loc", 1, 2)]),   # adjacent, other type
    (["O", "I-per", "I-per"], [("per", 1, 2)]),                      # I-X after O begins one
    (["I-per", "O"], [("per", 0, 0)]),                               # I-X first begins one
    (["B-per", "I-loc", "I-loc"], [("per", 0, 0), ("loc", 1, 2)]),   # I-Y after B-X
    (["B-per", "I-per", "I-loc", "I-per"], [("per", 0, 1), ("loc", 2, 2), ("per", 3, 3)]),
    (["B-creative-work", "I-creative-work"], [("creative-work", 0, 1)]),  # '-' in the type
    (["O", "O"], []),
    ([], []),
])
def test_spans_read_bio_as_conlleval_does(labels, expected):
    assert spans(labels) == expected


def test_labels_that_are_not_bio_give_no_entities():
    assert entity_spans(record(["NOUN", "VERB", "O", "B-", "I-", "S-per", "E-per"])) == []


def test_offsets_text_and_score_of_an_entity():
    tagged = TaggedRecord("r", ("Visit", "New", "York", "City", "now"), (0, 6, 12, 17, 22),
                          (5, 9, 16, 21, 25), ("O", "B-loc", "I-loc", "I-loc", "O"),
                          (0.99, 0.75, 0.5, 0.875, 0.9))
    text = "Visit New   York\tCity now"
    (entity,) = entity_spans(tagged)
    assert entity == Entity("New   York City", 6, 21, "loc", 0.5)
    # The gaps are spaces as long as the text's: text[start:end] up to its whitespace.
    assert len(entity.text) == entity.end - entity.start
    assert entity.text == text[entity.start:entity.end].replace("\t", " ")
    assert tagged.entities() == [entity]


def test_tokens_that_touch_keep_no_gap():
    tagged = TaggedRecord("r", ("U.S", "."), (0, 3), (3, 4), ("B-loc", "I-loc"), (0.5, 0.5))
    assert entity_spans(tagged)[0].text == "U.S."


def test_json_dict_holds_entities_only_when_asked():
    tagged = record(["B-per", "I-per", "O"], scores=[0.123456, 0.9, 0.5])
    assert "entities" not in tagged.to_json_dict()
    assert tagged.to_json_dict(entities=True)["entities"] == [
        {"text": "t0 t1", "start": 0, "end": 5, "label": "per", "score": 0.1235}]


BIO = st.sampled_from(["O", "B-per", "I-per", "B-loc", "I-loc", "B-creative-work",
                       "I-creative-work"])


@settings(max_examples=500, deadline=None)
@given(st.lists(BIO, max_size=12))
def test_spans_are_the_ones_evaluate_scores(labels):
    from beamtagger.model.evaluation import entity_spans as evaluated_spans

    assert spans(labels) == [tuple(span) for span in evaluated_spans(labels)]


def test_spans_are_the_ones_evaluate_scores_on_wnut17_dev(shared_data):
    """Every gold sentence of WNUT-17 dev (well-formed BIO) and the same tags with each ``B-``
    made ``I-`` (ill-formed, as a model without Viterbi can give)."""
    from beamtagger.corpus_readers import read_conll
    from beamtagger.model.evaluation import entity_spans as evaluated_spans

    sentences = list(read_conll(shared_data / "wnut17" / "emerging.dev.conll"))
    assert len(sentences) > 1000
    entities = 0
    for sentence in sentences:
        for tags in (sentence.tags, [tag.replace("B-", "I-") for tag in sentence.tags]):
            tagged = TaggedRecord("r", *_offsets(sentence.tokens), tuple(tags),
                                  (0.5,) * len(tags))
            got = [(e.label, tagged.starts.index(e.start), tagged.ends.index(e.end), e.text)
                   for e in entity_spans(tagged)]
            assert got == [(kind, first, last, " ".join(sentence.tokens[first:last + 1]))
                           for kind, first, last in evaluated_spans(tags)]
            entities += len(got)
    assert entities > 1000


def _offsets(tokens):
    from beamtagger.transforms.records import TokenizedRecord

    tokenized = TokenizedRecord.from_tokens("r", tokens)
    return tokenized.tokens, tokenized.starts, tokenized.ends
