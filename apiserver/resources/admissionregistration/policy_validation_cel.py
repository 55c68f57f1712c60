"""Compile checks of admission policy expressions (upstream's plugin/cel CompileCELExpression as the API uses it).

Every expression is compiled in the admission environment: `object`, `oldObject`, `request` and `namespaceObject`
always, `params` when the policy has a paramKind, `authorizer` and `authorizer.requestResource` where the
expression may call the authorizer, `variables` when the policy declares variables (upstream's composition: an
object whose fields are the variables compiled so far, each of its expression's type, so a misspelt variable is
`undefined field`). A compile error becomes an Invalid error on the expression's path with cel-go's text
(`compilation failed: ERROR: <input>:1:1: ...`); an expression of the wrong type `must evaluate to bool` (or
`string`, or `one of [string null_type]`).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from apiserver.cel import DYN, CelType, CompileError, ObjectType, compile_expression
from apiserver.meta.validation import FieldError, FieldErrors, FieldPath

BOOL_RESULT: Final = ("bool",)
STRING_RESULT: Final = ("string",)
STRING_OR_NULL_RESULT: Final = ("string", "null_type")
ANY_RESULT: Final[tuple[str, ...]] = ()

ALWAYS_DECLARED: Final = ("object", "oldObject", "request", "namespaceObject")
AUTHORIZER_VARIABLES: Final = ("authorizer", "authorizer.requestResource")
VARIABLES_TYPE_NAME: Final = "kubernetes.variables"


def variables_type(fields: Mapping[str, CelType]) -> CelType:
    """The type of `variables` when these variables are declared."""
    return ObjectType("object", name=VARIABLES_TYPE_NAME, fields=dict(fields))


@dataclass(frozen=True, slots=True)
class Declarations:
    """Which optional variables an expression sees (upstream's OptionalVariableDeclarations plus composition:
    `variables` is None when the policy has none)."""

    has_params: bool = False
    has_authorizer: bool = True
    variables: CelType | None = None

    def types(self) -> dict[str, CelType]:
        types = dict.fromkeys(ALWAYS_DECLARED, DYN)
        if self.has_params:
            types["params"] = DYN
        if self.has_authorizer:
            types.update(dict.fromkeys(AUTHORIZER_VARIABLES, DYN))
        if self.variables is not None:
            types["variables"] = self.variables
        return types


def compile_checked(expression: str, declarations: Declarations,
                    returns: Sequence[str]) -> tuple[CelType, str | None]:
    """(the expression's type, the compile error text or None). The type is dyn when it does not compile; the
    error is `must evaluate to ...` when it compiles to none of `returns` (any type when empty)."""
    try:
        program = compile_expression(expression, declarations.types())
    except CompileError as error:
        return DYN, str(error)
    output: CelType = program.output_type
    if not returns or str(output) in returns:
        return output, None
    if len(returns) == 1:
        return output, f"must evaluate to {returns[0]}"
    return output, f"must evaluate to one of [{' '.join(returns)}]"


def validate_expression(expression: str, path: FieldPath, declarations: Declarations,
                        returns: Sequence[str]) -> FieldErrors:
    """An Invalid error on `path` (the expression as its value) when the expression does not compile."""
    _, problem = compile_checked(expression, declarations, returns)
    return [] if problem is None else [FieldError.invalid(path, expression, problem)]
