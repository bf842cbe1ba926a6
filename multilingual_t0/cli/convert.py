"""mt0 convert: T5X checkpoint <-> Hugging Face transformers model (mT5/mT0 architecture)."""

from __future__ import annotations

import sys


def add_parser(sub) -> None:
    p = sub.add_parser(
        "convert", help="convert checkpoints: T5X -> transformers (to-hf) or transformers -> T5X (to-t5x)",
        description="Checkpoint conversion without a T5X install. `to-hf` reads a T5X checkpoint (legacy "
                    "msgpack+tensorstore or Orbax layout) and writes a directory transformers loads; "
                    "`to-t5x` writes a T5X checkpoint to use as INITIAL_CHECKPOINT_PATH.")
    direction = p.add_subparsers(dest="direction", metavar="DIRECTION")
    direction.required = True

    hf = direction.add_parser("to-hf", help="T5X checkpoint -> transformers model directory")
    hf.add_argument("checkpoint", metavar="CHECKPOINT_DIR",
                    help="T5X MODEL_DIR (its latest checkpoint_N) or one checkpoint_N directory")
    hf.add_argument("--out", required=True, metavar="DIR", help="output directory (created)")
    hf.add_argument("--model-size", metavar="SIZE",
                    help="small|base|large|xl|xxl (default: read the run's config.gin beside the checkpoint)")
    hf.add_argument("--dtype", default="float32", choices=("float32", "bfloat16"), help="default float32")
    hf.add_argument("--vocab", metavar="SPM_MODEL",
                    help="SentencePiece model to ship (default: $MT0_VOCAB, else mT5's)")
    hf.set_defaults(func=run_to_hf)

    t5x = direction.add_parser("to-t5x", help="transformers model (directory or Hub id) -> T5X checkpoint")
    t5x.add_argument("model", metavar="HF_DIR_OR_ID", help="e.g. a local directory, or bigscience/mt0-base")
    t5x.add_argument("--out", required=True, metavar="DIR",
                     help="output directory (local or gs://); writes DIR/checkpoint_<step>")
    t5x.add_argument("--step", type=int, default=None,
                     help="step recorded in the checkpoint (default 1000000: the package's run gins count "
                          "TRAIN_STEPS from mT5's 1,000,000)")
    t5x.add_argument("--dtype", default="float32", choices=("float32", "bfloat16"), help="default float32")
    t5x.set_defaults(func=run_to_t5x)


def run_to_hf(args) -> int:
    from multilingual_t0.cli.common import print_json
    from multilingual_t0.convert import to_hf

    info = to_hf(args.checkpoint, args.out, model_size=args.model_size, dtype=args.dtype, vocab=args.vocab)
    print(f"converted {info['checkpoint']} ({info['layout']}, {info['parameters']:,} parameters) -> "
          f"{info['out_dir']}", file=sys.stderr)
    print_json(info)
    return 0


def run_to_t5x(args) -> int:
    from multilingual_t0.cli.common import print_json
    from multilingual_t0.convert import to_t5x
    from multilingual_t0.convert.to_t5x import DEFAULT_STEP

    step = DEFAULT_STEP if args.step is None else args.step
    info = to_t5x(args.model, args.out, step=step, dtype=args.dtype)
    print(f"converted {info['source']} ({info['parameters']:,} parameters) -> {info['checkpoint']}\n"
          f"fine-tune from it: scripts/first_run.sh \"INITIAL_CHECKPOINT_PATH='{info['checkpoint']}'\" "
          f"(TRAIN_STEPS counts from step {step})", file=sys.stderr)
    print_json({k: v for k, v in info.items() if k != "architecture"})
    return 0
