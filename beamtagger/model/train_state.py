"""A training's state kept beside its model directory, so that a killed ``beamtagger train``
resumes at the first epoch it had not finished (Keras's ``BackupAndRestore``, for a training
that is more than one ``fit``).

The state lives in the folder ``.NAME.train-state`` beside the model directory ``NAME``, named
as the other things kept beside an output (``.NAME.tag-lock``, ``atomic_dirs``' hidden folders;
those clean-ups leave it alone). It holds one file, ``state.npz``, rewritten after every epoch:
written beside it under a temporary name, synced and renamed over it, so a kill during the
write leaves the previous epoch's state whole. The folder goes once the model is written.

A state holds what the remaining epochs depend on: every variable of the trained model (the
dropout layers' seed generators included, so the random streams go on where they stopped), the
optimizer's (slots, iterations, the learning rate after its decays, the EMA weights),
``DevEvaluation``'s (best score, best epoch and its weights, the bad-epoch count), whether EMA
weights are in place (the raw ones then in the optimizer's averages, after the last epoch too:
``training.ResumableSwapEMAWeights``), the epochs done and the phase (the first training or the
refit, with the first's report). The epoch number seeds the shuffling, word drop and lower-casing streams.

A state is resumed only by the same training: the same beamtagger version, data (by content),
embedding store and options, but for ``--epochs`` where the epochs done are the first ones of
the new bound's run (``TrainingState._check_epochs_change``). Any other run is refused in one line naming what differs, never
mixed with it nor discarded silently: the state may be hours of training that a mistyped flag
would otherwise throw away; ``--restart`` discards it.
"""
import contextlib
import dataclasses
import hashlib
import io
import json
import os
import pathlib
import zipfile

import keras
import numpy as np

from beamtagger import __version__, atomic_dirs
from beamtagger.errors import BeamtaggerError, os_error_text
# Defined beside the model's other file names, which model info reads without Keras.
from beamtagger.model.tagger_spec import state_folder  # noqa: F401 (train_state's own name)

STATE_FILE = "state.npz"
_FORMAT = 1
_META = "meta"
# Marks a state written since 2026-12-06 (``training.ResumableSwapEMAWeights``): with --ema, its
# last epoch's state keeps the raw weights the next epoch trains on. The states written before
# (same format and version) hold the averages there instead, so only a state with this mark may
# be extended past the epochs its run was planned for (``_check_raw_weights_kept``).
_RAW_WEIGHTS_KEPT = "last_epoch_keeps_raw_weights"
_RESTART = "add --restart to discard it and start over"
# Not options of the run: how much it prints changes nothing it learns.
_NOT_FINGERPRINTED = ("verbose",)
_DATA_NAMES = {"train": "the training corpus (--train, --limit)",
               "dev": "the dev corpus (--dev, --dev-sentences)",
               "aux": "the auxiliary tags (--aux-column)",
               "store": "the embedding store (--embeddings)",
               "binary": "--binary-label", "tag_column": "--tag-column",
               "init_from": "--init-from (the model it starts from, by its digests)"}


def _sentences_digest(sentences):
    if sentences is None:
        return None
    digest = hashlib.sha256()
    for sentence in sentences:
        digest.update(json.dumps([sentence.tokens, sentence.tags]).encode("utf-8"))
    return digest.hexdigest()


def training_fingerprint(config, train_sentences, dev_sentences, aux_sentences, store_binding,
                         binary, tag_column, starting_record=None):
    """What makes two runs the same training, as JSON values: the data by content, the store's
    binding (``TaggerSpec.binding_of``), the options and, for a fine-tune, the model it starts
    from by its digests (``starting_record``: the same folder trained again since is another
    start). Without one the key is left out, so states saved before it resume."""
    options = {key: value for key, value in json.loads(json.dumps(
        dataclasses.asdict(config))).items() if key not in _NOT_FINGERPRINTED}
    fingerprint = {"train": _sentences_digest(train_sentences),
                   "dev": _sentences_digest(dev_sentences),
                   "aux": _sentences_digest(aux_sentences), "store": store_binding,
                   "binary": list(binary.patterns) if binary is not None else None,
                   "tag_column": tag_column, "options": options}
    if starting_record is not None:
        fingerprint["init_from"] = {key: starting_record[key] for key in
                                    ("tagger_json_sha256", "model_file_sha256")}
    return fingerprint


def _epochs(fingerprint):
    return fingerprint.get("options", {}).get("epochs")


def _without_epochs(fingerprint):
    """The fingerprint less --epochs, which a resumed run may change (``_check_epochs_change``)."""
    options = {k: v for k, v in fingerprint.get("options", {}).items() if k != "epochs"}
    return {**fingerprint, "options": options}


