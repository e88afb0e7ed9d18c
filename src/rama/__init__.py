"""rama: Risk-Aware Material Allocation."""

import os as _os

# Polars' allocator (jemalloc, symbols prefixed _rjem_) keeps freed pages for 10 s by default,
# so a stage that frees gigabytes and allocates again (a 10x network) holds both at once.
# Freed pages go back within about a second instead, unless the user configured jemalloc.
# It must be set before polars loads: importing rama first (as the `rama` command does) does.
_os.environ.setdefault(
    "_RJEM_MALLOC_CONF", "background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0"
)

__version__ = "0.1.0"
