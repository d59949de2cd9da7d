"""Stage 2, expand: located YAML -> a flat list of layer instances with hierarchical names.

Here the spec's sections are checked, user blocks are called (with typed parameters and integer
expressions), `repeat` is unrolled, automatic names are given, and `in:` references are resolved.
Attribute values stay as the user wrote them; the op's own rules check them in the build stage.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..errors import Diagnostics, Loc, Problem, closest, did_you_mean
from ..ops import REGISTRY
from ..types import DTYPES, SYMBOLS
from . import expr
from .parse import LDict, LList

FORMAT_VERSION = 1
SECTIONS = ("netc", "name", "description", "inputs", "outputs", "layers", "loss", "train",
            "defaults", "blocks")
LAYER_KEYS = ("name", "in", "repeat")  # keys of a layer entry that are not op attributes
REQUIRED_SECTIONS = ("netc", "inputs", "layers")
MAX_NODES = 20_000  # ResNet-1001 has about 3,000 layers; more is a runaway 'repeat'
MAX_CALL_DEPTH = 32
MAX_REPEAT = 10_000
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")
PARAM_TYPES = {"int": int, "float": float, "bool": bool, "str": str}
TYPE_SYNONYMS = {"integer": "int", "number": "float", "double": "float", "real": "float", "boolean": "bool",
                 "string": "str", "word": "str", **{t: t for t in PARAM_TYPES}}


@dataclass
class InputDecl:
    name: str
    shape: tuple  # example shape, without N
    dtype: str
    loc: Loc


@dataclass
class LayerInst:
    """One op instance after expansion."""

    name: str  # full hierarchical name, e.g. stage2/block1/conv2
    op: str
    attrs: dict  # raw values, block parameters already substituted
    attr_locs: dict
    refs: list  # [(slot, Ref)]; slot is an int position or a named input slot
    loc: Loc
    call_sites: tuple = ()  # ((block, Loc), ...) innermost first
    weight: float = 1.0  # for losses
    is_loss: bool = False
    inputs: list = field(default_factory=list)  # resolved full names, by slot order
    key_locs: dict = field(default_factory=dict)  # where each attribute's name is written


@dataclass
class Ref:
    text: str
    loc: Loc
    scope: "Scope"
    resolved: str | None = None  # filled at expansion time for $input / $last
    owner: str = ""  # who reads it, for messages: "block 'se' called as 'se_1'"


@dataclass
class Spec:
    name: str
    file: str
    inputs: list
    layers: list  # LayerInst, in the order written (losses last)
    outputs: list  # full names
    train: dict
    defaults: dict
    diagnostics: list = field(default_factory=list)  # errors and warnings found while expanding
    description: str = ""

    @property
    def losses(self):
        return [layer for layer in self.layers if layer.is_loss]


class Scope:
    """Names visible inside one call of a block (or at the top level)."""

    def __init__(self, prefix, parent, params, call_sites, block_input=None):
        self.prefix = prefix
        self.parent = parent
        self.params = params
        self.call_sites = call_sites
        self.block_input = block_input
        self.names: dict = {}  # local name -> (full name, Loc)
        self.counters: dict = {}

    def auto_name(self, base):
        self.counters[base] = self.counters.get(base, 0) + 1
        name = f"{base}_{self.counters[base]}"
        while name in self.names:
            self.counters[base] += 1
            name = f"{base}_{self.counters[base]}"
        return name


class Expander:
    def __init__(self, doc: LDict, file: str):
        self.doc = doc
        self.file = file
        self.diags = Diagnostics()
        self.layers: list = []
        self.all_names: dict = {}  # full name -> Loc
        self.blocks: dict = {}
        self.inputs: list = []
        self.pending_inputs: dict = {}  # '$input:<call>' -> Ref in the caller's scope
        self.aliases: dict = {}  # block call's full name -> its output layer
        self.output_refs: list = []
        self.poisoned: set = set()  # names whose definition failed: references to them stay quiet
        self.failed_blocks: set = set()  # blocks whose definition failed: calls to them stay quiet
        self.meant: set = set()

    # -- helpers ---------------------------------------------------------------------------
    def error(self, loc, message, hint=None, scope=None):
        sites = scope.call_sites if scope else ()
        self.diags.error(loc, message, hint, sites)

    def run(self) -> Spec:
        doc = self.doc
        top_loc = getattr(doc, "loc", Loc(self.file, 1, 1))
        if not isinstance(doc, LDict):
            self.error(top_loc, "a spec is a mapping with keys 'netc', 'name', 'inputs' and 'layers'",
                       "start the file with 'netc: 1' on its own line")
            self.diags.raise_if_any()
        self.meant = set()  # sections the user misspelt: not reported missing as well
        for key in doc:
            if key not in SECTIONS:
                self.error(doc.key_loc(key), f"unknown section '{key}'", did_you_mean(key, SECTIONS))
                self.meant.add(closest(key, SECTIONS))
        self._version()
        name = doc.get("name", "network")
        if not isinstance(name, str) or not name:
            self.error(doc.value_loc("name"), f"'name' must be a word, found {name!r}", "for example: name: lenet5")
            name = "network"
        description = doc.get("description", "")
        if description is not None and not isinstance(description, str):
            self.error(doc.value_loc("description"), "'description' must be text")
            description = ""
        defaults = self._defaults()
        self._blocks()
        top = Scope("", None, {}, ())
        first = self._inputs(top)
        if first is None:  # the inputs failed and were reported: layers reading them stay quiet
            first = "$no-input"
            self.poisoned.add(first)
        layers = doc.get("layers")
        if layers is None:
            if "layers" not in self.meant:
                self.error(doc.value_loc("layers") if "layers" in doc else top_loc, "the spec has no 'layers'",
                           "add 'layers:' with a list of ops, e.g. '- dense: {units: 10}'")
        elif not isinstance(layers, LList) or not layers:
            self.error(doc.value_loc("layers"), "'layers' must be a non-empty list",
                       "each entry starts with '- ', e.g. '- dense: {units: 10}'")
        last = None
        if isinstance(layers, LList) and layers:
            # what the last entry produces: for a block call, its output (followed when resolving)
            last = self._layers(layers, top, first)
        self._losses(top, last)
        outputs = self._outputs(top, last)
        train = self._train()
        self._resolve_refs(top)
        # the build stage adds the attribute errors of every layer before raising all of them
        return Spec(name, self.file, self.inputs, self.layers, outputs, train, defaults,
                    list(self.diags.items), description or "")

    # -- sections --------------------------------------------------------------------------
    def _version(self):
        doc = self.doc
        if "netc" not in doc:
            if "netc" in self.meant:
                return
            self.error(doc.loc, "the spec does not say which netc format it uses",
                       f"add 'netc: {FORMAT_VERSION}' as the first line")
        elif type(doc["netc"]) is not int or doc["netc"] != FORMAT_VERSION:
            self.error(doc.value_loc("netc"), f"unsupported format version {doc['netc']!r}; "
                       f"this netc reads version {FORMAT_VERSION}", f"write 'netc: {FORMAT_VERSION}' (a number)")

    def _inputs(self, top):
        doc = self.doc
        inputs = doc.get("inputs")
        if not isinstance(inputs, LDict) or not inputs:
            if "inputs" in doc or "inputs" not in self.meant:
                self.error(doc.value_loc("inputs") if "inputs" in doc else doc.loc,
                           "the spec needs 'inputs': a mapping from input names to shapes",
                           "for example: inputs: {image: [1, 28, 28], label: {shape: [], dtype: int32}}")
            return None
        first = None
        for name, value in inputs.items():
            loc = inputs.value_loc(name)
            if not self._check_name(name, inputs.key_loc(name)):
                continue
            if first is None:
                first = name
            # a declaration that fails still defines the name, so layers that read it add no noise
            top.names[name] = (name, inputs.key_loc(name))
            self.all_names[name] = inputs.key_loc(name)
            self.poisoned.add(name)
            dtype = "float32"
            shape_value, shape_loc = value, loc
            if isinstance(value, LDict):
                for key in value:
                    if key not in ("shape", "dtype"):
                        self.error(value.key_loc(key), f"unknown key '{key}' for input '{name}'",
                                   did_you_mean(key, ("shape", "dtype")))
                if "shape" not in value:
                    if "shape" not in {closest(k, ("shape", "dtype")) for k in value if k not in ("shape", "dtype")}:
                        self.error(loc, f"input '{name}' has no shape",
                                   "give 'shape: [...]' ([] for one number per example)")
                    continue
                shape_value, shape_loc = value["shape"], value.value_loc("shape")
                dtype = value.get("dtype", "float32")
                if not isinstance(dtype, str) or dtype not in DTYPES:
                    self.error(value.value_loc("dtype"), f"unknown dtype {dtype!r} for input '{name}'",
                               did_you_mean(dtype, DTYPES) if isinstance(dtype, str) else f"one of {', '.join(DTYPES)}")
                    continue
            shape = self._shape(shape_value, shape_loc, name)
            if shape is None:
                continue
            self.inputs.append(InputDecl(name, shape, dtype, inputs.key_loc(name)))
            self.poisoned.discard(name)
        return first

    def _shape(self, value, loc, name):
        if isinstance(value, int) and not isinstance(value, bool):
            value = [value]
        if not isinstance(value, list):
            self.error(loc, f"the shape of input '{name}' must be a list of sizes, found {value!r}",
                       "for example [1, 28, 28], [64], [T, 65] or [] for a scalar per example")
            return None
        shape = []
        for i, d in enumerate(value):
            item_loc = value.item_loc(i) if isinstance(value, LList) else loc
            if d == "N":
                self.error(item_loc, f"input '{name}': the batch dimension N is implicit",
                           "give one example's shape; netc puts N in front")
                return None
            if d in SYMBOLS:
                shape.append(d)
            elif isinstance(d, int) and not isinstance(d, bool) and 0 < d <= (1 << 24):
                shape.append(d)
            else:
                self.error(item_loc, f"input '{name}': a size must be a positive whole number or T, found {d!r}",
                           "sizes count elements per example; T stands for a sequence length")
                return None
        return tuple(shape)

    def _defaults(self):
        doc = self.doc
        out = {}
        defaults = doc.get("defaults")
        if defaults is None:
            return out
        if not isinstance(defaults, LDict):
            self.error(doc.value_loc("defaults"), "'defaults' must map op names to attribute defaults",
                       "for example: defaults: {conv2d: {rounding: floor, bias: false}}")
            return out
        for op_name, attrs in defaults.items():
            if op_name not in REGISTRY:
                self.error(defaults.key_loc(op_name), f"unknown op '{op_name}' in defaults",
                           did_you_mean(op_name, REGISTRY))
                continue
            if not isinstance(attrs, LDict):
                self.error(defaults.value_loc(op_name), f"defaults for '{op_name}' must be a mapping")
                continue
            op = REGISTRY[op_name]
            for key in attrs:
                if key not in op.attrs:
                    self.error(attrs.key_loc(key), f"unknown attribute '{key}' for {op_name} in defaults",
                               did_you_mean(key, op.attrs))
            out[op_name] = attrs
        return out

    def _blocks(self):
        doc = self.doc
        blocks = doc.get("blocks")
        if blocks is None:
            return
        if not isinstance(blocks, LDict):
            self.error(doc.value_loc("blocks"), "'blocks' must map block names to definitions")
            return
        for name, body in blocks.items():
            loc = blocks.key_loc(name)
            if name in REGISTRY:
                self.error(loc, f"block '{name}' has the name of a built-in op", "choose another name")
                continue
            if not self._check_name(name, loc):
                continue
            if not isinstance(body, LDict):
                self.error(blocks.value_loc(name), f"block '{name}' must be a mapping with 'params' and 'layers'")
                self.failed_blocks.add(name)
                continue
            for key in body:
                if key not in ("params", "layers", "output", "description"):
                    self.error(body.key_loc(key), f"unknown key '{key}' in block '{name}'",
                               did_you_mean(key, ("params", "layers", "output", "description")))
            params = {}
            raw = body.get("params") or LDict(loc)
            if not isinstance(raw, LDict):
                self.error(body.value_loc("params"), f"'params' of block '{name}' must be a mapping",
                           "for example: params: {channels: int, reduction: 4}")
                raw = LDict(loc)
            for pname, spec in raw.items():
                if not self._check_name(pname, raw.key_loc(pname)):
                    continue
                if pname in LAYER_KEYS:
                    self.error(raw.key_loc(pname), f"block '{name}' cannot have a parameter named '{pname}'",
                               f"'{pname}' is said of every layer and block call; choose another name")
                    continue
                if isinstance(spec, str) and spec in PARAM_TYPES:
                    params[pname] = (PARAM_TYPES[spec], None, True)
                elif isinstance(spec, str) and spec.lower() in TYPE_SYNONYMS:
                    # 'integer' or 'string' is a misspelt type, not a default value
                    self.error(raw.value_loc(pname), f"unknown type '{spec}' for parameter '{pname}' of block "
                               f"'{name}'", f"did you mean '{TYPE_SYNONYMS[spec.lower()]}'? A type is one of "
                               f"int, float, bool, str; any other value is the parameter's default")
                elif isinstance(spec, (bool, int, float, str)):
                    params[pname] = (type(spec), spec, False)
                else:
                    self.error(raw.value_loc(pname), f"parameter '{pname}' of block '{name}' needs a type "
                               f"(int, float, bool, str) or a default value")
            layers = body.get("layers")
            if not isinstance(layers, LList) or not layers:
                keys = ("params", "layers", "output", "description")
                if "layers" in body or "layers" not in {closest(k, keys) for k in body if k not in keys}:
                    self.error(body.value_loc("layers") if "layers" in body else body.loc,
                               f"block '{name}' needs a non-empty list of 'layers'")
                self.failed_blocks.add(name)
                continue
            self.blocks[name] = {"params": params, "layers": layers, "output": body.get("output"),
                                 "loc": loc, "body": body}

    def _check_name(self, name, loc, scope=None) -> bool:
        if not isinstance(name, str) or not name or "/" in name or name.startswith("$") \
                or not all(c.isalnum() or c in "_-." for c in name):
            shown = f"'{name}'" if isinstance(name, str) else repr(name)
            self.error(loc, f"{shown} is not a valid name",
                       "use letters, digits, '_', '-' or '.'; '/' separates block levels and is added by netc",
                       scope)
            return False
        return True

    # -- layers ----------------------------------------------------------------------------
    def _layers(self, items: LList, scope: Scope, prev):
        for i, item in enumerate(items):
            prev = self._layer(item, items.item_loc(i), scope, prev)
            if len(self.layers) > MAX_NODES:
                self.error(items.item_loc(i), f"the network expands to more than {MAX_NODES:,} layers",
                           "check the 'repeat' counts", scope)
                self.diags.raise_if_any()
        return prev

    def _split(self, item, loc, scope):
        """A layer entry -> (op or block name, attributes mapping, location of the attributes)."""
        if isinstance(item, str):
            return item, LDict(loc), loc
        if isinstance(item, LDict) and len(item) == 1:
            (key, value), = item.items()
            if value is None:
                return key, LDict(item.value_loc(key)), item.value_loc(key)
            if isinstance(value, LDict):
                return key, value, item.value_loc(key)
            self.error(item.value_loc(key), f"the attributes of '{key}' must be a mapping, found {value!r}",
                       f"write '- {key}: {{...: ...}}'", scope)
            return None
        if isinstance(item, LDict) and len(item) > 1:
            keys = list(item)
            self.error(loc, f"a layer entry must name exactly one op, found {len(keys)} keys: {', '.join(map(str, keys))}",
                       "indent the attributes under the op name, e.g. '- conv2d: {filters: 6, kernel: 5}'", scope)
            return None
        self.error(loc, f"a layer entry must be an op name or '- op: {{attributes}}', found {item!r}",
                   "for example '- relu' or '- dense: {units: 10}'", scope)
        return None

    def _layer(self, item, loc, scope: Scope, prev):
        split = self._split(item, loc, scope)
        if split is None:
            return self._poison(None, scope, prev)
        kind, attrs, attrs_loc = split
        if kind in self.failed_blocks:  # its definition was reported
            return self._poison(attrs, scope, prev)
        if kind == "input":
            self.error(loc, "'input' is not a layer", "declare inputs under 'inputs:', e.g. inputs: {image: [1, 28, 28]}; "
                       "a layer reads one with 'in: image'", scope)
            return self._poison(attrs, scope, prev)
        if kind not in REGISTRY and kind not in self.blocks:
            self.error(loc, f"unknown op '{kind}'", did_you_mean(kind, list(REGISTRY) + list(self.blocks)), scope)
            return self._poison(attrs, scope, prev)
        slots = () if kind in self.blocks or REGISTRY[kind].variadic else REGISTRY[kind].inputs
        attrs = self._substitute(attrs, scope, keep=slots)
        repeat = attrs.pop("repeat", 1)
        if repeat is expr.INVALID:
            repeat = 1
        elif not isinstance(repeat, int) or isinstance(repeat, bool) or not 1 <= repeat <= MAX_REPEAT:
            self.error(attrs.value_loc("repeat"), f"'repeat' must be a whole number from 1 to {MAX_REPEAT:,}, "
                       f"found {repeat!r}", None, scope)
            repeat = 1
        user_name = attrs.pop("name", None)
        if user_name is not None and not self._check_name(user_name, attrs.value_loc("name"), scope):
            user_name = None
        in_value = attrs.pop("in", None)
        in_loc = attrs.value_loc("in") if in_value is not None else loc
        named = {}  # named input slots, e.g. 'state: enc' for an lstm
        for slot_name in slots:
            if slot_name in attrs:
                named[slot_name] = Ref(attrs.pop(slot_name), attrs.value_loc(slot_name), scope)
        for copy in range(repeat):
            if user_name is None:
                local = scope.auto_name(kind)
            else:
                local = user_name if repeat == 1 else f"{user_name}_{copy + 1}"
            full = scope.prefix + local
            if local in scope.names:
                first = scope.names[local][1]
                self.error(attrs.value_loc("name") if user_name else loc,
                           f"the name '{full}' is already used (line {first.line})",
                           "give each layer its own name", scope)
                return prev
            if copy == 0 and in_value is None and named:
                # the implicit $last fills the first slot not named, e.g. an lstm's x when 'state:' is given
                free = [slot for slot in slots if slot not in named]
                refs = [Ref("$last", loc, scope, prev)] if free and prev is not None else []
                slot_refs = [(free[0], refs[0])] if refs else []
                slot_refs += list(named.items())
            else:
                refs = self._refs(in_value if copy == 0 else None, in_loc, scope, prev, kind)
                if refs is None:
                    self._register(scope, local, full, loc, poisoned=True)
                    return full
                slot_refs = list(enumerate(refs)) + (list(named.items()) if copy == 0 else [])
            if kind in self.blocks:
                out = self._call_block(kind, attrs, attrs_loc, loc, scope, full, refs)
                if out is None:
                    self._register(scope, local, full, loc, poisoned=True)
                    return full
            else:
                layer = LayerInst(full, kind, dict(attrs), dict(attrs.value_locs), slot_refs, loc,
                                  scope.call_sites, key_locs=dict(attrs.key_locs))
                self.layers.append(layer)
                out = full
            if out != full:
                self.aliases[full] = out
            self._register(scope, local, out, loc)
            if user_name is not None and repeat > 1:
                scope.names[user_name] = (out, loc)
            self.all_names[full] = loc
            prev = out
        return prev

    def _register(self, scope, local, full, loc, poisoned=False):
        scope.names[local] = (full, loc)
        self.all_names[full] = loc
        if poisoned:
            self.poisoned.add(full)

    def _poison(self, attrs, scope, prev):
        """A layer that failed keeps its name, so that layers reading it add no follow-on errors."""
        name = attrs.get("name") if isinstance(attrs, LDict) else None
        if isinstance(name, str) and name and name not in scope.names:
            self._register(scope, name, scope.prefix + name, attrs.value_loc("name"), poisoned=True)
            return scope.prefix + name
        full = scope.prefix + scope.auto_name("failed")
        self.poisoned.add(full)
        return full

    def _refs(self, in_value, in_loc, scope, prev, kind):
        if in_value is None:
            if prev is None:
                self.error(in_loc, f"'{kind}' has nothing to read: no input comes before it", "say 'in: NAME'", scope)
                return None
            ref = Ref("$last", in_loc, scope, prev)
            return [ref]
        values = in_value if isinstance(in_value, list) else [in_value]
        refs = []
        for i, v in enumerate(values):
            vloc = in_value.item_loc(i) if isinstance(in_value, LList) else in_loc
            if not isinstance(v, str):
                self.error(vloc, f"'in' must name layers or inputs, found {v!r}", None, scope)
                return None
            ref = Ref(v, vloc, scope)
            if v == "$last":
                if prev is None:
                    self.error(vloc, "'$last' has no layer before it", None, scope)
                    return None
                ref.resolved = prev
            elif v == "$input":
                if scope.block_input is None:
                    self.error(vloc, "'$input' is only meaningful inside a block", "name the input instead", scope)
                    return None
                ref.resolved = scope.block_input
            elif v.startswith("$"):
                self.error(vloc, f"unknown reference '{v}'", did_you_mean(v, ("$input", "$last")), scope)
                return None
            refs.append(ref)
        if not refs:
            self.error(in_loc, "'in' is empty", "name at least one layer or input", scope)
            return None
        return refs

    def _call_block(self, kind, attrs, attrs_loc, loc, scope, full, refs):
        block = self.blocks[kind]
        chain = [b for b, _ in scope.call_sites]
        if kind in chain or len(chain) >= MAX_CALL_DEPTH:
            path = " -> ".join(list(reversed(chain)) + [kind])
            self.error(loc, f"block '{kind}' calls itself ({path})" if kind in chain
                       else f"blocks call each other more than {MAX_CALL_DEPTH} deep",
                       "a block may call other blocks, but never itself", scope)
            return None
        params = {}
        for key, value in attrs.items():
            if key not in block["params"]:
                self.error(attrs.key_loc(key), f"unknown parameter '{key}' for block '{kind}'",
                           did_you_mean(key, block["params"]) or f"block '{kind}' takes no parameters", scope)
                continue
            ptype = block["params"][key][0]
            if value is expr.INVALID:
                continue
            if ptype is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if not isinstance(value, ptype) or (ptype is int and isinstance(value, bool)):
                self.error(attrs.value_loc(key), f"parameter '{key}' of block '{kind}' must be {ptype.__name__}, "
                           f"found {_show(value)}", _PARAM_HINT.get(ptype), scope)
                continue
            params[key] = value
        meant = {closest(k, block["params"]) for k in attrs if k not in block["params"]}
        missing = False
        for key, (ptype, default, required) in block["params"].items():
            if key not in params:
                if required:
                    if key not in attrs and key not in meant:  # a misspelt one was reported above
                        self.error(loc, f"block '{kind}' needs parameter '{key}' ({ptype.__name__})",
                                   f"call it as '- {kind}: {{{key}: ...}}'", scope)
                    missing = True
                params[key] = default
        if missing or len(params) != len(block["params"]):
            return None
        if len(refs) != 1:
            self.error(loc, f"block '{kind}' reads one input, given {len(refs)}", None, scope)
            return None
        child = Scope(full + "/", scope, params, ((kind, loc),) + scope.call_sites, refs[0])
        # the block's input is resolved in the caller's scope, after all names are known
        child.block_input = f"$input:{full}"
        self.pending_inputs[child.block_input] = refs[0]
        refs[0].owner = f"block '{kind}' called as '{full}'"
        last = self._layers(block["layers"], child, child.block_input)
        output = block["output"]
        if output is not None:
            if output not in child.names:
                self.error(block["body"].value_loc("output"), f"block '{kind}' has no layer named '{output}'",
                           did_you_mean(output, child.names), child)
                return None
            return child.names[output][0]
        return last

    def _substitute(self, attrs: LDict, scope: Scope, keep=()) -> LDict:
        """Replace block parameters and integer expressions in attribute values.

        Names ('name', 'in' and input slots such as 'labels') are never arithmetic: 'res-1' is a name.
        """
        out = LDict(attrs.loc)
        for key, value in attrs.items():
            plain = key in ("name", "in") or key in keep
            out[key] = value if plain else self._value(value, attrs.value_loc(key), scope)
            out.key_locs[key] = attrs.key_loc(key)
            out.value_locs[key] = attrs.value_loc(key)
        return out

    def _value(self, value, loc, scope):
        if isinstance(value, LList):
            out = LList(value.loc)
            out.item_locs = list(value.item_locs)
            out.extend(self._value(v, value.item_loc(i), scope) for i, v in enumerate(value))
            return out
        if not isinstance(value, str) or value.startswith("$"):
            return value
        env = self._env(scope)
        tree, forbidden = expr.check_expression(value)
        wordlike = _WORD.fullmatch(value.strip()) is not None
        if tree is None:
            if forbidden and not wordlike:  # refused, never evaluated
                self.error(loc, f"'{value}' is not arithmetic netc evaluates: it uses {forbidden}",
                           f"an expression may use {expr.ALLOWED}", scope)
                return expr.INVALID
            return value
        names = expr.names_in(tree)
        if not expr.is_arithmetic(tree):
            if names and names[0] in env:
                return env[names[0]]
            if not names:
                return expr.evaluate(tree, {}, value)
            return value  # a plain word, like 'same' or 'floor'
        unknown = [n for n in names if n not in env]
        if unknown and wordlike and not any(closest(n, env) for n in unknown):
            return value  # a word with a dash, like 'glorot-uniform': the attribute's check explains
        try:
            return expr.evaluate(tree, env, value)
        except Problem as p:
            self.error(loc, p.message, p.hint, scope)
            return expr.INVALID

    def _env(self, scope):
        env = {}
        chain = []
        s = scope
        while s is not None:
            chain.append(s)
            s = s.parent
        for s in reversed(chain):
            env.update(s.params)
        return env

    # -- losses and outputs ----------------------------------------------------------------
    def _losses(self, top, last):
        doc = self.doc
        if "loss" not in doc or doc["loss"] is None:
            return
        value = doc["loss"]
        if isinstance(value, LDict):
            items = LList(value.loc)
            items.append(value)
            items.item_locs.append(value.loc)
        elif isinstance(value, LList) and value:
            items = value
        else:
            self.error(doc.value_loc("loss"), "'loss' must be a loss op or a list of them",
                       "for example: loss: {softmax_cross_entropy: {logits: logits, labels: label}}")
            return
        for i, item in enumerate(items):
            loc = items.item_loc(i)
            split = self._split(item, loc, top)
            if split is None:
                continue
            kind, attrs, _ = split
            op = REGISTRY.get(kind)
            if op is None or not op.is_loss:
                losses = [n for n, o in REGISTRY.items() if o.is_loss]
                self.error(loc, f"'{kind}' is not a loss", did_you_mean(kind, losses), top)
                continue
            attrs = self._substitute(attrs, top, keep=op.inputs)
            weight = attrs.pop("weight", 1.0)
            if weight is expr.INVALID:
                weight = 1.0
            elif isinstance(weight, bool) or not isinstance(weight, (int, float)) or not weight >= 0 \
                    or weight == float("inf"):
                self.error(attrs.value_loc("weight"), f"a loss weight must be a number >= 0, found {weight!r}", None, top)
                weight = 1.0
            user_name = attrs.pop("name", None)
            if user_name is not None and not self._check_name(user_name, attrs.value_loc("name"), top):
                user_name = None
            name = user_name if user_name is not None else (
                "loss" if len(items) == 1 else top.auto_name(kind))
            if name in top.names:
                self.error(attrs.value_loc("name") if user_name else loc,
                           f"the name '{name}' is already used", "name the loss with 'name: ...'", top)
                continue
            refs = []
            in_value = attrs.pop("in", None)
            if in_value is not None:
                refs = self._refs(in_value, attrs.value_loc("in"), top, last, kind) or []
            slot_refs = list(enumerate(refs))
            for slot_name in op.inputs:
                if slot_name in attrs:
                    slot_refs.append((slot_name, Ref(attrs.pop(slot_name), attrs.value_loc(slot_name), top)))
            if not refs and op.inputs[0] not in dict(slot_refs) and last is not None:
                slot_refs.insert(0, (0, Ref("$last", loc, top, last)))  # e.g. logits: the last layer
            layer = LayerInst(name, kind, dict(attrs), dict(attrs.value_locs), slot_refs, loc, (),
                              float(weight), True, key_locs=dict(attrs.key_locs))
            self.layers.append(layer)
            top.names[name] = (name, loc)
            self.all_names[name] = loc

    def _outputs(self, top, last):
        doc = self.doc
        value = doc.get("outputs")
        if value is None:
            if last is None or last in self.poisoned:
                return []
            self.output_refs.append(Ref("$last", doc.loc, top, last))
            return [last]
        values = value if isinstance(value, list) else [value]
        out = []
        for i, v in enumerate(values):
            vloc = value.item_loc(i) if isinstance(value, LList) else doc.value_loc("outputs")
            if not isinstance(v, str):
                self.error(vloc, f"'outputs' must name layers, found {v!r}")
                continue
            self.output_refs.append(Ref(v, vloc, top))
            out.append(v)
        return out

    def _train(self):
        from .train import check_train

        doc = self.doc
        if "train" not in doc or doc["train"] is None:
            return {}
        return check_train(doc["train"], doc.value_loc("train"), self.diags)

    # -- references --------------------------------------------------------------------------
    def _lookup(self, ref: Ref):
        text = ref.text
        if ref.resolved is not None:
            return self._follow(ref.resolved)
        scope = ref.scope
        while scope is not None:
            if text in scope.names:
                return self._follow(scope.names[text][0])
            if "/" in text and scope.prefix + text in self.all_names:  # a path below this call: 'a/fc'
                return self._follow(scope.prefix + text)
            scope = scope.parent
        if text in self.all_names:
            return self._follow(text)
        matches = sorted(n for n in self.all_names if n.endswith("/" + text))
        if len(matches) == 1:
            return self._follow(matches[0])
        if len(matches) > 1:
            raise Problem(f"'{text}' is ambiguous: it could be {', '.join(matches)}",
                          "use the full name with its block path")
        visible = set()
        scope = ref.scope
        while scope is not None:
            visible.update(scope.names)
            scope = scope.parent
        raise Problem(f"no layer or input named '{text}'", did_you_mean(text, visible | set(self.all_names)))

    def _follow(self, name):
        """A block's placeholder input -> what the caller passed; a block call -> its last layer."""
        for _ in range(4 * MAX_CALL_DEPTH):
            if name in self.poisoned:
                break
            if name in self.pending_inputs:
                name = self._lookup(self.pending_inputs[name])
            elif name in self.aliases:
                name = self.aliases[name]
            else:
                break
        return name

    def _resolve_refs(self, top):
        # what each block call reads, first: a wrong 'in:' of a call is reported once, at the call
        for key, ref in self.pending_inputs.items():
            if isinstance(ref.text, str) and ref.resolved is None:
                try:
                    self._lookup(ref)
                except Problem as p:
                    self.error(ref.loc, f"{ref.owner}: {p.message}", p.hint, ref.scope)
                    self.poisoned.add(key)
        for layer in self.layers:
            positional, named, ok = [], {}, True
            for slot, ref in layer.refs:
                if not isinstance(ref.text, str) or not ref.text:
                    self.diags.error(ref.loc, f"{layer.op} '{layer.name}': '{slot}' must name a layer or input, "
                                     f"found {ref.text!r}", None, layer.call_sites)
                    ok = False
                    continue
                try:
                    target = self._lookup(ref)
                except Problem as p:
                    self.diags.error(ref.loc, f"{layer.op} '{layer.name}': {p.message}", p.hint, layer.call_sites)
                    ok = False
                    continue
                if target in self.poisoned:
                    ok = False
                    continue
                if isinstance(slot, int):
                    positional.append(target)
                else:
                    named[slot] = target
            if not ok:
                layer.inputs = []
                continue
            op = REGISTRY[layer.op]
            layer.inputs = positional[:]
            for i, slot_name in enumerate(op.inputs):
                if slot_name not in named:
                    continue
                while len(layer.inputs) < i:
                    layer.inputs.append(None)
                if i < len(layer.inputs) and layer.inputs[i] is not None:
                    loc = next(r.loc for sl, r in layer.refs if sl == slot_name)
                    self.diags.error(loc, f"{layer.op} '{layer.name}': input '{slot_name}' is given twice, "
                                     f"by 'in:' and by '{slot_name}:'", "say it once", layer.call_sites)
                elif i < len(layer.inputs):
                    layer.inputs[i] = named[slot_name]
                else:
                    layer.inputs.append(named[slot_name])
        self._resolved_outputs = []
        for ref in self.output_refs:
            try:
                self._resolved_outputs.append(self._lookup(ref))
            except Problem as p:
                self.error(ref.loc, f"output: {p.message}", p.hint)


def expand(doc, file: str) -> Spec:
    ex = Expander(doc, file)
    spec = ex.run()
    if ex.output_refs and not ex.diags.errors:
        spec.outputs = ex._resolved_outputs
    return spec


def _show(value) -> str:
    if isinstance(value, LDict):
        return "a mapping"
    if isinstance(value, LList):
        return "a list"
    return repr(value)


_PARAM_HINT = {int: "a whole number such as 64, or an expression of the caller's parameters",
               float: "a number such as 0.5", bool: "true or false", str: "a word"}
