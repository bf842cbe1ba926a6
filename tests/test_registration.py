"""What `import multilingual_t0.tasks` registers, and that registering is clean."""

import importlib
import os
import subprocess
import sys
import textwrap

import seqio

from multilingual_t0.registry import naming
from multilingual_t0.catalog.datasets import load_catalog
from multilingual_t0.registry.specs import (PROMPTED, SCORE_EVAL, build_mixture_specs, build_task_specs,
                                        datasets_without_tasks, load_blacklist)
from multilingual_t0.catalog.templates import list_templates

MIXTURE_SIZES = {
    "mt5_d4_train": 313, "mt5_gpt_train": 79, "mt5_sglue_train": 72, "mt5_d4_gpt_train": 392,
    "mt5_d4_gpt_sglue_train": 464, "mt5_d4_eval": 116, "mt5_d4_score_eval": 116,
    "mt5_bias_fairness_eval": 46, "mt5_bias_fairness_score_eval": 16,
}


def test_counts(registered):
    specs = build_task_specs()
    assert sum(s.kind == PROMPTED for s in specs) == 592
    assert sum(s.kind == SCORE_EVAL for s in specs) == 383
    names = set(seqio.TaskRegistry.names())
    assert {s.name for s in specs} <= names
    assert {n: len(seqio.get_mixture_or_task(n).tasks) for n in MIXTURE_SIZES} == MIXTURE_SIZES


def test_tasks_match_catalog_and_installed_templates(registered):
    names = set(seqio.TaskRegistry.names())
    for ds in load_catalog():
        for info in list_templates(ds.dataset, ds.subset):
            name = naming.task_name(ds.dataset, ds.subset, info.name, ds.variant)
            task = seqio.get_mixture_or_task(name)
            assert tuple(task.splits) == ds.split_names
            assert (naming.score_eval_name(name) in names) == info.has_answer_choices
    assert datasets_without_tasks() == {"jigsaw_toxicity_pred": "promptsource 0.2.3 has no templates for it"}


def test_mixture_rates_follow_t0(registered):
    mixture = seqio.get_mixture_or_task("mt5_d4_gpt_sglue_train")
    rates = {t.name: mixture.get_rate(t) for t in mixture.tasks}
    assert rates["amazon_polarity_Is_this_review"] == 55_555
    assert rates["super_glue_wic_GPT_3_prompt"] == 5_428
    assert rates["glue_mrpc_equivalent"] == 3_668
    assert rates["yelp_review_full_based_on_that"] == 71_428
    assert not any(n.endswith("_score_eval") for n in rates)
    eval_mixture = seqio.get_mixture_or_task("mt5_d4_eval")
    eval_rates = {t.name: eval_mixture.get_rate(t) for t in eval_mixture.tasks}
    assert eval_rates["anli_GPT_3_style_r3"] == 100_459
    assert all(r <= 500_000 for r in eval_rates.values())


def test_eval_mixture_has_original_templates_of_held_out_sets(registered):
    members = {t.name for t in seqio.get_mixture_or_task("mt5_d4_eval").tasks}
    twins = {t.name for t in seqio.get_mixture_or_task("mt5_d4_score_eval").tasks}
    assert {"anli_GPT_3_style_r1", "super_glue_cb_GPT_3_style", "super_glue_copa_C1_or_C2_premise_so_because_"} <= members
    assert twins == {naming.score_eval_name(m) for m in members}
    assert not any(n.startswith("glue_") for n in members)


def test_every_blacklist_entry_names_a_registered_task_with_a_reason(registered):
    """A stale entry (a task promptsource does not have) would exclude nothing while seeming to."""
    names = set(seqio.TaskRegistry.names())
    blacklist = load_blacklist()
    assert blacklist, "the table is empty: delete it and its code, or list what it excludes"
    for task, reason in blacklist.items():
        assert task in names, f"task_blacklist.csv names {task!r}, which is not a registered task"
        assert reason.strip(), f"task_blacklist.csv gives no reason for {task!r}"


def test_blacklisted_tasks_and_their_twins_stay_out_of_every_mixture(tmp_path):
    """Through a table naming a training task and a held-out task: both, and the held-out task's
    rank-classification twin, leave every mixture (T0's and the held-out eval mixture); nothing else does."""
    from multilingual_t0.registry import xeval

    table = tmp_path / "blacklist.csv"
    table.write_text("task,reason\namazon_polarity_Is_this_review,test\nsuper_glue_rte_GPT_3_style,test\n",
                     encoding="utf-8")
    kept = {m.name: {t for t, _ in m.tasks} for m in build_mixture_specs(str(table))}
    full = {m.name: {t for t, _ in m.tasks} for m in build_mixture_specs()}
    gone = {"amazon_polarity_Is_this_review", "super_glue_rte_GPT_3_style",
            "super_glue_rte_GPT_3_style_score_eval"}
    assert {name: full[name] - kept[name] for name in full if full[name] != kept[name]} == {
        "mt5_d4_train": {"amazon_polarity_Is_this_review"},
        "mt5_d4_gpt_train": {"amazon_polarity_Is_this_review"},
        "mt5_d4_gpt_sglue_train": {"amazon_polarity_Is_this_review"},
        "mt5_d4_eval": {"super_glue_rte_GPT_3_style"},
        "mt5_d4_score_eval": {"super_glue_rte_GPT_3_style_score_eval"},
    }
    assert not any(gone & members for members in kept.values())
    heldout = {t.name for t in xeval.heldout_twins(str(table))}
    assert {t.name for t in xeval.heldout_twins()} - heldout == {"super_glue_rte_GPT_3_style_score_eval"}


def test_register_twice_is_harmless(registered):
    before = (len(seqio.TaskRegistry.names()), len(seqio.MixtureRegistry.names()))
    registered.register_all()
    importlib.reload(registered)
    assert (len(seqio.TaskRegistry.names()), len(seqio.MixtureRegistry.names())) == before


def test_import_is_offline_silent_and_writes_nothing(tmp_path):
    """A fresh interpreter with sockets disabled imports the tasks; nothing printed, no file written."""
    script = textwrap.dedent("""
        import socket
        def refuse(*a, **k):
            raise SystemExit("network access during import: %r" % (a[1:],))
        socket.socket.connect = refuse
        socket.create_connection = refuse
        socket.getaddrinfo = refuse
        import seqio, t5, promptsource.templates  # the baseline (TensorFlow creates ~/.keras)
        import io, contextlib, os
        def files():
            return {os.path.join(d, f) for d, _, fs in os.walk(".") for f in fs}
        before = files()
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            import multilingual_t0.tasks
        assert buf.getvalue() == "", buf.getvalue()
        assert files() == before, files() - before
        # T0's 9, mT5's LM adaptation (1), the zero-shot evals (13: 4 benchmarks + all four + English
        # held-out, each with the paper's prompts and with all prompts, + T0's held-out), xP3 / xP3mt (2)
        assert len(seqio.MixtureRegistry.names()) == 25, sorted(seqio.MixtureRegistry.names())
    """)
    env = dict(os.environ, HOME=str(tmp_path), MT0_VOCAB=str(tmp_path / "absent.model"))
    env.pop("MT0_DATA_SOURCE", None)
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout == ""
