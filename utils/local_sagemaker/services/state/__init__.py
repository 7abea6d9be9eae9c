"""State that survives a restart: what the local account holds, saved in the state folder and
restored when the local SageMaker starts again (:mod:`.persistence`)."""
