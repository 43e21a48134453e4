"""Read-your-writes with projectord: after appending an event, wait until the read models include it.

    record = domain.register_user("ada", "ada@example.com")
    wait_for(record.id)      # the next page reading UserProjection shows Ada

wait_for asks the running daemon (settings.PROJECTORD_URL) `GET /wait/HANDLER?position=N&timeout_ms=T` for
each handler of settings.PROJECTORD_READ_MODELS; the daemon answers as soon as the handler's checkpoint is at
the position, woken by its commit. The position of an EventStoreRecord is its id. `@waits_for_projection`
does the same for a view that stores the record it appended in `request.projectord_position`.
"""
import functools
import time
import urllib.error
import urllib.request

from django.conf import settings


class ProjectionLag(Exception):
    """A handler had not reached the position when the timeout ran out (the daemon answered 408)."""


def wait_for(position, handlers=None, timeout=5.0):
    """Returns once every handler's checkpoint is at `position` or past it; raises ProjectionLag after
    `timeout` seconds, and URLError when the daemon cannot be reached."""
    deadline = time.monotonic() + timeout
    for handler in handlers or settings.PROJECTORD_READ_MODELS:
        timeout_ms = max(0, int((deadline - time.monotonic()) * 1000))
        url = f"{settings.PROJECTORD_URL}/wait/{handler}?position={position}&timeout_ms={timeout_ms}"
        try:
            # The daemon answers within timeout_ms; the socket timeout only guards against a hung connection.
            with urllib.request.urlopen(url, timeout=timeout + 5):
                pass  # 200: reached
        except urllib.error.HTTPError as error:
            if error.code == 408:
                lag = f"{handler} has not reached position {position} after {timeout} s"
                raise ProjectionLag(lag) from error
            raise


def waits_for_projection(view):
    """Decorates a view: when it set request.projectord_position, the response leaves only once the read
    models include that event."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        position = getattr(request, "projectord_position", None)
        if position is not None:
            wait_for(position)
        return response

    return wrapped
