"""Voila for the instructor's deck: the same command line as ``voila``, one change in its kernel pool.

Voila (0.5.13) counts a pool kernel as available from the moment it schedules it, even while the
kernel is still waiting out ``fill_delay`` before it starts. A deck opened a second time (a
reload, the Back button, a student in classroom mode) would then wait for that delay and the
whole pre-run, up to ``--refill-delay`` (minutes). Here a page gets a pooled kernel only when one
has really started; otherwise Voila starts a fresh kernel at once (that deck runs again, its
usual 10-70 s), and the spare kernel comes back later, away from the lecture's CPU.

    python tools/deck_voila.py <voila arguments>      (tools/deck.py serve runs this)
"""

from __future__ import annotations

import sys

from voila import app as voila_app
from voila import voila_kernel_manager

_factory = voila_kernel_manager.voila_kernel_manager_factory


def _started(task) -> bool:
    return task.done() and not task.cancelled() and task.exception() is None


def started_kernels_only(base):
    """``base`` (Voila's pre-heating kernel manager) with a pool that offers started kernels only."""

    class DeckKernelManager(base):
        def get_pool_size(self, notebook_name: str) -> int:
            return sum(1 for task in self._pools.get(notebook_name, []) if _started(task))

        async def get_rendered_notebook(self, notebook_name: str, *args, **kwargs):
            pool = self._pools.get(notebook_name, [])
            ready = [task for task in pool if _started(task)]
            if ready:  # the started kernel first, whatever its place in the pool
                pool.remove(ready[0])
                pool.insert(0, ready[0])
            return await super().get_rendered_notebook(notebook_name, *args, **kwargs)

    DeckKernelManager.__name__ = base.__name__
    return DeckKernelManager


def deck_kernel_manager_factory(*args, **kwargs):
    base = _factory(*args, **kwargs)
    if not hasattr(base, "get_rendered_notebook"):  # pre-heating off: nothing to change
        return base
    return started_kernels_only(base)


voila_app.voila_kernel_manager_factory = deck_kernel_manager_factory

if __name__ == "__main__":
    sys.exit(voila_app.main())
