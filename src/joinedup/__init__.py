"""joinedup: shared analytics and programme platform for integrated care partnerships."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("joinedup")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
