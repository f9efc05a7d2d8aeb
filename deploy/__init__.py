"""Running checkout-edge: ``make run`` (``run_local.py``, ``local_stack/``) and deployment files."""
