"""``beamtagger tag`` refuses, in one line and before anything runs, options it would misread:
each of these was a traceback from inside Beam, or a run that silently did something else."""
import glob
import gzip
import os
import socket
import time

import pytest

from beamtagger.pipeline import tag_command, tag_inputs, tag_outputs
from beamtagger.tests.conftest import run_tag_command as tag


def refused(capsys, tiny_tagger, text_in, output, *extra):
    code, _, err = tag(capsys, "--input", str(text_in), "--output", str(output),
                       "--model", tiny_tagger.model_dir, "--embeddings", tiny_tagger.store_path,
                       *extra)
    assert code == 2, err
    (line,) = err.strip().splitlines()   # one line: no traceback, no usage before it
    return line


@pytest.mark.parametrize("extra,message", [
    # Beam's PipelineOptions logs "Discarding unparseable args" and runs with the defaults:
    # this wrote JSON Lines in the runner's shards, exit 0.
    (["--output-fromat", "parquet"], "--output-fromat parquet (did you mean --output-format?)"),
    (["--num_shards", "3"], "--num_shards 3 (did you mean --num-shards?)"),
    (["stray"], "stray"),
])
def test_arguments_neither_tag_nor_beam_knows_are_refused(tiny_tagger, text_in, tmp_path, capsys,
                                                          extra, message):
    line = refused(capsys, tiny_tagger, text_in, tmp_path / "out" / "r", *extra)
    assert "unrecognized arguments" in line and line.endswith(message), line
    assert not (tmp_path / "out").exists()


def test_beam_pipeline_options_still_pass(tiny_tagger, text_in, tmp_path, capsys):
    code, _, err = tag(capsys, "--input", str(text_in), "--output", str(tmp_path / "r"),
                       "--model", tiny_tagger.model_dir, "--embeddings", tiny_tagger.store_path,
                       "--runner=DirectRunner", "--direct_num_workers", "1")
    assert code == 0, err


@pytest.mark.parametrize("runner,message", [
    ("BogusRunner", "unknown --runner BogusRunner"),
    ("no_such_module.SomeRunner", "its module no_such_module is not installed"),
    # The fuzzing of tag's arguments found these tracebacks (exit 1) once the pipeline ran: a
    # module without that name (AttributeError), a name of something that is no runner
    # (TypeError, AttributeError), Beam's abstract base (NotImplementedError), and Interactive
    # Beam's runner, which finds its pipeline only in a notebook's session (AttributeError).
    ("apache_beam.NoSuchRunner", "--runner apache_beam.NoSuchRunner: its module apache_beam "
                                 "has no NoSuchRunner"),
    ("os.system", "--runner os.system: not a Beam runner"),
    ("os.getcwd", "--runner os.getcwd: not a Beam runner"),
    ("apache_beam.pipeline.Pipeline", "--runner apache_beam.pipeline.Pipeline: not a Beam "
                                      "runner"),
    ("apache_beam.runners.runner.PipelineRunner", "--runner "
     "apache_beam.runners.runner.PipelineRunner: not a Beam runner"),
    ("InteractiveRunner", "--runner InteractiveRunner runs pipelines in a notebook"),
    # Without --streaming its batch mode failed reading the input: a KeyError traceback, exit 1
    # (with --streaming it runs, as a local streaming run without --runner does).
    ("BundleBasedDirectRunner", "--runner BundleBasedDirectRunner runs tag's pipeline only with "
                                "--streaming; leave --runner out for a batch run on this machine"),
    # The check calls a function as Beam would: sys.exit() ended the run there, exit status 0,
    # nothing said and nothing tagged (as Beam's own call did before the check).
    ("sys.exit", "--runner sys.exit: not a Beam runner (a subclass of "
                 "apache_beam.runners.runner.PipelineRunner, or a function that returns one): "
                 "exit() exited"),
])
def test_a_runner_beam_cannot_create_is_refused(tiny_tagger, text_in, tmp_path, capsys, runner,
                                                message):
    # Beam raised a ValueError (or ImportError) traceback once the pipeline was built.
    line = refused(capsys, tiny_tagger, text_in, tmp_path / "out" / "r", f"--runner={runner}")
    assert message in line, line
    assert not (tmp_path / "out").exists()


