"""Entity scores split by whether the entity's surface was seen as an entity in training."""
import numpy as np

from beamtagger.corpus_readers import Sentence
from beamtagger.model import evaluation


def test_training_entity_hashes_key_lower_cased_surfaces_of_any_type():
    train = [Sentence("a", ("I", "saw", "New", "York", "and", "Bob"),
                      ("O", "O", "B-location", "I-location", "O", "B-person"), "x", 1),
             Sentence("b", ("bob", "again"), ("B-group", "O"), "x", 9)]
    hashes = evaluation.training_entity_hashes(train)
    assert hashes.dtype == np.uint32 and (np.diff(hashes.astype(np.int64)) > 0).all()
    expected = {evaluation.entity_surface_hash(tokens) for tokens in (["New", "York"], ["Bob"])}
    assert set(hashes.tolist()) == expected  # "bob" and "Bob" are one surface
    assert evaluation.entity_surface_hash(["new", "york"]) in expected
    assert evaluation.entity_surface_hash(["York"]) not in expected  # a part is not the whole


def test_seen_and_unseen_entities_add_up_to_the_micro_scores():
    known = evaluation.training_entity_hashes(
        [Sentence("t", ("Paris", "Obama"), ("B-location", "B-person"), "x", 1)])
    tokens = [("paris", "and", "Zorp", "Inc"), ("Obama", "met", "Quux")]
    gold = [("B-location", "O", "B-corporation", "I-corporation"),
            ("B-person", "O", "B-person")]
    predicted = [("B-location", "O", "B-corporation", "O"),     # Zorp: unseen, wrong span
                 ("B-person", "O", "B-person")]                 # Quux: unseen, right
    scores = evaluation.seen_unseen_entity_scores(tokens, gold, predicted, known)
    assert scores["seen"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 2,
                              "predicted": 2}
    unseen = scores["unseen"]
    assert (unseen["support"], unseen["predicted"]) == (2, 2)
    assert unseen["precision"] == unseen["recall"] == 0.5
    micro = evaluation.entity_scores(gold, predicted)
    right = sum(s["precision"] * s["predicted"] for s in scores.values())
    assert micro["support"] == sum(s["support"] for s in scores.values())
    assert micro["recall"] == right / micro["support"]
    metrics = evaluation.score_tags(gold, predicted, [np.ones(4, bool), np.ones(3, bool)],
                                    is_bio=True, tokens=tokens, training_entities=known)
    assert metrics["entities"]["unseen"] == unseen


def test_nothing_known_makes_every_entity_unseen():
    scores = evaluation.seen_unseen_entity_scores(
        [("Bob",)], [("B-person",)], [("B-person",)], np.zeros(0, np.uint32))
    assert scores["seen"]["support"] == 0 and scores["unseen"]["f1"] == 1.0


def test_a_tag_with_no_prefix_delimits_no_entity_as_in_conlleval():
    # seqeval alone reads "LOC" (an IO corpus's tag, unknown to a BIO model) as an entity of
    # type "OC": two entities of types "OC" and "ERSON" were scored and listed per type.
    gold = [("LOC", "O", "B-person"), ("PERSON", "PERSON", "O")]
    predicted = [("O", "O", "B-person"), ("O", "O", "O")]
    scores = evaluation.entity_scores(gold, predicted)
    assert (scores["support"], scores["precision"], scores["recall"]) == (1, 1.0, 1.0)
    assert list(scores["per_type"]) == ["person"]
    assert evaluation.entity_spans(["LOC", "B-x", "I-x", "PERSON"]) == [("x", 1, 2)]
    split = evaluation.seen_unseen_entity_scores(
        [("Paris", "is", "Bob"), ("Jo", "Li", ".")], gold, predicted, np.zeros(0, np.uint32))
    assert split["unseen"]["support"] == 1 and split["unseen"]["f1"] == 1.0


def test_entity_free_text_and_tags_outside_bio_score_without_library_warnings():
    # seqeval's averages over no entity type printed NumPy's "Mean of empty slice" and
    # "invalid value" warnings, and each tag it took for no entity tag a UserWarning, on stderr
    # of evaluate and train, beside the report and the project's own warning for those tags.
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        metrics = evaluation.score_tags([("O", "O")], [("O", "O")], [np.ones(2, bool)],
                                        is_bio=True, tokens=[("a", "b")],
                                        training_entities=np.zeros(0, np.uint32))
        odd = evaluation.entity_scores([("U-person", "b-person", "B-x")],
                                       [("O", "O", "B-x")])
    assert metrics["entities"]["support"] == 0 and metrics["entities"]["per_type"] == {}
    assert metrics["entities"]["f1"] == 0.0
    assert odd["per_type"]["x"]["f1"] == 1.0 and odd["support"] == 2
