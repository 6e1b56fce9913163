"""A small checker for Grafana Alloy configuration files.

The alloy binary is not available in CI, so this parses the subset of the
Alloy syntax our configs use (blocks, attributes, strings, numbers, lists,
objects, references, function calls and `+`) and reports what Alloy would
reject early: unbalanced braces, unterminated strings, attributes without a
value, and references to components that are not declared.
"""

import re
from dataclasses import dataclass, field

TOKEN = re.compile(
    r"""
    (?P<ws>[ \t\r]+)
  | (?P<newline>\n)
  | (?P<comment>//[^\n]*|/\*.*?\*/)
  | (?P<string>"(?:[^"\\\n]|\\.)*")
  | (?P<raw>`[^`]*`)
  | (?P<number>\d+(?:\.\d+)?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<punct>==|!=|<=|>=|&&|\|\||[{}\[\](),.=+\-*/%<>!:])
  """,
    re.VERBOSE | re.DOTALL,
)


class AlloySyntaxError(ValueError):
    pass


@dataclass
class Block:
    name: str  # e.g. "loki.process"
    label: str | None  # e.g. "docproxy_json"
    line: int
    attributes: dict[str, str] = field(default_factory=dict)  # name -> expression text
    blocks: list["Block"] = field(default_factory=list)


def tokenize(text: str) -> list[tuple[str, str, int]]:
    tokens, pos, line = [], 0, 1
    while pos < len(text):
        match = TOKEN.match(text, pos)
        if not match:
            raise AlloySyntaxError(f"line {line}: unexpected character {text[pos]!r}")
        kind, value = match.lastgroup, match.group()
        if kind not in ("ws", "comment"):
            tokens.append((kind, value, line))
        line += value.count("\n")
        pos = match.end()
    tokens.append(("eof", "", line))
    return tokens


class Parser:
    def __init__(self, text: str):
        self.tokens = tokenize(text)
        self.i = 0

    def peek(self, offset: int = 0):
        return self.tokens[self.i + offset]

    def skip_newlines(self):
        while self.peek()[0] == "newline":
            self.i += 1

    def expect(self, value: str):
        kind, got, line = self.peek()
        if got != value:
            raise AlloySyntaxError(f"line {line}: expected {value!r}, got {got or kind!r}")
        self.i += 1

    def body(self, closing: str | None) -> tuple[dict, list]:
        attributes, blocks = {}, []
        while True:
            self.skip_newlines()
            kind, value, line = self.peek()
            if kind == "eof":
                if closing:
                    raise AlloySyntaxError(f"line {line}: missing {closing!r}")
                return attributes, blocks
            if value == closing:
                self.i += 1
                return attributes, blocks
            if kind != "ident":
                raise AlloySyntaxError(f"line {line}: expected an attribute or block, got {value!r}")
            name = [value]
            self.i += 1
            while self.peek()[1] == "." and self.peek(1)[0] == "ident":
                name.append(self.peek(1)[1])
                self.i += 2
            kind, value, line2 = self.peek()
            if value == "=" and len(name) == 1:
                self.i += 1
                if name[0] in attributes:
                    raise AlloySyntaxError(f"line {line}: attribute {name[0]!r} set twice")
                attributes[name[0]] = self.expression()
                continue
            label = None
            if kind == "string":
                label = value[1:-1]
                self.i += 1
            self.expect("{")
            block = Block(".".join(name), label, line)
            block.attributes, block.blocks = self.body("}")
            blocks.append(block)

    def expression(self) -> str:
        """Consumes one expression up to the end of its line; returns its text."""
        parts, depth = [], 0
        pairs = {"{": "}", "[": "]", "(": ")"}
        stack = []
        while True:
            kind, value, line = self.peek()
            if kind == "eof":
                if stack:
                    raise AlloySyntaxError(f"line {line}: unclosed {stack[-1]!r}")
                break
            if kind == "newline" and not stack:
                if parts and parts[-1] in ("+", "-", "*", "/", "&&", "||", "==", "!="):
                    self.i += 1
                    continue
                break
            if value in pairs:
                stack.append(pairs[value])
            elif value in ("}", "]", ")"):
                if not stack:
                    break  # the end of the enclosing block
                if stack.pop() != value:
                    raise AlloySyntaxError(f"line {line}: mismatched {value!r}")
            if kind != "newline":
                parts.append(value)
            self.i += 1
        if not parts:
            raise AlloySyntaxError(f"line {line}: attribute without a value")
        return " ".join(parts)


def parse(text: str) -> list[Block]:
    attributes, blocks = Parser(text).body(None)
    if attributes:
        raise AlloySyntaxError(f"top-level attributes are not allowed: {sorted(attributes)}")
    return blocks


# Components whose exports our configs reference, with the export names.
EXPORTS = {
    "discovery.kubernetes": {"targets"},
    "discovery.docker": {"targets"},
    "discovery.relabel": {"output", "rules"},
    "loki.process": {"receiver"},
    "loki.write": {"receiver"},
    "loki.relabel": {"receiver", "rules"},
}
REFERENCE = re.compile(r"\b((?:discovery|loki|prometheus)\.[a-z_]+)\.([a-z_0-9]+)\.([a-z_]+)\b")


def undefined_references(blocks: list[Block]) -> list[str]:
    """References like `loki.write.default.receiver` to undeclared components or exports."""
    declared = {(b.name, b.label) for b in blocks}
    problems = []

    def visit(block: Block):
        for expr in block.attributes.values():
            for component, label, export in REFERENCE.findall(expr.replace(" . ", ".")):
                if (component, label) not in declared:
                    problems.append(f"{block.name} {block.label!r}: {component}.{label} is not declared")
                elif export not in EXPORTS.get(component, set()):
                    problems.append(f"{block.name} {block.label!r}: {component} exports no {export!r}")
        for child in block.blocks:
            visit(child)

    for block in blocks:
        visit(block)
    return problems
