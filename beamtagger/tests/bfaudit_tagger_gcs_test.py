"""``beamtagger.Tagger`` with its model and store on ``gs://`` (the GCS emulator,
``gcs_emulated_test``): staged through Beam's file systems, the one case the Beam-free Tagger
imports Beam for, and tagging as the local copies do."""
import beamtagger
from beamtagger.tests.gcs_emulated_test import gcs  # noqa: F401  (fixture)

TEXT = "Bob went to Paris with Alice yesterday ."


def test_a_tagger_of_a_model_and_store_on_gs_tags_as_their_local_copies(
        gcs, tiny_tagger):  # noqa: F811
    model = gcs.put(tiny_tagger.model_dir, "models/tiny")
    store = gcs.put(tiny_tagger.store_path, "stores/tiny")
    remote = beamtagger.Tagger(model, store, runtime="numpy")
    local = beamtagger.Tagger(tiny_tagger.model_dir, tiny_tagger.store_path, runtime="numpy")
    assert remote.model_dir == model and remote.store_path == store
    assert remote.tag(TEXT).labels == local.tag(TEXT).labels
    assert len(remote.tag(TEXT).labels) == len(TEXT.split())