def test_a_function_that_returns_a_runner_still_runs(tiny_tagger, text_in, tmp_path, capsys,
                                                     monkeypatch):
    # Beam's create_runner calls whatever --runner's dotted name holds and runs the pipeline on
    # what it returns: a factory function ran, until the check of 2998753 refused every name
    # that was no PipelineRunner subclass ("not a Beam runner").
    (tmp_path / "site_runners.py").write_text(
        "from apache_beam.runners.portability.fn_api_runner import FnApiRunner\n"
        "def in_process():\n"
        "    return FnApiRunner()\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    code, _, err = tag(capsys, "--input", str(text_in), "--output", str(tmp_path / "out" / "r"),
                       "--model", tiny_tagger.model_dir, "--embeddings", tiny_tagger.store_path,
                       "--runner=site_runners.in_process")
    assert code == 0, err
    assert glob.glob(str(tmp_path / "out" / "r-*.jsonl"))


@pytest.mark.parametrize("cloud,message", [
    (["--project=p", "--region=us-central1", "--temp_location=gs://beamtagger-test/tmp"],
     "Dataflow options: Invalid Project ID (p)"),
    (["--project=beamtagger-test", "--temp_location=gs://beamtagger-test/tmp"],
     "Dataflow options: Missing required option: region"),
    (["--project=beamtagger-test", "--region=us-central1", "--temp_location=gs://b/t"],
     "Dataflow options: Invalid GCS bucket (gs://b/t), given for the option: temp_location"),
    (["--project=beamtagger-test", "--region=us-central1", "--temp_location=/tmp/x"],
     "Dataflow options: Invalid GCS path (/tmp/x), given for the option: temp_location"),
])
def test_dataflow_options_beam_would_refuse_are_refused_first_and_offline(
        tiny_tagger, tmp_path, capsys, monkeypatch, cloud, message):
    # Beam checks them when the pipeline is made: after the model, the store and a listing of
    # the gs:// input (two minutes without a network), as a ValueError traceback; a malformed
    # --temp_location first sent it looking online for a default bucket.
    from apache_beam.io.gcp import gcsfilesystem

    def online(*_args, **_kwargs):
        raise AssertionError("went online")

    monkeypatch.setattr(gcsfilesystem.GCSFileSystem, "match", online)
    code, _, err = tag(capsys, "--input", "gs://beamtagger-test/in/*.txt", "--output",
                       "gs://beamtagger-test/out/r", "--runner=DataflowRunner", "--dry_run=True",
                       "--no_auth", *cloud)
    assert code == 2 and "Traceback" not in err, err
    line = err.strip().splitlines()[-1]
    assert line.startswith("beamtagger tag: error: " + message), line


@pytest.mark.parametrize("staging,message", [
    (["--setup_file", "nosuch/setup.py"], "--setup_file nosuch/setup.py: no such file"),
    (["--setup_file", "README.md"], "--setup_file README.md: Beam builds the workers' package "
     "from a file named setup.py or pyproject.toml"),
    (["--requirements_file", "nosuch.txt"], "--requirements_file nosuch.txt: no such file"),
    (["--extra_package", "nosuch.whl"], "--extra_package nosuch.whl: no such file"),
])
def test_files_to_stage_for_dataflow_workers_that_are_not_there_are_refused_first(
        tmp_path, capsys, monkeypatch, staging, message):
    # Beam's stager raised a RuntimeError traceback for each, once the job was built: after
    # the model, the store and a listing of the gs:// input.
    from apache_beam.io.gcp import gcsfilesystem

    def online(*_args, **_kwargs):
        raise AssertionError("went online")

    monkeypatch.setattr(gcsfilesystem.GCSFileSystem, "match", online)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "README.md").write_text("not a build file\n")
    code, _, err = tag(capsys, "--input", "gs://beamtagger-test/in/*.txt", "--output",
                       "gs://beamtagger-test/out/r", "--runner=DataflowRunner", "--dry_run=True",
                       "--no_auth", "--project=beamtagger-test", "--region=us-central1",
                       "--temp_location=gs://beamtagger-test/tmp", *staging)
    assert code == 2 and "Traceback" not in err, err
    assert err.strip().splitlines()[-1] == "beamtagger tag: error: " + message


