"""multilingual_t0: SeqIO tasks and mixtures that train mT0 (multilingual T0) with T5X.

Importing this package registers nothing; `import multilingual_t0.tasks` does.
"""

__version__ = "0.1.0"
