"""Protobuf field tables of the access-control groups, all at v1.

rbac (Role, RoleBinding, ClusterRole, ClusterRoleBinding), authentication (TokenRequest, TokenReview,
SelfSubjectReview), authorization (SubjectAccessReview, LocalSubjectAccessReview, SelfSubjectAccessReview,
SelfSubjectRulesReview), certificates (CertificateSigningRequest), admissionregistration (Mutating/Validating
WebhookConfiguration, ValidatingAdmissionPolicy and its Binding) and flowcontrol (FlowSchema,
PriorityLevelConfiguration), with their Lists. The declaration language is described in
`apiserver.meta.protobuf_messages`.
"""
from __future__ import annotations

from apiserver.meta.protobuf_messages import Package

RBAC_V1 = Package(
    name="rbac.v1",
    group_version="rbac.authorization.k8s.io/v1",
    kinds=(
        "ClusterRole ClusterRoleBinding ClusterRoleBindingList ClusterRoleList Role RoleBinding RoleBindingList "
        "RoleList"
    ),
    messages={
        "AggregationRule": "clusterRoleSelectors=1:[]meta.v1.LabelSelector",
        "ClusterRole": "metadata=1:meta.v1.ObjectMeta rules=2:[]PolicyRule aggregationRule=3:*AggregationRule",
        "ClusterRoleBinding": "metadata=1:meta.v1.ObjectMeta subjects=2:[]Subject roleRef=3:RoleRef",
        "ClusterRoleBindingList": "metadata=1:meta.v1.ListMeta items=2:[]ClusterRoleBinding!",
        "ClusterRoleList": "metadata=1:meta.v1.ListMeta items=2:[]ClusterRole!",
        "PolicyRule": (
            "verbs=1:[]string apiGroups=2:[]string resources=3:[]string resourceNames=4:[]string "
            "nonResourceURLs=5:[]string"
        ),
        "Role": "metadata=1:meta.v1.ObjectMeta rules=2:[]PolicyRule",
        "RoleBinding": "metadata=1:meta.v1.ObjectMeta subjects=2:[]Subject roleRef=3:RoleRef",
        "RoleBindingList": "metadata=1:meta.v1.ListMeta items=2:[]RoleBinding!",
        "RoleList": "metadata=1:meta.v1.ListMeta items=2:[]Role!",
        "RoleRef": "apiGroup=1:string! kind=2:string! name=3:string!",
        "Subject": "kind=1:string! apiGroup=2:string name=3:string! namespace=4:string",
    },
)

AUTHENTICATION_V1 = Package(
    name="authentication.v1",
    group_version="authentication.k8s.io/v1",
    kinds="SelfSubjectReview TokenRequest TokenReview",
    messages={
        "BoundObjectReference": "kind=1:string apiVersion=2:string name=3:string uid=4:string",
        "ExtraValue": "items=1:[]string",
        "SelfSubjectReview": "metadata=1:meta.v1.ObjectMeta status=2:SelfSubjectReviewStatus",
        "SelfSubjectReviewStatus": "userInfo=1:UserInfo",
        "TokenRequest": "metadata=1:meta.v1.ObjectMeta spec=2:TokenRequestSpec status=3:TokenRequestStatus",
        "TokenRequestSpec": "audiences=1:[]string boundObjectRef=3:*BoundObjectReference expirationSeconds=4:*int64",
        "TokenRequestStatus": "token=1:string! expirationTimestamp=2:meta.v1.Time",
        "TokenReview": "metadata=1:meta.v1.ObjectMeta spec=2:TokenReviewSpec status=3:TokenReviewStatus",
        "TokenReviewSpec": "token=1:string audiences=2:[]string",
        "TokenReviewStatus": "authenticated=1:bool user=2:UserInfo error=3:string audiences=4:[]string",
        "UserInfo": "username=1:string uid=2:string groups=3:[]string extra=4:map[string]ExtraValue",
    },
)

