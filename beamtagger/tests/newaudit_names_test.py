"""What the CLI's help says of today's result keys is what the files hold (one name a thing):
the entity keys --output-format's help lists are the ones JSON Lines and Parquet write."""
import argparse

from beamtagger.pipeline import tag_command
from beamtagger.transforms.write_results import ENTITY_TYPE


def _help_of(option):
    parser = argparse.ArgumentParser()
    tag_command.add_arguments(parser)
    [action] = [a for a in parser._actions if option in a.option_strings]
    return " ".join(action.help.split())


def test_the_output_format_help_names_the_entity_keys_written():
    keys = ", ".join(field.name for field in ENTITY_TYPE)
    assert keys == "text, start, end, label, score"
    assert f"its entities: {keys})" in _help_of("--output-format")
