"""docs/library.md's recipe masking what a flag tagger flags runs verbatim and masks exactly
the characters of the tokens the model tags ``yes``."""
import shutil
import subprocess
import sys

import numpy as np

from beamtagger.model.saving import set_threshold
from beamtagger.testing import build_tiny_tagger
from beamtagger.tests.docs_examples_test import child_env, the_block

TEXT = "Ann Lee wrote to Acme about her order."   # the block's


def test_the_masking_recipe_masks_the_flagged_tokens(tmp_path):
    from beamtagger import Tagger

    built = build_tiny_tagger(tmp_path / "build", binary_label=("B-PER", "I-PER"))
    model = shutil.copytree(built.model_dir, tmp_path / "models" / "names")
    store = shutil.copytree(built.store_path, tmp_path / "stores" / "glove840")
    record = Tagger(str(model), str(store), runtime="numpy").tag(TEXT)
    p_yes = np.array([s if label == "yes" else 1 - s
                      for label, s in zip(record.labels, record.scores)])
    # An untrained model may flag every token or none at 0.5: flag some, not all.
    threshold = float(np.median(p_yes))
    set_threshold(model, threshold)
    flagged = p_yes >= threshold
    assert flagged.any() and not flagged.all()
    expected = list(TEXT)
    for start, end, yes in zip(record.starts, record.ends, flagged):
        if yes:
            expected[start:end] = "#" * (end - start)
    example = tmp_path / "example.py"
    example.write_text(the_block("docs/library.md", "In Python, without a pipeline: `Tagger`",
                                 "from beamtagger import Tagger"))
    completed = subprocess.run([sys.executable, str(example)], cwd=tmp_path, env=child_env(),
                               capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr[-3000:]
    masked, probabilities = completed.stdout.splitlines()
    assert masked == "".join(expected) and len(masked) == len(TEXT)
    assert probabilities == str([round(float(p), 2) for p in p_yes])
