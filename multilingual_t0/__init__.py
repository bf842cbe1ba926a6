"""multilingual_t0: SeqIO tasks and mixtures that train mT0 (multilingual T0) with T5X.

Importing this package registers nothing; `import multilingual_t0.tasks` does.

The code lives in layer folders (docs/design.md). Five short public paths that gin files, scripts and
users already write are kept as names of modules in those folders (the same module object, no copy):

    multilingual_t0.custom     -> registry/custom.py    (custom.add_task)
    multilingual_t0.xp3        -> registry/xp3.py       (xp3.register_mixture)
    multilingual_t0.lm_adapt   -> registry/lm_adapt.py  (lm_adapt.register_mixture)
    multilingual_t0.gin_vocab  -> jobs/gin_vocab.py     (VOCABULARY = @gin_vocab.vocabulary())
    multilingual_t0.resumable  -> jobs/resumable.py     (train.get_dataset_fn = @resumable.get_dataset)
"""

import importlib
import importlib.abc
import importlib.util
import sys

__version__ = "0.1.0"

PUBLIC_PATHS = {
    "custom": "registry.custom",
    "xp3": "registry.xp3",
    "lm_adapt": "registry.lm_adapt",
    "gin_vocab": "jobs.gin_vocab",
    "resumable": "jobs.resumable",
}


class _PublicPathFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports `multilingual_t0.<public name>` as the module it names (loaded on first use only)."""

    def find_spec(self, fullname, path=None, target=None):
        package, _, name = fullname.rpartition(".")
        if package == __name__ and name in PUBLIC_PATHS:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        return importlib.import_module(f"{__name__}.{PUBLIC_PATHS[spec.name.rpartition('.')[2]]}")

    def exec_module(self, module):
        del module  # already executed under its own name


if not any(isinstance(f, _PublicPathFinder) for f in sys.meta_path):
    sys.meta_path.append(_PublicPathFinder())
