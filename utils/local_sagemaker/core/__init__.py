"""The bottom layer of the local SageMaker: what every service needs and that needs nothing above.

AWS errors and their texts, settings, the botocore shape validator, safe archive extraction, the
price table, the client every service uses to talk to an instance, and the small HTTP server the
gateway and the instances share. Nothing here imports from ``services`` or ``wire`` (see
ARCHITECTURE.md, "Layers").
"""
