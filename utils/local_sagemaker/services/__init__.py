"""The middle layer: what SageMaker does, one area per file or folder, no HTTP.

Each service receives what it needs through its constructor (built by the gateway) and imports
only ``core`` and other services, never ``wire`` (ARCHITECTURE.md, "Layers").
"""
