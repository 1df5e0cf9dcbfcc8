"""Ctrl-C during `beamtagger train` says that the finished epochs are kept and how to go on
from them (the CLI's own "beamtagger: interrupted" said neither). The tiny tagger's store, a
16-sentence corpus, a 4-unit network stopped after its first epoch's state is written."""
import pytest

from beamtagger.pipeline import cli

pytest.importorskip("tensorflow")

CONLL = "".join(f"the\tO\n{name}\tB-PER\nsat\tO\n\n" for name in ("ann", "bob") * 8)


def test_ctrl_c_after_an_epoch_names_the_kept_state_and_the_rerun(tiny_tagger, tmp_path,
                                                                  capsys, monkeypatch):
    from beamtagger.model.train_state import TrainingState

    corpus = tmp_path / "tickets.conll"
    corpus.write_text(CONLL, encoding="utf-8")
    real_save = TrainingState.save

    def save_then_ctrl_c(self, meta, arrays):
        real_save(self, meta, arrays)
        raise KeyboardInterrupt

    monkeypatch.setattr(TrainingState, "save", save_then_ctrl_c)
    out = tmp_path / "models" / "tickets"
    code = cli.main(["train", "--train", str(corpus), "--dev", str(corpus), "--out", str(out),
                     "--embeddings", tiny_tagger.options["store_path"], "--epochs", "3",
                     "--units", "4", "--char-filters", "0", "--adversarial", "0",
                     "--no-refit"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 130
    state = tmp_path / "models" / ".tickets.train-state"
    assert state.is_dir() and not out.exists()
    assert err[-2:] == [f"note: the state of the epochs finished is kept in {state}: run the "
                        "same command again to resume from there (--restart discards it)",
                        "beamtagger: interrupted"]
