"""Upstream's CEL limits (k8s.io/apiserver/pkg/apis/cel/config.go, apiextensions-apiserver's validation)."""
from __future__ import annotations

from typing import Final

# Cost limit of one evaluation of one expression (roughly 0.1 second).
PER_CALL_LIMIT: Final = 1_000_000
# Total runtime budget of all the validation rules of one custom resource write, or of one VAP binding.
RUNTIME_CEL_COST_BUDGET: Final = 10_000_000
# Total runtime budget of the matchConditions of one webhook or binding.
RUNTIME_CEL_COST_BUDGET_MATCH_CONDITIONS: Final = 2_500_000
# Comprehension iterations between two checks of the cost limit.
CHECK_FREQUENCY: Final = 100
# The largest request body; bounds the sizes of unbounded lists and strings in the cost estimate.
MAX_REQUEST_SIZE_BYTES: Final = 3 * 1024 * 1024
# The longest string a messageExpression may produce.
MAX_EVALUATED_MESSAGE_EXPRESSION_SIZE_BYTES: Final = 5 * 1024
# Largest estimated cost of one x-kubernetes-validations rule, and of all the rules of a CRD.
STATIC_ESTIMATED_COST_LIMIT: Final = 10_000_000
STATIC_ESTIMATED_CRD_COST_LIMIT: Final = 100_000_000
# cel-go's parser limits (its defaults, which kube-apiserver keeps): code points of one expression, nesting.
MAX_RULE_LENGTH: Final = 100_000
PARSER_RECURSION_LIMIT: Final = 250