@pytest.mark.parametrize("option", [
    "--dataflow_service_options=worker_accelerator=type:nvidia-l4;count:1;install-nvidia-driver",
    "--experiments=worker_accelerator=type:nvidia-l4;count:1;install-nvidia-driver",
])
def test_gpus_on_every_worker_and_on_the_tag_stage_only_are_refused_together(
        capsys, monkeypatch, option):
    # docs/dataflow.md says not to combine them; the job was submitted with GPUs on every
    # worker, reading and writing ones too.
    from apache_beam.io.gcp import gcsfilesystem

    def online(*_args, **_kwargs):
        raise AssertionError("went online")

    monkeypatch.setattr(gcsfilesystem.GCSFileSystem, "match", online)
    code, _, err = tag(capsys, "--input", "gs://beamtagger-test/in/*.txt", "--output",
                       "gs://beamtagger-test/out/r", "--runner=DataflowRunner", "--dry_run=True",
                       "--no_auth", "--project=beamtagger-test", "--region=us-central1",
                       "--temp_location=gs://beamtagger-test/tmp", "--tagger-accelerator",
                       "type:nvidia-l4;count:1;install-nvidia-driver", option)
    assert code == 2 and "Traceback" not in err, err
    line = err.strip().splitlines()[-1]
    assert line.startswith(f"beamtagger tag: error: {option.split('=')[0]}=worker_accelerator"
                           "=... puts GPUs on every worker"), line


def test_a_setup_file_named_without_its_folder_is_staged(monkeypatch):
    # "--setup_file setup.py" failed the Dataflow submission with "No such file or directory":
    # Beam's stager changes into os.path.dirname("setup.py"), which is "".
    from apache_beam.options.pipeline_options import PipelineOptions, SetupOptions

    from beamtagger.pipeline.pipeline_args import staged_files_problem
    from beamtagger.pipeline.tag_pipeline import TagJob, run_tag_job
    from beamtagger.tests.conftest import REPO_ROOT

    monkeypatch.chdir(REPO_ROOT)
    options = PipelineOptions([
        "--runner=DataflowRunner", "--dry_run=True", "--project=beamtagger-test",
        "--region=us-central1", "--temp_location=gs://beamtagger-test/tmp", "--no_auth",
        "--setup_file", "setup.py"])
    assert staged_files_problem(options) is None
    assert options.view_as(SetupOptions).setup_file == str(REPO_ROOT / "setup.py")
    result, _ = run_tag_job(TagJob("gs://beamtagger-test/in/*.txt",
                                   "gs://beamtagger-test/out/r"), options)
    assert result.state == "DONE"


def test_the_portable_runner_without_a_job_endpoint_is_refused(tiny_tagger, text_in, tmp_path,
                                                               capsys):
    # Beam raised NotImplementedError (a traceback) once the pipeline ran.
    line = refused(capsys, tiny_tagger, text_in, tmp_path / "out" / "r", "--runner=PortableRunner")
    assert line.endswith("--runner=PortableRunner needs --job_endpoint: the address of a "
                         "running job service (host:port), or embed to start one in this "
                         "process"), line
    assert not (tmp_path / "out").exists()


def test_a_job_endpoint_nobody_answers_at_is_one_line(tiny_tagger, text_in, tmp_path, capsys):
    # grpc.FutureTimeoutError's traceback after --job_server_timeout (300 s by default).
    code, out, err = tag(capsys, "--input", str(text_in), "--output", str(tmp_path / "out" / "r"),
                         "--model", tiny_tagger.model_dir, "--embeddings",
                         tiny_tagger.store_path, "--runner=PortableRunner",
                         "--job_endpoint=localhost:1", "--job_server_timeout=1",
                         "--environment_type=LOOPBACK")
    assert code == 1 and "Traceback" not in err, err
    assert err.strip().splitlines() == [
        "beamtagger tag: error: no job service answered at --job_endpoint localhost:1 within "
        "1 s (--job_server_timeout); start it, or use --job_endpoint=embed for one in this "
        "process"]
    assert "records read" not in out and not glob.glob(str(tmp_path / "out" / "r-*"))


