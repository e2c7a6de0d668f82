"""Multi-step runbook procedures that record each step and resume after a restart (maintenance windows)."""