def _flag(key, value):
    if key == "viterbi":
        return "--no-viterbi" if not value else "(no --no-viterbi)"
    if isinstance(value, bool):
        return f"--{'' if value else 'no-'}{key.replace('_', '-')}"
    return f"--{key.replace('_', '-')} {value}"


def describe_difference(saved, current):
    """What differs between two fingerprints, in the words of the command line."""
    differences = [_DATA_NAMES[key] for key in _DATA_NAMES if saved.get(key) != current.get(key)]
    theirs, ours = saved.get("options", {}), current.get("options", {})
    for key in sorted(set(theirs) | set(ours)):
        if theirs.get(key) == ours.get(key):
            continue
        if key not in theirs:
            # An option recorded since (--threads): "the state's run: --threads None" named a
            # flag no command takes.
            differences.append(f"{_flag(key, ours[key])} (the state's run recorded no "
                               f"--{key.replace('_', '-')}: an earlier beamtagger's)")
        else:
            differences.append(f"{_flag(key, ours.get(key))} (the state's run: "
                               f"{_flag(key, theirs.get(key))})")
    return ", ".join(differences)


@dataclasses.dataclass
class Snapshot:
    """A state read back: ``meta`` (JSON values) and ``arrays`` ({group: [arrays]})."""
    meta: dict
    arrays: dict

    @property
    def phase(self):
        return self.meta["phase"]

    @property
    def epochs_done(self):
        return self.meta["epochs_done"]