def test_a_job_endpoint_nothing_listens_at_is_refused_before_launch(tiny_tagger, text_in,
                                                                    tmp_path, capsys):
    # Without --job_server_timeout, Beam waited its default 300 s before the line above.
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    started = time.monotonic()
    line = refused(capsys, tiny_tagger, text_in, tmp_path / "out" / "r",
                   "--runner=PortableRunner", f"--job_endpoint=127.0.0.1:{port}",
                   "--environment_type=LOOPBACK")
    assert time.monotonic() - started < 10
    assert line.startswith(f"beamtagger tag: error: --job_endpoint 127.0.0.1:{port}: nothing "
                           "accepts a connection there (Connection refused); start the job "
                           "service first, or give --job_endpoint=embed"), line
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("prefix", ["", "out/", ".", "out/.."])
def test_an_output_prefix_that_names_no_file_is_refused(tiny_tagger, text_in, tmp_path, capsys,
                                                       monkeypatch, prefix):
    # "" and "out/" wrote files named by their shard alone ("-00000-of-00001.jsonl").
    monkeypatch.chdir(tmp_path)
    (tmp_path / "out").mkdir()
    line = refused(capsys, tiny_tagger, text_in, prefix)
    assert "give a prefix of file names" in line, line
    assert os.listdir(tmp_path / "out") == []


def test_an_output_prefix_that_is_a_folder_is_refused(tiny_tagger, text_in, tmp_path, capsys,
                                                     monkeypatch):
    # Beam's sinks take it as a prefix of file names: --output ~ wrote
    # /root-00000-of-00001.jsonl, beside the home folder, and exited 0.
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "home").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "home")
    for given, prefix in (("~", tmp_path / "home"), ("link", "link")):
        line = refused(capsys, tiny_tagger, text_in, given)
        assert line == (f"beamtagger tag: error: --output {prefix} is a folder, and its files "
                        f"would be written beside it ({prefix}-00000-of-00001.jsonl); give a "
                        f"prefix of file names inside it, such as {prefix}/run"), line
    code, _, err = tag(capsys, "--input", str(text_in), "--output", "link", "--output-format",
                       "parquet", "--model", f"a={tiny_tagger.model_dir}", "--model",
                       f"b={tiny_tagger.model_dir}", "--embeddings", tiny_tagger.store_path)
    assert code == 2 and "--output link is a folder, and its files would be written beside it " \
        "(link-a-00000-of-00001.parquet)" in err, err
    assert sorted(os.listdir(tmp_path)) == ["home", "in.txt", "link"]   # nothing written


def test_an_output_folder_in_a_folder_this_user_cannot_write_is_refused_as_a_folder(
        tiny_tagger, text_in, tmp_path, capsys, monkeypatch):
    # --output ~ of a user who may not write in /home: the lock beside the prefix came first,
    # "--output /home/me cannot be created: the folder /home is not writable".
    real_access = os.access

    def access(path, mode, **kwargs):
        return not (str(path) == str(tmp_path) and mode & os.W_OK) and real_access(
            path, mode, **kwargs)

    monkeypatch.setattr(os, "access", access)   # root writes anywhere: a user would not
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    line = refused(capsys, tiny_tagger, text_in, "~")
    assert line.startswith(f"beamtagger tag: error: --output {tmp_path / 'home'} is a folder, "
                           "and its files would be written beside it"), line


