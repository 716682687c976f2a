"""fer-bench command line: one module per verb (its flags and what it does); mistakes become one line.

Keras and TensorFlow are imported only by the verbs that train, so the others answer at once.
"""

import errno
import os
import sys

from fer_bench._version import __version__
from fer_bench.cli import clean, compare, data, evaluate, listing, mlflow, report, run, status, validate, wandb
from fer_bench.cli.arguments import Parser, model_files
from fer_bench.errors import EXIT_OK, FerBenchError

EXIT_USER, EXIT_INTERRUPTED = 2, 130  # 1 (write errors), 3 (failed trials), 4, 5 come from below
VERBS = (run, listing, validate, data, report, evaluate, compare, clean, mlflow, wandb, status)
COMMANDS = {verb.NAME: verb for verb in VERBS}


def build_parser() -> Parser:
    parser = Parser(prog="fer-bench", description="Declarative, repeatable FER-2013 benchmarks.")
    parser.add_argument("--version", action="version", version=f"fer-bench {__version__}")
    verbs = parser.add_subparsers(dest="verb", metavar="COMMAND", parser_class=Parser)
    for verb in VERBS:
        verb.add_arguments(verbs.add_parser(verb.NAME, help=verb.HELP))
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = build_parser().parse_args(argv)
        if not args.verb:
            build_parser().print_help()
            return EXIT_USER
        with model_files(getattr(args, "model_file", None)):
            return COMMANDS[args.verb].execute(args, argv)
    except FerBenchError as exc:
        print(f"error: {one_line(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted: every finished trial is recorded; run the same command again to continue",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. `fer-bench data | head`: the reader is gone, nothing to report
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except OSError as exc:
        if exc.errno != errno.ENAMETOOLONG:
            raise
        name = str(exc.filename or "")
        print(f"error: {one_line(name[:60])}{'...' if len(name) > 60 else ''}: path too long (at most 255 bytes "
              f"a name and 4,096 in all)", file=sys.stderr)
        return EXIT_USER


def one_line(message: str) -> str:
    """The message as one printable line: a value the user gave may hold a newline or a control character."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in message)
