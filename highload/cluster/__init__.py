"""A real multi-instance shop on one machine: N uvicorn processes, a load balancer, shared carts.

From Python, :class:`Cluster`; from a shell::

    python -m highload.cluster up --instances 3 --lb nginx --carts redis
    python -m highload.cluster status
    python -m highload.cluster down

Needs the ``web`` extra (``pip install "highload[web]"``). nginx and redis-server are used when
installed (``apt-get install nginx redis-server``); without them the cluster falls back to an
embedded proxy and a fakeredis TCP server, and says so.
"""

from .cluster import CART_KINDS, LB_KINDS, Cluster, ClusterError, Instance, default_state_dir
from .proxy import LABEL as EMBEDDED_LABEL

__all__ = ["Cluster", "ClusterError", "Instance", "LB_KINDS", "CART_KINDS", "EMBEDDED_LABEL",
           "default_state_dir"]