def test_an_earlier_runs_files_beside_an_output_folder_are_an_earlier_runs(
        tiny_tagger, text_in, tmp_path, capsys, monkeypatch):
    # Written beside the folder before it was refused: a rerun names them as any earlier run's
    # (the folder's line had a nightly --overwrite rerun move its results elsewhere), and
    # --overwrite replaces them.
    from beamtagger.pipeline.tag_pipeline import TagJob

    monkeypatch.chdir(tmp_path)
    (tmp_path / "out").mkdir()
    (tmp_path / "out-00000-of-00001.jsonl").write_text("{}\n", encoding="utf-8")
    line = refused(capsys, tiny_tagger, text_in, "out")
    assert line.startswith("beamtagger tag: error: --output out already holds the files of an "
                           "earlier run (./out-00000-of-00001.jsonl)"), line
    job = TagJob(str(text_in), "out", model_dir=tiny_tagger.model_dir,
                 store_path=tiny_tagger.store_path)
    tag_outputs.check_output_not_a_folder(job, {None: job})   # before the lock: taken
    assert tag_command.check_job(job, overwrite=True) == ["./out-00000-of-00001.jsonl"]
    # Set aside by a killed --overwrite rerun: the next run puts them back, after this check.
    (tmp_path / ".out.tag-replaced").mkdir()
    (tmp_path / "out-00000-of-00001.jsonl").rename(
        tmp_path / ".out.tag-replaced" / "out-00000-of-00001.jsonl")
    tag_outputs.check_output_not_a_folder(job, {None: job})


def test_an_output_folder_is_refused_without_walking_the_folder_beside_it(
        tiny_tagger, text_in, tmp_path, monkeypatch):
    # Beam's matching of a local pattern walks its folder's whole tree: for --output ~ the
    # earlier run's files were looked for in all of / (5 walks of /usr's 117k files: 10 s).
    from beamtagger.pipeline.tag_pipeline import TagJob

    def walked(*_args, **_kwargs):
        raise AssertionError("Beam's matching walked the folder beside the prefix")

    monkeypatch.setattr(tag_outputs, "list_outputs", walked)
    job = TagJob(str(text_in), str(tmp_path), model_dir=tiny_tagger.model_dir,
                 store_path=tiny_tagger.store_path)
    with pytest.raises(tag_command.BeamtaggerError, match=" is a folder, and its files would "):
        tag_command.check_job(job)


def test_a_backslash_in_the_output_file_name_is_refused(tiny_tagger, text_in, tmp_path,
                                                       capsys, monkeypatch):
    # Beam's "*" in file patterns is [^/\\]*: its sink wrote out\run's shards, found none to
    # publish, and failed at the end of the run ("src and dst files do not exist"), exit 1.
    monkeypatch.chdir(tmp_path)
    line = refused(capsys, tiny_tagger, text_in, "out\\run")
    assert line == ("beamtagger tag: error: --output out\\run: a file name cannot hold \\ here: "
                    "Beam's file patterns take it for a folder separator, so the run would fail "
                    "at its end, its files written but not found to publish; separate folders "
                    "with /"), line
    assert sorted(os.listdir(tmp_path)) == ["in.txt"]
    # In a folder's name it is read as it is: x\y/run's files are published (exit 0).
    assert tag_outputs.check_prefix_of_names("x\\y/run") is None


def test_a_gs_output_prefix_is_not_listed_without_a_network(tiny_tagger, text_in, capsys,
                                                            monkeypatch):
    # The check for a folder lists gs://b/r/**: Beam's client retried a listing for 120 s
    # without a network. The probe of every gs:// path (cloud_access) must refuse it first.
    from apache_beam.io.gcp import gcsfilesystem

    from beamtagger import cloud_access

    def online(*_args, **_kwargs):
        raise AssertionError("went online")

    monkeypatch.delenv("STORAGE_EMULATOR_HOST", raising=False)
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(cloud_access, "_connection_error", lambda host, port: OSError(
        "Network is unreachable"))
    monkeypatch.setattr(gcsfilesystem.GCSFileSystem, "match", online)
    line = refused(capsys, tiny_tagger, text_in, "gs://b/r")
    assert line.startswith("beamtagger tag: error: cannot reach Google Cloud Storage (") and (
        "where the checks before launch read gs://b/r:" in line), line


