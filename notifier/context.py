"""What the use cases need besides a session: the river network, the policy, the standards.

Built once at the edge from Settings (:func:`context_from_settings`) and passed down.
"""

from __future__ import annotations

from dataclasses import dataclass

from notifier.evaluation.standards import LIMITS_FILE, Standards, read_standards
from notifier.routing.policy import Policy, load_policy
from notifier.settings import Settings
from notifier.topology import BasinsTopology, Topology


@dataclass(frozen=True, slots=True)
class EngineContext:
    topology: Topology
    policy: Policy
    standards: Standards


def context_from_settings(settings: Settings) -> EngineContext:
    """Load the network, the policy and the GB 3838 limits named by ``settings``."""
    from basins.io import read_network

    network = read_network(settings.network_dir)
    return EngineContext(
        topology=BasinsTopology(network),
        policy=load_policy(settings.policy_file),
        standards=read_standards(settings.network_dir / LIMITS_FILE),
    )
