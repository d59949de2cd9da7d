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
MAX_MAGNITUDE = 10**15  # far beyond any real layer size, small enough to stop runaway powers
MAX_LENGTH = 200


def parse_expression(text: str):
    """The expression's AST when `text` reads as arithmetic, else None (a plain word stays a word)."""
    if len(text) > MAX_LENGTH:
        return None
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Constant, ast.Name,
                                 ast.Load, ast.Call, *_BINOPS, *_UNARY)):
            return None
        if isinstance(node, ast.Constant) and (isinstance(node.value, bool)
                                               or not isinstance(node.value, (int, float))):
            return None
        if isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name) and node.func.id in _FUNCS
                                               and not node.keywords):
            return None
    return tree


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
            result = _BINOPS[type(node.op)](left, right)
            if isinstance(result, complex) or abs(result) > MAX_MAGNITUDE:
                raise Problem(f"'{text}' = {result} is out of range")
            return result
        if isinstance(node, ast.Call):
            args = [ev(a) for a in node.args]
            if not args:
                raise Problem(f"'{text}': {node.func.id}() needs arguments")
            return _FUNCS[node.func.id](*args) if len(args) > 1 or node.func.id == "abs" else args[0]
        raise Problem(f"'{text}' is not arithmetic netc understands")

    return ev(tree)
