"""Where each data family keeps a split: its path layout, its Hub copy and its field mapping.

A family supplies only this; finding the files (or opening the Hub stream) and reading them per host and
order is the same for all (sources/located.py, sources/reading.py). Below the mirror (`MT0_DATA_DIR`, a
directory or gs:// prefix) and the embedded samples the layouts are:

  catalog dataset   <dataset>[/<subset>]/<source_split>.{jsonl,jsonl.gz,parquet} or shards <split>-*.<ext>
  eval benchmark    <benchmark>/<lang>/<split>...        (a catalog-style dataset per language)
  xP3 / xP3mt       xP3/<lang>/ and xP3mt/<lang>/: every data file in the folder
  mC4               mc4/<lang>/<split>...                (records with a `text` field)
  custom task       the user's own paths or glob patterns, whatever the source setting
"""

from __future__ import annotations

import dataclasses
import logging
import os
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence, Tuple

from multilingual_t0 import settings as settings_module
from multilingual_t0.catalog import mc4 as mc4_table
from multilingual_t0.catalog import xp3 as xp3_table
from multilingual_t0.catalog.datasets import DatasetSpec, SplitSpec
from multilingual_t0.errors import DataNotFoundError
from multilingual_t0.sources import fileio
from multilingual_t0.sources.files import FILE_EXTENSIONS, InvalidRecord, read_files
from multilingual_t0.sources.hub import HubCall
from multilingual_t0.sources.tfds_files import TfdsSplit

log = logging.getLogger(__name__)
CUSTOM_EXTENSIONS = (".jsonl", ".json", ".jsonl.gz", ".json.gz", ".parquet")


@dataclasses.dataclass(frozen=True)
class SplitLayout:
    """One split of one family: how to find it and how its records map to the fields the task reads."""

    what: str  # "super_glue/rte split 'train'", for messages
    base: Tuple[str, ...] = ()  # below a root: <base>.<ext>, else shards <base>-*.<ext>
    folder: Tuple[str, ...] = ()  # or: every data file in this folder below a root
    patterns: Tuple[str, ...] = ()  # or: the user's own paths and globs (no mirror / Hub / samples)
    folder_extensions: Tuple[str, ...] = FILE_EXTENSIONS
    hub: Optional[HubCall] = None  # the Hugging Face Hub copy, if any
    # Read the Hub copy as files (hf://datasets/<repo>/<data_files pattern>) through the package's reader,
    # which can save its position, instead of as a `datasets` stream.
    hub_as_files: bool = False
    tfds: Optional[TfdsSplit] = None  # a TFDS copy (mC4), read as its TFRecord files
    published: str = "hub"  # what `auto` reads without a mirror: the Hub, or TFDS (mC4)
    # Whether record indices are positions in the split (files counted when needed); False for splits too
    # large to count (mC4), whose indices only identify a record (reading.FILE_INDEX_STRIDE).
    count_files: bool = True
    field_map: Tuple[Tuple[str, str], ...] = ()  # source column -> the name templates use
    jinja_keys: bool = False  # `-` in keys becomes `_` (records rendered by promptsource templates)
    required_fields: Tuple[str, ...] = ()  # checked on a file's first records when located
    check_files: Optional[Callable[[Sequence[str], str], None]] = None  # the family's own check
    num_records: Optional[int] = None
    mirror_pattern: str = ""  # the mirror's layout, for "MT0_DATA_DIR not set"
    mirror_fix: str = ""  # how to fill the mirror; {target} becomes where the split goes
    samples_fix: str = "the package ships no sample for this split; use MT0_DATA_SOURCE=mirror or hub"
    no_hub_fix: str = ""
    hub_fix: str = "mirror the data and set MT0_DATA_DIR (MT0_DATA_SOURCE=mirror)"

    def mirror_target(self, root: str) -> str:
        """Where the split goes in a mirror at `root`."""
        return fileio.join(root, *(self.base or self.folder)) + (".jsonl" if self.base else "")


# ------------------------------------------------------------------------------------ families


def catalog_split(spec: DatasetSpec, split: SplitSpec) -> SplitLayout:
    """A catalog dataset's (or an eval benchmark language's) split, rendered by promptsource templates."""
    files = dict(spec.hub_data_files).get(split.source)
    hub = (HubCall(spec.hub_id, name=spec.hub_config, data_dir=spec.hub_data_dir,
                   data_files={split.source: files} if files else None, split=split.source,
                   revision=spec.hub_revision) if spec.hub_id else None)
    hint = "put the split at {target} (or .jsonl.gz / .parquet)"
    hint += f", e.g. from the Hub id {spec.hub_id!r}" if spec.hub_id else f"; {spec.notes}"
    return SplitLayout(
        what=f"{spec.label} split {split.name!r}", base=spec.path_parts + (split.source,), hub=hub,
        field_map=spec.field_map, jinja_keys=True, num_records=split.num_examples,
        mirror_pattern="<dataset>[/<subset>]/<split>.jsonl", mirror_fix=hint,
        no_hub_fix=spec.notes or "download it manually")


def _xp3_not_doubled(files: Sequence[str], what: str) -> None:
    """merged_<lang>.jsonl holds every per-prompt file of the language: reading both doubles the data."""
    merged = [f for f in files if os.path.basename(f).startswith(xp3_table.MERGED_PREFIX)]
    if merged and len(files) > len(merged):
        others = [f for f in files if f not in merged]
        raise ValueError(f"{what}: both {os.path.basename(merged[0])} and {len(others)} other file(s) (e.g. "
                         f"{os.path.basename(others[0])}) are in {os.path.dirname(merged[0])}; the merged file "
                         "already holds the per-prompt files. Keep one or the other.")