def test_a_gs_bucket_alone_is_refused_as_a_bucket_without_a_network(tiny_tagger, text_in,
                                                                     capsys, monkeypatch):
    # What the name is needs no listing: offline, "gs://b" was sent to connect to the network
    # first, and told it names a bucket only once connected.
    from beamtagger import cloud_access

    monkeypatch.delenv("STORAGE_EMULATOR_HOST", raising=False)
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(cloud_access, "_connection_error", lambda host, port: OSError(
        "Network is unreachable"))
    line = refused(capsys, tiny_tagger, text_in, "gs://b")
    assert line == ("beamtagger tag: error: --output gs://b is a bucket, and a prefix of file "
                    "names needs a name inside it; give one such as gs://b/run"), line


def test_a_tilde_in_the_output_prefix_is_the_home_folder(tiny_tagger, text_in, tmp_path, capsys,
                                                         monkeypatch):
    # The shell leaves "--output=~/x" as it is: the check looked at $HOME, Beam wrote to "./~".
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    code, _, err = tag(capsys, "--input", str(text_in), "--output=~/runs/r",
                       "--model", tiny_tagger.model_dir, "--embeddings", tiny_tagger.store_path)
    assert code == 0, err
    assert os.path.exists(tmp_path / "home" / "runs" / "r-00000-of-00001.jsonl")
    assert not os.path.exists(tmp_path / "~")


@pytest.mark.parametrize("extra,message", [
    (["--num-shards", "-1"], "--num-shards must be 0"),
    # Shards named -of-100000 matched none of the patterns that find a run's files: the
    # summary listed none, and a rerun with --overwrite left them beside its own.
    (["--num-shards", "100000"], "--num-shards must be at most 99,999"),
    (["--progress-every", "-5"], "--progress-every must be 0"),
    (["--progress-every", "nan"], "--progress-every must be 0"),
    (["--max-record-chars", "0"], "--max-record-chars must be at least 1"),
])
def test_counts_and_periods_out_of_range_are_refused(tiny_tagger, text_in, tmp_path, capsys,
                                                     extra, message):
    line = refused(capsys, tiny_tagger, text_in, tmp_path / "out" / "r", *extra)
    assert message in line, line


@pytest.mark.parametrize("name,expected", [
    ("docs.jsonl.gz", "jsonl"), ("docs.jsonl.bz2", "jsonl"), ("docs.jsonl.zst", "jsonl"),
    ("docs.jsonl.zstd", "jsonl"), ("docs.jsonl.xz", "jsonl"), ("docs.jsonl.lzma", "jsonl"),
    ("docs.jsonl.deflate", "jsonl"), ("docs.JSONL.GZ", "jsonl"), ("s.conllu.xz", "conllu"),
    ("s.conll.zst", "conll"), ("t.txt.zst", "text"), ("t.zst", "text"), ("t.parquet", "parquet"),
])
def test_the_input_format_is_read_through_any_compression_beam_decompresses(name, expected):
    # Beam decompresses .zst, .xz, .lzma, .deflate too; their JSON Lines were tagged as text.
    assert tag_inputs.infer_input_format(f"/data/{name}") == expected



def test_a_pattern_without_an_extension_takes_the_format_its_files_share(tiny_tagger, tmp_path,
                                                                         capsys):
    # "docs/*" over JSON Lines files was read as text: their braces and quotes were tagged.
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.jsonl").write_text('{"text": "Hello there."}\n', encoding="utf-8")
    (docs / "b.jsonl.gz").write_bytes(gzip.compress(b'{"text": "Hi."}\n'))
    assert tag_inputs.infer_input_format(str(docs / "*")) == "jsonl"
    assert tag_inputs.infer_input_format(str(docs / "*.gz")) == "jsonl"
    (docs / "c.txt").write_text("Plain text.\n", encoding="utf-8")
    line = refused(capsys, tiny_tagger, docs / "*", tmp_path / "out" / "r")
    assert "matches files of several formats (a.jsonl as jsonl, c.txt as text)" in line, line
    assert tag_inputs.infer_input_format(str(docs / "*"), "text") == "text"