AUTHORIZATION_V1 = Package(
    name="authorization.v1",
    group_version="authorization.k8s.io/v1",
    kinds="LocalSubjectAccessReview SelfSubjectAccessReview SelfSubjectRulesReview SubjectAccessReview",
    messages={
        "ExtraValue": "items=1:[]string",
        "FieldSelectorAttributes": "rawSelector=1:string requirements=2:[]meta.v1.FieldSelectorRequirement",
        "LabelSelectorAttributes": "rawSelector=1:string requirements=2:[]meta.v1.LabelSelectorRequirement",
        "LocalSubjectAccessReview": (
            "metadata=1:meta.v1.ObjectMeta spec=2:SubjectAccessReviewSpec status=3:SubjectAccessReviewStatus"
        ),
        "NonResourceAttributes": "path=1:string verb=2:string",
        "NonResourceRule": "verbs=1:[]string nonResourceURLs=2:[]string",
        "ResourceAttributes": (
            "namespace=1:string verb=2:string group=3:string version=4:string resource=5:string subresource=6:string "
            "name=7:string fieldSelector=8:*FieldSelectorAttributes labelSelector=9:*LabelSelectorAttributes"
        ),
        "ResourceRule": "verbs=1:[]string apiGroups=2:[]string resources=3:[]string resourceNames=4:[]string",
        "SelfSubjectAccessReview": (
            "metadata=1:meta.v1.ObjectMeta spec=2:SelfSubjectAccessReviewSpec status=3:SubjectAccessReviewStatus"
        ),
        "SelfSubjectAccessReviewSpec": (
            "resourceAttributes=1:*ResourceAttributes nonResourceAttributes=2:*NonResourceAttributes"
        ),
        "SelfSubjectRulesReview": (
            "metadata=1:meta.v1.ObjectMeta spec=2:SelfSubjectRulesReviewSpec status=3:SubjectRulesReviewStatus"
        ),
        "SelfSubjectRulesReviewSpec": "namespace=1:string",
        "SubjectAccessReview": (
            "metadata=1:meta.v1.ObjectMeta spec=2:SubjectAccessReviewSpec status=3:SubjectAccessReviewStatus"
        ),
        "SubjectAccessReviewSpec": (
            "resourceAttributes=1:*ResourceAttributes nonResourceAttributes=2:*NonResourceAttributes user=3:string "
            "groups=4:[]string extra=5:map[string]ExtraValue uid=6:string"
        ),
        "SubjectAccessReviewStatus": "allowed=1:bool! reason=2:string evaluationError=3:string denied=4:bool",
        "SubjectRulesReviewStatus": (
            "resourceRules=1:[]ResourceRule nonResourceRules=2:[]NonResourceRule incomplete=3:bool! "
            "evaluationError=4:string"
        ),
    },
)

CERTIFICATES_V1 = Package(
    name="certificates.v1",
    group_version="certificates.k8s.io/v1",
    kinds="CertificateSigningRequest CertificateSigningRequestList",
    messages={
        "CertificateSigningRequest": (
            "metadata=1:meta.v1.ObjectMeta spec=2:CertificateSigningRequestSpec "
            "status=3:CertificateSigningRequestStatus"
        ),
        "CertificateSigningRequestCondition": (
            "type=1:string! reason=2:string message=3:string lastUpdateTime=4:meta.v1.Time "
            "lastTransitionTime=5:meta.v1.Time status=6:string!"
        ),
        "CertificateSigningRequestList": "metadata=1:meta.v1.ListMeta items=2:[]CertificateSigningRequest!",
        "CertificateSigningRequestSpec": (
            "request=1:bytes username=2:string uid=3:string groups=4:[]string usages=5:[]string "
            "extra=6:map[string]ExtraValue signerName=7:string! expirationSeconds=8:*int32"
        ),
        "CertificateSigningRequestStatus": "conditions=1:[]CertificateSigningRequestCondition certificate=2:bytes",
        "ExtraValue": "items=1:[]string",
    },
)

