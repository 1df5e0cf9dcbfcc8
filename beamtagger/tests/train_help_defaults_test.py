"""``train --help`` gives the default of every option that has one: --aux-weight,
--decay-patience and --refit-dev-copies gave none, so a user could not tell what a run without
them trains with."""
import argparse

from beamtagger.pipeline.train_command import add_arguments


def test_every_train_option_with_a_default_value_gives_it_in_its_help():
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    formatter = parser._get_formatter()   # noqa: SLF001 (argparse's own %(default)s expansion)
    unsaid = {}
    for action in parser._actions:   # noqa: SLF001
        if not action.option_strings or action.default in (None, False, argparse.SUPPRESS):
            continue   # None: set by --preset or the network, whose help says so
        said = " ".join(formatter._expand_help(action).split())   # noqa: SLF001
        shown = (f"{action.default:g}" if isinstance(action.default, float)
                 else str(action.default))
        if f"default: {shown}" not in said:
            unsaid[action.option_strings[0]] = said
    assert unsaid == {}