class TrainingState:
    """The state folder of one training: read it back (``resume``), write it after each epoch
    (``save``), remove it once the model is written (``discard``).

    A state that cannot be written (a full disk) is reported in one line and training goes on:
    the backup exists to spare work, and a run stopped for it would lose the very epochs it
    was to keep; the previous epoch's state stays whole and resumable.
    """

    def __init__(self, folder, restart=False, log=print, data_note=None, threads=None):
        """``data_note``: said where a state is refused for its data (the corpora, as read)
        when this run reads the same files otherwise than an earlier beamtagger did.
        ``threads``: TensorFlow's intra-op thread count this run trains on (``train
        --threads``, else its default here), part of what a resumed run must match: the
        weights depend on it (``training_threads``), and a run resumed on another count (or
        on another machine's default) was neither the uninterrupted run's nor one the report's
        single count described."""
        self.folder, self.restart, self.log = pathlib.Path(folder), bool(restart), log
        self.data_note = data_note
        self.threads = threads
        self.fingerprint = None
        self.saved_epochs = None   # the epochs done in the state on disk, once read or written

    @property
    def path(self):
        return self.folder / STATE_FILE

    def resume(self, fingerprint):
        """The saved Snapshot to go on from, or None (no state, or ``restart``); a state of
        another training, another version or an unreadable one is a BeamtaggerError."""
        if self.threads is not None:
            fingerprint = {**fingerprint, "options": {**fingerprint.get("options", {}),
                                                      "threads": self.threads}}
        self.fingerprint = fingerprint
        odd = self._not_a_folder()
        if odd and not self.restart:
            # Written through a link, the state went into the folder it names; removed, the
            # link (or a file) was renamed aside and left there, the state left behind.
            raise BeamtaggerError(f"the training state {self.folder} is {odd}, not a folder "
                                  f"train wrote; remove it, or {_RESTART}")
        if self.restart:
            if os.path.lexists(self.folder):
                self.discard()
                self.log(f"discarded the training state in {self.folder} (--restart)")
            return None
        for torn in self.folder.glob(f"{STATE_FILE}.writing-*"):   # a run killed mid-write
            with contextlib.suppress(OSError):
                torn.unlink()
        if not self.path.exists():
            return None
        snapshot = self._read()
        meta = snapshot.meta
        self.saved_epochs = snapshot.epochs_done
        if meta.get("format") != _FORMAT or meta.get("beamtagger") != __version__:
            raise BeamtaggerError(
                f"the training state in {self.folder} was written by beamtagger "
                f"{meta.get('beamtagger', '(unknown)')}, this is {__version__}; {_RESTART}")
        saved = meta.get("fingerprint") or {}
        if _without_epochs(saved) != _without_epochs(fingerprint):
            data_differs = any(saved.get(key) != fingerprint.get(key)
                               for key in ("train", "dev", "aux"))
            if self.data_note and data_differs:
                # Rerunning the command that wrote a state saved before the files were read
                # as they are now meets this refusal again: --restart comes first.
                advice = (f"{self.data_note}; {_RESTART}, or, for a state saved since, rerun "
                          "the command that wrote it to resume it")
            else:
                advice = f"rerun the command that wrote it to resume it, or {_RESTART}"
            raise BeamtaggerError(
                f"the training state in {self.folder} is another training's: it differs in "
                f"{describe_difference(saved, fingerprint)}; {advice}")
        epochs, saved_epochs = _epochs(fingerprint), _epochs(saved)
        if epochs != saved_epochs:
            self._check_epochs_change(snapshot, saved_epochs, epochs)
            self.log(f"--epochs {epochs} (the state's run: --epochs {saved_epochs}): its "
                     f"epochs done are the first of this run's")
        # The first training's bound is this run's --epochs; the refit's, the best epoch.
        total = epochs if snapshot.phase == "first" else meta["epochs_total"]
        what = "the refit" if snapshot.phase == "refit" else "the training"
        if meta["stopped"] or snapshot.epochs_done >= total:
            self.log(f"resuming {what} after its last epoch ({snapshot.epochs_done} of {total}) "
                     f"from the state in {self.folder}")
        else:
            self.log(f"resuming {what} at epoch {snapshot.epochs_done + 1} of {total} from the "
                     f"state in {self.folder}")
        return snapshot

    def _check_epochs_change(self, snapshot, saved_epochs, epochs):
        """BeamtaggerError unless the state's epochs are the first ones of a run of ``epochs``.

        Nothing in an epoch depends on --epochs (the epoch number seeds its streams; no
        schedule looks at the total), so a run of N epochs is, epoch by epoch, the first N of
        a longer one: a resumed run may go on to another bound, and ends as the uninterrupted
        run of the new command would. Not where the state has gone past the new bound, nor in
        the refit when the first training ran to its old bound: with another one it would
        have stopped elsewhere and chosen another epoch count for the refit."""
        if snapshot.phase == "first":
            done = snapshot.epochs_done
            if done <= epochs:
                self._check_raw_weights_kept(snapshot, saved_epochs)
                return
            reason = f"it has trained {done} epochs, more than --epochs {epochs}"
        else:
            first = len(snapshot.meta["first_report"]["epochs"])
            if first < saved_epochs and first <= epochs:
                return   # stopped early: a run of --epochs epochs stops there too
            reason = (f"its refit trains the best of the first training's {first} epochs, "
                      f"which --epochs {epochs} would not have ended at")
        raise BeamtaggerError(
            f"the training state in {self.folder} is of a run of --epochs {saved_epochs}: "
            f"{reason}; rerun with --epochs {saved_epochs} to resume it, or {_RESTART}")

    def _check_raw_weights_kept(self, snapshot, saved_epochs):
        """BeamtaggerError where an EMA run's state of its last epoch, written before
        ``_RAW_WEIGHTS_KEPT`` existed, would train on: Keras's swap had copied the averaged
        weights over the raw ones in it, so the next epoch would start from the averages, a
        model other than the one the command writes uninterrupted. The same ``--epochs``
        trains no epoch more from it, and an unfinished run's states kept the raw weights."""
        meta = snapshot.meta
        ema = (meta.get("fingerprint") or {}).get("options", {}).get("ema")
        if meta.get(_RAW_WEIGHTS_KEPT) or not ema or meta["stopped"] \
                or snapshot.epochs_done < saved_epochs:
            return
        raise BeamtaggerError(
            f"the training state in {self.folder} is of an --ema run that finished its "
            f"--epochs {saved_epochs}, written by a beamtagger of before 2026-12-06 that kept "
            f"the averaged weights in place of the raw ones the next epochs train on; rerun "
            f"with --epochs {saved_epochs} to end that run, or {_RESTART}")

    def _read(self):
        try:
            with np.load(self.path, allow_pickle=False) as stored:
                meta = json.loads(stored[_META].tobytes().decode("utf-8"))
                arrays = {}
                for name in stored.files:
                    if name != _META:
                        group, index = name.rsplit("/", 1)
                        arrays.setdefault(group, {})[int(index)] = stored[name]
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile,
                UnicodeDecodeError) as error:
            reason = os_error_text(error) if isinstance(error, OSError) else str(error)
            raise BeamtaggerError(f"the training state {self.path} is unreadable ({reason}); "
                                  f"{_RESTART}") from None
        if not isinstance(meta, dict) or not {"phase", "epochs_done", "epochs_total",
                                              "stopped"} <= set(meta):
            raise BeamtaggerError(f"the training state {self.path} is unreadable (its "
                                  f"description is incomplete); {_RESTART}")
        return Snapshot(meta, {group: [by_index[i] for i in sorted(by_index)]
                               for group, by_index in arrays.items()})

    def save(self, meta, arrays):
        """Replaces the state with ``meta`` (JSON values) and ``arrays`` ({group: [arrays]});
        True if written, False (after one line saying why) if not."""
        meta = {"format": _FORMAT, "beamtagger": __version__, "fingerprint": self.fingerprint,
                **meta, _RAW_WEIGHTS_KEPT: True}
        named = {f"{group}/{i}": np.asarray(value) for group, values in arrays.items()
                 for i, value in enumerate(values)}
        named[_META] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
        temporary = self.folder / f"{STATE_FILE}.writing-{os.getpid()}"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with open(temporary, "wb") as stream:
                buffer = io.BufferedWriter(stream, 1 << 20)
                np.savez(buffer, **named)
                buffer.flush()
                os.fsync(stream.fileno())
            os.replace(temporary, self.path)
            atomic_dirs.fsync_directory(self.folder)
        except OSError as error:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            kept = (f"its state after epoch {self.saved_epochs} is kept, a killed run resumes "
                    "from there" if self.saved_epochs else "no state is kept")
            self.log(f"warning: could not write the training state after epoch "
                     f"{meta['epochs_done']} to {self.folder}: {os_error_text(error)}; training "
                     f"goes on ({kept})")
            return False
        self.saved_epochs = meta["epochs_done"]
        return True

    def _not_a_folder(self):
        if self.folder.is_symlink():
            return "a symbolic link"
        if self.folder.exists() and not self.folder.is_dir():
            return "a file"
        return None

    def discard(self):
        """Removes the state folder (the model is written, or ``--restart``)."""
        if not os.path.lexists(self.folder):
            return
        try:
            if self._not_a_folder():
                os.unlink(self.folder)
            else:
                atomic_dirs.remove(self.folder)
        except OSError as error:
            self.log(f"warning: could not remove the training state {self.folder}: "
                     f"{os_error_text(error)}; remove it, or the next training of this model "
                     "directory will be refused or resume from it")



