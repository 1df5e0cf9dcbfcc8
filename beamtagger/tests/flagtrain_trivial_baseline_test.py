"""A flag tagger is compared with the trivial taggers of its own kind: the all-no one (F1 0)
and the all-yes one (F1 2p / (1 + p)), not on accuracy, which a useful flag of a rare class
loses to the all-no tagger."""
import pytest

from beamtagger.model.trivial_baseline import all_positive_f1, no_better_than_trivial

# 14 'yes' tokens of 1,000 (1.4%, about WNUT-17 dev's share of product and company tokens):
# the all-no tagger's accuracy is 0.986, the all-yes tagger's F1 2 * 0.014 / 1.014 = 0.0276.
DEV_TAGS = [("yes",) * 14 + ("no",) * 486, ("no",) * 500]


def test_a_flag_that_finds_its_class_is_not_called_trivial_for_its_accuracy():
    # The walkthrough's product flag: 97.59% accuracy against 98.58% all-no, F1 0.35; before,
    # "no higher than the 0.9860 of a tagger that tags every token 'no'".
    assert no_better_than_trivial("positive_f1", 0.35, 0.9759, DEV_TAGS, 30,
                                  positive_label="yes") is None


def test_a_flag_no_better_than_flagging_every_token_is_trivial():
    assert all_positive_f1(0.014) == pytest.approx(0.0276, abs=1e-4)
    warning = no_better_than_trivial("positive_f1", 0.0276, 0.99, DEV_TAGS, 3,
                                     positive_label="yes")
    assert warning.startswith(
        "the saved model is no better than a trivial tagger: dev positive F1 0.0276 at the best "
        "of 3 epoch(s) is no higher than the 0.0276 of a tagger that tags every token 'yes' "
        "(1.40% of dev's tokens). Try: train for more epochs")
    assert no_better_than_trivial("positive_f1", 0.028, 0.99, DEV_TAGS, 3,
                                  positive_label="yes") is None


def test_a_flag_that_found_nothing_is_still_trivial():
    warning = no_better_than_trivial("positive_f1", 0.0, 0.986, DEV_TAGS, 3,
                                     positive_label="yes")
    assert "found no positive token of dev, as a tagger that tags every token 'no'" in warning
