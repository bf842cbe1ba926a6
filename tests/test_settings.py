"""settings.py: every MT0_* setting read, checked and carried in one place."""

import os
import subprocess
import sys

import pytest

from multilingual_t0 import settings
from multilingual_t0.catalog.datasets import find_dataset
from multilingual_t0.errors import DataNotFoundError
from multilingual_t0.sources.layouts import catalog_split, mc4_split, xp3_language
from multilingual_t0.sources.located import locate, source_kind

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_defaults_from_an_empty_environment():
    s = settings.DataSettings.from_env({})
    assert s == settings.DataSettings()
    assert (s.vocab, s.source, s.data_dir, s.mc4_version) == (settings.MT5_VOCAB, "auto", None, "3.1.0")
    assert (s.strict, s.shuffle_buffer, s.input_boundary, s.mixture_feed) == (False, 10_000, "batched", "fused")
    assert s.to_env() == {}


def test_round_trip_through_the_environment():
    env = {"MT0_VOCAB": "/v/spm.model", "MT0_DATA_SOURCE": "MIRROR", "MT0_DATA_DIR": "gs://b/m",
           "MT0_MC4_VERSION": "3.0.1", "MT0_STRICT": "true", "MT0_SHUFFLE_BUFFER": "2_000",
           "MT0_INPUT_BOUNDARY": "per_example", "MT0_MIXTURE_FEED": "per_task"}
    s = settings.DataSettings.from_env(env)
    assert (s.source, s.strict, s.shuffle_buffer) == ("mirror", True, 2000)
    assert settings.DataSettings.from_env(s.to_env()) == s
    assert set(s.to_env()) == {x.env for x in settings.SETTINGS}


@pytest.mark.parametrize("name,value,message", [
    ("MT0_DATA_SOURCE", "s3", r"MT0_DATA_SOURCE='s3' is not one of auto, mirror, hub, samples, tfds"),
    ("MT0_SHUFFLE_BUFFER", "0", r"MT0_SHUFFLE_BUFFER='0' is not a positive number of records"),
    ("MT0_INPUT_BOUNDARY", "vectorised", r"MT0_INPUT_BOUNDARY='vectorised' is not one of batched, per_example"),
    ("MT0_MIXTURE_FEED", "fast", r"MT0_MIXTURE_FEED='fast' is not one of fused, per_task"),
])
def test_a_bad_value_names_the_variable_and_what_is_allowed(name, value, message):
    with pytest.raises(ValueError, match=message):
        settings.DataSettings.from_env({name: value})


def test_replace_checks_and_export_reaches_child_processes(monkeypatch):
    for s in settings.SETTINGS:
        monkeypatch.delenv(s.env, raising=False)
    with pytest.raises(ValueError, match="MT0_DATA_SOURCE"):
        settings.DataSettings().replace(source="ftp")
    chosen = settings.current().replace(source="mirror", data_dir="/mirror", shuffle_buffer=7)
    chosen.export()
    assert settings.current() == chosen
    out = subprocess.run([sys.executable, "-c", "from multilingual_t0 import settings; "
                          "s = settings.current(); print(s.source, s.data_dir, s.shuffle_buffer)"],
                         capture_output=True, text=True, cwd=REPO, check=True).stdout.split()
    assert out == ["mirror", "/mirror", "7"]
    chosen.replace(source="auto", shuffle_buffer=10_000).export()  # back to a default: the variable goes
    assert "MT0_DATA_SOURCE" not in os.environ and "MT0_SHUFFLE_BUFFER" not in os.environ


def test_no_other_module_reads_an_mt0_variable():
    """settings.py is the only reader of MT0_* variables (os.environ / os.getenv with an MT0_ name)."""
    import re

    package = os.path.join(REPO, "multilingual_t0")
    reader = re.compile(r"""(environ(\.get)?\s*[\[(]|getenv\s*\()\s*["']MT0_""")
    found = []
    for folder, _, files in os.walk(package):
        for name in files:
            path = os.path.join(folder, name)
            if name.endswith(".py") and path != os.path.join(package, "settings.py"):
                if reader.search(open(path, encoding="utf-8").read()):
                    found.append(os.path.relpath(path, REPO))
    assert found == []


