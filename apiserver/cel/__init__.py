"""Common Expression Language for the API server: Kubernetes environments, libraries and cost limits.

Our own implementation of CEL (parser, type checker, interpreter with cel-go's cost model), so that compile and
runtime messages, schema-derived types and costs match kube-apiserver's cel-go based environment. Layer: imports
only `apiserver.meta`.

- `compile_expression(expression, variables, *, library="kubernetes") -> Program` raises `CompileError`;
  `Program.evaluate(activation, *, cost_limit=None)` / `Program.evaluate_with_cost(...) -> (value, cost)` raise
  `EvaluationError` (`CostLimitExceeded` past the limit); `Program.output_type`, `Program.estimated_cost`.
- `schema_type(openapi_schema, *, is_resource_root=False)` types `self` from a structural schema; `DYN` for
  webhook and policy variables; `AUTHORIZER_TYPE` (or `DYN`) for `authorizer`, whose value implements
  `apiserver.cel.authz.Authorizer`.
"""
from __future__ import annotations

from apiserver.cel.authz import AUTHORIZER_TYPE, Authorizer
from apiserver.cel.errors import CompileError, CostLimitExceeded, EvaluationError
from apiserver.cel.limits import (
    CHECK_FREQUENCY,
    MAX_EVALUATED_MESSAGE_EXPRESSION_SIZE_BYTES,
    MAX_REQUEST_SIZE_BYTES,
    MAX_RULE_LENGTH,
    PARSER_RECURSION_LIMIT,
    PER_CALL_LIMIT,
    RUNTIME_CEL_COST_BUDGET,
    RUNTIME_CEL_COST_BUDGET_MATCH_CONDITIONS,
    STATIC_ESTIMATED_COST_LIMIT,
    STATIC_ESTIMATED_CRD_COST_LIMIT,
)
from apiserver.cel.program import Program, compile_expression
from apiserver.cel.schematypes import schema_type
from apiserver.cel.timevalues import Duration, Timestamp
from apiserver.cel.types import (
    BOOL,
    BYTES,
    DOUBLE,
    DURATION,
    DYN,
    INT,
    NULL,
    STRING,
    TIMESTAMP,
    UINT,
    CelType,
    ObjectType,
    format_type,
    list_of,
    map_of,
    optional_of,
)
from apiserver.cel.values import OPTIONAL_NONE, OptionalValue

__all__ = [
    "AUTHORIZER_TYPE", "BOOL", "BYTES", "CHECK_FREQUENCY", "DOUBLE", "DURATION", "DYN", "INT",
    "MAX_EVALUATED_MESSAGE_EXPRESSION_SIZE_BYTES", "MAX_REQUEST_SIZE_BYTES", "MAX_RULE_LENGTH", "NULL",
    "OPTIONAL_NONE", "PARSER_RECURSION_LIMIT", "PER_CALL_LIMIT", "RUNTIME_CEL_COST_BUDGET",
    "RUNTIME_CEL_COST_BUDGET_MATCH_CONDITIONS", "STATIC_ESTIMATED_COST_LIMIT", "STATIC_ESTIMATED_CRD_COST_LIMIT",
    "STRING", "TIMESTAMP", "UINT", "Authorizer", "CelType", "CompileError", "CostLimitExceeded", "Duration",
    "EvaluationError", "ObjectType", "OptionalValue", "Program", "Timestamp", "compile_expression", "format_type",
    "list_of", "map_of", "optional_of", "schema_type",
]
