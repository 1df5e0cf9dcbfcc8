"""A dev set with one tag only (no entity, no positive token) cannot tell a model from the
trivial tagger: ``train``'s warning says that dev is the problem, not the epochs."""
import pytest

from beamtagger.model.trivial_baseline import no_better_than_trivial


@pytest.mark.parametrize("metric_name, best_score, dev_tags, tag", [
    ("entity_f1", 0.0, [("O", "O"), ("O",)], "O"),           # an entity dev without entities
    ("positive_f1", 0.0, [("no", "no", "no")], "no"),         # a flag dev without a positive
    ("accuracy", 0.82, [("NOUN", "NOUN"), ("NOUN",)], "NOUN")])
def test_a_dev_set_of_one_tag_is_named_as_the_cause(metric_name, best_score, dev_tags, tag):
    warning = no_better_than_trivial(metric_name, best_score, 0.82, dev_tags, 2)
    # Before: "the model found no entity of dev" (there was none to find), or accuracy "no
    # higher than the 1.0000" of the trivial tagger, and "Try: train for more epochs".
    assert warning == (
        f"dev cannot tell the saved model from a trivial tagger: every one of its 3 token(s) "
        f"carries {tag!r}, so a tagger that tags every token {tag!r} scores perfectly on it, "
        "and the epoch kept was chosen on it. Try: a dev corpus (--dev) that carries the tags "
        "the model is to find")
    assert "more epochs" not in warning
