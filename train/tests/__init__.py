"""Unit tests: /usr/bin/python3 -m unittest discover train (from the repo root).

`unittest discover train` puts train/ itself first on sys.path, where
train/train.py would shadow the `train` package; put the repository root
first instead so that `import train.lsms...` resolves to the package.
"""
import os
import sys

_here = os.path.dirname(os.path.abspath(__file__))
_train = os.path.dirname(_here)
_root = os.path.dirname(_train)
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _train]
sys.path.insert(0, _root)
_m = sys.modules.get("train")
if _m is not None and not hasattr(_m, "__path__"):
    del sys.modules["train"]
