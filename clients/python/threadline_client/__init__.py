"""Log conversations, feedback and events to threadline (or any server speaking the Inkeep
Analytics API) from Python, batched and retried in the background; read them back typed.

    from threadline_client import Threadline
    with Threadline("http://127.0.0.1:8080", api_key) as client:
        client.log_event({"type": "page_viewed", "entityType": "search", "searchQuery": "x"})
"""

from threadline_client.aio import AsyncThreadline
from threadline_client.errors import ApiError, ThreadlineClientError, TransportFailed
from threadline_client.retry import RetryPolicy
from threadline_client.sync import Threadline

__all__ = [
    "ApiError",
    "AsyncThreadline",
    "RetryPolicy",
    "Threadline",
    "ThreadlineClientError",
    "TransportFailed",
]
__version__ = "0.1.0"
