"""netgarden: import contacts and exchanges, sort people into networks, report who is going cold."""

__version__ = "0.1.0"
