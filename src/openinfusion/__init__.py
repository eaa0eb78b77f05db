"""OpenInfusion: operations for an infusion pharmacy and the infusion services it supplies."""

__version__ = "0.1.0"
