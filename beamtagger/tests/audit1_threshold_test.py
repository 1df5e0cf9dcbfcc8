"""``beamtagger model set-threshold`` and ``evaluate --thresholds`` on their unhappy paths: a
model on a read-only file system, a tagger.json with its own permissions, "-0", and thresholds
that differ past the sixth digit."""
import errno
import json
import os
import pathlib
import stat


from beamtagger.pipeline import cli


def test_a_read_only_file_system_is_one_line(flag_model, monkeypatch, capsys):
    from beamtagger.model import saving

    def read_only(path, *args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))

    # As `mount -o ro,bind` gives it: even unlinking the temporary file that was never made
    # fails with EROFS (a traceback naming .tagger.json.PID.tmp, exit 1).
    monkeypatch.setattr(saving, "open", read_only, raising=False)
    monkeypatch.setattr(pathlib.Path, "unlink", read_only)
    spec_file = pathlib.Path(flag_model, "tagger.json")
    before = spec_file.read_bytes()
    code = cli.main(["model", "set-threshold", flag_model, "0.3"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.strip().splitlines() == [
        f"beamtagger model: error: cannot write {spec_file}: Read-only file system"]
    assert spec_file.read_bytes() == before


def test_tagger_json_keeps_its_permissions(flag_model):
    from beamtagger.model.saving import set_threshold

    spec_file = pathlib.Path(flag_model, "tagger.json")
    spec_file.chmod(0o640)   # a model shared with a group; the new file took the umask's 0644
    previous_umask = os.umask(0o022)
    try:
        set_threshold(flag_model, 0.3)
    finally:
        os.umask(previous_umask)
    assert stat.S_IMODE(spec_file.stat().st_mode) == 0o640


def test_the_threshold_is_said_with_every_digit_and_minus_zero_is_zero(flag_model, capsys):
    assert cli.main(["model", "set-threshold", flag_model, "-0"]) == 0
    assert capsys.readouterr().out == f"{flag_model}: threshold 0.5 -> 0.0\n"
    spec = json.loads(pathlib.Path(flag_model, "tagger.json").read_text(encoding="utf-8"))
    assert "-0.0" not in json.dumps(spec["decoding"])
    assert cli.main(["model", "set-threshold", flag_model, "0.1234567"]) == 0
    assert capsys.readouterr().out == f"{flag_model}: threshold 0.0 -> 0.1234567\n"


def test_thresholds_past_the_sixth_digit_are_rows_of_their_own(binary_tagger, tmp_path, capsys):
    data = tmp_path / "dev.conll"
    data.write_text("Paris\tB-loc\nis\tO\nbig\tO\n\n", encoding="utf-8")
    code = cli.main(["evaluate", "--model", binary_tagger.model_dir, "--embeddings",
                     binary_tagger.store_path, "--data", str(data),
                     "--thresholds", "0.9999991,0.9999994,-0"])
    out, err = capsys.readouterr()
    assert code == 0, err
    shown = [line.split()[0] for line in out.splitlines()
             if line.split() and line.split()[0][:1].isdigit() and "tokens" not in line
             and "sentences" not in line]
    assert shown == ["0.9999991", "0.9999994", "0.0"], out


def test_model_info_says_the_best_epochs_score_is_at_the_threshold_training_used(
        binary_tagger, flag_model, capsys):
    report = pathlib.Path(flag_model, "training_report.json")
    report.write_text(json.dumps({"train": {"sentences": 10, "tokens": 90},
                                  "dev": {"sentences": 5, "tokens": 40}, "best_epoch": 2,
                                  "best_dev": {"dev_positive_f1": 0.3525},
                                  "epochs": [{}, {}, {}]}), encoding="utf-8")

    def best_epoch_line():
        assert cli.main(["model", "info", flag_model, "--embeddings",
                         binary_tagger.store_path]) == 0
        return [line for line in capsys.readouterr().out.splitlines()
                if line.startswith("best epoch")]

    assert best_epoch_line() == ["best epoch:    2 of 3 run: dev positive f1 35.25%"]
    assert cli.main(["model", "set-threshold", flag_model, "0.7"]) == 0
    capsys.readouterr()
    assert best_epoch_line() == ["best epoch:    2 of 3 run: dev positive f1 35.25% (at "
                                 "threshold 0.5; the model flags at 0.7 since)"]
