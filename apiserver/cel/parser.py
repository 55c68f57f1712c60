"""A recursive-descent parser for the CEL grammar, expanding the standard macros as cel-go does.

Operators become calls named as cel-go names them (`_+_`, `_[_]`, `_?_:_`, `@in`, `_?._`), located at the
operator token, so checker errors point where cel-go's do.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Final

from apiserver.cel import limits
from apiserver.cel.errors import Issue
from apiserver.cel.lexer import RESERVED, LexError, Token, tokenize
from apiserver.cel.nodes import Call, Comprehension, Const, Ident, ListExpr, MapEntry, MapExpr, Node, Select
from apiserver.cel.values import UInt

EXPECTING_EXPRESSION: Final = ("{'[', '{', '(', '.', '-', '!', 'true', 'false', 'null', NUM_FLOAT, NUM_INT, "
                               "NUM_UINT, STRING, BYTES, IDENTIFIER}")
_RELATIONS: Final = {"<": "_<_", "<=": "_<=_", ">": "_>_", ">=": "_>=_", "==": "_==_", "!=": "_!=_"}
_ADDITIVE: Final = {"+": "_+_", "-": "_-_"}
_MULTIPLICATIVE: Final = {"*": "_*_", "/": "_/_", "%": "_%_"}
_COMPREHENSIONS: Final = {"all": 2, "exists": 2, "exists_one": 2, "filter": 2}
INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1
UINT64_MAX: Final = 2**64 - 1


class ParseError(Exception):
    def __init__(self, issue: Issue) -> None:
        super().__init__(issue.message)
        self.issue = issue


def parse(source: str) -> Node:
    """Parse one expression; raise ParseError with cel-go's message for the first syntax error."""
    size = len(source)
    if size > limits.MAX_RULE_LENGTH:
        raise ParseError(Issue(-1, f"expression code point size exceeds limit: size: {size}, "
                                   f"limit {limits.MAX_RULE_LENGTH}"))
    try:
        tokens = tokenize(source)
    except LexError as error:
        raise ParseError(error.issue) from None
    return _Parser(tokens).parse_all()


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.index = 0
        self.depth = 0

    # Token helpers.
    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.index + ahead, len(self.tokens) - 1)]

    def at(self, text: str) -> bool:
        token = self.peek()
        return token.kind == "punct" and token.text == text

    def advance(self) -> Token:
        token = self.tokens[self.index]
        self.index = min(self.index + 1, len(self.tokens) - 1)
        return token

    def expect(self, text: str) -> Token:
        """Match a token; errors worded as ANTLR's recovery reports them (missing/extraneous/mismatched)."""
        if self.at(text):
            return self.advance()
        token, following = self.peek(), self.peek(1)
        if token.kind == "eof":
            raise ParseError(Issue(token.offset, f"Syntax error: missing '{text}' at '<EOF>'"))
        if following.kind == "punct" and following.text == text:
            raise ParseError(Issue(token.offset, f"Syntax error: extraneous input '{token.text}' expecting '{text}'"))
        self.fail(token, f"'{text}'")
        raise AssertionError("unreachable")

    def fail(self, token: Token, expecting: str) -> None:
        text = token.text if token.kind != "eof" else "<EOF>"
        raise ParseError(Issue(token.offset, f"Syntax error: mismatched input '{text}' expecting {expecting}"))

    def enter(self, token: Token) -> None:
        self.depth += 1
        if self.depth > limits.PARSER_RECURSION_LIMIT:
            raise ParseError(Issue(token.offset,
                                   f"expression recursion limit exceeded: {limits.PARSER_RECURSION_LIMIT}"))

    # Grammar.
    def parse_all(self) -> Node:
        node = self.expr()
        token = self.peek()
        if token.kind != "eof":
            wording = "extraneous" if self.peek(1).kind == "eof" else "mismatched"
            raise ParseError(Issue(token.offset, f"Syntax error: {wording} input '{token.text}' expecting <EOF>"))
        return node

    def expr(self) -> Node:
        self.enter(self.peek())
        condition = self.logical("||", "_||_", self.conditional_and)
        if self.at("?"):
            operator = self.advance()
            truthy = self.logical("||", "_||_", self.conditional_and)
            self.expect(":")
            falsy = self.expr()
            condition = Call(operator.offset, "_?_:_", [condition, truthy, falsy])
        self.depth -= 1
        return condition

    def conditional_and(self) -> Node:
        return self.logical("&&", "_&&_", self.relation)

    def logical(self, text: str, function: str, operand: Callable[[], Node]) -> Node:
        node = operand()
        while self.at(text):
            operator = self.advance()
            node = Call(operator.offset, function, [node, operand()])
        return node

    def relation(self) -> Node:
        node = self.binary(_ADDITIVE, self.multiplicative)
        while True:
            token = self.peek()
            if token.kind == "punct" and token.text in _RELATIONS:
                function = _RELATIONS[token.text]
            elif token.kind == "in":
                function = "@in"
            else:
                return node
            self.advance()
            node = Call(token.offset, function, [node, self.binary(_ADDITIVE, self.multiplicative)])

    def multiplicative(self) -> Node:
        return self.binary(_MULTIPLICATIVE, self.unary)

    def binary(self, operators: dict[str, str], operand: Callable[[], Node]) -> Node:
        node = operand()
        while self.peek().kind == "punct" and self.peek().text in operators:
            operator = self.advance()
            node = Call(operator.offset, operators[operator.text], [node, operand()])
        return node

    def unary(self) -> Node:
        token = self.peek()
        if self.at("!") or self.at("-"):
            operators = []
            while self.at(token.text):
                operators.append(self.advance())
            if token.text == "-" and self.peek().kind in ("int", "float") and len(operators) % 2 == 1:
                literal = self.advance()
                return self.member(self.negative_literal(literal, operators[-1]))
            if self.at("-") and self.peek(1).kind in ("int", "float"):  # `!-1`: CEL.g4's literal has a sign
                sign = self.advance()
                operand = self.member(self.negative_literal(self.advance(), sign))
            else:
                operand = self.member(self.primary())
            if len(operators) % 2 == 0:
                return operand  # as cel-go's parser (VisitLogicalNot/VisitNegate): pairs of '!' or '-' cancel out
            return Call(operators[0].offset, "!_" if token.text == "!" else "-_", [operand])
        return self.member(self.primary())

    def negative_literal(self, literal: Token, sign: Token) -> Node:
        if literal.kind == "float":
            return Const(sign.offset, -float(literal.value))  # type: ignore[arg-type]
        value = -int(literal.value)  # type: ignore[call-overload]
        if value < INT64_MIN:
            raise ParseError(Issue(sign.offset, "invalid int literal"))
        return Const(sign.offset, value)

    def member(self, node: Node) -> Node:
        while True:
            token = self.peek()
            if self.at("."):
                self.advance()
                is_optional = self.at("?")
                if is_optional:
                    self.advance()
                name = self.peek()
                if name.kind != "ident":
                    self.fail(name, "IDENTIFIER")
                self.advance()
                if not is_optional and self.at("("):
                    open_paren = self.advance()
                    node = self.member_call(open_paren, node, name.text, self.arguments(")"))
                elif is_optional:
                    node = Call(token.offset, "_?._", [node, Const(name.offset, name.text)])
                else:
                    node = Select(token.offset, node, name.text)
            elif self.at("["):
                self.advance()
                # '[' and '?' are separate tokens in CEL.g4: `x[?i]` indexes optionally, `[?a]` is a list literal.
                is_optional_index = self.at("?")
                if is_optional_index:
                    self.advance()
                index = self.expr()
                self.expect("]")
                node = Call(token.offset, "_[?_]" if is_optional_index else "_[_]", [node, index])
            else:
                return node

    def primary(self) -> Node:
        token = self.peek()
        self.enter(token)
        try:
            return self.primary_inner(token)
        finally:
            self.depth -= 1

    def primary_inner(self, token: Token) -> Node:
        if token.kind in ("int", "uint", "float", "string", "bytes"):
            self.advance()
            return self.literal(token)
        if token.kind in ("true", "false", "null"):
            self.advance()
            return Const(token.offset, {"true": True, "false": False, "null": None}[token.kind])
        leading_dot = self.at(".")
        if leading_dot:
            self.advance()
            token = self.peek()
        if token.kind == "ident":
            self.advance()
            if token.text in RESERVED:
                raise ParseError(Issue(token.offset, f"reserved identifier: {token.text}"))
            if self.at("("):
                open_paren = self.advance()
                return self.global_call(open_paren, token.text, self.arguments(")"))
            return Ident(token.offset, ("." if leading_dot else "") + token.text)
        if leading_dot:
            self.fail(token, "IDENTIFIER")
        if self.at("("):
            self.advance()
            node = self.expr()
            self.expect(")")
            return node
        if self.at("["):
            self.advance()
            elements, optional = self.list_elements()
            return ListExpr(token.offset, elements, frozenset(optional))
        if self.at("{"):
            self.advance()
            return MapExpr(token.offset, self.map_entries())
        self.fail(token, EXPECTING_EXPRESSION)
        raise AssertionError("unreachable")

    def literal(self, token: Token) -> Node:
        value = token.value
        if token.kind == "int" and int(value) > INT64_MAX:  # type: ignore[call-overload]
            raise ParseError(Issue(token.offset, "invalid int literal"))
        if token.kind == "uint":
            if int(value) > UINT64_MAX:  # type: ignore[call-overload]
                raise ParseError(Issue(token.offset, "invalid uint literal"))
            value = UInt(value)  # type: ignore[call-overload]
        return Const(token.offset, value)

    def arguments(self, closer: str) -> list[Node]:
        args: list[Node] = []
        while not self.at(closer) and self.peek().kind != "eof":
            args.append(self.expr())
            if not self.at(","):
                break
            self.advance()
        self.expect(closer)
        return args

    def list_elements(self) -> tuple[list[Node], list[int]]:
        elements: list[Node] = []
        optional: list[int] = []
        while not self.at("]") and self.peek().kind != "eof":
            if self.at("?"):
                self.advance()
                optional.append(len(elements))
            elements.append(self.expr())
            if not self.at(","):
                break
            self.advance()
        self.expect("]")
        return elements, optional

    def map_entries(self) -> list[MapEntry]:
        entries: list[MapEntry] = []
        while not self.at("}") and self.peek().kind != "eof":
            is_optional = self.at("?")
            if is_optional:
                self.advance()
            key = self.expr()
            self.expect(":")
            entries.append(MapEntry(key, self.expr(), is_optional))
            if not self.at(","):
                break
            self.advance()
        self.expect("}")
        return entries

    # Macros (cel-go's parser/macro.go).
    def global_call(self, open_paren: Token, name: str, args: list[Node]) -> Node:
        if name == "has" and len(args) == 1:
            argument = args[0]
            if not isinstance(argument, Select) or argument.test_only:
                raise ParseError(Issue(open_paren.offset, "invalid argument to has() macro"))
            return Select(argument.offset, argument.operand, argument.field, test_only=True)
        return Call(open_paren.offset, name, args)

    def member_call(self, open_paren: Token, target: Node, name: str, args: list[Node]) -> Node:
        arity = _COMPREHENSIONS.get(name)
        if (arity == len(args)) or (name == "map" and len(args) in (2, 3)):
            variable = args[0]
            if not isinstance(variable, Ident):
                raise ParseError(Issue(variable.offset, "argument must be a simple name"))
            if name == "map":
                predicate = args[1] if len(args) == 3 else None
                return Comprehension(open_paren.offset, "map", target, variable.name, predicate, args[-1])
            return Comprehension(open_paren.offset, name, target, variable.name, args[1])
        if name == "optMap" and len(args) == 2 and isinstance(args[0], Ident):
            return Comprehension(open_paren.offset, "optMap", target, args[0].name, None, args[1])
        if name == "optFlatMap" and len(args) == 2 and isinstance(args[0], Ident):
            return Comprehension(open_paren.offset, "optFlatMap", target, args[0].name, None, args[1])
        return Call(open_paren.offset, name, args, target=target)

