"""Data-parallel training of Mini-Keras models over MPI: the ``mpi`` strategy (:class:`MPIStrategy`).

Importing this package does not start MPI; loading the strategy (``strategy="mpi"``) does.
"""

__all__ = ["MPIStrategy"]


def __getattr__(name: str):
    if name == "MPIStrategy":
        from .mpi import MPIStrategy

        return MPIStrategy
    raise AttributeError(name)
