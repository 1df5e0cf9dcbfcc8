"""train's presets as the user reads them (audit): docs/training.md's flag lists and train
--help hold the values of PRESETS, so that a preset changed in code shows where it is
described."""
import argparse
import re

import pytest

from beamtagger.pipeline.train_command import PRESETS, add_arguments
from beamtagger.tests.conftest import REPO_ROOT


def _documented_presets():
    """{preset: {dest: value}} of the flag lists in docs/training.md's presets paragraph."""
    text = (REPO_ROOT / "docs" / "training.md").read_text(encoding="utf-8")
    paragraph = text[text.index("`train` picks its tuning defaults"):]
    found = {}
    for name in PRESETS:
        flags = re.search(rf"\*\*{name}\*\* preset[^`]*`([^`]*)`", paragraph).group(1)
        found[name] = {}
        for flag, value in re.findall(r"--([a-z-]+)(?: ([^-\s][^\s]*))?", flags.replace("\n", " ")):
            found[name][flag.replace("-", "_")] = True if value == "" else value
    return found


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_the_documented_preset_values_are_the_code_s(name):
    documented = _documented_presets()[name]
    assert documented, name
    for dest, value in documented.items():
        expected = PRESETS[name][dest]
        assert (value is True and expected is True) or (
            value is not True and float(value) == float(expected)), (name, dest, value)


def test_help_gives_each_preset_value_of_the_code():
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    helps = {action.dest: action.help or "" for action in parser._actions}
    assert f"entity preset: {PRESETS['entity']['entity_drop']:g}" in helps["entity_drop"]
    for dest in ("units", "dropout", "batch_tokens", "patience"):
        assert ", ".join(f"{name} {PRESETS[name][dest]:g}" for name in PRESETS) in helps[dest]
