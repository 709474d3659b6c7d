"""Client configs and dunning policies: typed, validated, and never holding secrets."""

from connector.config.models import ClientConfig, CustomerSettings, Policy, Step
from connector.config.workspace import Workspace

__all__ = ["ClientConfig", "CustomerSettings", "Policy", "Step", "Workspace"]
