"""The `netc` command. Exit status: 0 success, 1 a problem with the spec or data, 2 wrong usage."""
from __future__ import annotations

import argparse
import sys

from . import commands
from . import summary as views
from .errors import SpecError
from .frontend import load

EMITS = {"summary": views.summary, "graph": views.graph_text, "dot": views.dot,
         "types": views.types_text, "json": views.to_json}


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.print_usage(sys.stderr)
        print(f"netc: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def make_parser():
    parser = _Parser(prog="netc", description="netc: check and compile neural networks written in YAML")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    c = sub.add_parser("compile", help="check a spec, print a view of it, and compile it")
    c.add_argument("spec", help="the network spec (.yaml)")
    c.add_argument("--emit", choices=sorted(EMITS) + ["backward", "tangent", "python"], default="summary",
                   help="what to print (default: summary)")
    c.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    c.add_argument("-W", "--no-warnings", action="store_true", help="do not print warnings")
    c.add_argument("--check", action="store_true", help="check and print only; do not compile kernels")
    c.add_argument("--jit", action="store_true", help="also compile the whole-step tier (netc train --jit)")
    commands.add_parsers(sub)
    return parser


def _print_warnings(warnings):
    for w in warnings:
        print(w.render(), file=sys.stderr)


def cmd_compile(args) -> int:
    try:
        graph = load(args.spec, args.dtype)
    except SpecError as err:
        if not args.no_warnings:
            _print_warnings(err.warnings)
        print(err.render(), file=sys.stderr)
        return 1
    if not args.no_warnings:
        _print_warnings(graph.warnings)
    if args.emit in EMITS:
        print(EMITS[args.emit](graph), flush=True)
        return 0 if args.check or args.emit != "summary" else commands.build(graph, args.jit)
    try:
        print(commands.emit_compiler_view(graph, args.emit))
    except ValueError as exc:
        print(f"netc: error: {exc}", file=sys.stderr)
        return 1
    return 0


def main(argv=None) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    return {"compile": cmd_compile, **commands.COMMANDS}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
