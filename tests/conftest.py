"""Fixtures shared by every test folder."""
import pytest
import torch


@pytest.fixture
def one_thread():
    """torch on one thread for the test (results that must not depend on the thread count)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
