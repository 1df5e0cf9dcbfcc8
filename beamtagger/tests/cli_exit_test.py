"""The ``beamtagger`` executable exits without interpreter teardown but loses no output."""
import subprocess
import sys


def test_piped_output_and_exit_code_survive_the_fast_exit(tmp_path):
    # Piped streams are block-buffered: without the flush before os._exit this message is lost.
    done = subprocess.run(
        [sys.executable, "-m", "beamtagger", "tag", "--input", str(tmp_path / "none-*.txt"),
         "--output", str(tmp_path / "out" / "r"), "--progress-every", "0"],
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    assert "no input files match" in done.stderr
    assert not (tmp_path / "out").exists()
