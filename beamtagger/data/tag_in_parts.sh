#!/usr/bin/env bash
# Tags every file under ROOT into OUT in parts of about PART_SIZE of input each (64M: 64 MiB), one
# `beamtagger tag` run a part, so that a run killed outright (SIGKILL, the OOM killer, a
# reboot) loses only the part in progress: run the same command again and it tags only the
# parts that have no summary. docs/tagging.md, "A large collection in parts", says what it
# guarantees and why; it relies only on what `beamtagger tag` guarantees there.
#
#   bash tag_in_parts.sh ROOT OUT PART_SIZE [beamtagger tag options...]
#   bash tag_in_parts.sh texts out/texts 64M --model models/ner --runtime numpy
# Installed with beamtagger, as package data: where it is,
#   python -c "import importlib.resources as r; print(r.files('beamtagger') / 'data/tag_in_parts.sh')"
#
# OUT/part-NNNNN/in/       the part's input: symbolic links to its files, by their paths under
#                          ROOT, so records get the default ids one run of 'ROOT/**' gives
# OUT/part-NNNNN/tagged-SSSSS-of-NNNNN.<format>, tagged-errors-...jsonl   its results
#                          (with several --model NAME=DIR: tagged-NAME-SSSSS-of-NNNNN.<format>,
#                          tagged-NAME-errors-..., each model's)
# OUT/part-NNNNN/summary.json   written by `tag --summary-json` once the part is done
# OUT/part-NNNNN/inputs    its files' sizes and modification times when it was tagged
#
# Exit status: 0 every part done; 3 every part done, one or more past --max-dead-letters (or
# none of its records tagged); else the status of the first part that did not finish (1, 2,
# 129, 130, 143), the loop stopped there. Needs bash 4, GNU find and util-linux flock (Linux).
# BEAMTAGGER names the command (default: beamtagger); TAG_IN_PARTS_LOCK_WAIT the seconds to wait
# for another loop's lock (default 5).
set -u -o pipefail

say() { printf 'tag_in_parts: %s\n' "$*" >&2; }

if [ $# -lt 3 ]; then
    say "usage: $0 ROOT OUT PART_SIZE [beamtagger tag options...]"
    exit 2
fi
root=$1 out=$2 part_size=$3
shift 3
read -r -a beamtagger <<<"${BEAMTAGGER:-beamtagger}"
if ! [[ $part_size =~ ^([1-9][0-9]*)([KMG]?)$ ]]; then
    say "PART_SIZE must be a number of bytes, or of K, M or G (KiB, MiB, GiB): 64M, not '$part_size'"
    exit 2
fi
case ${BASH_REMATCH[2]} in
    K) limit=$((BASH_REMATCH[1] << 10)) ;;
    M) limit=$((BASH_REMATCH[1] << 20)) ;;
    G) limit=$((BASH_REMATCH[1] << 30)) ;;
    *) limit=${BASH_REMATCH[1]} ;;
esac
for option in "$@"; do
    case $option in
        --input | --input=* | --output | --output=* | --summary-json | --summary-json=*)
            say "$option is the loop's to set for each part; leave it out"
            exit 2 ;;
    esac
done
if ! root_abs=$(cd -- "$root" 2>/dev/null && pwd -P); then
    say "ROOT $root is not a folder"
    exit 2
