"""The embeddings import's progress bar, drawn on a terminal since b59dbb6 (review of session
28): an import of under a second draws none."""
import io


def test_an_import_within_the_bar_s_delay_leaves_nothing_on_the_terminal(monkeypatch):
    # tqdm's reset() drew the bar at once, delay or not, and its close() clears only a bar
    # drawn after the delay: a 1.1 s import of 101 MB left 'importing:   0%|' before the
    # report's first line on the terminal (script -qc 'beamtagger embeddings import ...').
    from beamtagger.embeddings.importers import _progress_bar

    terminal = io.StringIO()
    monkeypatch.setattr("sys.stderr", terminal)
    with _progress_bar(True) as bar:
        bar.reset(total=1000)
        bar.update(400)
        bar.reset(total=1000)   # the careful reader's restart
        bar.update(1000)
    assert terminal.getvalue() == ""


def test_a_bar_left_off_draws_nothing(monkeypatch):
    from beamtagger.embeddings.importers import _progress_bar

    terminal = io.StringIO()
    monkeypatch.setattr("sys.stderr", terminal)
    with _progress_bar(False) as bar:
        bar.reset(total=10)
        bar.update(10)
    assert terminal.getvalue() == "" and bar.bar is None
