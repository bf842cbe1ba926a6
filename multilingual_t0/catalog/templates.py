"""Index of the installed promptsource templates, read fast for registration.

Registration needs only each template's name and metadata, so this module parses the templates' YAML
with libyaml and never renders Jinja. The promptsource `Template` objects that render records are
loaded later, when a dataset is actually built (`load_template`).
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.util
import os
from typing import Optional, Tuple

import yaml

from multilingual_t0.errors import UnknownNameError

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _TemplateYamlLoader(_Loader):  # pylint: disable=too-many-ancestors
    """Reads promptsource's `!Template` / `!TemplateMetadata` tags as plain mappings."""


for _tag in ("!Template", "!TemplateMetadata"):
    _TemplateYamlLoader.add_constructor(_tag, lambda loader, node: loader.construct_mapping(node, deep=True))


@dataclasses.dataclass(frozen=True)
class TemplateInfo:
    name: str
    id: str
    answer_choices: Optional[str]  # the Jinja expression, None when the template has none
    original_task: bool
    choices_in_prompt: Optional[bool]
    metrics: Tuple[str, ...]

    @property
    def has_answer_choices(self) -> bool:
        return bool(self.answer_choices)


@functools.lru_cache(maxsize=None)
def templates_root() -> str:
    """The `templates/` folder of the installed promptsource, found without importing it."""
    spec = importlib.util.find_spec("promptsource")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            "promptsource is not installed. Install it with "
            "`pip install --no-deps --ignore-requires-python promptsource==0.2.3` (see README)."
        )
    return os.path.join(list(spec.submodule_search_locations)[0], "templates")


def templates_path(dataset: str, subset: Optional[str]) -> str:
    parts = (dataset, subset) if subset else (dataset,)
    return os.path.join(templates_root(), *parts, "templates.yaml")


@functools.lru_cache(maxsize=None)
def list_templates(dataset: str, subset: Optional[str]) -> Tuple[TemplateInfo, ...]:
    """Templates of (dataset, subset) in promptsource's order; empty when promptsource has none."""
    path = templates_path(dataset, subset)
    if not os.path.exists(path):
        return ()
    with open(path, encoding="utf-8") as f:
        data = yaml.load(f, Loader=_TemplateYamlLoader) or {}
    infos = []
    for template_id, t in (data.get("templates") or {}).items():
        meta = t.get("metadata") or {}
        infos.append(TemplateInfo(
            name=t["name"],
            id=str(t.get("id", template_id)),
            answer_choices=t.get("answer_choices") or None,
            original_task=bool(meta.get("original_task")),
            choices_in_prompt=meta.get("choices_in_prompt"),
            metrics=tuple(meta.get("metrics") or ()),
        ))
    # promptsource lists templates sorted by name (DatasetTemplates.all_template_names).
    return tuple(sorted(infos, key=lambda i: i.name))


@functools.lru_cache(maxsize=None)
def _dataset_templates(dataset: str, subset: Optional[str]):
    from promptsource.templates import DatasetTemplates  # heavy: pandas, pkg_resources

    return DatasetTemplates(dataset, subset)


def load_template(dataset: str, subset: Optional[str], name: str):
    """The promptsource `Template` that renders records."""
    templates = _dataset_templates(dataset, subset)
    try:
        return templates[name]
    except KeyError as err:
        raise UnknownNameError(
            f"template of {dataset}{'/' + subset if subset else ''}", name, templates.all_template_names
        ) from err


@functools.lru_cache(maxsize=None)
def fixed_answer_choices(dataset: str, subset: Optional[str], name: str) -> Optional[Tuple[str, ...]]:
    """The answer choices when they do not depend on the example, else None."""
    choices = load_template(dataset, subset, name).get_fixed_answer_choices_list()
    return tuple(choices) if choices else None
