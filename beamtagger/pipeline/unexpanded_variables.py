"""Path arguments holding a shell variable that no shell expanded: ``--output '$OUT/run'`` in
single quotes (or from a script's config file) is read as given, and made a folder named
``$OUT`` in the working directory and wrote the run there, exit 0; ``--input '$DATA/*.txt'``
was "no input files match $DATA/*.txt", and ``--model '$HOME/m'`` "does not exist", neither
saying why. beamtagger does not expand them itself: a path that holds ``$`` is a valid name,
and one that is there (a folder really named ``$OUT``) is read as it is."""
import glob
import os
import re

__all__ = ["unexpanded_variable"]

# $NAME or ${NAME}, as POSIX shells expand them.
_VARIABLE = re.compile(r"\$(?:\{([A-Za-z_]\w*)\}|([A-Za-z_]\w*))")


def unexpanded_variable(path, *, written):
    """Why ``path`` names a variable of this environment, not expanded, where no file or
    folder of that name is there, else None.

    Args:
      path: a local path or pattern, as given.
      written: whether the command writes ``path`` (an output prefix, a folder it makes):
        its last component is not there yet whatever it holds, so only its folders count.
    """
    if "://" in path:
        return None
    # As the command reads it: '~/$tmp/x' names a folder $tmp in the home folder, which the
    # check looked for in a folder named ~ and refused.
    components = os.path.expanduser(path).split("/")
    for depth, component in enumerate(components[:-1] if written else components):
        for variable in _VARIABLE.finditer(component):
            name = variable.group(1) or variable.group(2)
            if name in os.environ and not _is_there("/".join(components[:depth + 1])):
                return (f"${name} is not expanded: the path is read as given, and the shell "
                        f"leaves ${name} as it is inside single quotes; write the path in "
                        "double quotes")
    return None


def _is_there(path):
    # A pattern is there where it matches something: --input 'in/$USER-*.txt' of files really
    # named $USER-1.txt is read as it is.
    return os.path.lexists(path) or bool(glob.glob(path))
