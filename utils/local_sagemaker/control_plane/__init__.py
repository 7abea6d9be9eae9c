"""The SageMaker control plane: validation (validation.py), behaviour (resources.py), wire format (api.py)."""
