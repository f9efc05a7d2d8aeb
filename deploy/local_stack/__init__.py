"""What ``make run`` (``deploy/run_local.py``) is built from, one concept per module.

- ``instance`` — one launcher per ``var/`` directory (``var/run.lock``);
- ``ports`` — who listens on a port (pid and command, from ``/proc``);
- ``children`` — starting children in their own process group, killed with the launcher;
- ``output`` — one prefixed line per event, coloured per process on a terminal;
- ``services`` — the table of long-running processes and the health wait that accepts only
  our own child;
- ``dev_config`` — development secrets, the children's environment, masking for display.
"""