fi
mkdir -p -- "$out" || exit 2
out_abs=$(cd -- "$out" && pwd -P) || exit 2
if [[ $out_abs/ == "$root_abs"/* ]]; then
    say "OUT $out is inside ROOT $root: its results would be planned as input; put it elsewhere"
    exit 2
fi

# One loop at a time on OUT: two would decide from the same summaries to tag the same part.
# The part's run inherits the lock, so a run that outlives its loop (a signal to the shell
# alone) holds it to its end. It goes with the last process holding it, however that ends:
# after a SIGKILL, tag's stderr relay (a session of its own) is gone within a second, hence
# the wait: without it, a loop started at once after a kill was refused.
exec 9>>"$out/.tag-in-parts.lock" || exit 2
if ! flock -w "${TAG_IN_PARTS_LOCK_WAIT:-5}" 9; then
    say "another loop, or the run of a part a stopped loop left going, is tagging into $out;" \
        "wait for it to end (or stop it) and run this again"
    exit 2
fi

# The plan: files not in a part yet (all of them at the first run, files landed since at a
# later one) go into new parts, in path order. A part's folder is made whole under a hidden
# name and renamed into place, so a loop killed while planning leaves no part short of files.
rm -rf -- "$out"/.new-part-*
# As tag does for ROOT/**: Beam's matching does not follow a link to a folder, and its files
# would not be read (links to files are read, and planned below).
linked=$(cd -- "$root_abs" && find -L . -mindepth 1 -type d -xtype l -printf '%P\n' -quit)
if [ -n "$linked" ]; then
    say "ROOT holds $linked, a symbolic link to a folder, whose files tag would not read: name" \
        "the folder it links to as ROOT, or copy it in"
    exit 2
fi
plan_failed() {
    rm -f -- "${listing:-}"
    say "cannot plan the parts in $out (the line above says why); the parts planned before" \
        "are kept: run the same command again"
    exit 1
}
declare -A planned=()
last=-1
for part in "$out"/part-[0-9][0-9][0-9][0-9][0-9]; do
    [ -d "$part/in" ] || continue
    number=${part##*/part-}
    (( 10#$number > last )) && last=$((10#$number))
    while IFS= read -r -d '' name; do
        planned[$name]=1
    done < <(cd -- "$part/in" && find . ! -type d -printf '%P\0')
done
new_part() {
    last=$((last + 1))
    if (( last > 99999 )); then   # part-100000 would escape every part-????? pattern here
        say "more than 99,999 parts: run again with a larger PART_SIZE (the parts planned" \
            "so far are kept and tagged as they are)"
        rm -f -- "$listing"
        exit 2
    fi
    building=$(printf '%s/.new-part-%05d' "$out" "$last")
    mkdir -p -- "$building/in" || plan_failed
}
close_part() {
    [ -n "$building" ] || return 0
    mv -T -- "$building" "${building%/.new-part-*}/part-${building##*/.new-part-}" ||
        plan_failed
    building=
}
# ROOT's files, listed whole before any is planned: a folder find cannot read (its
# permissions) was left out of the plan with find's own line, and the loop went on to tag
# the rest and exit 0, those files never tagged. tag --input 'ROOT/**' would not read it
# either.
listing=$(mktemp) || exit 1
if ! (cd -- "$root_abs" && find -L . -type d -xtype l -prune -o -type f -printf '%P\t%s\0') \
        >"$listing"; then
    rm -f -- "$listing"
    say "cannot read all of ROOT $root (the line above says where): its files would not be" \
        "tagged; make it readable, or move it out of ROOT"
    exit 2
fi
building= filled=0
while IFS= read -r -d '' entry; do
    name=${entry%$'\t'*} size=${entry##*$'\t'}
    [ -n "${planned[$name]+x}" ] && continue
    if [ -n "$building" ] && (( filled + size > limit )); then
        close_part
    fi
    [ -n "$building" ] || { new_part; filled=0; }
    # Not $(dirname): it drops a folder name's final newline, and the link then failed.
    folder=.
    [[ $name == */* ]] && folder=${name%/*}
    mkdir -p -- "$building/in/$folder" && ln -s -- "$root_abs/$name" "$building/in/$name" ||
        plan_failed
    filled=$((filled + size))
done < <(LC_ALL=C sort -z -- "$listing")
rm -f -- "$listing"
close_part

inputs_of() {   # the part's files as they are now: a file rewritten since shows here
    (cd -- "$1/in" && find -L . ! -type d -printf '%P %s %T@\0' | LC_ALL=C sort -z)
}

done_before=0 tagged_now=0 past_limit=0 parts=0
for part in "$out"/part-[0-9][0-9][0-9][0-9][0-9]; do
    [ -d "$part/in" ] || continue
    parts=$((parts + 1))
    # A summary is written only once its run's files are published (exit 0 or 3): a part with
    # one is done, unless its files changed since.
    if [ -f "$part/summary.json" ] && cmp -s <(inputs_of "$part") "$part/inputs"; then
        done_before=$((done_before + 1))
    else
        # A file gone from ROOT since it was planned: its link leads nowhere, and tag's
        # refusal would name only the part's pattern (no input files match .../in/**).
        gone=$(cd -- "$part/in" && find . -xtype l -printf '%P\n')
        if [ -n "$gone" ]; then
            say "${part##*/}: $(wc -l <<<"$gone") of its files are gone from ROOT since it was" \
                "planned (${gone%%$'\n'*}, ...): put them back, or delete their links in" \
                "$part/in/ to tag the part without them (its whole folder, where none is left);" \
                "its results are as they were"
            exit 2
        fi
        if [ -f "$part/summary.json" ]; then
            say "${part##*/}: its input changed since it was tagged; tagging it again"
        fi
        # No summary: no file there is a whole result (a run killed while publishing left
        # some, maybe with an earlier try's set aside beside them, which `tag` refuses to
        # choose between), and no other loop is here (the lock): they go. tagged-*-of-?????.*
        # is every model's of a run of several too (tagged-NAME-..., tagged-NAME-errors-...),
        # and .tagged*.tag-replaced what each set aside.
        rm -rf -- "$part/summary.json" "$part"/.tagged*.tag-replaced \
            "$part"/tagged-*-of-?????.*
        inputs_of "$part" >"$part/inputs" || exit 1
        say "${part##*/}: tagging"
        # Ctrl-C reaches this shell and the part's run alike, and bash goes on after a child
        # that did not die of it: a run stopped once its files are published is done, exits 0
        # with its summary, and the loop went on to tag the next part. Noted, it stops here.
        interrupted=
        trap 'interrupted=1' INT
        "${beamtagger[@]}" tag --input "$part/in/**" --output "$part/tagged" \
            --summary-json "$part/summary.json" "$@"
        status=$?
        trap - INT
        if [ "$status" -ne 0 ] && [ "$status" -ne 3 ]; then
            say "${part##*/} did not finish (exit $status): $((parts - 1)) parts before it are" \
                "done; run the same command again to go on from this part"
            exit "$status"
        fi
        tagged_now=$((tagged_now + 1))
        if [ -n "$interrupted" ]; then
            say "stopped (Ctrl-C) once ${part##*/} was done (its summary written): run the" \
                "same command again to go on from the next part"
            exit 130
        fi
    fi
    grep -q '"exit_status": 3' "$part/summary.json" && past_limit=$((past_limit + 1))
done
say "$parts parts done ($tagged_now tagged now, $done_before before);" \
    "results: $out/part-*/tagged-?????-of-?????.* (several --model: tagged-NAME-?????-of-?????.*)"
if (( past_limit > 0 )); then
    say "$past_limit of them exited 3 (past --max-dead-letters, or no record tagged): their" \
        "summary.json says which"
    exit 3
fi
exit 0