@pytest.mark.parametrize("extra,message", [
    (["--max-buffering-secs", "2"], "applies to --streaming runs only"),
    (["--max-buffering-secs", "0", "--streaming"], "must be a positive number"),
    (["--max-buffering-secs", "nan", "--streaming"], "must be a positive number"),
    (["--max-buffering-secs", "inf", "--streaming"], "must be a positive number"),
])
def test_max_buffering_secs_is_checked_before_the_pipeline_starts(tiny_tagger, text_in, tmp_path,
                                                                   capsys, extra, message):
    # Each was a traceback from inside Beam (a KeyError in the DirectRunner's watermark
    # manager without --streaming, a ValueError or OverflowError with it).
    code, _, err = tag(capsys, "--input", str(text_in), "--output", str(tmp_path / "out" / "r"),
                       "--model", tiny_tagger.model_dir, "--embeddings",
                       tiny_tagger.store_path, *extra)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("option", ["--model", "--embeddings"])
def test_a_model_or_store_on_a_file_system_not_installed_is_one_line(tiny_tagger, text_in,
                                                                     tmp_path, capsys, option):
    """gs:// without the gcp extra: Beam has no file system for the path (nofs:// stands for
    it in an environment that has one for gs://), and the ValueError was a traceback."""
    paths = {"--model": tiny_tagger.model_dir, "--embeddings": tiny_tagger.store_path,
             option: "nofs://bucket/folder"}
    code, _, err = tag(capsys, "--input", str(text_in), "--output", str(tmp_path / "out" / "r"),
                       *(item for pair in paths.items() for item in pair))
    assert code == 2, err
    (line,) = err.strip().splitlines()
    # Before: Beam's message, the path again and "pip install apache-beam[gcp]" for nofs://.
    assert line.startswith("beamtagger tag: error: cannot read nofs://bucket/folder: Beam has "
                           "no file system for nofs:// (this installation has local paths, "), line
    assert "apache-beam[" not in line and line.count("nofs://bucket/folder") == 1, line
    assert not (tmp_path / "out").exists()


def test_a_file_whose_name_holds_brackets_is_named_with_its_brackets_escaped(
        tiny_tagger, tmp_path, capsys):
    # "no input files match data/a[1].txt" while the file was there: [1] matches "1".
    named = tmp_path / "a[1] b?.txt"
    named.write_text("Hello there.\n", encoding="utf-8")
    line = refused(capsys, tiny_tagger, named, tmp_path / "out" / "r")
    escaped = str(tmp_path / "a[[]1] b[?].txt")
    assert line.endswith(f"write it as --input '{escaped}'"), line
    code, out, err = tag(capsys, "--input", escaped, "--output", str(tmp_path / "out" / "r"),
                         "--model", tiny_tagger.model_dir, "--embeddings",
                         tiny_tagger.store_path)
    assert code == 0, err
    assert "records read                1" in out


def test_a_name_with_escaped_brackets_prints_no_warning_of_beams(tiny_tagger, tmp_path):
    # Beam compiled the escaped name into a regular expression Python warns about: the run
    # that went well printed "FutureWarning: Possible nested set at position 10" and Beam's
    # source line, from the launcher and from each worker process.
    import subprocess
    import sys

    (tmp_path / "a[1].txt").write_text("Hello there.\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "beamtagger", "tag", "--input", str(tmp_path / "a[[]1].txt"),
         "--output", str(tmp_path / "out"), "--model", tiny_tagger.model_dir, "--embeddings",
         tiny_tagger.store_path, "--runtime", "numpy", "--progress-every", "0",
         "--direct_running_mode=multi_processing", "--direct_num_workers=1"],
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Warning" not in done.stderr, done.stderr[-3000:]


