"""Capture what is logged through mmengine's current logger."""
from contextlib import contextmanager

from mmengine.logging import MMLogger


@contextmanager
def captured_log():
    """Collect the messages logged through mmengine's current logger inside
    the ``with`` block.

    Yields:
        list[str]: The messages, in order (filled while the block runs).
    """
    logger = MMLogger.get_current_instance()
    messages = []

    def record(r):
        messages.append(r.getMessage())
        return True

    logger.addFilter(record)
    try:
        yield messages
    finally:
        logger.removeFilter(record)
