"""A small, safe evaluator for integer arithmetic over block parameters.

Built on `ast` with an allow-list of node types: numbers, parameter names, + - * / // % **,
unary minus, and min/max/abs. Never `eval`.
"""
from __future__ import annotations

import ast
import operator

from ..errors import Problem, did_you_mean

_BINOPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.FloorDiv: operator.floordiv,
    ast.Div: operator.truediv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos}
_FUNCS = {"min": min, "max": max, "abs": abs}
class _Invalid:
    """The value of an expression that failed; its error is already reported where it was written."""

    def __repr__(self):
        return "<invalid expression>"


INVALID = _Invalid()
MAX_MAGNITUDE = 10**15  # far beyond any real layer size, small enough to stop runaway powers
MAX_LENGTH = 200


def parse_expression(text: str):
    """The expression's AST when `text` reads as allowed arithmetic, else None (a word stays a word)."""
    tree, _ = check_expression(text)
    return tree


def check_expression(text: str):
    """(tree, None) for allowed arithmetic; (None, reason) for Python that is not allowed (never
    evaluated); (None, None) for text that is not an expression at all."""
    if len(text) > MAX_LENGTH:
        return None, None
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None, None
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            if not (isinstance(node.func, ast.Name) and node.func.id in _FUNCS):
                name = node.func.id if isinstance(node.func, ast.Name) else None
                return None, f"a call of '{name}'" if name else "a call"
            if node.keywords:
                return None, f"keyword arguments in {node.func.id}()"
            continue
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
                return None, f"the constant {node.value!r}"
            continue
        if not isinstance(node, (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Name, ast.Load,
                                 *_BINOPS, *_UNARY)):
            return None, _FORBIDDEN.get(type(node), f"'{type(node).__name__}' syntax")
    return tree, None


_FORBIDDEN = {ast.Attribute: "attribute access ('.')", ast.Subscript: "indexing ('[...]')",
              ast.Compare: "a comparison", ast.BoolOp: "'and'/'or'", ast.IfExp: "'if ... else'",
              ast.Lambda: "'lambda'", ast.List: "a list", ast.Tuple: "a tuple", ast.Dict: "a mapping",
              ast.Set: "a set", ast.ListComp: "a comprehension", ast.GeneratorExp: "a comprehension",
              ast.Starred: "'*'", ast.BitOr: "'|'", ast.BitAnd: "'&'", ast.BitXor: "'^'",
              ast.LShift: "'<<'", ast.RShift: "'>>'", ast.Invert: "'~'", ast.Not: "'not'",
              ast.MatMult: "'@'", ast.JoinedStr: "an f-string", ast.NamedExpr: "':='"}
ALLOWED = "numbers, block parameters, + - * / // % **, parentheses and min, max, abs"


def is_arithmetic(tree) -> bool:
    """True when the expression does arithmetic (not just one bare word or number)."""
    return not isinstance(tree.body, (ast.Name, ast.Constant))


def names_in(tree):
    called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    return [n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and id(n) not in called]


def evaluate(tree, env: dict, text: str = ""):
    """Evaluate a parsed expression; problems raise Problem with the expression in the message."""

    def ev(node):
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            if node.id not in env:
                raise Problem(f"unknown name '{node.id}' in expression '{text}'",
                              did_you_mean(node.id, env) or "use a parameter of the block")
            value = env[node.id]
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise Problem(f"'{node.id}' is {value!r}, not a number, in expression '{text}'")
            return value
        if isinstance(node, ast.UnaryOp):
            return _UNARY[type(node.op)](ev(node.operand))
        if isinstance(node, ast.BinOp):
            left, right = ev(node.left), ev(node.right)
            if isinstance(node.op, ast.Pow) and (abs(right) > 64 or abs(left) > MAX_MAGNITUDE):
                raise Problem(f"'{text}': power too large")
            if isinstance(node.op, (ast.Div, ast.FloorDiv, ast.Mod)) and right == 0:
                raise Problem(f"'{text}': division by zero")
            try:
                result = _BINOPS[type(node.op)](left, right)
            except ZeroDivisionError:
                raise Problem(f"'{text}': division by zero") from None
            except (ArithmeticError, ValueError, TypeError):
                raise Problem(f"'{text}' is out of range") from None
            if isinstance(result, complex) or abs(result) > MAX_MAGNITUDE or result != result:
                raise Problem(f"'{text}' = {result} is out of range")
            return result
        if isinstance(node, ast.Call):
            name = node.func.id
            args = [ev(a) for a in node.args]
            if not args or (name == "abs" and len(args) != 1):
                raise Problem(f"'{text}': {name}() takes {'one argument' if name == 'abs' else 'arguments'}, "
                              f"given {len(args)}")
            return _FUNCS[name](*args) if len(args) > 1 or name == "abs" else args[0]
        raise Problem(f"'{text}' is not arithmetic netc understands")

    return ev(tree)
