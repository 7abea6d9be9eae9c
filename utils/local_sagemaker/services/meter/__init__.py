"""The cost meter: what the local resources would have cost on AWS so far (``/_local/costs``)."""
