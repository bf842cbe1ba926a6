"""multilingual_t0: SeqIO tasks, gin configs and tools to train mT0 with T5X.

Dependencies with special install needs (t5 without its deps, promptsource ignoring its Python cap)
are installed by `make install` from requirements.txt; see README.md for why.
"""

import os

from setuptools import find_packages, setup


def package_files(root):
    out = []
    for folder, _, files in os.walk(root):
        out += [os.path.relpath(os.path.join(folder, f), "multilingual_t0") for f in files]
    return out


setup(
    name="multilingual_t0",
    version="0.1.0",
    description="SeqIO tasks and T5X configs to train mT0 (multilingual T0) on mT5",
    packages=find_packages(include=["multilingual_t0", "multilingual_t0.*"]),
    package_data={"multilingual_t0": package_files("multilingual_t0/data")},
    python_requires=">=3.10",
    # The pinned stack lives in requirements.txt (installed by `make install`); listing seqio etc.
    # here as well would let pip "resolve" them again.
    install_requires=[],
    entry_points={"console_scripts": ["mt0 = multilingual_t0.cli:main"]},
)