def _assign(variables, values, what, path):
    if len(values) != len(variables) or any(
            tuple(v.shape) != tuple(value.shape) for v, value in zip(variables, values)):
        raise BeamtaggerError(f"the training state {path} does not fit this training's {what} "
                              f"({len(values)} arrays for {len(variables)} variables); "
                              f"{_RESTART}")
    for variable, value in zip(variables, values):
        variable.assign(value)


class KeepTrainingState(keras.callbacks.Callback):
    """Saves the training's state after each epoch; ``restore`` puts a saved one back.

    Place it after every callback whose end-of-epoch work the state must hold (the EMA swap,
    ``DevEvaluation``, the loss record). ``history`` is the list of epoch records the report
    gives; ``dev_evaluation`` (None in the refit) has ``saved_state``/``restore_state``;
    ``first_report`` is the first training's report, kept while the refit runs.
    """

    def __init__(self, state, phase, epochs_total, history, dev_evaluation=None, swap_ema=None,
                 first_report=None, seconds=lambda: 0.0):
        super().__init__()
        self.state, self.phase, self.epochs_total = state, phase, int(epochs_total)
        self.history, self.dev_evaluation, self.swap_ema = history, dev_evaluation, swap_ema
        self.first_report, self.seconds = first_report, seconds

    def restore(self, model, snapshot):
        """Puts ``snapshot`` back into ``model`` (compiled, not yet fitted) and the callbacks;
        returns ``(initial_epoch, epochs)`` for ``fit``: no epoch at all when the saved run had
        finished them or had stopped early."""
        model.optimizer.build(model.trainable_variables)  # fit would build it the same way
        _assign(model.variables, snapshot.arrays.get("model", []), "model", self.state.path)
        _assign(model.optimizer.variables, snapshot.arrays.get("optimizer", []), "optimizer",
                self.state.path)
        self.history[:] = snapshot.meta["history"]
        if self.dev_evaluation is not None:
            self.dev_evaluation.restore_state(snapshot.meta["dev"], snapshot.arrays)
        if self.swap_ema is not None:
            # The swap keeps in this attribute whether the averages are in the model (they are
            # after every epoch's end, the raw weights then in the optimizer's averages, the
            # last epoch's too: ResumableSwapEMAWeights), and swaps them out at the next
            # epoch's start.
            self.swap_ema._ema_weights_in_model = snapshot.meta["ema_weights_in_model"]
        done = snapshot.epochs_done
        return done, done if snapshot.meta["stopped"] else self.epochs_total

    def on_epoch_end(self, epoch, logs=None):
        meta = {"phase": self.phase, "epochs_done": epoch + 1, "epochs_total": self.epochs_total,
                "stopped": bool(self.model.stop_training), "history": self.history,
                "first_report": self.first_report, "seconds": self.seconds(),
                "ema_weights_in_model": bool(self.swap_ema is not None
                                             and self.swap_ema._ema_weights_in_model)}
        arrays = {"model": [keras.ops.convert_to_numpy(v) for v in self.model.variables],
                  "optimizer": [keras.ops.convert_to_numpy(v)
                                for v in self.model.optimizer.variables]}
        if self.dev_evaluation is not None:
            meta["dev"], dev_arrays = self.dev_evaluation.saved_state()
            arrays.update(dev_arrays)
        self.state.save(meta, arrays)