def test_a_local_prefixs_earlier_files_are_globbed_in_its_folder_alone(tmp_path, monkeypatch):
    # Beam's LocalFileSystem.match walked the prefix's whole folder tree, several times a
    # launch: 11.4 s for --output /usr/run. The same files, from the prefix's folder alone.
    from apache_beam.io.filesystems import FileSystems

    (tmp_path / "deep" / "er").mkdir(parents=True)
    for name in ("r-00000-of-00002.jsonl", "r-00001-of-00002.jsonl",
                 "r-errors-00000-of-00001.jsonl", "r-2-00000-of-00001.jsonl",
                 "deep/r-00000-of-00001.jsonl", "deep/er/x.jsonl"):
        (tmp_path / name).write_text("{}\n")
    expected = sorted(str(tmp_path / name) for name in (
        "r-00000-of-00002.jsonl", "r-00001-of-00002.jsonl", "r-errors-00000-of-00001.jsonl"))
    assert tag_outputs.list_outputs(str(tmp_path / "r")) == expected   # what Beam matches

    def walked(*_args, **_kwargs):
        raise AssertionError("Beam's matching walked the prefix's folder tree")

    monkeypatch.setattr(FileSystems, "match", walked)
    assert tag_outputs.list_outputs(str(tmp_path / "r")) == expected


@pytest.mark.parametrize("output,message", [
    # Each passed the checks and failed with a traceback where a killed run's files were
    # looked for (Beam has no file system for file://).
    # "write a prefix ... as a plain path" read as an order to write files; it says why now.
    ("file:///tmp/bt/r", "--output file:///tmp/bt/r: Beam writes no file:// URL; give a prefix "
                         "on this machine as a plain path (/tmp/bt/r)"),
    # It said "no file system here writes it: Unable to get filesystem ... e.g., pip install
    # apache-beam[gcp]. Path specified: nofs://bucket/r": the path twice, GCP's extra for nofs.
    ("nofs://bucket/r", "--output nofs://bucket/r: Beam has no file system for nofs:// (this "
                        "installation has local paths, "),
])
def test_an_output_url_no_file_system_writes_is_refused(tiny_tagger, text_in, tmp_path, capsys,
                                                        output, message):
    line = refused(capsys, tiny_tagger, text_in, output)
    assert line.startswith(f"beamtagger tag: error: {message}"), line


def test_an_input_url_no_file_system_reads_names_the_schemes_there_are(tiny_tagger, text_in,
                                                                        tmp_path, capsys):
    code, _, err = tag(capsys, "--input", "nofs://bucket/*.txt", "--output", str(tmp_path / "r"),
                       "--model", tiny_tagger.model_dir, "--embeddings", tiny_tagger.store_path)
    # It said "cannot list input nofs://bucket/*.txt: Unable to get filesystem ...".
    assert code == 2 and err.startswith("beamtagger tag: error: --input nofs://bucket/*.txt: "
                                        "Beam has no file system for nofs:// (this installation "
                                        "has local paths, "), err
    assert "apache-beam[" not in err and len(err.strip().splitlines()) == 1, err


def test_a_scheme_beam_knows_without_its_packages_names_the_extra(monkeypatch):
    from apache_beam.io.filesystem import FileSystem
    from apache_beam.io.localfilesystem import LocalFileSystem

    from beamtagger.errors import no_file_system

    # An installation without Beam's aws, gcp, azure and hadoop packages.
    monkeypatch.setattr(FileSystem, "get_all_subclasses", lambda: [LocalFileSystem])
    assert no_file_system("s3://bucket/r") == (
        "s3:// needs Beam's aws packages, not installed here: pip install 'apache-beam[aws]' "
        "(this installation has local paths)")
    assert "pip install 'apache-beam[gcp]'" in no_file_system("gs://bucket/r")
    assert "pip install 'apache-beam[azure]'" in no_file_system("azfs://account/c/r")
    assert no_file_system("nofs://bucket/r") == ("Beam has no file system for nofs:// (this "
                                                 "installation has local paths)")
    assert no_file_system("/tmp/r") is None


def test_an_input_file_url_is_refused_with_its_plain_path(tiny_tagger, text_in, tmp_path, capsys):
    code, _, err = tag(capsys, "--input", f"file://{text_in}", "--output", str(tmp_path / "r"),
                       "--model", tiny_tagger.model_dir, "--embeddings", tiny_tagger.store_path)
    # It said "write files on this machine as a plain path": an input's files are read.
    assert code == 2 and err.strip() == (f"beamtagger tag: error: --input file://{text_in}: Beam "
                                         "reads no file:// URL; give files on this machine as a "
                                         f"plain path or pattern ({text_in})"), err