def xp3_language(collection: str, code: str) -> SplitLayout:
    """One xP3 / xP3mt language: every data file of its folder (the Hub's merged_<lang>.jsonl or the
    per-prompt files of bigscience's prepare_xp3_train.py), records {inputs, targets}."""
    col = xp3_table.get_collection(collection)
    lang = xp3_table.get_language(collection, code)
    hub = HubCall(col.hub_id, builder="json", data_files=col.hub_file.format(lang=lang.code), split=xp3_table.SPLIT)
    data_files = hub.origin
    return SplitLayout(
        what=f"{col.folder} language {lang.code!r}", folder=(col.folder, lang.code), hub=hub,
        required_fields=("inputs", "targets"), check_files=_xp3_not_doubled, num_records=lang.samples,
        mirror_pattern=f"{col.folder}/<lang>/merged_<lang>.jsonl",
        mirror_fix=(f"put {col.hub_id}'s {col.hub_file.format(lang=lang.code)} (or the per-prompt files of "
                    "prepare_xp3_train.py) in {target}"),
        samples_fix=f"the package ships no {col.folder} sample for {lang.code!r}; use MT0_DATA_SOURCE=mirror or hub",
        hub_fix=(f"download {data_files} into $MT0_DATA_DIR/{col.folder}/{lang.code}/ and set "
                 "MT0_DATA_SOURCE=mirror"))


def mc4_split(code: str, split: str, tfds_version: Optional[str] = None) -> SplitLayout:
    """One mC4 language split: documents with a `text` field. Its published copy is TFDS
    (`c4/multilingual:<tfds_version>`, default MT0_MC4_VERSION); on the Hub, allenai/c4's files."""
    lang = mc4_table.get_language(code)
    mc4_table.check_split(split)
    pattern = mc4_table.HUB_DATA_FILES[split].format(lang=lang.code)
    pages = int(lang.pages_millions * 1e6) if split == "train" else None  # the table knows train only
    version = tfds_version or settings_module.current().mc4_version
    return SplitLayout(
        what=f"mC4 language {lang.code!r} ({lang.name}) split {split!r}", base=("mc4", lang.code, split),
        num_records=pages, count_files=False,
        hub=HubCall(mc4_table.HUB_ID, data_files={split: pattern}, split=split), hub_as_files=True,
        tfds=TfdsSplit(mc4_table.TFDS_NAME, version, lang.tfds_split(split)), published="tfds",
        check_files=_has_documents, mirror_pattern="mc4/<lang>/<split>.jsonl[.gz]",
        mirror_fix=(f"put the documents (JSON lines with a {mc4_table.TEXT_FIELD!r} field) at {{target}}.gz, e.g. "
                    f"from the Hub's {mc4_table.HUB_ID} {pattern}"),
        samples_fix=(f"sample text ships only for {', '.join(mc4_table.sample_languages())}: train on those (a "
                     "mixture of them: lm_adapt.add_mixture, docs/lm_adaptation.md), or use MT0_DATA_SOURCE=mirror "
                     f"with MT0_DATA_DIR, tfds ({mc4_table.TFDS_NAME}) or hub"),
        hub_fix="mirror the files and set MT0_DATA_DIR (MT0_DATA_SOURCE=mirror)")


def _has_documents(files: Sequence[str], what: str) -> None:
    """An mC4 split must hold at least one document with a non-empty `text`."""
    for record in read_files(files):
        text = record.get(mc4_table.TEXT_FIELD) if isinstance(record, dict) else None
        if isinstance(text, str) and text.strip():
            return
    raise DataNotFoundError(what, [f"{f} (exists; no record with a non-empty {mc4_table.TEXT_FIELD!r})"
                                   for f in files], "put documents with a non-empty text field there")


def mc4_documents(records: Iterable[Tuple[int, Any]], what: str) -> Iterator[Tuple[int, str]]:
    """(index, non-empty `text`) of (index, record) pairs; undecodable or text-less records are skipped,
    counted, and reported once at the end (with the first bad place)."""
    skipped, first = 0, None
    for index, record in records:
        text = None if isinstance(record, InvalidRecord) else record.get(mc4_table.TEXT_FIELD)
        if isinstance(text, str) and text.strip():
            yield index, text
            continue
        skipped += 1
        first = first or (record.where if isinstance(record, InvalidRecord) else f"a record without {mc4_table.TEXT_FIELD!r}")
    if skipped:
        log.warning("skipped %d undecodable or empty records in %s (first: %s)", skipped, what, first)


def mc4_texts(records: Iterable[Tuple[int, Any]], what: str) -> Iterator[str]:
    """The non-empty texts of `mc4_documents`."""
    return (text for _, text in mc4_documents(records, what))


def custom_split(name: str, split: str, patterns: Sequence[str], inputs_field: str,
                 targets_field: str) -> SplitLayout:
    """A user's own files (paths or globs) holding the model's input and target text."""
    return SplitLayout(
        what=f"custom task {name!r} split {split!r}", patterns=tuple(patterns),
        folder_extensions=CUSTOM_EXTENSIONS, required_fields=(inputs_field, targets_field),
        mirror_fix=("check the paths or glob patterns (they are matched when the task is added and when data is "
                    f"read); files must end in {', '.join(CUSTOM_EXTENSIONS)}"))
