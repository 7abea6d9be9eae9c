"""Shared helpers for the hands-on SageMaker inference notebooks.

Import the submodule you need (``from utils import data, model, artifact``). This package
deliberately imports nothing heavy at import time, so ``import utils`` stays instant and the
notebooks only pay for what they use.
"""
