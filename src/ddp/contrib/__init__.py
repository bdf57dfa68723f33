"""Integrations of ``ddp`` with other tools, each behind its own optional extra.

* :mod:`ddp.contrib.locust`: load-test a DDP server with Locust (``pip install
  'ddp-client[locust]'``).
"""