def test_auto_means_each_familys_published_copy():
    rte = find_dataset("super_glue", "rte")[0]
    prompted, documents = catalog_split(rte, rte.split("train")), mc4_split("sw", "train")
    auto = settings.DataSettings()
    assert (source_kind(prompted, auto), source_kind(documents, auto)) == ("hub", "tfds")
    mirror = auto.replace(data_dir="/m")
    assert (source_kind(prompted, mirror), source_kind(documents, mirror)) == ("mirror", "mirror")
    hub = auto.replace(source="hub")  # the Hugging Face Hub for every family, mC4 included
    assert documents.hub.repo == "allenai/c4" and source_kind(documents, hub) == "hub"


def test_tfds_serves_only_mc4():
    layout = xp3_language("xp3", "sw")
    with pytest.raises(DataNotFoundError, match=r"xP3 language 'sw' \(TFDS\)[\s\S]*tfds serves only mC4"):
        locate(layout, settings.DataSettings(source="tfds"))


# ---------------------------------------------------------------- yes/no settings (MT0_STRICT, ...)

YES_NO = [s for s in settings.SETTINGS if isinstance(getattr(settings.DataSettings(), s.field), bool)]
ON_SPELLINGS = ["1", "true", "TRUE", "Yes", " on ", "ON"]
OFF_SPELLINGS = ["0", "false", "False", "NO", " off ", "Off"]


def test_every_yes_no_setting_is_found():
    assert [s.env for s in YES_NO] == ["MT0_STRICT"]  # a new one joins the tests below by itself


@pytest.mark.parametrize("setting", YES_NO, ids=lambda s: s.env)
def test_a_yes_no_setting_reads_every_spelling_of_on_and_off(setting):
    default = getattr(settings.DataSettings(), setting.field)
    for value in ON_SPELLINGS:
        assert getattr(settings.DataSettings.from_env({setting.env: value}), setting.field) is True, value
    for value in OFF_SPELLINGS:
        assert getattr(settings.DataSettings.from_env({setting.env: value}), setting.field) is False, value
    for value in ("", "  "):
        assert getattr(settings.DataSettings.from_env({setting.env: value}), setting.field) is default
    assert getattr(settings.DataSettings.from_env({}), setting.field) is default


@pytest.mark.parametrize("setting", YES_NO, ids=lambda s: s.env)
@pytest.mark.parametrize("value", ["maybe", "2", "enabled", "n"])
def test_an_unknown_yes_no_value_names_the_variable_and_the_spellings(setting, value):
    with pytest.raises(ValueError) as err:
        settings.DataSettings.from_env({setting.env: value})
    assert str(err.value) == (f"{setting.env}={value!r} is not on or off: on is 1 / true / yes / on, off is "
                              "0 / false / no / off (any case); unset it for the default (off).")


@pytest.fixture(scope="module")
def one_bad_line_task(tmp_path_factory):
    import multilingual_t0.tasks  # noqa: F401
    from multilingual_t0 import custom

    tmp_path = tmp_path_factory.mktemp("strict")
    (tmp_path / "mine.jsonl").write_text('{"inputs": "a", "targets": "b"}\n{"inputs": "c", "targ\n'
                                         '{"inputs": "e", "targets": "f"}\n', encoding="utf-8")
    return custom.add_task("settings_test_one_bad_line", {"train": str(tmp_path / "mine.jsonl")})


@pytest.mark.parametrize("value,strict", [(v, True) for v in ("1", "TRUE", " yes ", "On")] +
                         [(v, False) for v in ("0", "false", " NO ", "off", "")])
def test_mt0_strict_spelled_in_the_environment_decides_whether_a_bad_record_raises(one_bad_line_task, monkeypatch,
                                                                                 value, strict):
    import seqio

    from multilingual_t0.errors import BadRecordError

    monkeypatch.setenv("MT0_STRICT", value)
    source = seqio.get_mixture_or_task(one_bad_line_task).source
    if strict:
        with pytest.raises(BadRecordError, match="invalid JSON"):
            list(source.iter_examples("train"))
    else:
        assert [e["targets"] for e in source.iter_examples("train")] == ["b", "f"]


def test_the_cli_reports_a_bad_value_as_a_usage_error(registered, monkeypatch, capsys):
    from multilingual_t0.cli import main

    monkeypatch.setenv("MT0_STRICT", "maybe")
    assert main(["show", "super_glue_rte_GPT_3_style", "--source", "samples", "-n", "1"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == ("mt0 show: MT0_STRICT='maybe' is not on or off: on is 1 / true / yes / on, off is "
                   "0 / false / no / off (any case); unset it for the default (off).\n")
