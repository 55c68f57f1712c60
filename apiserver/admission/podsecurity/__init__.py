"""Pod Security admission (k8s.io/pod-security-admission): the Pod Security Standards as checks, the namespace
labels that choose a level and version per mode, and the admission plugin that enforces, audits and warns.

Split by concept: `policy` (levels, versions, namespace labels), `checks_baseline` and `checks_restricted` (one
function per upstream check, with upstream's reasons and details), `evaluator` (which checks apply to a
level and version, in upstream's order, and how results are worded), `plugin` (pods, pod controllers and
namespace label changes).
"""
