"""LSMS Edge training (PyTorch). Run with /usr/bin/python3 (train/py) from the repo root."""