ADMISSIONREGISTRATION_V1 = Package(
    name="admissionregistration.v1",
    group_version="admissionregistration.k8s.io/v1",
    kinds=(
        "MutatingWebhookConfiguration MutatingWebhookConfigurationList ValidatingAdmissionPolicy "
        "ValidatingAdmissionPolicyBinding ValidatingAdmissionPolicyBindingList ValidatingAdmissionPolicyList "
        "ValidatingWebhookConfiguration ValidatingWebhookConfigurationList"
    ),
    messages={
        "AuditAnnotation": "key=1:string! valueExpression=2:string!",
        "ExpressionWarning": "fieldRef=2:string! warning=3:string!",
        "MatchCondition": "name=1:string! expression=2:string!",
        "MatchResources": (
            "namespaceSelector=1:*meta.v1.LabelSelector objectSelector=2:*meta.v1.LabelSelector "
            "resourceRules=3:[]NamedRuleWithOperations excludeResourceRules=4:[]NamedRuleWithOperations "
            "matchPolicy=7:*string"
        ),
        "MutatingWebhook": (
            "name=1:string! clientConfig=2:WebhookClientConfig rules=3:[]RuleWithOperations failurePolicy=4:*string "
            "namespaceSelector=5:*meta.v1.LabelSelector sideEffects=6:*string timeoutSeconds=7:*int32 "
            "admissionReviewVersions=8:[]string matchPolicy=9:*string reinvocationPolicy=10:*string "
            "objectSelector=11:*meta.v1.LabelSelector matchConditions=12:[]MatchCondition"
        ),
        "MutatingWebhookConfiguration": "metadata=1:meta.v1.ObjectMeta webhooks=2:[]MutatingWebhook",
        "MutatingWebhookConfigurationList": "metadata=1:meta.v1.ListMeta items=2:[]MutatingWebhookConfiguration!",
        "NamedRuleWithOperations": "resourceNames=1:[]string ruleWithOperations=2:RuleWithOperations,inline",
        "ParamKind": "apiVersion=1:string kind=2:string",
        "ParamRef": (
            "name=1:string namespace=2:string selector=3:*meta.v1.LabelSelector parameterNotFoundAction=4:*string"
        ),
        "Rule": "apiGroups=1:[]string apiVersions=2:[]string resources=3:[]string scope=4:*string",
        "RuleWithOperations": "operations=1:[]string rule=2:Rule,inline",
        "ServiceReference": "namespace=1:string! name=2:string! path=3:*string port=4:*int32",
        "TypeChecking": "expressionWarnings=1:[]ExpressionWarning",
        "ValidatingAdmissionPolicy": (
            "metadata=1:meta.v1.ObjectMeta spec=2:ValidatingAdmissionPolicySpec "
            "status=3:ValidatingAdmissionPolicyStatus"
        ),
        "ValidatingAdmissionPolicyBinding": "metadata=1:meta.v1.ObjectMeta spec=2:ValidatingAdmissionPolicyBindingSpec",
        "ValidatingAdmissionPolicyBindingList": (
            "metadata=1:meta.v1.ListMeta items=2:[]ValidatingAdmissionPolicyBinding!"
        ),
        "ValidatingAdmissionPolicyBindingSpec": (
            "policyName=1:string paramRef=2:*ParamRef matchResources=3:*MatchResources validationActions=4:[]string"
        ),
        "ValidatingAdmissionPolicyList": "metadata=1:meta.v1.ListMeta items=2:[]ValidatingAdmissionPolicy!",
        "ValidatingAdmissionPolicySpec": (
            "paramKind=1:*ParamKind matchConstraints=2:*MatchResources validations=3:[]Validation "
            "failurePolicy=4:*string auditAnnotations=5:[]AuditAnnotation matchConditions=6:[]MatchCondition "
            "variables=7:[]Variable"
        ),
        "ValidatingAdmissionPolicyStatus": (
            "observedGeneration=1:int64 typeChecking=2:*TypeChecking conditions=3:[]meta.v1.Condition"
        ),
        "ValidatingWebhook": (
            "name=1:string! clientConfig=2:WebhookClientConfig rules=3:[]RuleWithOperations failurePolicy=4:*string "
            "namespaceSelector=5:*meta.v1.LabelSelector sideEffects=6:*string timeoutSeconds=7:*int32 "
            "admissionReviewVersions=8:[]string matchPolicy=9:*string objectSelector=10:*meta.v1.LabelSelector "
            "matchConditions=11:[]MatchCondition"
        ),
        "ValidatingWebhookConfiguration": "metadata=1:meta.v1.ObjectMeta webhooks=2:[]ValidatingWebhook",
        "ValidatingWebhookConfigurationList": "metadata=1:meta.v1.ListMeta items=2:[]ValidatingWebhookConfiguration!",
        "Validation": "expression=1:string! message=2:string reason=3:*string messageExpression=4:string",
        "Variable": "name=1:string! expression=2:string!",
        "WebhookClientConfig": "service=1:*ServiceReference caBundle=2:bytes url=3:*string",
    },
)

