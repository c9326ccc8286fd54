"""The old home of :func:`highload.processes.kill_group`; a plain re-export (no warning)."""

from highload.processes import kill_group

__all__ = ["kill_group"]
