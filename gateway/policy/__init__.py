"""Policy: decide whether an exchange may happen, and which data categories may go.

Pure: no web framework, no database. Order: origin guard, Casbin rules, consent; default deny.
"""

from gateway.policy.engine import PolicyEngine
from gateway.policy.loader import Grouping, PolicyFiles, Rule, policy_version, read_policy
from gateway.policy.model import Decision, PolicyRequest, RuleFired, SubjectFacts, SystemInfo
from gateway.policy.origin import check_origin, inherited_risk
from gateway.policy.rules import RuleMatch, RuleSet

__all__ = [
    "Decision",
    "Grouping",
    "PolicyEngine",
    "PolicyFiles",
    "PolicyRequest",
    "Rule",
    "RuleFired",
    "RuleMatch",
    "RuleSet",
    "SubjectFacts",
    "SystemInfo",
    "check_origin",
    "inherited_risk",
    "policy_version",
    "read_policy",
]