FLOWCONTROL_V1 = Package(
    name="flowcontrol.v1",
    group_version="flowcontrol.apiserver.k8s.io/v1",
    kinds="FlowSchema FlowSchemaList PriorityLevelConfiguration PriorityLevelConfigurationList",
    messages={
        "ExemptPriorityLevelConfiguration": "nominalConcurrencyShares=1:*int32 lendablePercent=2:*int32",
        "FlowDistinguisherMethod": "type=1:string!",
        "FlowSchema": "metadata=1:meta.v1.ObjectMeta spec=2:FlowSchemaSpec status=3:FlowSchemaStatus",
        "FlowSchemaCondition": (
            "type=1:string status=2:string lastTransitionTime=3:meta.v1.Time reason=4:string message=5:string"
        ),
        "FlowSchemaList": "metadata=1:meta.v1.ListMeta items=2:[]FlowSchema!",
        "FlowSchemaSpec": (
            "priorityLevelConfiguration=1:PriorityLevelConfigurationReference matchingPrecedence=2:int32! "
            "distinguisherMethod=3:*FlowDistinguisherMethod rules=4:[]PolicyRulesWithSubjects"
        ),
        "FlowSchemaStatus": "conditions=1:[]FlowSchemaCondition",
        "GroupSubject": "name=1:string!",
        "LimitResponse": "type=1:string! queuing=2:*QueuingConfiguration",
        "LimitedPriorityLevelConfiguration": (
            "nominalConcurrencyShares=1:*int32 limitResponse=2:LimitResponse lendablePercent=3:*int32 "
            "borrowingLimitPercent=4:*int32"
        ),
        "NonResourcePolicyRule": "verbs=1:[]string nonResourceURLs=6:[]string",
        "PolicyRulesWithSubjects": (
            "subjects=1:[]Subject resourceRules=2:[]ResourcePolicyRule nonResourceRules=3:[]NonResourcePolicyRule"
        ),
        "PriorityLevelConfiguration": (
            "metadata=1:meta.v1.ObjectMeta spec=2:PriorityLevelConfigurationSpec "
            "status=3:PriorityLevelConfigurationStatus"
        ),
        "PriorityLevelConfigurationCondition": (
            "type=1:string status=2:string lastTransitionTime=3:meta.v1.Time reason=4:string message=5:string"
        ),
        "PriorityLevelConfigurationList": "metadata=1:meta.v1.ListMeta items=2:[]PriorityLevelConfiguration!",
        "PriorityLevelConfigurationReference": "name=1:string!",
        "PriorityLevelConfigurationSpec": (
            "type=1:string! limited=2:*LimitedPriorityLevelConfiguration exempt=3:*ExemptPriorityLevelConfiguration"
        ),
        "PriorityLevelConfigurationStatus": "conditions=1:[]PriorityLevelConfigurationCondition",
        "QueuingConfiguration": "queues=1:int32! handSize=2:int32! queueLengthLimit=3:int32!",
        "ResourcePolicyRule": (
            "verbs=1:[]string apiGroups=2:[]string resources=3:[]string clusterScope=4:bool namespaces=5:[]string"
        ),
        "ServiceAccountSubject": "namespace=1:string! name=2:string!",
        "Subject": "kind=1:string! user=2:*UserSubject group=3:*GroupSubject serviceAccount=4:*ServiceAccountSubject",
        "UserSubject": "name=1:string!",
    },
)

PACKAGES = (RBAC_V1, AUTHENTICATION_V1, AUTHORIZATION_V1, CERTIFICATES_V1, ADMISSIONREGISTRATION_V1, FLOWCONTROL_V1)
