"""Run code without changing any random state of the surrounding run."""
import contextlib
import random

import numpy as np
import torch


@contextlib.contextmanager
def preserved_rng_state():
    """Restore every global random generator on exit.

    Saves and restores Python's ``random``, NumPy's legacy global generator,
    torch's CPU generator and, when CUDA is initialised, the generator of
    every CUDA device. Code inside may draw from any of them (building a
    ``DataLoader`` iterator draws a worker base seed from torch's, a
    transform may use NumPy's); the code after the block sees the states it
    would have seen without it.
    """
    py_state = random.getstate()
    np_state = np.random.get_state()
    torch_state = torch.get_rng_state()
    cuda_states = (torch.cuda.get_rng_state_all()
                   if torch.cuda.is_available()
                   and torch.cuda.is_initialized() else None)
    try:
        yield
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
        torch.set_rng_state(torch_state)
        if cuda_states is not None:
            torch.cuda.set_rng_state_all(cuda_states)
