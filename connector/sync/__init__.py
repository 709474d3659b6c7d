"""The sync store and the runner that fills it: knows canonical records, never a host's wire format."""
