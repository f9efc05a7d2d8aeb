"""Evaluates rendered Kubernetes NetworkPolicies for the tests: may pod A reach pod B:port?

The subset deploy/k8s/ uses: pod selectors (matchLabels, matchExpressions with In),
namespace selectors on ``kubernetes.io/metadata.name``, ports with ``endPort``, rules
without ``to``/``from`` (any peer). The semantics are Kubernetes': a pod selected by no
policy of a direction is open in that direction; once selected, only what some rule allows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Pod:
    namespace: str
    labels: dict[str, str]


def _selects(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    if selector is None:
        return True
    for key, value in selector.get("matchLabels", {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions", []):
        assert expression["operator"] == "In", expression
        if labels.get(expression["key"]) not in expression["values"]:
            return False
    return True


def _peer_matches(peer: dict[str, Any], pod: Pod, policy_namespace: str) -> bool:
    if "ipBlock" in peer:
        return False  # no pod of ours is addressed by IP block
    if "namespaceSelector" in peer:
        namespace_labels = {"kubernetes.io/metadata.name": pod.namespace}
        if not _selects(peer["namespaceSelector"], namespace_labels):
            return False
    elif pod.namespace != policy_namespace:
        return False
    return _selects(peer.get("podSelector"), pod.labels)


def _port_matches(ports: list[dict[str, Any]] | None, port: int) -> bool:
    if not ports:
        return True
    for entry in ports:
        if entry.get("protocol", "TCP") != "TCP":
            continue
        low = int(entry["port"])
        if low <= port <= int(entry.get("endPort", low)):
            return True
    return False


def _allowed(
    policies: list[dict[str, Any]], subject: Pod, peer: Pod, port: int, direction: str
) -> bool:
    kind = "Ingress" if direction == "ingress" else "Egress"
    peers_key = "from" if direction == "ingress" else "to"
    selecting = [
        p
        for p in policies
        if p["metadata"]["namespace"] == subject.namespace
        and kind in p["spec"].get("policyTypes", ["Ingress"])
        and _selects(p["spec"]["podSelector"], subject.labels)
    ]
    if not selecting:
        return True
    for policy in selecting:
        for rule in policy["spec"].get(direction, []):
            peers = rule.get(peers_key)
            peer_ok = not peers or any(
                _peer_matches(p, peer, policy["metadata"]["namespace"]) for p in peers
            )
            if peer_ok and _port_matches(rule.get("ports"), port):
                return True
    return False


def may_connect(policies: list[dict[str, Any]], source: Pod, target: Pod, port: int) -> bool:
    """Egress from ``source`` and ingress into ``target`` on TCP ``port`` both allowed."""
    return _allowed(policies, source, target, port, "egress") and _allowed(
        policies, target, source, port, "ingress"
    )
